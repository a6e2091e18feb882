import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksumBase64, type ComputedDigests, type HashPlan } from '../../../src/protocol/s3/checksums.js';
import { S3Error } from '../../../src/protocol/s3/errors.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { DigestPool, OFF_THREAD_MIN_BYTES, type DigestPoolOptions, type StreamHashes } from '../../../src/actors/gateway/digest-pool.js';
import { copyIntoShared, sharedBuffer } from '../../../src/actors/gateway/shared-memory.js';

const FULL_PLAN: HashPlan = { sha256: true, checksum: 'CRC32C' };

/** Feeds `body` in pieces of `pieceBytes`, waiting whenever the hashes ask to. */
async function feed(hashes: StreamHashes, body: Buffer, pieceBytes: number): Promise<ComputedDigests> {
  for (let offset = 0; offset < body.length; offset += pieceBytes) {
    const waiting = hashes.update(body.subarray(offset, offset + pieceBytes));
    if (waiting !== undefined) await waiting;
  }
  return hashes.digests();
}

function expectDigestsOf(digests: ComputedDigests, body: Buffer): void {
  expect(digests.size).to.equal(body.length);
  expect(digests.md5.toString('hex')).to.equal(createHash('md5').update(body).digest('hex'));
  expect(digests.sha256?.toString('hex')).to.equal(createHash('sha256').update(body).digest('hex'));
  expect(digests.checksum?.toString('base64')).to.equal(checksumBase64('CRC32C', body));
}

describe('actors/gateway digest pool', function () {
  this.timeout(30_000);
  const pools: DigestPool[] = [];
  const poolOf = (threads: number, options: DigestPoolOptions = {}): DigestPool => {
    const pool = new DigestPool(threads, memoryLogger('error').logger, options);
    pools.push(pool);
    return pool;
  };

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
  });

  it('hashes large bodies on its threads to the same digests as in place, however the pieces fall', async () => {
    const pool = poolOf(2);
    const bodies = [randomBytes(OFF_THREAD_MIN_BYTES), randomBytes(3 * OFF_THREAD_MIN_BYTES + 17), randomBytes(2 * OFF_THREAD_MIN_BYTES + 1)];
    const pieceSizes = [65_536, 1_000_003, 7];
    const results = await Promise.all(bodies.map((body, i) => feed(pool.hashesFor(FULL_PLAN, body.length), body, pieceSizes[i]!)));
    results.forEach((digests, i) => expectDigestsOf(digests, bodies[i]!));
    const small = randomBytes(1000);
    expectDigestsOf(await feed(pool.hashesFor(FULL_PLAN, small.length), small, 100), small);
    const unknownLength = randomBytes(2 * OFF_THREAD_MIN_BYTES);
    expectDigestsOf(await feed(pool.hashesFor(FULL_PLAN, undefined), unknownLength, 65_536), unknownLength);
  });

  it('makes a body wait for room when the ring is full, and many bodies share it in turn', async () => {
    const pool = poolOf(1, { ringBytes: 64 * 1024 });
    const bodies = Array.from({ length: 6 }, () => randomBytes(OFF_THREAD_MIN_BYTES + 4096));
    let waited = 0;
    const results = await Promise.all(
      bodies.map(async (body) => {
        const hashes = pool.hashesFor({ sha256: false, checksum: undefined }, body.length);
        for (let offset = 0; offset < body.length; offset += 50_000) {
          const waiting = hashes.update(body.subarray(offset, offset + 50_000));
          if (waiting !== undefined) {
            waited++;
            await waiting;
          }
        }
        return hashes.digests();
      }),
    );
    expect(waited).to.be.greaterThan(0);
    results.forEach((digests, i) => expect(digests.md5.equals(createHash('md5').update(bodies[i]!).digest())).to.equal(true));
  });

  it('hashes bytes named where they lie in shared memory, between copied pieces, and says once its thread has read them', async () => {
    const pool = poolOf(1, { workerUrl: new URL('../../support/slow-digest-worker.js', import.meta.url) });
    const body = randomBytes(3 * OFF_THREAD_MIN_BYTES + 5);
    const hashes = pool.hashesFor(FULL_PLAN, body.length);
    const copied = 1000;
    await hashes.update(body.subarray(0, copied));
    // One buffer, written again for every part of the body: only once the thread read a part may the next overwrite it.
    const memory = sharedBuffer(OFF_THREAD_MIN_BYTES);
    let waitedForThread = 0;
    for (let offset = copied; offset < body.length; offset += memory.length) {
      const reading = hashes.hashed(memory);
      if (reading !== undefined) {
        waitedForThread++;
        await reading;
      }
      const part = body.subarray(offset, offset + memory.length);
      copyIntoShared(memory, 0, part);
      hashes.updateShared(memory.subarray(0, part.length));
    }
    expect(waitedForThread).to.equal(Math.ceil((body.length - copied) / memory.length) - 1);
    expectDigestsOf(await hashes.digests(), body);
    expect(hashes.hashed(memory)).to.equal(undefined);
    expect(() => pool.hashesFor(FULL_PLAN, body.length).updateShared(Buffer.alloc(10))).to.throw(/shared memory/);
  });

  it('lets go of bytes named in shared memory when its thread dies before reading them', async () => {
    const pool = poolOf(1, { workerUrl: new URL('../../support/crashing-digest-worker.js', import.meta.url) });
    const hashes = pool.hashesFor(FULL_PLAN, 2 * OFF_THREAD_MIN_BYTES);
    const memory = sharedBuffer(OFF_THREAD_MIN_BYTES);
    hashes.updateShared(memory);
    await hashes.hashed(memory);
    const failure = await hashes.digests().then(() => undefined, (error: unknown) => error);
    expect((failure as S3Error).code).to.equal('InternalError');
  });

  it('forgets an abandoned body and goes on hashing the others', async () => {
    const pool = poolOf(1);
    const dropped = pool.hashesFor(FULL_PLAN, 4 * OFF_THREAD_MIN_BYTES);
    dropped.update(randomBytes(OFF_THREAD_MIN_BYTES));
    dropped.abandon();
    const body = randomBytes(2 * OFF_THREAD_MIN_BYTES);
    expectDigestsOf(await feed(pool.hashesFor(FULL_PLAN, body.length), body, 100_000), body);
  });

  it('fails the bodies of a thread that dies with InternalError, and hashes the next body on a new thread', async () => {
    const pool = poolOf(1, { workerUrl: new URL('../../support/crashing-digest-worker.js', import.meta.url) });
    const md5Only: HashPlan = { sha256: false, checksum: undefined };
    const before = randomBytes(OFF_THREAD_MIN_BYTES);
    expect((await feed(pool.hashesFor(md5Only, before.length), before, 65_536)).md5.equals(createHash('md5').update(before).digest())).to.equal(true);

    const doomed = randomBytes(3 * OFF_THREAD_MIN_BYTES);
    const failure = await feed(pool.hashesFor(FULL_PLAN, doomed.length), doomed, 65_536).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).to.be.instanceOf(S3Error);
    expect((failure as S3Error).code).to.equal('InternalError');

    const after = randomBytes(2 * OFF_THREAD_MIN_BYTES);
    expect((await feed(pool.hashesFor(md5Only, after.length), after, 65_536)).md5.equals(createHash('md5').update(after).digest())).to.equal(true);
  });

  it('keeps its process alive while a body is being hashed, and not once it is idle', async () => {
    const poolModule = new URL('../../../src/actors/gateway/digest-pool.js', import.meta.url).href;
    const loggerModule = new URL('../../../src/runtime/logger.js', import.meta.url).href;
    // A process that hashes one large body on a digest thread and never closes the pool.
    const script = `
      const { DigestPool } = await import(${JSON.stringify(poolModule)});
      const { memoryLogger } = await import(${JSON.stringify(loggerModule)});
      const pool = new DigestPool(1, memoryLogger('error').logger);
      const hashes = pool.hashesFor({ sha256: false, checksum: undefined }, 4 << 20);
      await hashes.update(Buffer.alloc(4 << 20, 1));
      const digests = await hashes.digests();
      console.log(digests.md5.toString('hex'));
    `;
    const dir = mkdtempSync(join(tmpdir(), 'digest-pool-'));
    const file = join(dir, 'hash-one-body.mjs');
    writeFileSync(file, script);
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
    expect(signal).to.equal(null);
    expect(code).to.equal(0);
    expect(out.trim()).to.equal(createHash('md5').update(Buffer.alloc(4 << 20, 1)).digest('hex'));
  });

  it('lets go of shared memory it hashed once it goes quiet, so a chunk buffer dropped is freed', async () => {
    const poolModule = new URL('../../../src/actors/gateway/digest-pool.js', import.meta.url).href;
    const sharedModule = new URL('../../../src/actors/gateway/shared-memory.js', import.meta.url).href;
    const loggerModule = new URL('../../../src/runtime/logger.js', import.meta.url).href;
    // A process (with V8's gc, as the gateway has) that hashes 128 MiB of shared memory, drops it, and
    // reports its resident memory while it still held it and once the digest thread has gone quiet.
    const script = `
      const { DigestPool } = await import(${JSON.stringify(poolModule)});
      const { sharedBuffer } = await import(${JSON.stringify(sharedModule)});
      const { memoryLogger } = await import(${JSON.stringify(loggerModule)});
      const pool = new DigestPool(1, memoryLogger('error').logger);
      let memory = sharedBuffer(128 << 20);
      memory.fill(1);
      const hashes = pool.hashesFor({ sha256: false, checksum: undefined }, memory.length);
      hashes.updateShared(memory);
      await hashes.hashed(memory);
      await hashes.digests();
      const held = process.memoryUsage().rss;
      memory = undefined;
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      globalThis.gc();
      console.log(JSON.stringify({ held, after: process.memoryUsage().rss }));
      await pool.close();
    `;
    const dir = mkdtempSync(join(tmpdir(), 'digest-pool-'));
    const file = join(dir, 'drop-shared-memory.mjs');
    writeFileSync(file, script);
    const child = spawn(process.execPath, ['--expose-gc', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
    expect(code).to.equal(0);
    const { held, after } = JSON.parse(out) as { held: number; after: number };
    expect(held - after, `resident ${held >> 20} MiB while held, ${after >> 20} MiB after`).to.be.greaterThan(96 << 20);
  });

  it('hashes everything in place when it has no threads', async () => {
    const pool = poolOf(0);
    const body = randomBytes(2 * OFF_THREAD_MIN_BYTES);
    const hashes = pool.hashesFor(FULL_PLAN, body.length);
    expect(hashes.update(body.subarray(0, 100))).to.equal(undefined);
    const rest = sharedBuffer(body.length - 100);
    copyIntoShared(rest, 0, body.subarray(100));
    hashes.updateShared(rest);
    expect(hashes.hashed(rest)).to.equal(undefined);
    expectDigestsOf(await hashes.digests(), body);
  });
});
