import { expect } from 'chai';
import { GetObjectCommand, PutObjectCommand, DeleteObjectCommand, CopyObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfig } from '../../../src/actors/gateway/gateway-config.js';
import { httpListenerBehavior } from '../../../src/actors/gateway/http-listener.js';
import { ObjectCache } from '../../../src/actors/gateway/object-cache.js';
import { DiskCache } from '../../../src/actors/gateway/disk-cache.js';
import { DEFAULT_GATEWAY_CONFIG } from '../../../src/actors/gateway/gateway-config.js';
import { httpListenerRef, type HttpListenerMessage, type HttpListenerStatus } from '../../../src/protocol/cluster/http-listener.js';
import { ManualClock, systemClock } from '../../../src/runtime/clock.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { supervisor, worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';
import { bodyOf, eventually, MiB, pattern, startHarness, type Harness, type HarnessOptions } from '../../support/gateway-harness.js';
import { dropCopiesOfEndedBuckets } from '../../../src/actors/gateway/cache-incarnations.js';
import { MemoryStorage } from '../../support/memory-storage.js';

const BUCKET = 'tiers';

describe('actors/gateway object cache tiers', function () {
  this.timeout(60_000);
  let dir: string;
  const open: Harness[] = [];
  const start = async (config: Partial<GatewayConfig>, options: Omit<HarnessOptions, 'config'> = {}, addBucket = true): Promise<Harness> => {
    const h = await startHarness({ ...options, config: { cacheDiskBytes: 256 * MiB, cacheDiskDir: join(dir, `gw${open.length}`), ...config } });
    open.push(h);
    if (addBucket) h.admin.addBucket(BUCKET, 'alice');
    return h;
  };
  const chunkReads = (h: Harness): number => h.storage.calls.filter((c) => c.op === 'get' && c.kind === 'chunk').length;
  const storageGets = (h: Harness): number => h.storage.calls.filter((c) => c.op === 'get').length;
  const get = async (h: Harness, key: string, range?: string) => {
    const out = await h.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...(range ? { Range: range } : {}) }));
    return { body: await bodyOf(out), out };
  };
  const put = (h: Harness, key: string, body: Buffer) => h.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  /** The copy the first GET leaves is completed in the background. */
  const cached = (h: Harness, entries: number) => eventually(() => h.deps.diskCache.stats.entries === entries);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-cache-'));
  });
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a chunked object from the disk tier on the second GET, after checking its version, ranges byte for byte', async () => {
    const h = await start({});
    const body = pattern(12 * MiB, 7);
    await put(h, 'large', body);
    const before = chunkReads(h);
    expect((await get(h, 'large')).body.equals(body)).to.equal(true);
    expect(chunkReads(h)).to.be.above(before);
    await cached(h, 1);
    const warm = chunkReads(h);
    const gets = storageGets(h);
    expect((await get(h, 'large')).body.equals(body)).to.equal(true);
    for (const [first, last] of [[0, 0], [5 * MiB - 10, 5 * MiB + 10], [12 * MiB - 100, 12 * MiB - 1], [1234567, 9876543]] as const) {
      const { body: slice, out } = await get(h, 'large', `bytes=${first}-${last}`);
      expect(slice.equals(body.subarray(first, last + 1))).to.equal(true);
      expect(out.ContentRange).to.equal(`bytes ${first}-${last}/${body.length}`);
    }
    expect(chunkReads(h)).to.equal(warm);
    // Validated mode: one body-less check per GET, nothing more.
    expect(storageGets(h) - gets).to.equal(5);
    expect(h.deps.diskCache.stats.hits).to.equal(5);
  });

  it('in validated mode serves the new version after a write through another gateway', async () => {
    const storage = new MemoryStorage();
    const one = await start({}, { storage });
    const two = await start({}, { storage }, false);
    two.view.install(one.view.current!);
    await put(one, 'large', pattern(6 * MiB, 1));
    await get(one, 'large');
    await cached(one, 1);
    const next = pattern(6 * MiB, 2);
    await put(two, 'large', next);
    expect((await get(one, 'large')).body.equals(next)).to.equal(true);
    await two.client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'large' }));
    const gone = await one.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'large' })).catch((error: { name: string }) => error.name);
    expect(gone).to.equal('NoSuchKey');
  });

  it('keeps its disk copies across a restart', async () => {
    const storage = new MemoryStorage();
    const config = { cacheDiskDir: join(dir, 'kept') };
    const first = await start(config, { storage });
    const body = pattern(7 * MiB, 3);
    await put(first, 'large', body);
    await get(first, 'large');
    await cached(first, 1);
    await first.deps.diskCache.settled();
    await first.close();
    open.splice(open.indexOf(first), 1);
    const second = await start(config, { storage }, false);
    second.view.install(first.view.current!);
    expect(second.deps.diskCache.stats.entries).to.equal(1);
    const before = chunkReads(second);
    expect((await get(second, 'large')).body.equals(body)).to.equal(true);
    expect(chunkReads(second)).to.equal(before);
  });

  it('in HTTP mode serves copies without asking storage until their TTL ends, with Cache-Control and Expires', async () => {
    const clock = new ManualClock(Date.now());
    const h = await start({ cacheMode: 'http', cacheTtlSeconds: 60 }, { clock });
    const small = pattern(4096, 1);
    const large = pattern(6 * MiB, 2);
    await put(h, 'small', small);
    await put(h, 'large', large);
    const first = await get(h, 'large');
    expect(first.out.CacheControl).to.equal('max-age=60');
    await get(h, 'small');
    await cached(h, 1);
    const gets = storageGets(h);
    clock.advance(30_000);
    const hit = await get(h, 'large');
    expect(hit.body.equals(large)).to.equal(true);
    expect(hit.out.CacheControl).to.match(/^max-age=(29|30)$/);
    expect(hit.out.Expires!.getTime()).to.be.closeTo(clock.now() + 30_000, 1_000);
    expect((await get(h, 'small')).out.CacheControl).to.match(/^max-age=(29|30)$/);
    expect(storageGets(h)).to.equal(gets);
    clock.advance(31_000);
    // Expired: checked with the storage node (no body), then served again for a whole TTL.
    expect((await get(h, 'large')).out.CacheControl).to.equal('max-age=60');
    expect((await get(h, 'small')).body.equals(small)).to.equal(true);
    expect(storageGets(h)).to.equal(gets + 2);
    expect(h.storage.calls.slice(-2).every((c) => c.kind === 'object')).to.equal(true);
  });

  it('in HTTP mode never serves a deleted bucket\'s copies to a bucket created again under its name', async () => {
    const h = await start({ cacheMode: 'http', cacheTtlSeconds: 3600 });
    const stop = dropCopiesOfEndedBuckets(h.view, [h.deps.cache, h.deps.diskCache]);
    try {
      await put(h, 'large', pattern(6 * MiB, 3));
      await put(h, 'small', pattern(100, 3));
      await get(h, 'large');
      await get(h, 'small');
      await cached(h, 1);
      expect(h.deps.cache.stats.entries).to.equal(1);
      h.admin.forget(BUCKET);
      h.admin.addBucket(BUCKET, 'alice');
      expect(h.deps.cache.stats.entries).to.equal(0);
      expect(h.deps.diskCache.stats.entries).to.equal(0);
      // The new bucket holds nothing: whatever storage says of it, no old copy answers.
      for (const key of ['large', 'small']) {
        const gone = await h.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key })).then(() => 'served', (error: { name: string }) => error.name);
        expect(gone).to.be.oneOf(['NoSuchKey', 'NoSuchBucket']);
      }
    } finally {
      stop();
    }
  });

  it('in HTTP mode a write, copy or delete through one gateway drops the other gateways\' copies', async () => {
    const storage = new MemoryStorage();
    const others: Harness[] = [];
    const peers = { announce: (bucket: string, key: string) => others.forEach((o) => { o.deps.cache.invalidate(bucket, key); o.deps.diskCache.invalidate(bucket, key); }) };
    const config = { cacheMode: 'http' as const, cacheTtlSeconds: 3600 };
    const one = await start(config, { storage, cachePeers: peers });
    const two = await start(config, { storage, cachePeers: peers }, false);
    two.view.install(one.view.current!);
    others.push(two);
    await put(one, 'large', pattern(6 * MiB, 1));
    await put(one, 'small', pattern(100, 1));
    await get(two, 'large');
    await get(two, 'small');
    await cached(two, 1);
    const next = pattern(6 * MiB, 2);
    await put(one, 'large', next);
    await one.client().send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'small', CopySource: `${BUCKET}/large` }));
    expect(two.deps.diskCache.stats.entries).to.equal(0);
    expect((await get(two, 'large')).body.equals(next)).to.equal(true);
    expect((await get(two, 'small')).body.equals(next)).to.equal(true);
    await cached(two, 2);
    await one.client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'large' }));
    const gone = await two.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'large' })).catch((error: { name: string }) => error.name);
    expect(gone).to.equal('NoSuchKey');
  });

  it('purge-cache clears both tiers, one object or all', async () => {
    const system = new ActorSystem({ node: 'gateway_0@127.0.0.1', clock: systemClock, logger: memoryLogger('error').logger });
    const h = await start({});
    const cache = new ObjectCache(MiB, 64 * 1024);
    const diskCache = new DiskCache({ dir: join(dir, 'purge'), maxBytes: 256 * MiB, maxObjectBytes: 256 * MiB, minObjectBytes: 64 * 1024 }, systemClock, memoryLogger('error').logger);
    const config = { ...DEFAULT_GATEWAY_CONFIG, httpPort: 0, cacheMaxObjectBytes: 64 * 1024, cacheDiskBytes: 256 * MiB };
    await system.startRoot('node', {
      strategy: 'one_for_one', maxRestarts: 3, periodMs: 10_000,
      children: [supervisor('gateway', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 10_000, children: [
        worker('http', httpListenerBehavior({ config, storage: h.storage, authView: h.view, bucketAdmin: h.admin, cache, diskCache })),
      ] })],
    }, () => undefined);
    try {
      const ref = httpListenerRef('gateway_0@127.0.0.1');
      const status = async (): Promise<HttpListenerStatus> => {
        const reply = await system.ask<HttpListenerMessage, HttpListenerStatus>(ref, (replyTo) => ({ type: 'status', replyTo }), 2_000);
        if (isRuntimeFailure(reply)) throw new Error(reply.message);
        return reply;
      };
      const purge = (object?: { bucket: string; key: string }) => system.ask<HttpListenerMessage, { ok: true }>(ref, (replyTo) => ({ type: 'purge_cache', replyTo, ...object }), 2_000);
      const endpoint = `http://127.0.0.1:${(await status()).port}`;
      const client = h.client('alice', { endpoint });
      for (const [key, size] of [['a', 6 * MiB], ['b', 6 * MiB], ['s', 1000]] as const) {
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: pattern(size) }));
        await bodyOf(await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })));
      }
      await eventually(() => diskCache.stats.entries === 2);
      expect((await status()).diskCache).to.deep.include({ entries: 2, bytes: 12 * MiB });
      await purge({ bucket: BUCKET, key: 'a' });
      expect(diskCache.stats.entries).to.equal(1);
      expect(cache.stats.entries).to.equal(1);
      await purge();
      expect((await status()).cache.entries).to.equal(0);
      expect((await status()).diskCache?.entries).to.equal(0);
    } finally {
      await system.stop();
    }
  });
});
