import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { eventually } from '../../support/eventually.js';
import { bodyOf, type Harness, MiB, pattern, signedHeaders, startHarness, type UserName, xmlValue } from '../../support/gateway-harness.js';

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

/** Sends one byte of what is left of a partial upload every `everyMs`, until the connection closes or `count` bytes went. */
async function trickle(socket: Socket, everyMs: number, count: number, bytes = 1): Promise<number> {
  let sent = 0;
  while (sent < count && !socket.destroyed && socket.writable) {
    socket.write(pattern(bytes, sent + 11));
    sent++;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return sent;
}

/** Everything the server sends on `socket` until it closes the connection. */
function readUntilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('close', () => resolve(text));
  });
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
        // No rate floor: the stalled uploads stay, and only the sharing of the memory is at stake.
        config: { chunkSizeBytes: 1 * MiB, bodyMemoryBytes: 8 * MiB, readPieceBytes: 256 * 1024, readAheadPieces: 2, cacheBytes: 0, bodyIdleTimeoutMs: 60_000, minBodyBytesPerSec: 0 },
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

  describe('uploads', () => {
    beforeEach(async () => {
      h = await startHarness({
        config: { chunkSizeBytes: 1 * MiB, minBodyBytesPerSec: 64 * 1024, bodyRateWindowMs: 1_000, bodyIdleTimeoutMs: 60_000, maxBodyReceiveMs: 60_000 },
      });
      h.admin.addBucket('ups', 'alice');
    });

    async function expectCutOff(socket: Socket, response: Promise<string>): Promise<void> {
      const text = await within(response, 20_000, 'the answer to a slow upload');
      expect(text).to.match(/^HTTP\/1\.1 400 /);
      expect(text).to.match(/\r\nconnection: close\r\n/i);
      expect(xmlValue(text, 'Code')).to.equal('RequestTimeout');
      expect(socket.destroyed || socket.readableEnded, 'the connection is closed').to.equal(true);
      await eventually(() => h.server.inFlight === 0 && h.storage.pending === 0, 5_000, 'the upload to end');
      expect(h.storage.liveKeys('chunk', 'ups'), 'every chunk it stored is removed').to.deep.equal([]);
      expect(h.storage.liveKeys('object', 'ups')).to.deep.equal([]);
      expect(h.deps.bodyMemory.inUseBytes).to.equal(0);
    }

    it('fails an upload that trickles below the rate floor with RequestTimeout and closes its connection', async () => {
      const socket = await partialPut(h, 'alice', '/ups/trickled', 16 * MiB, 3 * MiB);
      sockets.push(socket);
      const response = readUntilClosed(socket);
      await eventually(() => h.storage.liveKeys('chunk', 'ups').length >= 2, 5_000, 'chunks stored');
      // A byte every 100 ms: never idle, far below 64 KiB/s.
      const sent = trickle(socket, 100, 300);
      await expectCutOff(socket, response);
      expect(await sent, 'it was cut while still sending').to.be.below(300);
    });

    it('fails an upload that keeps to the floor but outlasts the deadline', async () => {
      await h.close();
      h = await startHarness({
        config: { chunkSizeBytes: 1 * MiB, minBodyBytesPerSec: 1024, bodyRateWindowMs: 1_000, bodyIdleTimeoutMs: 60_000, maxBodyReceiveMs: 1_500 },
      });
      h.admin.addBucket('ups', 'alice');
      const socket = await partialPut(h, 'alice', '/ups/endless', 64 * MiB, 1 * MiB);
      sockets.push(socket);
      const response = readUntilClosed(socket);
      // 64 KiB every 50 ms, far above the floor, for longer than the deadline.
      const sent = trickle(socket, 50, 400, 64 * 1024);
      await expectCutOff(socket, response);
      expect(await sent, 'it was cut while still sending').to.be.below(400);
    });

    it('lets an upload that keeps above the floor finish', async () => {
      const body = pattern(1 * MiB + 3, 7);
      const headers = await signedHeaders(h.endpoint, 'alice', { method: 'PUT', path: '/ups/steady', headers: { 'content-length': String(body.length) } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
      const socket = connect(h.server.port, '127.0.0.1');
      sockets.push(socket);
      socket.on('error', () => undefined);
      const response = readUntilClosed(socket);
      socket.write([`PUT /ups/steady HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), 'Connection: close', '', ''].join('\r\n'));
      // 32 KiB every 100 ms: five times the floor, for three windows.
      for (let offset = 0; offset < body.length; offset += 32 * 1024) {
        socket.write(body.subarray(offset, offset + 32 * 1024));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const text = await within(response, 20_000, 'the answer to a steady upload');
      expect(text).to.match(/^HTTP\/1\.1 200 /);
      expect(h.storage.record('object', 'ups', 'steady')?.sizeBytes).to.equal(body.length);
    });
  });

  describe('downloads', () => {
    beforeEach(async () => {
      h = await startHarness({ config: { chunkSizeBytes: 1 * MiB, cacheBytes: 0, minBodyBytesPerSec: 64 * 1024, bodyRateWindowMs: 1_000 } });
      h.admin.addBucket('down', 'alice');
    });

    it('cuts a download whose client stops taking its body, and gives back what was read ahead for it', async () => {
      const size = 48 * MiB;
      await h.client('alice').send(new PutObjectCommand({ Bucket: 'down', Key: 'big', Body: pattern(size, 5) }));
      const headers = await signedHeaders(h.endpoint, 'alice', { method: 'GET', path: '/down/big' });
      const socket = connect(h.server.port, '127.0.0.1');
      sockets.push(socket);
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // The client sends its request and then reads nothing: the socket stays paused.
      socket.write([`GET /down/big HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), '', ''].join('\r\n'));
      await eventually(() => h.deps.bodyMemory.inUseBytes > 0, 5_000, 'the download to start');
      await eventually(() => h.server.inFlight === 0, 15_000, 'the gateway to give up on the download');
      expect(h.deps.bodyMemory.inUseBytes).to.equal(0);
      let received = 0;
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('data', (d: Buffer) => (received += d.length));
      await within(closed, 10_000, 'the connection to close');
      expect(received, 'the body was cut short').to.be.below(size);
    });
  });

  describe('connections', () => {
    beforeEach(async () => {
      h = await startHarness({ config: { maxConnectionsPerAddress: 2, maxConnections: 3, keepAliveTimeoutMs: 60_000 } });
    });

    /** Opens a connection from `localAddress`, asks it for the bucket list, and returns the first answer's status line. */
    async function ask(localAddress: string): Promise<{ socket: Socket; answer: string }> {
      const socket = connect({ port: h.server.port, host: '127.0.0.1', localAddress });
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.setEncoding('latin1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const answer = new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d: string) => {
          text += d;
          if (text.includes('</Error>') || text.includes('</ListAllMyBucketsResult>')) resolve(text);
        });
        socket.on('close', () => resolve(text));
      });
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      return { socket, answer: await within(answer, 5_000, 'an answer') };
    }

    function refused(answer: string): boolean {
      return /^HTTP\/1\.1 503 /.test(answer) && xmlValue(answer, 'Code') === 'SlowDown';
    }

    it('refuses a connection beyond the limit for its address with 503 SlowDown, and takes one again once a slot is free', async () => {
      const first = await ask('127.0.0.1');
      const second = await ask('127.0.0.1');
      expect(refused(first.answer) || refused(second.answer)).to.equal(false);
      const third = await ask('127.0.0.1');
      expect(refused(third.answer), third.answer).to.equal(true);
      await within(new Promise((resolve) => (third.socket.destroyed ? resolve(undefined) : third.socket.once('close', resolve))), 5_000, 'the refused connection to close');
      expect(refused((await ask('127.0.0.2')).answer), 'another address is still served').to.equal(false);
      first.socket.destroy();
      await eventually(async () => !refused((await ask('127.0.0.1')).answer), 5_000, 'a connection to be taken again');
    });

    it('refuses a connection beyond the total limit, whatever its address', async () => {
      for (const address of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) expect(refused((await ask(address)).answer), address).to.equal(false);
      expect(refused((await ask('127.0.0.4')).answer)).to.equal(true);
    });
  });
});
