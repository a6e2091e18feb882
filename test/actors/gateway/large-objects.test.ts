import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { parseVersionedChunkKey } from '../../../src/core/chunk-layout.js';
import { bodyOf, eventually, type Harness, MiB, pattern, signedHeaders, signedRequest, startHarness, xmlValue } from '../../support/gateway-harness.js';

const BUCKET = 'big';


/** Opens a connection and sends a signed PUT's head and the first `sendBytes` of a body of `declaredBytes`. */
async function partialPut(h: Harness, key: string, declaredBytes: number, sendBytes: number): Promise<Socket> {
  const path = `/${BUCKET}/${key}`;
  const headers = await signedHeaders(h.endpoint, 'alice', { method: 'PUT', path, headers: { 'content-length': String(declaredBytes) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
  const socket = connect(h.server.port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const head = [`PUT ${path} HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), '', ''].join('\r\n');
  socket.write(head);
  const data = pattern(sendBytes, 9);
  for (let offset = 0; offset < data.length; offset += MiB) {
    if (!socket.write(data.subarray(offset, offset + MiB))) await new Promise((resolve) => socket.once('drain', resolve));
  }
  return socket;
}

function readResponse(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('close', () => resolve(text));
  });
}

describe('actors/gateway large objects', function () {
  this.timeout(120_000);
  let h: Harness;
  let s3: S3Client;

  beforeEach(async () => {
    h = await startHarness({ config: { bodyIdleTimeoutMs: 500 } });
    h.admin.addBucket(BUCKET, 'alice');
    s3 = h.client('alice');
  });

  afterEach(async () => {
    await h.close();
  });

  it('cuts a 64 MiB body into chunks as it streams and reads it back byte for byte', async () => {
    const data = pattern(64 * MiB, 5);
    const pieces = Array.from({ length: 64 }, (_, i) => data.subarray(i * MiB, (i + 1) * MiB));
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'video.bin', Body: Readable.from(pieces), ContentLength: data.length }));
    expect(put.ETag).to.equal(`"${createHash('md5').update(data).digest('hex')}"`);

    const meta = h.storage.record('object', BUCKET, 'video.bin')!;
    expect(meta.sizeBytes).to.equal(64 * MiB);
    expect(meta.chunks?.chunkSizesBytes).to.deep.equal([...Array(12).fill(5 * MiB), 4 * MiB]);
    const chunkKeys = h.storage.liveKeys('chunk', BUCKET);
    expect(chunkKeys).to.have.length(13);
    const parsed = chunkKeys.map((k) => parseVersionedChunkKey(k));
    expect(new Set(parsed.map((p) => p?.versionId)).size).to.equal(1);
    expect(parsed.every((p) => p?.key === 'video.bin')).to.equal(true);
    expect(meta.chunks?.runs).to.deep.equal([{ versionId: parsed[0]!.versionId, chunkCount: 13 }]);

    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'video.bin', ChecksumMode: 'ENABLED' }));
    expect(got.ContentLength).to.equal(data.length);
    expect((await bodyOf(got)).equals(data)).to.equal(true);
  });

  it('refuses a large body whose Content-MD5 or signed SHA-256 does not match, and leaves no chunk behind', async () => {
    const data = pattern(6 * MiB + 5, 4);
    const md5Of = (bytes: Buffer | string): string => createHash('md5').update(bytes).digest('base64');
    const wrongMd5 = await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/bad-md5`, body: data, headers: { 'content-md5': md5Of('other') } });
    expect(wrongMd5.status).to.equal(400);
    expect(xmlValue(wrongMd5.text, 'Code')).to.equal('BadDigest');
    const wrongSha = await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/bad-sha`, body: data }, { payloadHash: createHash('sha256').update('other').digest('hex') });
    expect(wrongSha.status).to.equal(400);
    expect(xmlValue(wrongSha.text, 'Code')).to.equal('XAmzContentSHA256Mismatch');
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 0);
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);

    const good = await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/good`, body: data, headers: { 'content-md5': md5Of(data) } });
    expect(good.status).to.equal(200);
    expect(good.headers.etag).to.equal(`"${createHash('md5').update(data).digest('hex')}"`);
  });

  it('deletes the chunks of a record write that failed, and keeps those of one that timed out (it may still land)', async () => {
    const data = pattern(6 * MiB + 5, 6);
    h.storage.inject((call) => call.op === 'put' && call.kind === 'object' && call.key === 'refused.bin', 'QuorumFailed');
    const refused = await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/refused.bin`, body: data });
    expect(refused.status).to.equal(503);
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 0);
    h.storage.inject((call) => call.op === 'put' && call.kind === 'object' && call.key === 'timed-out.bin', 'Timeout');
    const timedOut = await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/timed-out.bin`, body: data });
    expect(timedOut.status).to.equal(503);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(h.storage.liveKeys('chunk', BUCKET), 'left to the orphan sweep').to.have.length(2);
  });

  it('copies a large object with its ETag and full-object checksum computed over the copy', async () => {
    const data = pattern(12 * MiB + 9, 8);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'original.bin', Body: data, ChecksumAlgorithm: 'SHA256' }));
    const copied = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy.bin', CopySource: `${BUCKET}/original.bin` }));
    expect(copied.CopyObjectResult?.ETag).to.equal(`"${createHash('md5').update(data).digest('hex')}"`);
    expect(h.storage.record('object', BUCKET, 'copy.bin')?.checksums?.sha256).to.equal(createHash('sha256').update(data).digest('base64'));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy.bin' }));
    expect((await bodyOf(got)).equals(data)).to.equal(true);
  });

  it('reuses the chunk buffers of finished uploads, also after a body that ends on a chunk boundary', async () => {
    const chunk = h.deps.config.chunkSizeBytes;
    const buffers = h.deps.chunkBuffers;
    let fresh = 0;
    const take = buffers.take.bind(buffers);
    buffers.take = () => {
      if (buffers.keptCount === 0) fresh++;
      return take();
    };
    for (let i = 0; i < 4; i++) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `exact-${i}`, Body: pattern(2 * chunk, i) }));
    }
    expect(fresh).to.be.at.most(3);
    expect(buffers.keptCount).to.be.greaterThan(0);
    expect(h.deps.bodyMemory.inUseBytes).to.equal(0);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'exact-3' }));
    expect((await bodyOf(got)).equals(pattern(2 * chunk, 3))).to.equal(true);
  });

  it('reads ranges across chunk boundaries, fetching only the bytes they need from the chunks they touch', async () => {
    const data = pattern(16 * MiB + 3, 6);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'r.bin', Body: data }));
    const five = 5 * MiB;
    const ranges: Array<[number, number]> = [
      [five - 10, five + 10],
      [five - 1, five],
      [1, 3 * five + 2],
      [3 * five, 16 * MiB + 2],
      [0, 0],
      [16 * MiB + 2, 16 * MiB + 2],
    ];
    for (const [start, end] of ranges) {
      const before = h.storage.calls.filter((c) => c.op === 'get' && c.kind === 'chunk').length;
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'r.bin', Range: `bytes=${start}-${end}` }));
      expect(got.ContentRange).to.equal(`bytes ${start}-${end}/${data.length}`);
      expect((await bodyOf(got)).equals(data.subarray(start, end + 1)), `${start}-${end}`).to.equal(true);
      const fetched = h.storage.calls.filter((c) => c.op === 'get' && c.kind === 'chunk').slice(before);
      const chunkIndex = (call: { key: string | undefined }) => Number(call.key!.split('\n').pop());
      const touched = Array.from({ length: Math.floor(end / five) - Math.floor(start / five) + 1 }, (_, i) => Math.floor(start / five) + i);
      expect([...new Set(fetched.map(chunkIndex))], `chunks read for ${start}-${end}`).to.deep.equal(touched);
      const fetchedBytes = (call: (typeof fetched)[number]) => call.bodySlice?.lengthBytes ?? Math.min(five, data.length - five * chunkIndex(call));
      expect(Math.max(...fetched.map(fetchedBytes)), 'the largest read').to.be.at.most(h.deps.config.readPieceBytes);
      expect(fetched.reduce((sum, call) => sum + fetchedBytes(call), 0), `bytes fetched for ${start}-${end}`).to.equal(end - start + 1);
    }
  });

  it('deletes the chunks of a replaced or deleted version, and keeps those of the new one', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'v', Body: pattern(11 * MiB, 1) }));
    const first = new Set(h.storage.liveKeys('chunk', BUCKET));
    expect(first.size).to.equal(3);
    const second = pattern(6 * MiB, 2);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'v', Body: second }));
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 2);
    expect(h.storage.liveKeys('chunk', BUCKET).some((k) => first.has(k))).to.equal(false);
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'v' })))).equals(second)).to.equal(true);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'v', Body: 'small now' }));
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 0);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'v', Body: pattern(6 * MiB, 3) }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'v' }));
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 0);
  });

  it('keeps concurrent uploads of one key apart', async () => {
    const bodies = [pattern(7 * MiB, 11), pattern(7 * MiB, 12), pattern(7 * MiB, 13)];
    await Promise.all(bodies.map((body) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'race', Body: body }))));
    const got = await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'race' })));
    expect(bodies.some((body) => body.equals(got))).to.equal(true);
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 2);
  });

  it('makes nothing visible, and deletes its chunks, when the client disconnects mid-PUT', async () => {
    const socket = await partialPut(h, 'cut', 20 * MiB, 12 * MiB);
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length >= 2);
    socket.destroy();
    await eventually(() => h.storage.pending === 0 && h.server.inFlight === 0);
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 0);
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);
  });

  it('answers a body shorter than its Content-Length that stops arriving with RequestTimeout', async () => {
    const socket = await partialPut(h, 'short', 12 * MiB, 7 * MiB);
    const response = await readResponse(socket);
    expect(response).to.match(/^HTTP\/1\.1 400 /);
    expect(xmlValue(response, 'Code')).to.equal('RequestTimeout');
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 0);
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);
  });

  it('makes nothing visible when the client ends its side of the connection before the body is complete', async () => {
    const socket = await partialPut(h, 'half', 12 * MiB, 6 * MiB);
    socket.end();
    await readResponse(socket);
    await eventually(() => h.server.inFlight === 0 && h.storage.liveKeys('chunk', BUCKET).length === 0);
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);
  });

  it('deletes the chunks already written when a later chunk write fails', async () => {
    let chunkPuts = 0;
    h.storage.inject((call) => call.op === 'put' && call.kind === 'chunk' && ++chunkPuts === 3, 'QuorumFailed');
    const error = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'fails', Body: pattern(20 * MiB, 4) })).then(
      () => undefined,
      (e: { name: string; $metadata: { httpStatusCode: number } }) => [e.name, e.$metadata.httpStatusCode],
    );
    expect(error).to.deep.equal(['ServiceUnavailable', 503]);
    expect(h.storage.liveKeys('chunk', BUCKET)).to.deep.equal([]);
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);
  });
});
