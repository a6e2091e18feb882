import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';

const clock = (wallMs: number, counter = 0, node = 'n1'): Hlc => ({ wallMs, counter, node });
const object = (key: string, bucket = 'photos'): ObjectAddress => ({ kind: 'object', bucket, key });
const FULL_RING = '00000000000000000000000000000000';

function meta(address: ObjectAddress, at: Hlc, deleted: boolean, sizeBytes = 0): ObjectMeta {
  return { bucket: address.bucket, key: address.key, sizeBytes, etag: deleted ? '' : 'e', contentType: '', userMeta: {}, clock: at, lastModifiedMs: at.wallMs, ringChecksum: 1, deleted };
}

describe('store/object-store tombstones and presence', () => {
  let dir: string;
  let store: ObjectStore;
  const logger = memoryLogger('error').logger;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-tombstones-'));
    store = ObjectStore.open({ path: dir, logger, durable: false });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (address: ObjectAddress, at: Hlc, keepPrevious = false) => store.apply({ address, meta: meta(address, at, false, 3), body: Buffer.from('abc'), keepPrevious });
  const remove = (address: ObjectAddress, at: Hlc, keepPrevious = false) => store.apply({ address, meta: meta(address, at, true), keepPrevious });
  const indexed = (beforeWallMs = Number.MAX_SAFE_INTEGER) => store.tombstonesBefore(beforeWallMs, undefined, 100).map((entry) => `${entry.address?.key}@${entry.clock?.wallMs}`);
  const ringKeys = () => Array.from(store.scanRange(FULL_RING, FULL_RING)).map((entry) => entry.address.key);

  it('indexes tombstones by wall time, oldest first, and walks them from a cursor', async () => {
    await remove(object('late'), clock(30));
    await put(object('live'), clock(20));
    await remove(object('early'), clock(10));
    expect(indexed()).to.deep.equal(['early@10', 'late@30']);
    expect(indexed(30), 'only those before the limit').to.deep.equal(['early@10']);
    const [first] = store.tombstonesBefore(100, undefined, 1);
    expect(store.tombstonesBefore(100, first!.indexKey, 10).map((entry) => entry.address?.key)).to.deep.equal(['late']);
  });

  it('keeps the index in step with writes that replace a tombstone and reverts that restore one', async () => {
    const key = object('k');
    await remove(key, clock(10));
    await put(key, clock(20), true);
    expect(indexed(), 'replaced by a newer write').to.deep.equal([]);
    await store.revert(key, clock(20));
    expect(indexed(), 'the revert brought the tombstone back').to.deep.equal(['k@10']);
    await remove(key, clock(30));
    expect(indexed(), 'a newer tombstone replaces the older entry').to.deep.equal(['k@30']);
  });

  it('purges a settled tombstone with its ring index and index entries', async () => {
    const key = object('gone');
    await put(key, clock(10));
    await remove(key, clock(20), true);
    expect(await store.purgeTombstones([{ address: key, clock: clock(20) }]), 'not settled yet').to.deep.equal([]);
    expect(store.getMeta(key)?.deleted).to.equal(true);
    await store.settle(key, clock(20));
    const item = { address: key, clock: clock(20) };
    expect(await store.purgeTombstones([item])).to.deep.equal([item]);
    expect(store.getMeta(key)).to.equal(undefined);
    expect(ringKeys()).to.deep.equal([]);
    expect(indexed()).to.deep.equal([]);
    expect(await store.purgeTombstones([item]), 'nothing left to purge').to.deep.equal([]);
  });

  it('lets a write racing the purge win, whichever commits first', async () => {
    const before = object('written-before');
    await remove(before, clock(10));
    await put(before, clock(20));
    expect(await store.purgeTombstones([{ address: before, clock: clock(10) }]), 'the record is no longer that tombstone').to.deep.equal([]);
    expect(store.getMeta(before)?.clock).to.deep.equal(clock(20));

    const after = object('written-after');
    await remove(after, clock(10));
    const [purging, writing] = [store.purgeTombstones([{ address: after, clock: clock(10) }]), put(after, clock(20))];
    await Promise.all([purging, writing]);
    expect(store.getMeta(after)?.clock, 'the write stays, before or after the purge').to.deep.equal(clock(20));
    expect(ringKeys().sort()).to.deep.equal(['written-after', 'written-before']);
  });

  it('tells stale index entries apart and forgets them', async () => {
    await remove(object('k1', 'doomed'), clock(10));
    await remove(object('k2'), clock(11));
    await store.markDeleted([{ namespace: 'doomed', deletedAtMs: 12 }]);
    const entries = store.tombstonesBefore(100, undefined, 10);
    expect(entries.map((entry) => store.isCurrentTombstone(entry))).to.deep.equal([false, true]);
    await store.forgetStaleTombstoneEntries(entries);
    expect(indexed()).to.deep.equal(['k2@11']);
  });

  it('indexes the tombstones of a store written before the index existed, a batch at a time', async () => {
    for (let i = 0; i < 5; i++) await remove(object(`t${i}`), clock(10 + i));
    await put(object('live'), clock(30));
    await store.close();
    const raw = open({ path: join(dir, 'objects'), maxDbs: 12 });
    await raw.openDB({ name: 'tombstones', keyEncoding: 'binary' }).drop();
    await raw.close();
    store = ObjectStore.open({ path: dir, logger, durable: false });
    expect(indexed()).to.deep.equal([]);
    let rounds = 0;
    while (!(await store.indexExistingTombstones(2))) expect(++rounds).to.be.below(10);
    expect(indexed()).to.deep.equal(['t0@10', 't1@11', 't2@12', 't3@13', 't4@14']);
    expect(await store.indexExistingTombstones(2), 'done stays done').to.equal(true);
  });

  it('drops every live version, unsettled ones included, and keeps tombstones', async () => {
    for (let i = 0; i < 5; i++) await put(object(`live${i}`), clock(10 + i), i === 0);
    await put(object('another'), clock(5));
    await remove(object('dead'), clock(20));
    let dropped = 0;
    let after: Buffer | undefined;
    let batches = 0;
    do {
      const step = await store.dropLiveVersions(after, 2);
      dropped += step.dropped;
      after = step.next;
      expect(++batches).to.be.below(10);
    } while (after);
    expect(dropped).to.equal(6);
    expect(store.getMeta(object('live0'))).to.equal(undefined);
    expect(store.isUnsettled(object('live0'), clock(10)), 'its undo record went too').to.equal(false);
    expect(store.getMeta(object('dead'))?.deleted).to.equal(true);
    expect(ringKeys()).to.deep.equal(['dead']);
    expect(indexed()).to.deep.equal(['dead@20']);
  });

  it('remembers when it was last present, and whom it reported absent, across a restart', async () => {
    expect(store.presence.lastPresentMs()).to.equal(undefined);
    await store.presence.markPresent(1_000);
    await store.presence.recordAbsenceReports(['storage_1@h'], 2_000);
    await store.close();
    store = ObjectStore.open({ path: dir, logger, durable: false });
    expect(store.presence.lastPresentMs()).to.equal(1_000);
    expect(store.presence.absenceReportedAtMs('storage_1@h')).to.equal(2_000);
    expect(store.presence.absenceReportedAtMs('storage_2@h')).to.equal(undefined);
  });
});
