import {
  CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { namespaceOf } from '../../../src/core/bucket-namespace.js';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { bodyOf, failure, type Harness, MiB, pattern, signedRequest, startHarness, xmlValue } from '../../support/gateway-harness.js';

const BUCKET = 'photos';

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}


describe('actors/gateway objects', function () {
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

  it('puts, gets and heads a small object with metadata and standard headers', async () => {
    const data = Buffer.from('hello, gateway');
    const put = await s3.send(new PutObjectCommand({
      Bucket: BUCKET, Key: 'dir/hello.txt', Body: data, ContentType: 'text/plain', CacheControl: 'max-age=60',
      ContentDisposition: 'inline', ContentLanguage: 'en', Metadata: { color: 'blue', 'two-words': 'a b' },
    }));
    expect(put.ETag).to.equal(`"${md5(data)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/hello.txt' }));
    expect((await bodyOf(got)).equals(data)).to.equal(true);
    expect(got.ContentType).to.equal('text/plain');
    expect(got.CacheControl).to.equal('max-age=60');
    expect(got.ContentDisposition).to.equal('inline');
    expect(got.ContentLanguage).to.equal('en');
    expect(got.Metadata).to.deep.equal({ color: 'blue', 'two-words': 'a b' });
    expect(got.ETag).to.equal(put.ETag);
    expect(got.ContentLength).to.equal(data.length);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'dir/hello.txt' }));
    expect(head.ContentLength).to.equal(data.length);
    expect(head.ETag).to.equal(put.ETag);
    expect(head.AcceptRanges).to.equal('bytes');
  });

  it('stores, verifies and returns the SDK default checksum when asked for it', async () => {
    const data = pattern(100_000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sum', Body: data }));
    const stored = h.storage.record('object', BUCKET, 'sum');
    expect(stored?.checksums?.crc32).to.be.a('string');
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sum', ChecksumMode: 'ENABLED' }));
    expect(got.ChecksumCRC32).to.equal(stored?.checksums?.crc32);
    expect((await bodyOf(got)).equals(data)).to.equal(true);
  });

  it('streams a body through aws-chunked with a trailing checksum', async () => {
    const data = pattern(3 * MiB + 17, 3);
    await s3.send(new PutObjectCommand({
      Bucket: BUCKET, Key: 'streamed', Body: Readable.from([data.subarray(0, MiB), data.subarray(MiB)]), ContentLength: data.length,
      ChecksumAlgorithm: 'SHA256',
    }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'streamed' }));
    expect((await bodyOf(got)).equals(data)).to.equal(true);
    expect(h.storage.record('object', BUCKET, 'streamed')?.checksums?.sha256).to.equal(createHash('sha256').update(data).digest('base64'));
  });

  it('answers GetObject of a missing key with NoSuchKey and deletes idempotently', async () => {
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'nope' })))).to.deep.equal({ name: 'NoSuchKey', status: 404 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'nope' })))).to.deep.include({ status: 404 });
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'nope' }));
    expect(deleted.$metadata.httpStatusCode).to.equal(204);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'k' }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'k' }));
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' })))).to.deep.include({ name: 'NoSuchKey' });
  });

  it('serves single ranges and answers an unsatisfiable one with 416', async () => {
    const data = pattern(1000, 7);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'r', Body: data }));
    const middle = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'r', Range: 'bytes=100-199' }));
    expect(middle.$metadata.httpStatusCode).to.equal(206);
    expect(middle.ContentRange).to.equal('bytes 100-199/1000');
    expect((await bodyOf(middle)).equals(data.subarray(100, 200))).to.equal(true);
    const suffix = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'r', Range: 'bytes=-10' }));
    expect((await bodyOf(suffix)).equals(data.subarray(990))).to.equal(true);
    const open = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'r', Range: 'bytes=995-' }));
    expect((await bodyOf(open)).equals(data.subarray(995))).to.equal(true);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'r', Range: 'bytes=1000-' })))).to.deep.equal({ name: 'InvalidRange', status: 416 });
  });

  it('answers conditional GET and HEAD with 304 and 412', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'c', Body: 'conditional' }));
    const notModified = await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c', IfNoneMatch: put.ETag })));
    expect(notModified.status).to.equal(304);
    const headNotModified = await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'c', IfModifiedSince: new Date(Date.now() + 60_000) })));
    expect(headNotModified.status).to.equal(304);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c', IfMatch: '"0000"' })))).to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    const ok = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c', IfMatch: put.ETag }));
    expect((await bodyOf(ok)).toString()).to.equal('conditional');
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'c', IfUnmodifiedSince: new Date(Date.now() - 3_600_000) })))).to.deep.include({ status: 412 });
  });

  it('applies response-* overrides', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'o', Body: 'x', ContentType: 'text/plain' }));
    const got = await s3.send(new GetObjectCommand({
      Bucket: BUCKET, Key: 'o', ResponseContentType: 'application/json', ResponseContentDisposition: 'attachment; filename="ü.txt"',
      ResponseCacheControl: 'no-cache', ResponseContentLanguage: 'de', ResponseExpires: new Date(Date.UTC(2030, 0, 1)),
    }));
    expect(got.ContentType).to.equal('application/json');
    expect(got.CacheControl).to.equal('no-cache');
    expect(got.ContentLanguage).to.equal('de');
  });

  it('refuses user metadata over 2 KiB with MetadataTooLarge', async () => {
    const error = await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'm', Body: 'x', Metadata: { big: 'v'.repeat(2100) } })));
    expect(error).to.deep.equal({ name: 'MetadataTooLarge', status: 400 });
    expect(h.storage.liveKeys('object')).to.deep.equal([]);
  });

  it('refuses a body whose Content-MD5 does not match', async () => {
    const response = await signedRequest(h.endpoint, 'alice', {
      method: 'PUT', path: `/${BUCKET}/md5`, body: 'payload', headers: { 'content-md5': createHash('md5').update('other').digest('base64') },
    });
    expect(response.status).to.equal(400);
    expect(xmlValue(response.text, 'Code')).to.equal('BadDigest');
    expect(h.storage.liveKeys('object')).to.deep.equal([]);
    const good = await signedRequest(h.endpoint, 'alice', {
      method: 'PUT', path: `/${BUCKET}/md5`, body: 'payload', headers: { 'content-md5': createHash('md5').update('payload').digest('base64') },
    });
    expect(good.status).to.equal(200);
  });

  it('refuses a body that does not match x-amz-content-sha256', async () => {
    const response = await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/sha`, body: 'payload' }, {
      payloadHash: createHash('sha256').update('something else').digest('hex'),
    });
    expect(response.status).to.equal(400);
    expect(xmlValue(response.text, 'Code')).to.equal('XAmzContentSHA256Mismatch');
    expect(h.storage.liveKeys('object')).to.deep.equal([]);
  });

  it('honours If-None-Match: * on PutObject', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'once', Body: 'first', IfNoneMatch: '*' }));
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'once', Body: 'second', IfNoneMatch: '*' })))).to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'once' }));
    expect((await bodyOf(got)).toString()).to.equal('first');
  });

  it('refuses to overwrite the version an If-None-Match ETag names on PutObject', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'guarded', Body: 'first' }));
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'guarded', Body: 'second', IfNoneMatch: first.ETag }))))
      .to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    const second = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'guarded', Body: 'second', IfNoneMatch: '"0123456789abcdef0123456789abcdef"' }));
    expect(second.$metadata.httpStatusCode).to.equal(200);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'guarded', Body: 'third', IfNoneMatch: first.ETag }));
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'guarded' })))).toString()).to.equal('third');
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'absent', Body: 'x', IfMatch: '*' })))).to.deep.equal({ name: 'NoSuchKey', status: 404 });
  });

  it('deletes only the version If-Match names, on DeleteObject and per entry of DeleteObjects', async () => {
    const kept = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept', Body: 'v1' }));
    const other = '"0123456789abcdef0123456789abcdef"';
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'kept', IfMatch: other })))).to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'never', IfMatch: '*' })))).to.deep.equal({ name: 'NoSuchKey', status: 404 });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'batch', Body: 'b' }));
    const batch = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'kept', ETag: other }, { Key: 'batch', ETag: '*' }] } }));
    expect(batch.Errors?.map((e) => [e.Key, e.Code])).to.deep.equal([['kept', 'PreconditionFailed']]);
    expect(batch.Deleted?.map((d) => d.Key)).to.deep.equal(['batch']);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'kept', IfMatch: kept.ETag }));
    expect(h.storage.liveKeys('object')).to.not.include('kept');
    expect(h.storage.liveKeys('object')).to.not.include('batch');
  });

  it('answers a conditional write that concurrent ones kept from being decided with 409, which clients retry', async () => {
    h.storage.inject((call) => call.op === 'put' && call.key === 'contended', 'ConditionalConflict');
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'contended', Body: 'x', IfNoneMatch: '*' })))).to.deep.equal({ name: 'ConditionalRequestConflict', status: 409 });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'contended', Body: 'x', IfNoneMatch: '*' }));
  });

  it('copies objects with the COPY and REPLACE metadata directives and copy-source conditions', async () => {
    const source = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src', Body: 'copy me', ContentType: 'text/plain', Metadata: { a: '1' } }));
    const copied = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'dst', CopySource: `${BUCKET}/src` }));
    expect(copied.CopyObjectResult?.ETag).to.equal(source.ETag);
    const dst = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dst' }));
    expect((await bodyOf(dst)).toString()).to.equal('copy me');
    expect(dst.Metadata).to.deep.equal({ a: '1' });
    expect(dst.ContentType).to.equal('text/plain');

    await s3.send(new CopyObjectCommand({
      Bucket: BUCKET, Key: 'dst2', CopySource: `${BUCKET}/src`, MetadataDirective: 'REPLACE', ContentType: 'application/x-new', Metadata: { b: '2' },
    }));
    const dst2 = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'dst2' }));
    expect(dst2.Metadata).to.deep.equal({ b: '2' });
    expect(dst2.ContentType).to.equal('application/x-new');

    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'src', CopySource: `${BUCKET}/src`, MetadataDirective: 'REPLACE', Metadata: { c: '3' } }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'src' }))).Metadata).to.deep.equal({ c: '3' });

    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'x', CopySource: `${BUCKET}/src`, CopySourceIfMatch: '"nope"' }))))
      .to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'x', CopySource: `${BUCKET}/src`, CopySourceIfNoneMatch: source.ETag }))))
      .to.deep.equal({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'x', CopySource: `${BUCKET}/missing` })))).to.deep.include({ name: 'NoSuchKey' });
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'src', CopySource: `${BUCKET}/src` })))).to.deep.include({ name: 'InvalidRequest' });
  });

  it('deletes a batch of keys, quietly or not, and reports per-key errors', async () => {
    for (const key of ['a', 'b', 'c']) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    const loud = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'a' }, { Key: 'missing' }, { Key: 'b', VersionId: 'v1' }] } }));
    expect(loud.Deleted?.map((d) => d.Key).sort()).to.deep.equal(['a', 'missing']);
    expect(loud.Errors?.map((e) => [e.Key, e.Code])).to.deep.equal([['b', 'NoSuchVersion']]);
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'b' }, { Key: 'c' }], Quiet: true } }));
    expect(quiet.Deleted ?? []).to.deep.equal([]);
    expect(quiet.Errors ?? []).to.deep.equal([]);
    expect(h.storage.liveKeys('object')).to.deep.equal([]);
  });

  it('reports an empty key in a batch delete as an error, quietly or not, and never asks storage about it', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept', Body: 'x' }));
    const before = h.storage.calls.length;
    const loud = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: '' }, { Key: 'kept' }] } }));
    expect(loud.Deleted?.map((d) => d.Key)).to.deep.equal(['kept']);
    expect(loud.Errors?.map((e) => [e.Key ?? '', e.Code])).to.deep.equal([['', 'UserKeyMustBeSpecified']]);
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: '' }], Quiet: true } }));
    expect(quiet.Errors?.map((e) => e.Code)).to.deep.equal(['UserKeyMustBeSpecified']);
    expect(h.storage.calls.slice(before).filter((c) => c.op === 'delete').map((c) => c.key)).to.deep.equal(['kept']);
  });

  it('serves repeated reads of a small object from the cache after checking its version', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'hot', Body: 'v1' }));
    for (let i = 0; i < 3; i++) expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hot' })))).toString()).to.equal('v1');
    const bodyReads = h.storage.calls.filter((c) => c.op === 'get' && c.kind === 'object' && c.key === 'hot');
    expect(h.deps.cache.stats.hits).to.be.greaterThan(0);
    // A write that bypasses this gateway is still seen: the hit is validated by clock and etag.
    await h.storage.put('object', { bucket: namespaceOf(h.view.bucket(BUCKET)!), key: 'hot', sizeBytes: 2, etag: md5(Buffer.from('v2')), contentType: 'text/plain', userMeta: {} }, Buffer.from('v2'));
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hot' })))).toString()).to.equal('v2');
    expect(bodyReads.length).to.be.greaterThan(0);
  });

  it('caches an object on its second read, not its first, and a new version written here replaces it at once', async () => {
    const bucket = namespaceOf(h.view.bucket(BUCKET)!);
    await h.storage.put('object', { bucket, key: 'read-once', sizeBytes: 2, etag: md5(Buffer.from('r1')), contentType: 'text/plain', userMeta: {} }, Buffer.from('r1'));
    const read = async (): Promise<string> => (await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'read-once' })))).toString();
    expect(await read()).to.equal('r1');
    expect(h.deps.cache.get(BUCKET, 'read-once'), 'not after one read').to.equal(undefined);
    expect(await read()).to.equal('r1');
    expect(h.deps.cache.get(BUCKET, 'read-once')?.meta.etag).to.equal(md5(Buffer.from('r1')));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'read-once', Body: 'r2' }));
    expect(h.deps.cache.get(BUCKET, 'read-once')?.meta.etag).to.equal(md5(Buffer.from('r2')));
  });
});
