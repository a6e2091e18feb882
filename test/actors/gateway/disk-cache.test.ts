import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, truncate, writeFile, readFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskCache, readCachedBody, type DiskCacheSettings } from '../../../src/actors/gateway/disk-cache.js';
import type { BodyMemoryAccount } from '../../../src/actors/gateway/body-memory.js';
import { multipartEtag, type ObjectMeta } from '../../../src/core/object-meta.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { pattern } from '../../support/gateway-harness.js';
import { spawn } from 'node:child_process';

const md5 = (bytes: Uint8Array): string => createHash('md5').update(bytes).digest('hex');

function meta(key: string, body: Buffer, counter = 0): ObjectMeta {
  return {
    bucket: 'b', key, sizeBytes: body.length, etag: md5(body), contentType: 'x', userMeta: {},
    clock: { wallMs: 1, counter, node: 'n' }, lastModifiedMs: 1, ringChecksum: 0, deleted: false,
    chunks: { chunkSizesBytes: [body.length] },
  };
}

const UNBOUNDED: BodyMemoryAccount = {
  heldBytes: 0, overShare: false, tryAcquire: () => true, acquire: async () => undefined, release: () => undefined,
  onPressure: () => () => undefined,
} as unknown as BodyMemoryAccount;

async function store(cache: DiskCache, m: ObjectMeta, body: Buffer, pieceBytes = 1000): Promise<boolean> {
  const fill = cache.fill(m);
  if (fill === undefined) return false;
  for (let i = 0; i < body.length; i += pieceBytes) await fill.write(body.subarray(i, i + pieceBytes));
  return fill.complete();
}

async function served(cache: DiskCache, key: string, range?: { start: number; end: number }): Promise<Buffer | undefined> {
  const entry = cache.lookup('b', key);
  if (entry === undefined) return undefined;
  const file = await cache.openBody(entry);
  if (file === undefined) return undefined;
  const parts: Buffer[] = [];
  for await (const piece of readCachedBody(file, entry.meta.sizeBytes, range, 777, UNBOUNDED)) parts.push(piece);
  return Buffer.concat(parts);
}

/** The body the filling process below stores under key `k<i>`: its size and bytes follow from `i`. */
function killedBody(i: number): Buffer {
  const body = Buffer.alloc(20_000 + ((i * 7919) % 60_000));
  for (let j = 0; j < body.length; j++) body[j] = (i * 31 + j * 7) & 0xff;
  return body;
}

/**
 * A process that fills the cache in `dir` until it is killed, saying `stored <i>` after each entry. Its
 * bodies are made as `killedBody` makes them.
 */
const FILLER = `
const [moduleUrl, dir] = process.argv.slice(1);
const { DiskCache } = await import(moduleUrl);
const { createHash } = await import('node:crypto');
const clock = { now: () => Date.now() };
const log = { info() {}, warn() {}, error() {}, debug() {}, child() { return log; } };
const cache = new DiskCache({ dir, maxBytes: 100_000_000, maxObjectBytes: 1_000_000, minObjectBytes: 0 }, clock, log);
await cache.open();
for (let i = 0; ; i++) {
  const body = Buffer.alloc(20_000 + ((i * 7919) % 60_000));
  for (let j = 0; j < body.length; j++) body[j] = (i * 31 + j * 7) & 0xff;
  const etag = createHash('md5').update(body).digest('hex');
  const fill = cache.fill({ bucket: 'b', key: 'k' + i, sizeBytes: body.length, etag, contentType: 'x', userMeta: {},
    clock: { wallMs: 1, counter: 0, node: 'n' }, lastModifiedMs: 1, ringChecksum: 0, deleted: false, chunks: { chunkSizesBytes: [body.length] } });
  for (let at = 0; at < body.length; at += 4096) await fill.write(body.subarray(at, at + 4096));
  if (await fill.complete()) process.stdout.write('stored ' + i + '\\n');
}
`;

describe('actors/gateway/disk-cache', () => {
  let dir: string;
  const open = async (settings: Partial<DiskCacheSettings> = {}): Promise<DiskCache> => {
    const cache = new DiskCache({ dir, maxBytes: 100_000, maxObjectBytes: 50_000, minObjectBytes: 0, ...settings }, systemClock, memoryLogger('debug').logger);
    await cache.open();
    return cache;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'disk-cache-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a stored body whole and by byte ranges', async () => {
    const cache = await open();
    const body = pattern(10_000, 3);
    expect(await store(cache, meta('a', body), body)).to.equal(true);
    expect((await served(cache, 'a'))!.equals(body)).to.equal(true);
    expect((await served(cache, 'a', { start: 1234, end: 5678 }))!.equals(body.subarray(1234, 5679))).to.equal(true);
    expect((await served(cache, 'a', { start: 9999, end: 9999 }))!.equals(body.subarray(9999))).to.equal(true);
    expect(cache.stats).to.deep.include({ entries: 1, bytes: 10_000 });
  });

  it('evicts the least recently used entries to stay within its bytes, and refuses objects over its limit', async () => {
    const cache = await open({ maxBytes: 30_000, maxObjectBytes: 20_000 });
    for (const key of ['a', 'b', 'c']) await store(cache, meta(key, pattern(10_000, key.charCodeAt(0))), pattern(10_000, key.charCodeAt(0)));
    expect(cache.lookup('b', 'a')).not.to.equal(undefined);
    await store(cache, meta('d', pattern(10_000, 9)), pattern(10_000, 9));
    expect(cache.lookup('b', 'b')).to.equal(undefined);
    expect(cache.lookup('b', 'a')).not.to.equal(undefined);
    expect(cache.stats.bytes).to.equal(30_000);
    expect(cache.fill(meta('big', pattern(20_001)))).to.equal(undefined);
    await cache.settled();
    const bodies = (await readdir(dir)).filter((name) => name.endsWith('.body'));
    expect(bodies).to.have.length(3);
  });

  it('keeps nothing of a body that does not match the object, is cut short, or was invalidated meanwhile', async () => {
    const cache = await open();
    const body = pattern(5_000);
    expect(await store(cache, { ...meta('wrong', body), etag: md5(pattern(5_000, 2)) }, body)).to.equal(false);
    const short = cache.fill(meta('short', body))!;
    await short.write(body.subarray(0, 4_000));
    expect(await short.complete()).to.equal(false);
    const gone = cache.fill(meta('gone', body))!;
    await gone.write(body);
    cache.invalidate('b', 'gone');
    expect(await gone.complete()).to.equal(false);
    const left = cache.fill(meta('left', body))!;
    await left.write(body.subarray(0, 100));
    await left.abandon();
    await cache.settled();
    expect(cache.stats.entries).to.equal(0);
    expect((await readdir(dir)).filter((name) => name !== 'tmp')).to.deep.equal([]);
    expect(await readdir(join(dir, 'tmp'))).to.deep.equal([]);
  });

  it('checks a multipart object against the MD5 of its parts\' MD5s', async () => {
    const cache = await open();
    const body = pattern(9_000, 5);
    const parts = [body.subarray(0, 4_000), body.subarray(4_000, 8_000), body.subarray(8_000)];
    const m: ObjectMeta = {
      ...meta('mp', body),
      etag: multipartEtag(parts.map(md5)),
      multipart: { parts: parts.map((p, i) => ({ partNumber: i + 1, sizeBytes: p.length, etag: md5(p) })) },
    };
    expect(await store(cache, m, body, 1_500)).to.equal(true);
    expect((await served(cache, 'mp'))!.equals(body)).to.equal(true);
  });

  it('drops every entry on purge and one on invalidate', async () => {
    const cache = await open();
    for (const key of ['a', 'b']) await store(cache, meta(key, pattern(1_000)), pattern(1_000));
    cache.invalidate('b', 'a');
    expect(cache.lookup('b', 'a')).to.equal(undefined);
    expect(cache.lookup('b', 'b')).not.to.equal(undefined);
    cache.purge();
    expect(cache.stats).to.deep.include({ entries: 0, bytes: 0 });
    await cache.settled();
    expect((await readdir(dir)).filter((name) => name !== 'tmp')).to.deep.equal([]);
  });

  it('after a restart serves the whole entries only, dropping torn, damaged and half-written files', async () => {
    const first = await open();
    const bodies = new Map(['whole', 'truncated', 'damaged', 'norecord'].map((key, i) => [key, pattern(8_000, i + 1)] as const));
    for (const [key, body] of bodies) await store(first, meta(key, body), body);
    await first.settled();
    const files = await readdir(dir);
    const recordOf = async (key: string): Promise<{ bodyFile: string; name: string }> => {
      for (const name of files.filter((n) => n.endsWith('.json'))) {
        const record = JSON.parse(await readFile(join(dir, name), 'utf8')) as { meta: ObjectMeta; bodyFile: string };
        if (record.meta.key === key) return { bodyFile: record.bodyFile, name };
      }
      throw new Error(`no record of ${key}`);
    };
    const norecord = await recordOf('norecord');
    const truncated = await recordOf('truncated');
    const damagedPath = join(dir, (await recordOf('damaged')).bodyFile);
    // A crash mid-fill leaves a partial body in tmp/; one between the body's rename and its record's, a body without record.
    await writeFile(join(dir, 'tmp', 'partial.body'), pattern(3_000));
    await rm(join(dir, norecord.name));
    await truncate(join(dir, truncated.bodyFile), 5_000);
    const damaged = await readFile(damagedPath);
    damaged[100] = damaged[100]! ^ 0xff;
    await writeFile(damagedPath, damaged);
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await writeFile(join(dir, 'garbage.json'), '{"version":1,');

    const second = await open();
    // Opening reads no body: the damaged one is found by its MD5 when it is first read, and dropped then.
    expect(second.stats).to.deep.include({ entries: 2, bytes: 16_000 });
    expect(await served(second, 'damaged')).to.equal(undefined);
    expect(second.stats).to.deep.include({ entries: 1, bytes: 8_000 });
    expect((await served(second, 'whole'))!.equals(bodies.get('whole')!)).to.equal(true);
    for (const key of ['truncated', 'damaged', 'norecord']) expect(second.lookup('b', key)).to.equal(undefined);
    await second.settled();
    const left = await readdir(dir);
    expect(left.filter((n) => n.endsWith('.body'))).to.have.length(1);
    expect(left.filter((n) => n.endsWith('.json'))).to.have.length(1);
    expect(await readdir(join(dir, 'tmp'))).to.deep.equal([]);
  });

  it('after a SIGKILL in the middle of filling, opens without reading bodies and serves only whole, undamaged entries', async function () {
    this.timeout(30_000);
    const moduleUrl = new URL('../../../src/actors/gateway/disk-cache.js', import.meta.url).href;
    const child = spawn(process.execPath, ['--input-type=module', '-e', FILLER, moduleUrl, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    let stored = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        stored += (data.toString().match(/stored \d+/g) ?? []).length;
        // Killed while it writes the next body, its record or both.
        if (stored >= 8) resolve();
      });
      child.once('exit', () => reject(new Error(`the filling process ended after ${stored} entries`)));
    });
    child.kill('SIGKILL');
    expect(await exited).to.equal('SIGKILL');

    // One whole entry is damaged on the disk afterwards, as no crash could.
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.json'))) {
      const record = JSON.parse(await readFile(join(dir, name), 'utf8')) as { meta: ObjectMeta; bodyFile: string };
      if (record.meta.key !== 'k0') continue;
      const damaged = await readFile(join(dir, record.bodyFile));
      damaged[10] = damaged[10]! ^ 0xff;
      await writeFile(join(dir, record.bodyFile), damaged);
    }

    const cache = await open({ maxBytes: 100_000_000, maxObjectBytes: 1_000_000 });
    const entries = cache.stats.entries;
    // The damaged entry is indexed: opening stat'ed the bodies, it did not read them.
    expect(entries).to.be.at.least(stored);
    expect(cache.lookup('b', 'k0')).to.not.equal(undefined);
    let servedCount = 0;
    for (let i = 0; i < entries + 2; i++) {
      const got = await served(cache, `k${i}`);
      if (got === undefined) continue;
      expect(got.equals(killedBody(i)), `k${i}`).to.equal(true);
      servedCount++;
    }
    expect(await served(cache, 'k0')).to.equal(undefined);
    // Every other entry the index held was whole: only the damaged one was dropped by its first read's check.
    expect(servedCount).to.equal(entries - 1);
    expect(cache.stats.entries).to.equal(entries - 1);
  });

  it('serves an entry found at opening to first reads that come together, and to none if it goes during its check', async () => {
    const first = await open();
    const body = pattern(30_000, 9);
    await store(first, meta('shared', body), body);
    await store(first, meta('dropped', body), body);
    await first.settled();
    const second = await open();
    const checked = served(second, 'dropped');
    second.invalidate('b', 'dropped');
    expect(await checked).to.equal(undefined);
    const results = await Promise.all([served(second, 'shared'), served(second, 'shared'), served(second, 'shared', { start: 5, end: 9 })]);
    expect(results[0]!.equals(body)).to.equal(true);
    expect(results[1]!.equals(body)).to.equal(true);
    expect(results[2]!.equals(body.subarray(5, 10))).to.equal(true);
    expect(second.stats).to.deep.include({ entries: 1, hits: 4 });
  });
  it('sends a partial read of an entry found at opening to storage while its check runs in the background, then serves it', async () => {
    const first = await open();
    const body = pattern(30_000, 5);
    await store(first, meta('ranged', body), body);
    await store(first, meta('damaged', body), body);
    await first.settled();
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.json'))) {
      const record = JSON.parse(await readFile(join(dir, name), 'utf8')) as { meta: ObjectMeta; bodyFile: string };
      if (record.meta.key === 'damaged') await writeFile(join(dir, record.bodyFile), pattern(30_000, 6));
    }
    const second = await open();
    const ranged = second.lookup('b', 'ranged')!;
    expect(await second.openBody(ranged, { partial: true })).to.equal(undefined);
    expect(await second.openBody(second.lookup('b', 'damaged')!, { partial: true })).to.equal(undefined);
    expect(second.checksPending).to.equal(2);
    await second.settled();
    expect(second.checksPending).to.equal(0);
    expect(second.lookup('b', 'damaged')).to.equal(undefined);
    const file = await second.openBody(ranged, { partial: true });
    expect(file).to.not.equal(undefined);
    await file!.close();
    expect((await served(second, 'ranged', { start: 100, end: 199 }))!.equals(body.subarray(100, 200))).to.equal(true);
  });

  it('drops an entry whose body cannot be read only while it is still the entry of its key', async () => {
    const cache = await open();
    const body = pattern(10_000, 6);
    await store(cache, meta('k', body), body);
    const old = cache.lookup('b', 'k')!;
    const next = pattern(12_000, 7);
    await store(cache, meta('k', next, 1), next);
    cache.discard(old);
    expect((await served(cache, 'k'))!.equals(next)).to.equal(true);
    cache.discard(cache.lookup('b', 'k')!);
    expect(cache.lookup('b', 'k')).to.equal(undefined);
    await cache.settled();
    expect((await readdir(dir)).filter((name) => name.endsWith('.body'))).to.deep.equal([]);
  });

  it('counts a lookup as a hit or a miss only when asked to', async () => {
    const cache = await open();
    const body = pattern(10_000, 8);
    await store(cache, meta('k', body), body);
    cache.lookup('b', 'k', false);
    cache.lookup('b', 'none', false);
    expect(cache.stats).to.deep.include({ hits: 0, misses: 0 });
    cache.lookup('b', 'k');
    cache.lookup('b', 'none');
    expect(cache.stats).to.deep.include({ hits: 1, misses: 1 });
  });
});
