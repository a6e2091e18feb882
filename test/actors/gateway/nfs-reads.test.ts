/**
 * NFS READs of stored files on the in-memory gateway use the gateway's disk tier: once a whole GET has
 * left a copy of a large object there, READs of that version are served from it, byte for byte, and a
 * newer version is read from storage.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskCache } from '../../../src/actors/gateway/disk-cache.js';
import type { NfsServer } from '../../../src/actors/gateway/nfs/nfs-server.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { bodyOf, eventually, MiB, pattern, startHarness, type Harness } from '../../support/gateway-harness.js';
import { NfsTestClient } from '../../support/nfs-client.js';
import { startTestNfsServer } from '../../support/nfs-server.js';

describe('NFS reads through the gateway\'s disk tier', function () {
  this.timeout(60_000);
  const ALICE_EVERYWHERE = { exports: [{ bucket: '*', clients: ['127.0.0.1'], user: 'alice' }] };
  let harness: Harness;
  let server: NfsServer;
  let client: NfsTestClient;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leofs-nfs-reads-'));
    harness = await startHarness({ config: { chunkSizeBytes: 256 * 1024, cacheDiskBytes: 64 * MiB, cacheDiskDir: join(dir, 'cache') } });
    harness.admin.addBucket('files', 'alice');
    server = await startTestNfsServer({ gateway: harness.deps, view: harness.view, settings: ALICE_EVERYWHERE, spillDir: join(dir, 'spill') });
    client = await NfsTestClient.open(server.port);
  });

  after(async () => {
    client?.close();
    await server?.close();
    await harness?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const chunkReads = (): number => harness.storage.calls.filter((c) => c.op === 'get' && c.kind === 'chunk').length;

  it('serves READs of a version the disk tier holds from it, and a newer version from storage', async () => {
    const alice = harness.client('alice');
    const body = pattern(3 * MiB + 17, 4);
    await alice.send(new PutObjectCommand({ Bucket: 'files', Key: 'big.bin', Body: body }));
    const root = (await client.mount('/files')).handle!;
    const file = (await client.lookup(root, 'big.bin')).handle!;
    const disk = harness.deps.diskCache;

    // Nothing cached yet: the READ fetches the chunks its range touches, and leaves no copy.
    const cold = chunkReads();
    const misses = disk.stats.misses;
    const first = await client.readData(file, 1000n, 4096);
    expect(first.data!.equals(body.subarray(1000, 5096))).to.equal(true);
    expect(chunkReads()).to.be.above(cold);
    expect(disk.stats.entries).to.equal(0);
    // Only a READ from a file's start counts for the tier's metrics: a file is read in many READs.
    expect(disk.stats.misses).to.equal(misses);

    // A whole GET leaves the copy (in the background).
    expect((await bodyOf(await alice.send(new GetObjectCommand({ Bucket: 'files', Key: 'big.bin' })))).equals(body)).to.equal(true);
    await eventually(() => disk.stats.entries === 1);
    const warm = chunkReads();
    const hits = disk.stats.hits;
    for (const [offset, count] of [[0, 65536], [MiB - 10, 300_000], [3 * MiB, 4096]] as const) {
      const read = await client.readData(file, BigInt(offset), count);
      expect(read.status).to.equal('NFS3_OK');
      expect(read.data!.equals(body.subarray(offset, offset + count)), `${offset}+${count}`).to.equal(true);
      expect(read.eof).to.equal(offset + count >= body.length);
    }
    expect(disk.stats.hits).to.equal(hits + 1);
    expect(chunkReads()).to.equal(warm);

    // A new version drops the copy; READs see it.
    const next = pattern(2 * MiB, 9);
    await alice.send(new PutObjectCommand({ Bucket: 'files', Key: 'big.bin', Body: next }));
    const after = await client.readData(file, 10n, 1000);
    expect(after.data!.equals(next.subarray(10, 1010))).to.equal(true);
    expect(chunkReads()).to.be.above(warm);
  });
  /** The path of the body file the disk tier keeps for `key`. */
  async function cachedBodyPath(key: string): Promise<string> {
    const cacheDir = join(dir, 'cache');
    for (const name of (await readdir(cacheDir)).filter((n) => n.endsWith('.json'))) {
      const record = JSON.parse(await readFile(join(cacheDir, name), 'utf8')) as { meta: { key: string }; bodyFile: string };
      if (record.meta.key === key) return join(cacheDir, record.bodyFile);
    }
    throw new Error(`no disk copy of ${key}`);
  }

  it('serves a READ from storage when the copy on disk cannot be read, and drops that copy', async () => {
    const alice = harness.client('alice');
    const body = pattern(2 * MiB + 5, 6);
    await alice.send(new PutObjectCommand({ Bucket: 'files', Key: 'cut.bin', Body: body }));
    const disk = harness.deps.diskCache;
    await bodyOf(await alice.send(new GetObjectCommand({ Bucket: 'files', Key: 'cut.bin' })));
    await eventually(() => disk.lookup('files', 'cut.bin', false) !== undefined);
    await truncate(await cachedBodyPath('cut.bin'), MiB);
    const root = (await client.mount('/files')).handle!;
    const file = (await client.lookup(root, 'cut.bin')).handle!;
    for (let i = 0; i < 2; i++) {
      const read = await client.readData(file, BigInt(MiB + 100), 4096);
      expect(read.status).to.equal('NFS3_OK');
      expect(read.data!.equals(body.subarray(MiB + 100, MiB + 4196))).to.equal(true);
    }
    expect(disk.lookup('files', 'cut.bin', false)).to.equal(undefined);
  });

  it('after a restart of the tier, serves READs from storage until the copy has been checked, then from it', async () => {
    const alice = harness.client('alice');
    const body = pattern(3 * MiB, 8);
    await alice.send(new PutObjectCommand({ Bucket: 'files', Key: 'kept.bin', Body: body }));
    await bodyOf(await alice.send(new GetObjectCommand({ Bucket: 'files', Key: 'kept.bin' })));
    await eventually(() => harness.deps.diskCache.lookup('files', 'kept.bin', false) !== undefined);
    await harness.deps.diskCache.settled();
    // The same directory opened again, as at a restart of the gateway: its entries are unchecked.
    const reopened = new DiskCache(harness.deps.diskCache.settings, systemClock, memoryLogger().logger);
    await reopened.open();
    const restarted = await startTestNfsServer({
      gateway: { ...harness.deps, diskCache: reopened }, view: harness.view, settings: ALICE_EVERYWHERE, spillDir: join(dir, 'spill-restarted'), writeVerifier: Buffer.alloc(8, 2),
    });
    const second = await NfsTestClient.open(restarted.port);
    try {
      const root = (await second.mount('/files')).handle!;
      const file = (await second.lookup(root, 'kept.bin')).handle!;
      const before = chunkReads();
      const first = await second.readData(file, 10n, 4096);
      expect(first.data!.equals(body.subarray(10, 4106))).to.equal(true);
      expect(chunkReads()).to.be.above(before);
      await reopened.settled();
      const checked = chunkReads();
      const again = await second.readData(file, 2n * BigInt(MiB), 4096);
      expect(again.data!.equals(body.subarray(2 * MiB, 2 * MiB + 4096))).to.equal(true);
      expect(chunkReads()).to.equal(checked);
    } finally {
      second.close();
      await restarted.close();
    }
  });
});
