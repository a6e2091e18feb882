import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectAttributesCommand, GetObjectCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListPartsCommand, PutObjectCommand, S3Client, UploadPartCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { bodyOf, eventually, failure, type Harness, MiB, pattern, signedRequest, startHarness, xmlValue } from '../../support/gateway-harness.js';

const BUCKET = 'uploads';



function md5(data: Buffer): Buffer {
  return createHash('md5').update(data).digest();
}

describe('actors/gateway multipart uploads', function () {
  this.timeout(120_000);
  let h: Harness;
  let s3: S3Client;

  beforeEach(async () => {
    h = await startHarness();
    h.admin.addBucket(BUCKET, 'alice');
    s3 = h.client('alice');
  });

  afterEach(async () => {
    await h.close();
  });

  async function upload(key: string, parts: readonly Buffer[]): Promise<{ uploadId: string; etags: string[] }> {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'video/mp4', Metadata: { owner: 'me' } }));
    const uploadId = created.UploadId!;
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body }));
      expect(part.ETag).to.equal(`"${md5(body).toString('hex')}"`);
      etags.push(part.ETag!);
    }
    return { uploadId, etags };
  }

  it('completes an upload of parts of different sizes without copying them', async () => {
    const parts = [pattern(5 * MiB, 1), pattern(7 * MiB + 3, 2), pattern(12 * MiB, 3), pattern(1, 4)];
    const { uploadId, etags } = await upload('movie.mp4', parts);
    const chunkPutsBefore = h.storage.calls.filter((c) => c.op === 'put' && c.kind === 'chunk').length;
    const done = await s3.send(new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key: 'movie.mp4', UploadId: uploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    expect(h.storage.calls.filter((c) => c.op === 'put' && c.kind === 'chunk').length).to.equal(chunkPutsBefore);
    const expectedEtag = `${createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex')}-4`;
    expect(done.ETag).to.equal(`"${expectedEtag}"`);

    const whole = Buffer.concat(parts);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'movie.mp4', ChecksumMode: 'ENABLED' }));
    expect(got.ETag).to.equal(`"${expectedEtag}"`);
    expect(got.ContentType).to.equal('video/mp4');
    expect(got.Metadata).to.deep.equal({ owner: 'me' });
    expect((await bodyOf(got)).equals(whole)).to.equal(true);

    const across = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'movie.mp4', Range: `bytes=${5 * MiB - 2}-${12 * MiB + 5}` }));
    expect((await bodyOf(across)).equals(whole.subarray(5 * MiB - 2, 12 * MiB + 6))).to.equal(true);

    const second = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'movie.mp4', PartNumber: 2 }));
    expect(second.PartsCount).to.equal(4);
    expect((await bodyOf(second)).equals(parts[1]!)).to.equal(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'movie.mp4', PartNumber: 4 }));
    expect(head.ContentLength).to.equal(1);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'movie.mp4', PartNumber: 5 })))).to.deep.include({ status: 416 });
    const beyond = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/movie.mp4?partNumber=5` });
    expect([xmlValue(beyond.text, 'Code'), xmlValue(beyond.text, 'ActualPartCount'), xmlValue(beyond.text, 'PartNumberRequested')])
      .to.deep.equal(['InvalidPartNumber', '4', '5']);

    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).to.deep.equal([]);
    await eventually(() => h.storage.liveKeys('upload', BUCKET).length === 0);
    expect(h.storage.liveKeys('chunk', BUCKET)).to.have.length(1 + 2 + 3 + 1);
  });

  it('refuses non-final parts under 5 MiB, unknown parts, wrong ETags and parts out of order', async () => {
    const { uploadId, etags } = await upload('small-parts', [pattern(MiB, 1), pattern(MiB, 2)]);
    const complete = (parts: Array<{ ETag: string; PartNumber: number }>) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'small-parts', UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    expect(await failure(complete([{ ETag: etags[0]!, PartNumber: 1 }, { ETag: etags[1]!, PartNumber: 2 }]))).to.deep.equal({ name: 'EntityTooSmall', status: 400 });
    expect(await failure(complete([{ ETag: etags[0]!, PartNumber: 1 }, { ETag: etags[1]!, PartNumber: 3 }]))).to.deep.equal({ name: 'InvalidPart', status: 400 });
    expect(await failure(complete([{ ETag: '"0123456789abcdef0123456789abcdef"', PartNumber: 1 }]))).to.deep.equal({ name: 'InvalidPart', status: 400 });
    expect(await failure(complete([{ ETag: etags[1]!, PartNumber: 2 }, { ETag: etags[0]!, PartNumber: 1 }]))).to.deep.equal({ name: 'InvalidPartOrder', status: 400 });
    // A single small part is also the last one.
    const only = await complete([{ ETag: etags[0]!, PartNumber: 1 }]);
    expect(only.ETag).to.match(/-1"$/);
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small-parts' })))).equals(pattern(MiB, 1))).to.equal(true);
    // The part that was left out is discarded with its chunks.
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 1);
  });

  it('answers a repeated completion as the first one while the object is still the upload\'s', async () => {
    const parts = [pattern(5 * MiB, 1), pattern(10, 2)];
    const { uploadId, etags } = await upload('again', parts);
    const list = { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) };
    const first = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'again', UploadId: uploadId, MultipartUpload: list }));
    const second = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'again', UploadId: uploadId, MultipartUpload: list }));
    expect(second.ETag).to.equal(first.ETag);
    expect(second.Key).to.equal('again');
    const otherList = { Parts: [{ ETag: etags[0], PartNumber: 1 }] };
    expect(await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'again', UploadId: uploadId, MultipartUpload: otherList }))))
      .to.deep.equal({ name: 'NoSuchUpload', status: 404 });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'again', Body: 'replaced' }));
    expect(await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'again', UploadId: uploadId, MultipartUpload: list }))))
      .to.deep.equal({ name: 'NoSuchUpload', status: 404 });
  });

  it('applies If-None-Match and If-Match to the object a completion would replace', async () => {
    let uploads = 0;
    const complete = async (key: string, conditions: { IfNoneMatch?: string; IfMatch?: string }) => {
      const { uploadId, etags } = await upload(key, [Buffer.from(`body ${++uploads}`)]);
      return s3.send(new CompleteMultipartUploadCommand({
        Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: [{ ETag: etags[0], PartNumber: 1 }] }, ...conditions,
      }));
    };
    const first = await complete('guarded', { IfNoneMatch: '*' });
    expect(await failure(complete('guarded', { IfNoneMatch: '*' }))).to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(complete('guarded', { IfNoneMatch: first.ETag! }))).to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    const second = await complete('guarded', { IfNoneMatch: '"badetag"' });
    expect(await failure(complete('guarded', { IfMatch: first.ETag! }))).to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    await complete('guarded', { IfMatch: second.ETag! });
    expect(await failure(complete('missing', { IfMatch: '*' }))).to.deep.equal({ name: 'NoSuchKey', status: 404 });
  });

  it('answers GetObjectAttributes of a multipart object with its parts, paged by part number', async () => {
    const parts = [pattern(5 * MiB, 1), pattern(5 * MiB, 2), pattern(5 * MiB, 3), pattern(100, 4)];
    const { uploadId, etags } = await upload('attrs', parts);
    const done = await s3.send(new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key: 'attrs', UploadId: uploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    const all = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'attrs', ObjectAttributes: ['ETag', 'ObjectParts', 'ObjectSize', 'StorageClass'] }));
    expect(all.ETag).to.equal(done.ETag!.replace(/"/g, ''));
    expect(all.ObjectSize).to.equal(15 * MiB + 100);
    expect(all.StorageClass).to.equal('STANDARD');
    expect(all.ObjectParts?.TotalPartsCount).to.equal(4);
    expect(all.ObjectParts?.IsTruncated).to.equal(false);
    expect(all.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size])).to.deep.equal([[1, 5 * MiB], [2, 5 * MiB], [3, 5 * MiB], [4, 100]]);
    const page = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'attrs', ObjectAttributes: ['ObjectParts'], MaxParts: 1, PartNumberMarker: '2' }));
    expect(page.ObjectParts?.Parts?.map((p) => p.PartNumber)).to.deep.equal([3]);
    expect(page.ObjectParts?.IsTruncated).to.equal(true);
    expect(page.ObjectParts?.NextPartNumberMarker).to.equal('3');
    expect(page.ETag).to.equal(undefined);
    const single = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'plain', Body: 'foo' }));
    const plain = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'plain', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'ObjectSize'] }));
    expect(plain.ETag).to.equal(single.ETag!.replace(/"/g, ''));
    expect(plain.ObjectSize).to.equal(3);
    expect(plain.ObjectParts).to.equal(undefined);
    expect(plain.Checksum?.ChecksumCRC32).to.equal(single.ChecksumCRC32);
    expect(await failure(s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'absent', ObjectAttributes: ['ETag'] }))))
      .to.deep.equal({ name: 'NoSuchKey', status: 404 });
  });

  it('refuses a malformed completion document', async () => {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'k' }));
    const response = await signedRequest(h.endpoint, 'alice', {
      method: 'POST', path: `/${BUCKET}/k?uploadId=${created.UploadId}`, body: '<CompleteMultipartUpload><Part><PartNumber>1</Part>',
    });
    expect(response.status).to.equal(400);
    expect(xmlValue(response.text, 'Code')).to.equal('MalformedXML');
  });

  it('aborts an upload and deletes its parts', async () => {
    const { uploadId } = await upload('aborted', [pattern(6 * MiB, 1), pattern(2 * MiB, 2)]);
    expect(h.storage.liveKeys('chunk', BUCKET)).to.have.length(3);
    const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted', UploadId: uploadId }));
    expect(aborted.$metadata.httpStatusCode).to.equal(204);
    expect(h.storage.liveKeys('chunk', BUCKET)).to.deep.equal([]);
    expect(h.storage.liveKeys('upload', BUCKET)).to.deep.equal([]);
    expect(await failure(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'aborted', UploadId: uploadId, PartNumber: 1, Body: 'x' })))).to.deep.equal({ name: 'NoSuchUpload', status: 404 });
    expect(await failure(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted', UploadId: uploadId })))).to.deep.include({ name: 'NoSuchUpload' });
    expect(await failure(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'aborted', UploadId: 'not-an-upload-id' })))).to.deep.include({ name: 'NoSuchUpload' });
  });

  it('lists parts with paging', async () => {
    const parts = [pattern(10, 1), pattern(20, 2), pattern(30, 3)];
    const { uploadId } = await upload('listed', parts);
    const all = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'listed', UploadId: uploadId }));
    expect(all.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).to.deep.equal(parts.map((p, i) => [i + 1, p.length, `"${md5(p).toString('hex')}"`]));
    expect(all.Initiator?.ID).to.equal('alice');
    const first = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'listed', UploadId: uploadId, MaxParts: 2 }));
    expect(first.IsTruncated).to.equal(true);
    expect(first.NextPartNumberMarker).to.equal('2');
    const rest = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'listed', UploadId: uploadId, PartNumberMarker: first.NextPartNumberMarker! }));
    expect(rest.Parts?.map((p) => p.PartNumber)).to.deep.equal([3]);
    expect(rest.IsTruncated).to.equal(false);
  });

  it('lists uploads in key order with prefix, delimiter and paging, keeping concurrent uploads of one key apart', async () => {
    const ids: Record<string, string[]> = {};
    for (const key of ['a/1', 'a/2', 'b', 'b', 'c/d/e', 'zz']) {
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      (ids[key] ??= []).push(created.UploadId!);
    }
    const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(all.Uploads?.map((u) => u.Key)).to.deep.equal(['a/1', 'a/2', 'b', 'b', 'c/d/e', 'zz']);
    expect(new Set(all.Uploads?.filter((u) => u.Key === 'b').map((u) => u.UploadId))).to.deep.equal(new Set(ids.b));

    const grouped = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Delimiter: '/' }));
    expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['a/', 'c/']);
    expect(grouped.Uploads?.map((u) => u.Key)).to.deep.equal(['b', 'b', 'zz']);

    const prefixed = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'c/', Delimiter: '/' }));
    expect(prefixed.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['c/d/']);

    const seen: string[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (let round = 0; round < 10; round++) {
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, MaxUploads: 2, Delimiter: '/', KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      seen.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!), ...(page.Uploads ?? []).map((u) => u.Key!));
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    expect(seen.sort()).to.deep.equal(['a/', 'b', 'b', 'c/', 'zz']);

    // Parts of the two uploads of "b" stay apart, and completing one leaves the other.
    const [first, second] = ids.b as [string, string];
    const p1 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'b', UploadId: first, PartNumber: 1, Body: 'first upload' }));
    const p2 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'b', UploadId: second, PartNumber: 1, Body: 'second upload' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'b', UploadId: first, MultipartUpload: { Parts: [{ ETag: p1.ETag!, PartNumber: 1 }] } }));
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'b' })))).toString()).to.equal('first upload');
    const still = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'b', UploadId: second }));
    expect(still.Parts?.map((p) => p.ETag)).to.deep.equal([p2.ETag]);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'b', UploadId: second, MultipartUpload: { Parts: [{ ETag: p2.ETag!, PartNumber: 1 }] } }));
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'b' })))).toString()).to.equal('second upload');
  });

  it('lists each upload with the user who initiated it, and the bucket owner as owner', async () => {
    await h.admin.updateAcl(BUCKET, 'alice', 'public-read-write');
    await eventually(() => h.view.bucket(BUCKET)?.acl === 'public-read-write');
    await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'by-alice' }));
    await h.client('bob').send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'by-bob' }));
    const listed = await h.client('bob').send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(listed.Uploads?.map((u) => [u.Key, u.Initiator?.ID, u.Owner?.ID])).to.deep.equal([
      ['by-alice', 'alice', 'alice'],
      ['by-bob', 'bob', 'alice'],
    ]);
  });

  it('replaces a part uploaded twice and deletes the first upload of it', async () => {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'again' }));
    await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'again', UploadId: created.UploadId, PartNumber: 1, Body: pattern(6 * MiB, 1) }));
    const replaced = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'again', UploadId: created.UploadId, PartNumber: 1, Body: pattern(3 * MiB, 2) }));
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 1);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'again', UploadId: created.UploadId, MultipartUpload: { Parts: [{ ETag: replaced.ETag!, PartNumber: 1 }] } }));
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'again' })))).equals(pattern(3 * MiB, 2))).to.equal(true);
  });

  it('copies ranges of an object into parts', async () => {
    const source = pattern(13 * MiB, 21);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'source', Body: source }));
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'assembled' }));
    const first = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'assembled', UploadId: created.UploadId, PartNumber: 1, CopySource: `${BUCKET}/source`, CopySourceRange: `bytes=${8 * MiB}-${13 * MiB - 1}` }));
    const second = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'assembled', UploadId: created.UploadId, PartNumber: 2, CopySource: `${BUCKET}/source`, CopySourceRange: 'bytes=0-99' }));
    expect(first.CopyPartResult?.ETag).to.equal(`"${md5(source.subarray(8 * MiB)).toString('hex')}"`);
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key: 'assembled', UploadId: created.UploadId,
      MultipartUpload: { Parts: [{ ETag: first.CopyPartResult!.ETag!, PartNumber: 1 }, { ETag: second.CopyPartResult!.ETag!, PartNumber: 2 }] },
    }));
    const got = await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'assembled' })));
    expect(got.equals(Buffer.concat([source.subarray(8 * MiB), source.subarray(0, 100)]))).to.equal(true);
    expect(await failure(s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'assembled', UploadId: created.UploadId, PartNumber: 1, CopySource: `${BUCKET}/source`, CopySourceRange: 'bytes=0-99' })))).to.deep.include({ name: 'NoSuchUpload' });
  });

  it('stores a composite checksum when the parts carry checksums', async () => {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'summed', ChecksumAlgorithm: 'SHA256' }));
    const parts = [pattern(5 * MiB, 1), pattern(100, 2)];
    const uploaded = [];
    for (const [i, body] of parts.entries()) {
      uploaded.push(await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'summed', UploadId: created.UploadId, PartNumber: i + 1, Body: body, ChecksumAlgorithm: 'SHA256' })));
    }
    expect(uploaded[0]?.ChecksumSHA256).to.equal(createHash('sha256').update(parts[0]!).digest('base64'));
    const done = await s3.send(new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key: 'summed', UploadId: created.UploadId,
      MultipartUpload: { Parts: uploaded.map((p, i) => ({ ETag: p.ETag!, ChecksumSHA256: p.ChecksumSHA256!, PartNumber: i + 1 })) },
    }));
    const composite = createHash('sha256').update(Buffer.concat(parts.map((p) => createHash('sha256').update(p).digest()))).digest('base64');
    expect(done.ChecksumSHA256).to.equal(`${composite}-2`);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'summed', ChecksumMode: 'ENABLED' }));
    expect(got.ChecksumSHA256).to.equal(`${composite}-2`);
    expect((await bodyOf(got)).equals(Buffer.concat(parts))).to.equal(true);
  });
});
