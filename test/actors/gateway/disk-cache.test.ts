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
    expect(second.stats).to.deep.include({ entries: 1, bytes: 8_000 });
    expect((await served(second, 'whole'))!.equals(bodies.get('whole')!)).to.equal(true);
    for (const key of ['truncated', 'damaged', 'norecord']) expect(second.lookup('b', key)).to.equal(undefined);
    const left = await readdir(dir);
    expect(left.filter((n) => n.endsWith('.body'))).to.have.length(1);
    expect(left.filter((n) => n.endsWith('.json'))).to.have.length(1);
    expect(await readdir(join(dir, 'tmp'))).to.deep.equal([]);
  });
});
