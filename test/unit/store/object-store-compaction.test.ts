import { expect } from 'chai';
import { open as openLmdb } from 'lmdb';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import { currentEnvironmentPath } from '../../../src/store/store-environment.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';

const clock = (wallMs: number): Hlc => ({ wallMs, counter: 0, node: 'n1' });
const address = (i: number): ObjectAddress => ({ kind: 'object', bucket: 'b', key: `k${String(i).padStart(5, '0')}` });

function meta(at: ObjectAddress, wallMs: number, sizeBytes: number, deleted = false): ObjectMeta {
  return { bucket: at.bucket, key: at.key, sizeBytes, etag: 'e', contentType: '', userMeta: {}, clock: clock(wallMs), lastModifiedMs: wallMs, ringChecksum: 1, deleted };
}

describe('store/object-store compaction', function () {
  this.timeout(30_000);
  let dir: string;
  let store: ObjectStore;
  const open = (): ObjectStore => ObjectStore.open({ path: dir, logger: memoryLogger('error').logger });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-compact-'));
    store = open();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fill(count: number, bytes: number): Promise<void> {
    const writes = [];
    for (let i = 0; i < count; i++) writes.push(store.apply({ address: address(i), meta: meta(address(i), 1, bytes), body: Buffer.alloc(bytes, i % 256), keepPrevious: false }));
    await Promise.all(writes);
  }

  it('gives the pages of deleted bodies back to the file system, keeping everything else as it was', async () => {
    await fill(2000, 8 * 1024);
    const queue = store.queue('repair', (value: unknown): value is { n: number } => typeof value === 'object' && value !== null);
    await queue.enqueue('item', { n: 1 }, 1);
    await store.sealNamespace('sealed~0123456789abcdef', 's', 1);
    await Promise.all(Array.from({ length: 1900 }, (_, i) => store.apply({ address: address(i), meta: meta(address(i), 2, 0, true), keepPrevious: false })));
    const before = await store.diskUsage();

    const result = await store.compact();
    const after = await store.diskUsage();
    expect(result.afterBytes).to.be.below(result.beforeBytes / 4);
    expect(after.lmdbFileBytes).to.be.below(before.lmdbFileBytes / 4);
    expect(after).to.include({ objects: 100, tombstones: 1900, records: 2000, bodyFileBytes: 0 });
    for (const i of [1900, 1950, 1999]) expect((await store.readBody(address(i), clock(1)) as Buffer).equals(Buffer.alloc(8 * 1024, i % 256))).to.equal(true);
    expect(store.getMeta(address(5))?.deleted).to.equal(true);
    expect([...queue.items()].map((item) => item.itemKey)).to.deep.equal(['item']);
    const sealed: ObjectAddress = { kind: 'object', bucket: 'sealed~0123456789abcdef', key: 'x' };
    expect(await store.apply({ address: sealed, meta: meta(sealed, 3, 0), keepPrevious: false }))
      .to.deep.include({ refused: 'sealed' });

    // The copy takes writes of every size, reusing pages freed in it (LMDB's own compacting copy did not).
    await Promise.all(Array.from({ length: 500 }, (_, i) => store.apply({ address: address(i), meta: meta(address(i), 3, 20_000), body: Buffer.alloc(20_000, 7), keepPrevious: false })));
    await Promise.all(Array.from({ length: 250 }, (_, i) => store.apply({ address: address(i), meta: meta(address(i), 4, 0, true), keepPrevious: false })));
    await Promise.all(Array.from({ length: 250 }, (_, i) => store.apply({ address: address(i), meta: meta(address(i), 5, 9000), body: Buffer.alloc(9000, 8), keepPrevious: false })));
    await store.close();
    store = open();
    expect(currentEnvironmentPath(join(dir, 'objects'))).to.equal(join(dir, 'objects', 'env-1'));
    expect(existsSync(join(dir, 'objects', 'data.mdb')), 'the old generation is gone').to.equal(false);
    expect((await store.readBody(address(1999), clock(1)) as Buffer).length).to.equal(8 * 1024);
    expect((await store.compact()).afterBytes).to.be.greaterThan(0);
    expect(readdirSync(join(dir, 'objects')).filter((entry) => entry.startsWith('env-'))).to.deep.equal(['env-2']);
  });

  it('foresees what a compaction leaves, and whether the disk has room for its copy', async () => {
    await fill(2000, 8 * 1024);
    await Promise.all(Array.from({ length: 1500 }, (_, i) => store.apply({ address: address(i), meta: meta(address(i), 2, 0, true), keepPrevious: false })));
    const outlook = await store.compactionOutlook();
    expect(outlook.roomForCopy).to.equal(true);
    expect(outlook.compactedBytes).to.be.below(outlook.fileBytes / 2);
    const result = await store.compact();
    expect(outlook.compactedBytes).to.be.within(result.afterBytes * 0.8, result.afterBytes * 1.25);
    expect(result.beforeBytes).to.equal(outlook.fileBytes);
    await store.close();
    store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, minFreeDiskBytes: Number.MAX_SAFE_INTEGER });
    expect((await store.compactionOutlook()).roomForCopy, 'no disk keeps that much free').to.equal(false);
  });

  it('takes writes while it copies, and loses none of them, removals and overwrites included', async () => {
    await fill(3000, 8 * 1024);
    const compaction = store.compact();
    const late: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i++) {
      const at = { kind: 'object' as const, bucket: 'b', key: `late${i}` };
      late.push(store.apply({ address: at, meta: { ...meta(address(0), 5, 3), key: at.key }, body: Buffer.from('new'), keepPrevious: false }));
      late.push(store.apply({ address: address(i), meta: meta(address(i), 6, 0, true), keepPrevious: false }));
      late.push(store.apply({ address: address(1000 + i), meta: meta(address(1000 + i), 7, 5), body: Buffer.from('again'), keepPrevious: false }));
    }
    const result = await compaction;
    await Promise.all(late);
    expect(result.pausedMs, 'writes were held only for the switch').to.be.below(result.tookMs);
    for (let i = 0; i < 200; i++) {
      expect(store.getMeta(address(i))?.deleted).to.equal(true);
      expect((await store.readBody(address(1000 + i), clock(7)))?.toString()).to.equal('again');
      expect(await store.readBody(address(1000 + i), clock(1)), 'the overwritten body is gone').to.equal(undefined);
    }
    await store.close();
    store = open();
    for (let i = 0; i < 200; i++) expect((await store.readBody({ kind: 'object', bucket: 'b', key: `late${i}` }, clock(5)))?.toString()).to.equal('new');
  });

  it('keeps its file when the copy comes out too little smaller, and the writes made while it copied', async () => {
    await fill(2000, 8 * 1024);
    await Promise.all(Array.from({ length: 1000 }, (_, i) => store.apply({ address: address(i), meta: meta(address(i), 2, 0, true), keepPrevious: false })));
    expect((await store.compact()).keptCopyBytes, 'the first compaction gives pages back').to.equal(undefined);
    const packed = join(dir, 'objects', 'env-1');
    expect(currentEnvironmentPath(join(dir, 'objects'))).to.equal(packed);

    // A packed store copied again comes out about its own size: nothing to give back, so nothing is switched.
    const compaction = store.compact();
    const late = { kind: 'object' as const, bucket: 'b', key: 'late' };
    const written = store.apply({ address: late, meta: meta(late, 3, 4), body: Buffer.from('late'), keepPrevious: false });
    const result = await compaction;
    await written;
    expect(result.keptCopyBytes).to.be.above(result.afterBytes * 0.99);
    expect(result.afterBytes).to.be.at.least(result.beforeBytes);
    expect(readdirSync(join(dir, 'objects')).filter((entry) => entry.startsWith('env-')), 'the copy is gone').to.deep.equal(['env-1']);
    expect((await store.readBody(late, clock(3)))?.toString()).to.equal('late');
    await store.close();
    store = open();
    expect(currentEnvironmentPath(join(dir, 'objects'))).to.equal(packed);
    expect((await store.readBody(late, clock(3)))?.toString()).to.equal('late');
    expect((await store.readBody(address(1999), clock(1)))?.length).to.equal(8 * 1024);
    await Promise.all(Array.from({ length: 900 }, (_, i) => store.apply({ address: address(1000 + i), meta: meta(address(1000 + i), 4, 0, true), keepPrevious: false })));
    expect((await store.compact()).keptCopyBytes, 'a later compaction that gives pages back switches').to.equal(undefined);
    expect(currentEnvironmentPath(join(dir, 'objects'))).to.equal(join(dir, 'objects', 'env-2'));
  });

  it('starts from the generation CURRENT names, removing one a compaction left half made', async () => {
    await fill(10, 100);
    await store.compact();
    await store.close();
    mkdirSync(join(dir, 'objects', 'env-2'));
    writeFileSync(join(dir, 'objects', 'env-2', 'data.mdb'), 'half a copy');
    store = open();
    expect(existsSync(join(dir, 'objects', 'env-2'))).to.equal(false);
    expect((await store.readBody(address(9), clock(1)))?.length).to.equal(100);
  });

  it('copies records of two metadata formats, and the mark, and takes writes while it copies', async () => {
    await store.close();
    store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, metaFormat: 2 });
    await fill(300, 100);
    await store.close();
    store = open();
    await Promise.all(Array.from({ length: 300 }, (_, i) => store.apply({ address: address(300 + i), meta: meta(address(300 + i), 1, 100), body: Buffer.alloc(100, 1), keepPrevious: false })));
    const compaction = store.compact();
    const late = Array.from({ length: 100 }, (_, i) => store.apply({ address: address(i), meta: meta(address(i), 2, 0, true), keepPrevious: false }));
    await Promise.all([compaction, ...late]);
    await store.close();
    store = open();
    expect(currentEnvironmentPath(join(dir, 'objects'))).to.equal(join(dir, 'objects', 'env-1'));
    for (const i of [0, 99]) expect(store.getMeta(address(i))).to.deep.equal(meta(address(i), 2, 0, true));
    for (const i of [100, 299, 300, 599]) expect(store.getMeta(address(i))).to.deep.equal(meta(address(i), 1, 100));
    expect(store.list('object', 'b', { prefix: '', startAt: '', limit: 1000 }).entries).to.have.length(600);
    const root = openLmdb({ path: currentEnvironmentPath(join(dir, 'objects')), maxDbs: 16, readOnly: true });
    try {
      expect(root.openDB({ name: 'presence' }).get('store-format'), 'the copy may hold format 3 records').to.equal(3);
    } finally {
      await root.close();
    }
  });
});
