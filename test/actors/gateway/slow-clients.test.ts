import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { eventually } from '../../support/eventually.js';
import { bodyOf, type Harness, MiB, pattern, signedHeaders, startHarness, type UserName } from '../../support/gateway-harness.js';

/** Opens a connection and sends a signed PUT's head and the first `sendBytes` of a body of `declaredBytes`. */
async function partialPut(h: Harness, user: UserName, path: string, declaredBytes: number, sendBytes: number): Promise<Socket> {
  const headers = await signedHeaders(h.endpoint, user, { method: 'PUT', path, headers: { 'content-length': String(declaredBytes) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
  const socket = connect(h.server.port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write([`PUT ${path} HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), '', ''].join('\r\n'));
  const data = pattern(sendBytes, 9);
  for (let offset = 0; offset < data.length; offset += 256 * 1024) {
    if (!socket.write(data.subarray(offset, offset + 256 * 1024))) await new Promise((resolve) => socket.once('drain', resolve));
  }
  return socket;
}

/** `promise`, or a failure naming `what` if it has not settled after `limitMs`: a bound on a wait, not a speed check. */
async function within<T>(promise: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${limitMs} ms`)), limitMs);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe('actors/gateway slow clients', function () {
  this.timeout(60_000);
  let h: Harness;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await h?.close();
  });

  describe('a few clients holding body memory', () => {
    let bob: S3Client;

    beforeEach(async () => {
      h = await startHarness({
        config: { chunkSizeBytes: 1 * MiB, bodyMemoryBytes: 8 * MiB, readPieceBytes: 256 * 1024, readAheadPieces: 2, cacheBytes: 0, bodyIdleTimeoutMs: 60_000 },
      });
      h.admin.addBucket('hogs', 'alice');
      h.admin.addBucket('mine', 'bob');
      bob = h.client('bob');
    });

    it('cannot keep another user from uploading and downloading', async () => {
      const stored = pattern(4 * MiB + 17, 3);
      await bob.send(new PutObjectCommand({ Bucket: 'mine', Key: 'stored', Body: stored }));
      // Eight uploads that send a chunk and a half each, then stall with their buffers held.
      for (let i = 0; i < 8; i++) sockets.push(await partialPut(h, 'alice', `/hogs/h${i}`, 64 * MiB, 1.5 * MiB));
      await eventually(() => h.deps.bodyMemory.inUseBytes >= 6 * MiB, 10_000, 'the stalled uploads holding memory');

      const fresh = pattern(4 * MiB + 5, 4);
      const [, got] = await within(
        Promise.all([
          bob.send(new PutObjectCommand({ Bucket: 'mine', Key: 'fresh', Body: fresh })),
          bob.send(new GetObjectCommand({ Bucket: 'mine', Key: 'stored' })).then(bodyOf),
        ]),
        20_000,
        'another user\'s upload and download',
      );
      expect(got.equals(stored)).to.equal(true);
      expect((await bob.send(new GetObjectCommand({ Bucket: 'mine', Key: 'fresh' })).then(bodyOf)).equals(fresh)).to.equal(true);
      expect(sockets.every((socket) => !socket.destroyed), 'the stalled uploads are still connected').to.equal(true);
      expect(h.deps.bodyMemory.userBytes('alice'), 'within the per-user cap').to.be.at.most(0.8 * 8 * MiB);
    });
  });

});
