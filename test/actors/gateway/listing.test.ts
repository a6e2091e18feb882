import {
  ListObjectsCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutObjectCommand, S3Client, paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { signedRequest, startHarness, xmlValue, type Harness } from '../../support/gateway-harness.js';

const BUCKET = 'listing';
const KEYS = [
  'a.txt', 'b/1', 'b/2', 'b/c/3', 'b/c/4', 'c d/ü', 'c+d', 'd|x|1', 'd|x|2', 'd|y', 'e', 'photos/2024/jan.jpg',
  'photos/2024/feb.jpg', 'photos/2025/mar.jpg', 'z😀', 'z\uffff',
];

describe('actors/gateway listing', function () {
  this.timeout(60_000);
  let h: Harness;
  let s3: S3Client;

  before(async () => {
    h = await startHarness();
    h.admin.addBucket(BUCKET, 'alice');
    s3 = h.client('alice');
    for (const key of KEYS) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
  });

  after(async () => {
    await h.close();
  });

  const sorted = [...KEYS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  it('lists every key in UTF-8 order with sizes and ETags (v2)', async () => {
    const all = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(all.Contents?.map((c) => c.Key)).to.deep.equal(sorted);
    expect(all.KeyCount).to.equal(KEYS.length);
    expect(all.IsTruncated).to.equal(false);
    expect(all.Contents?.[0]?.Size).to.equal('a.txt'.length);
    expect(all.Contents?.[0]?.Owner).to.equal(undefined);
    const owned = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, FetchOwner: true, MaxKeys: 1 }));
    expect(owned.Contents?.[0]?.Owner?.ID).to.equal('alice');
  });

  it('applies prefix and delimiter, with any delimiter', async () => {
    const top = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: '/' }));
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['b/', 'c d/', 'photos/']);
    expect(top.Contents?.map((c) => c.Key)).to.deep.equal(['a.txt', 'c+d', 'd|x|1', 'd|x|2', 'd|y', 'e', 'z\uffff', 'z😀']);
    const inside = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'photos/', Delimiter: '/' }));
    expect(inside.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['photos/2024/', 'photos/2025/']);
    const pipes = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'd|', Delimiter: '|' }));
    expect(pipes.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['d|x|']);
    expect(pipes.Contents?.map((c) => c.Key)).to.deep.equal(['d|y']);
    const word = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: '2024' }));
    expect(word.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['photos/2024']);
  });

  it('pages with continuation tokens and start-after', async () => {
    const seen: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: 3 }, { Bucket: BUCKET })) {
      expect(page.KeyCount).to.be.at.most(3);
      seen.push(...(page.Contents ?? []).map((c) => c.Key!));
    }
    expect(seen).to.deep.equal(sorted);
    const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, StartAfter: 'd|y' }));
    expect(after.Contents?.map((c) => c.Key)).to.deep.equal(sorted.slice(sorted.indexOf('d|y') + 1));
    const grouped: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: '/', MaxKeys: 2, ContinuationToken: token }));
      grouped.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!), ...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
    } while (token !== undefined);
    expect(grouped.sort()).to.deep.equal(['a.txt', 'b/', 'c d/', 'c+d', 'd|x|1', 'd|x|2', 'd|y', 'e', 'photos/', 'z\uffff', 'z😀'].sort());
    const bad = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}?list-type=2&continuation-token=%21%21` });
    expect(bad.status).to.equal(400);
    expect(xmlValue(bad.text, 'Code')).to.equal('InvalidArgument');
  });

  it('lists from the start for an empty continuation token and echoes it', async () => {
    const res = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}?list-type=2&continuation-token=` });
    expect(res.status).to.equal(200);
    expect(res.text).to.include('<ContinuationToken></ContinuationToken>');
    expect(xmlValue(res.text, 'IsTruncated')).to.equal('false');
    expect(xmlValue(res.text, 'KeyCount')).to.equal(String(sorted.length));
  });

  it('pages ListObjects v1 with markers, NextMarker only with a delimiter', async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, MaxKeys: 4 }));
    expect(first.IsTruncated).to.equal(true);
    expect(first.NextMarker).to.equal(undefined);
    const second = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Marker: first.Contents![3]!.Key, MaxKeys: 100 }));
    expect([...first.Contents!, ...second.Contents!].map((c) => c.Key)).to.deep.equal(sorted);
    const delimited = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Delimiter: '/', MaxKeys: 2 }));
    expect(delimited.NextMarker).to.equal('b/');
    const rest = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Delimiter: '/', Marker: delimited.NextMarker }));
    expect(rest.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['c d/', 'photos/']);
  });

  it('clamps max-keys to 1000 and lists nothing for max-keys 0', async () => {
    const none = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 0 }));
    expect(none.KeyCount).to.equal(0);
    const clamped = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}?list-type=2&max-keys=5000` });
    expect(xmlValue(clamped.text, 'MaxKeys')).to.equal('1000');
  });

  it('sends a listing of many pieces whole, with its length', async () => {
    const bucket = 'listing-long';
    h.admin.addBucket(bucket, 'alice');
    // Long keys with characters of every UTF-8 length, so that the document spans several pieces.
    const keys = Array.from({ length: 600 }, (_, i) => `${String(i).padStart(4, '0')}/ü€😀&<>/${'k'.repeat(120)}`);
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    const raw = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${bucket}?list-type=2` });
    expect(raw.status).to.equal(200);
    expect(raw.body.length).to.be.above(100_000);
    expect(Number(raw.headers['content-length'])).to.equal(raw.body.length);
    expect(raw.text.endsWith('</ListBucketResult>')).to.equal(true);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(listed.Contents?.map((c) => c.Key)).to.deep.equal(keys);
  });

  it('url-encodes keys and prefixes when asked', async () => {
    const raw = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}?list-type=2&encoding-type=url&prefix=c` });
    expect(raw.text).to.contain('<Key>c+d/%C3%BC</Key>');
    expect(raw.text).to.contain('<Key>c%2Bd</Key>');
    expect(raw.text).to.contain('<EncodingType>url</EncodingType>');
  });

  it('lists versions of an unversioned bucket as null versions', async () => {
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'b/' }));
    expect(versions.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest])).to.deep.equal([
      ['b/1', 'null', true], ['b/2', 'null', true], ['b/c/3', 'null', true], ['b/c/4', 'null', true],
    ]);
    const paged = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'b/', MaxKeys: 2 }));
    expect(paged.IsTruncated).to.equal(true);
    expect(paged.NextKeyMarker).to.equal('b/2');
    expect(paged.NextVersionIdMarker).to.equal('null');
    const next = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'b/', KeyMarker: paged.NextKeyMarker, VersionIdMarker: paged.NextVersionIdMarker }));
    expect(next.Versions?.map((v) => v.Key)).to.deep.equal(['b/c/3', 'b/c/4']);
  });
});
