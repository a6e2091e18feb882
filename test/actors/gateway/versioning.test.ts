import {
  CopyObjectCommand, DeleteBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetBucketVersioningCommand, GetObjectCommand,
  HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { bodyOf, eventually, failure, type Harness, MiB, pattern, signedRequest, startHarness } from '../../support/gateway-harness.js';

const BUCKET = 'backups';

describe('actors/gateway versioning', function () {
  this.timeout(60_000);
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

  async function enable(status: 'Enabled' | 'Suspended' = 'Enabled'): Promise<void> {
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: status } }));
  }

  async function text(key: string, versionId?: string): Promise<string> {
    return (await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...(versionId ? { VersionId: versionId } : {}) })))).toString();
  }

  async function versions(prefix?: string): Promise<Array<[string, string, boolean, 'v' | 'dm']>> {
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, ...(prefix ? { Prefix: prefix } : {}) }));
    const all: Array<[string, string, boolean, 'v' | 'dm']> = [
      ...(listed.Versions ?? []).map((v) => [v.Key!, v.VersionId!, v.IsLatest!, 'v'] as [string, string, boolean, 'v']),
      ...(listed.DeleteMarkers ?? []).map((d) => [d.Key!, d.VersionId!, d.IsLatest!, 'dm'] as [string, string, boolean, 'dm']),
    ];
    return all;
  }

  it('reports, enables and suspends versioning, and refuses what it cannot do', async () => {
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).Status).to.equal(undefined);
    await enable();
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).Status).to.equal('Enabled');
    await enable('Suspended');
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).Status).to.equal('Suspended');
    const malformed = await signedRequest(h.endpoint, 'alice', {
      method: 'PUT', path: `/${BUCKET}?versioning`, body: '<VersioningConfiguration><Status>Sometimes</Status></VersioningConfiguration>',
    });
    expect([malformed.status, malformed.text]).to.satisfy(([status, body]: [number, string]) => status === 400 && body.includes('MalformedXML'));
    expect(await failure(s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Enabled' } }))))
      .to.deep.equal({ name: 'NotImplemented', status: 501 });
    expect(await failure(h.client('bob').send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }))))
      .to.deep.equal({ name: 'AccessDenied', status: 403 });
  });

  it('keeps every version of an overwritten key and reads each by its id', async () => {
    await enable();
    const ids: string[] = [];
    for (const body of ['one', 'two', 'three']) {
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: body }));
      expect(put.VersionId).to.match(/^[0-9a-f]{32}$/);
      ids.push(put.VersionId!);
    }
    expect(new Set(ids).size).to.equal(3);
    expect(await text('k')).to.equal('three');
    expect(await text('k', ids[0])).to.equal('one');
    expect(await text('k', ids[1])).to.equal('two');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k', VersionId: ids[0] }));
    expect([head.ContentLength, head.VersionId]).to.deep.equal([3, ids[0]]);
    expect((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }))).VersionId).to.equal(ids[2]);
    expect(await versions()).to.deep.equal([['k', ids[2], true, 'v'], ['k', ids[1], false, 'v'], ['k', ids[0], false, 'v']]);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k', VersionId: 'f'.repeat(32) })))).to.deep.equal({ name: 'NoSuchVersion', status: 404 });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k', VersionId: 'not-an-id' })))).to.deep.equal({ name: 'InvalidArgument', status: 400 });
  });

  it('hides a key behind a delete marker, and removing the marker brings it back', async () => {
    await enable();
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'doc', Body: 'text' }));
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'doc' }));
    expect(deleted.DeleteMarker).to.equal(true);
    expect(deleted.VersionId).to.match(/^[0-9a-f]{32}$/);
    const raw = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/doc` });
    expect([raw.status, raw.headers['x-amz-delete-marker'], raw.headers['x-amz-version-id']]).to.deep.equal([404, 'true', deleted.VersionId]);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).KeyCount).to.equal(0);
    expect(await versions()).to.deep.equal([['doc', put.VersionId, false, 'v'], ['doc', deleted.VersionId, true, 'dm']]);
    const byId = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/doc?versionId=${deleted.VersionId}` });
    expect([byId.status, byId.headers['x-amz-delete-marker']]).to.deep.equal([405, 'true']);
    expect(await text('doc', put.VersionId)).to.equal('text');
    const removed = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'doc', VersionId: deleted.VersionId }));
    expect([removed.DeleteMarker, removed.VersionId]).to.deep.equal([true, deleted.VersionId]);
    expect(await text('doc')).to.equal('text');
    // A bucket whose keys are only hidden still holds them.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'doc' }));
    expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'BucketNotEmpty', status: 409 });
  });

  it('removes one version for good with its chunks, and the last one leaves nothing', async () => {
    await enable();
    const big = pattern(6 * MiB);
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big', Body: big }));
    const second = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big', Body: 'small' }));
    const chunksBefore = h.storage.liveKeys('chunk', BUCKET).length;
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'big', VersionId: first.VersionId }));
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === chunksBefore - 2);
    expect(await text('big')).to.equal('small');
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big', VersionId: first.VersionId })))).to.deep.equal({ name: 'NoSuchVersion', status: 404 });
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'big', VersionId: second.VersionId }));
    expect(await versions()).to.deep.equal([]);
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 0);
    // Deleting a version that is not there is done already.
    const again = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'big', VersionId: second.VersionId }));
    expect(again.VersionId).to.equal(second.VersionId);
    await s3.send(new DeleteBucketCommand({ Bucket: BUCKET }));
  });

  it('keeps an object written before versioning as the null version, its body moved out of the record', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'old', Body: 'before' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'legacy', Body: 'x' }));
    expect(h.storage.record('object', BUCKET, 'old')?.chunks).to.equal(undefined);
    await enable();
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'old', Body: 'after' }));
    expect(await text('old')).to.equal('after');
    expect(await text('old', 'null')).to.equal('before');
    expect(await versions('old')).to.deep.equal([['old', put.VersionId, true, 'v'], ['old', 'null', false, 'v']]);
    expect(h.storage.record('object', BUCKET, 'old')?.noncurrent?.[0]?.chunks?.chunkSizesBytes).to.deep.equal([6]);
    // A delete marker over a key written before versioning moves its body too.
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'legacy' }));
    expect(marker.DeleteMarker).to.equal(true);
    expect(await text('legacy', 'null')).to.equal('x');
  });

  it('gives a suspended bucket one null version that each write replaces, keeping versions with ids', async () => {
    await enable();
    const kept = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'kept' }));
    await enable('Suspended');
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'null one' }));
    // As S3 answers: a null version's write names no version.
    expect(first.VersionId).to.equal(undefined);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'null two' }));
    expect(await versions()).to.deep.equal([['k', 'null', true, 'v'], ['k', kept.VersionId, false, 'v']]);
    expect(await text('k', 'null')).to.equal('null two');
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'k' }));
    expect([marker.DeleteMarker, marker.VersionId]).to.deep.equal([true, 'null']);
    expect(await versions()).to.deep.equal([['k', kept.VersionId, false, 'v'], ['k', 'null', true, 'dm']]);
  });

  it('deletes versions and makes markers in a batch, and copies a named version', async () => {
    await enable();
    const a1 = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a', Body: 'a1' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a', Body: 'a2' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'b', Body: 'b1' }));
    const copy = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'c', CopySource: `${BUCKET}/a?versionId=${a1.VersionId}` }));
    expect(copy.CopySourceVersionId).to.equal(a1.VersionId);
    expect(copy.VersionId).to.match(/^[0-9a-f]{32}$/);
    expect(await text('c')).to.equal('a1');
    const batch = await s3.send(new DeleteObjectsCommand({
      Bucket: BUCKET,
      Delete: { Objects: [{ Key: 'a', VersionId: a1.VersionId }, { Key: 'b' }] },
    }));
    const byKey = new Map((batch.Deleted ?? []).map((d) => [d.Key, d]));
    expect(byKey.get('a')).to.include({ VersionId: a1.VersionId });
    expect(byKey.get('b')?.DeleteMarker).to.equal(true);
    expect(byKey.get('b')?.DeleteMarkerVersionId).to.match(/^[0-9a-f]{32}$/);
    expect((await versions('a')).length).to.equal(1);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'b' })))).to.deep.equal({ name: 'NoSuchKey', status: 404 });
  });

  it('pages through versions one at a time without losing or repeating any', async () => {
    await enable();
    const expected: string[] = [];
    for (const key of ['p/1', 'p/2', 'q']) {
      const made: string[] = [];
      for (let i = 0; i < 3; i++) made.unshift((await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `${key}${i}` }))).VersionId!);
      expected.push(...made.map((id) => `${key}@${id}`));
    }
    const seen: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (let page = 0; page < 20; page++) {
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, MaxKeys: 2, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
      seen.push(...(listed.Versions ?? []).map((v) => `${v.Key}@${v.VersionId}`));
      if (!listed.IsTruncated) break;
      keyMarker = listed.NextKeyMarker;
      versionIdMarker = listed.NextVersionIdMarker;
    }
    expect(seen).to.deep.equal(expected);
    const rolled = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Delimiter: '/' }));
    expect(rolled.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['p/']);
    expect(rolled.Versions?.map((v) => v.Key)).to.deep.equal(['q', 'q', 'q']);
  });

  it('decides a conditional write on a versioned key against its current version', async () => {
    await enable();
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cas', Body: 'one' }));
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cas', Body: 'x', IfNoneMatch: '*' })))).to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    const second = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cas', Body: 'two', IfMatch: first.ETag }));
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cas', Body: 'x', IfMatch: first.ETag })))).to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'cas' }));
    // Behind a delete marker the key has no current version: If-None-Match * holds again.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cas', Body: 'three', IfNoneMatch: '*' }));
    expect((await versions()).length).to.equal(4);
    expect(await text('cas', second.VersionId)).to.equal('two');
  });
});
