import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore, StoreFailure } from '../../../src/store/object-store.js';
import { dataKey, metaKey, type ObjectAddress } from '../../../src/store/store-keys.js';

const clock = (wallMs: number, counter = 0, node = 'n1'): Hlc => ({ wallMs, counter, node });

function meta(address: ObjectAddress, at: Hlc, body?: Buffer, deleted = false): ObjectMeta {
  return {
    bucket: address.bucket,
    key: address.key,
    sizeBytes: body?.length ?? 0,
    etag: body ? `etag-${body.toString('hex').slice(0, 8)}` : '',
    contentType: 'application/octet-stream',
    userMeta: {},
    clock: at,
    lastModifiedMs: at.wallMs,
    ringChecksum: 1,
    deleted,
  };
}

describe('store/object-store', () => {
  let dir: string;
  let store: ObjectStore;
  let logged: ReturnType<typeof memoryLogger>;
  const a: ObjectAddress = { kind: 'object', bucket: 'photos', key: 'cat.jpg' };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-store-'));
    logged = memoryLogger('debug');
    store = ObjectStore.open({ path: dir, logger: logged.logger });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function put(address: ObjectAddress, at: Hlc, body?: Buffer, keepPrevious = false, deleted = false) {
    return store.apply({ address, meta: meta(address, at, body, deleted), ...(body ? { body } : {}), keepPrevious });
  }

  it('reads nothing and writes nothing once closed, and leaves nothing behind that throws', async () => {
    await put(a, clock(10), Buffer.from('v10'));
    const closing = store.close();
    expect(store.getMeta(a), 'read while it closes').to.equal(undefined);
    await closing;
    expect(store.getMeta(a)).to.equal(undefined);
    expect(store.isUnsettled(a, clock(10))).to.equal(false);
    let failure: unknown;
    await put(a, clock(20), Buffer.from('v20')).catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(StoreFailure);
    await new Promise((resolve) => setTimeout(resolve, 100));
    store = ObjectStore.open({ path: dir, logger: logged.logger });
    expect(store.getMeta(a)?.clock).to.deep.equal(clock(10));
  });

  it('keeps the newest version by clock and drops the body it replaced', async () => {
    expect(await put(a, clock(10), Buffer.from('v10'))).to.deep.equal({ applied: true, previous: undefined, previousSettled: true });
    expect(await put(a, clock(5), Buffer.from('v5'))).to.deep.include({ applied: false });
    expect(await put(a, clock(10), Buffer.from('v10 again'))).to.deep.include({ applied: false });
    const result = await put(a, clock(20), Buffer.from('v20'));
    expect(result).to.deep.include({ applied: true });
    expect(result.applied && result.previous?.clock).to.deep.equal(clock(10));
    expect(store.getMeta(a)?.clock).to.deep.equal(clock(20));
    expect((await store.readBody(a, clock(20)))?.toString()).to.equal('v20');
    expect(await store.readBody(a, clock(10))).to.equal(undefined);
    // Ties on wall time are broken by counter, then node name.
    expect(await put(a, clock(20, 0, 'n2'), Buffer.from('n2'))).to.deep.include({ applied: true });
    expect((await store.readBody(a, clock(20, 0, 'n2')))?.toString()).to.equal('n2');
  });

  it('has no contents mark while a write is in flight, and a new one once each write (or settle) has ended', async () => {
    const before = store.contentsMark;
    expect(before).to.be.a('number');
    const written = put(a, clock(10), Buffer.from('v10'), true);
    expect(store.contentsMark).to.equal(undefined);
    await written;
    const afterWrite = store.contentsMark;
    expect(afterWrite).to.be.a('number').and.not.equal(before);
    // A settle changes no record, but it does change what a listing marks unsettled.
    await store.settle(a, clock(10));
    expect(store.contentsMark).to.not.equal(afterWrite);
  });

  it('says whether the version a write replaced had settled', async () => {
    await put(a, clock(10), Buffer.from('v10'), true);
    // v10 is still being written (its coordinator has not settled it): a version that may come back.
    expect(await put(a, clock(20), Buffer.from('v20'), true)).to.deep.include({ applied: true, previousSettled: false });
    await store.settle(a, clock(20));
    expect(await put(a, clock(30), Buffer.from('v30'), true)).to.deep.include({ applied: true, previousSettled: true });
    expect(await put(a, clock(40), Buffer.from('v40'), false)).to.deep.include({ applied: true, previousSettled: false });
  });

  it('keeps a version that arrives behind an unsettled newer one, and restores it if that one is undone', async () => {
    await put(a, clock(10), Buffer.from('v10'));
    await put(a, clock(30), Buffer.from('v30'), true);
    expect(store.unsettledWrite(a, clock(30))?.previous?.clock, 'v10 is what v30 replaced').to.deep.equal(clock(10));
    expect(store.unsettledWrite(a, clock(30))).to.not.have.property('replacedUnknown');
    // v20 is older than v30, which is still being written: v20 waits in the place v30 would give back.
    expect(await put(a, clock(20), Buffer.from('v20'))).to.deep.include({ applied: false });
    expect(await put(a, clock(15), Buffer.from('v15'))).to.deep.include({ applied: false });
    // It is not what v30 replaced, and says so: it may have been acknowledged after v30 was written.
    expect(store.unsettledWrite(a, clock(30))).to.deep.include({ replacedUnknown: true });
    expect(store.unsettledWrite(a, clock(30))?.previous?.clock).to.deep.equal(clock(20));
    expect(await store.readBody(a, clock(10)), 'the version v20 outdid is gone').to.equal(undefined);
    await store.revert(a, clock(30));
    expect(store.getMeta(a)?.clock).to.deep.equal(clock(20));
    expect((await store.readBody(a, clock(20)))?.toString()).to.equal('v20');
    // Settled, the newer version wins for good and the one behind it goes.
    await put(a, clock(40), Buffer.from('v40'), true);
    await put(a, clock(35), Buffer.from('v35'));
    await store.settle(a, clock(40));
    expect(store.getMeta(a)?.clock).to.deep.equal(clock(40));
    expect(await store.readBody(a, clock(35))).to.equal(undefined);
  });

  it('reads part of a body, and refuses a part past its end', async () => {
    await put(a, clock(10), Buffer.from('0123456789'));
    expect((await store.readBody(a, clock(10), { offsetBytes: 3, lengthBytes: 4 }))?.toString()).to.equal('3456');
    expect((await store.readBody(a, clock(10), { offsetBytes: 10, lengthBytes: 0 }))?.toString()).to.equal('');
    expect(await store.readBody(a, clock(10), { offsetBytes: 8, lengthBytes: 3 })).to.equal('out-of-range');
    expect(await store.readBody(a, clock(9), { offsetBytes: 0, lengthBytes: 1 })).to.equal(undefined);
    const first = await store.readBody(a, clock(10), { offsetBytes: 0, lengthBytes: 2 }) as Buffer;
    await store.readBody(a, clock(10), { offsetBytes: 5, lengthBytes: 2 });
    expect(first.toString(), 'a slice is a copy, not a view a later read reuses').to.equal('01');
  });

  it('reads bodies of whole pages back whole and in any slice, the tail included', async () => {
    const pageSize = 4096;
    const sizes = [pageSize - 24, pageSize - 23, pageSize - 1, pageSize, 3 * pageSize, 3 * pageSize - 10, 5 * 1024 * 1024];
    let seed = 7;
    const random = (below: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % below);
    for (const [index, size] of sizes.entries()) {
      const address: ObjectAddress = { kind: 'chunk', bucket: 'pages', key: `k${index}` };
      const body = Buffer.alloc(size);
      for (let i = 0; i < size; i++) body[i] = (i * 31 + index) & 0xff;
      await put(address, clock(10), body);
      expect((await store.readBody(address, clock(10)) as Buffer | undefined)?.equals(body), `${size} bytes whole`).to.equal(true);
      const slices = [
        { offsetBytes: 0, lengthBytes: size },
        { offsetBytes: size - 30, lengthBytes: 30 },
        { offsetBytes: size - 1, lengthBytes: 1 },
        { offsetBytes: size, lengthBytes: 0 },
      ];
      for (let n = 0; n < 40; n++) {
        const offsetBytes = random(size + 1);
        slices.push({ offsetBytes, lengthBytes: random(size - offsetBytes + 1) });
      }
      for (const slice of slices) {
        const read = await store.readBody(address, clock(10), slice) as Buffer;
        expect(read.equals(body.subarray(slice.offsetBytes, slice.offsetBytes + slice.lengthBytes)), `${size} bytes at ${slice.offsetBytes}+${slice.lengthBytes}`).to.equal(true);
      }
      expect(await store.readBody(address, clock(10), { offsetBytes: size - 1, lengthBytes: 2 })).to.equal('out-of-range');
    }
  });

  it('stores a body of exactly one page on one page', async () => {
    const before = store.usedBytes();
    for (let i = 0; i < 200; i++) await put({ kind: 'object', bucket: 'pages', key: `page${i}` }, clock(10), Buffer.alloc(4096, i));
    const perBody = (store.usedBytes() - before) / 200;
    expect(perBody, 'bytes of store per 4 KiB body').to.be.below(1.5 * 4096);
  });

  it('removes the tail of a body with the body', async () => {
    const body = (fill: number) => Buffer.alloc(4096, fill);
    await put(a, clock(10), body(1));
    await put(a, clock(20), body(2), true);
    await store.settle(a, clock(20));
    await put(a, clock(30), body(3), true);
    await store.revert(a, clock(30));
    await put(a, clock(40), body(4));
    expect((await store.readBody(a, clock(40)) as Buffer | undefined)?.equals(body(4))).to.equal(true);
    await store.close();
    const raw = open({ path: join(dir, 'objects'), maxDbs: 8 });
    const tails = raw.openDB({ name: 'data_tails', keyEncoding: 'binary', encoding: 'binary' });
    const data = raw.openDB({ name: 'data', keyEncoding: 'binary', encoding: 'binary' });
    expect(tails.getKeysCount(), 'only the live version keeps a tail').to.equal(1);
    expect(data.getKeysCount()).to.equal(1);
    await raw.close();
    store = ObjectStore.open({ path: dir, logger: logged.logger });
  });

  it('stores no row for an empty body, and still drops an empty one an earlier release stored', async () => {
    const empty: ObjectAddress = { kind: 'object', bucket: 'photos', key: 'empty' };
    const older: ObjectAddress = { kind: 'object', bucket: 'photos', key: 'older' };
    const dataRows = async (change?: (data: ReturnType<ReturnType<typeof open>['openDB']>) => Promise<unknown>): Promise<Buffer[]> => {
      await store.close();
      const raw = open({ path: join(dir, 'objects'), maxDbs: 8 });
      const data = raw.openDB({ name: 'data', keyEncoding: 'binary', encoding: 'binary' });
      await change?.(data);
      const keys = [...data.getKeys({})].map((key) => Buffer.from(key as Buffer));
      await raw.close();
      store = ObjectStore.open({ path: dir, logger: logged.logger });
      return keys;
    };

    await put(empty, clock(10), Buffer.alloc(0));
    await put(empty, clock(20), Buffer.from('now with a body'), true);
    await put(older, clock(10), Buffer.alloc(0));
    // An empty body of `older` as an earlier release stored it.
    expect(await dataRows((data) => data.put(dataKey(older, clock(10)), Buffer.alloc(0)))).to.deep.equal([dataKey(empty, clock(20)), dataKey(older, clock(10))]);

    expect(await store.revert(empty, clock(20))).to.deep.include({ reverted: true });
    expect(store.getMeta(empty)).to.deep.include({ sizeBytes: 0, clock: clock(10) });
    await put(older, clock(30), Buffer.from('body'));
    expect(await dataRows(), 'the undone body, and the empty one replaced').to.deep.equal([dataKey(older, clock(30))]);
    expect((await store.readBody(older, clock(30)))?.toString()).to.equal('body');
    expect(store.list('object', 'photos', { prefix: '', startAt: '', limit: 10 }).entries.map((entry) => [entry.key, entry.sizeBytes])).to.deep.equal([['empty', 0], ['older', 4]]);
  });

  it('reads a body of whole pages stored whole, without a tail, as it was written', async () => {
    const body = Buffer.alloc(4096, 9);
    body[4095] = 1;
    await store.close();
    const raw = open({ path: join(dir, 'objects'), maxDbs: 8 });
    await raw.openDB({ name: 'data', keyEncoding: 'binary', encoding: 'binary' }).put(dataKey(a, clock(10)), body);
    await raw.close();
    store = ObjectStore.open({ path: dir, logger: logged.logger });
    expect((await store.readBody(a, clock(10)) as Buffer | undefined)?.equals(body)).to.equal(true);
    expect(await store.readBody(a, clock(10), { offsetBytes: 4094, lengthBytes: 2 })).to.deep.equal(Buffer.from([9, 1]));
  });

  it('stores tombstones as versions that hide older writes', async () => {
    await put(a, clock(10), Buffer.from('alive'));
    await put(a, clock(20), undefined, false, true);
    expect(store.getMeta(a)).to.deep.include({ deleted: true });
    expect(await put(a, clock(15), Buffer.from('late write'))).to.deep.include({ applied: false });
    expect(store.getMeta(a)?.deleted).to.equal(true);
  });

  it('keeps the replaced version until settled, and restores it on revert', async () => {
    await put(a, clock(10), Buffer.from('committed'));
    await put(a, clock(20), Buffer.from('tentative'), true);
    expect((await store.readBody(a, clock(10)))?.toString(), 'previous body kept').to.equal('committed');
    expect(await store.revert(a, clock(20))).to.deep.equal({ reverted: true, restored: clock(10) });
    expect(store.getMeta(a)?.clock).to.deep.equal(clock(10));
    expect((await store.readBody(a, clock(10)))?.toString()).to.equal('committed');
    expect(await store.readBody(a, clock(20))).to.equal(undefined);

    await put(a, clock(30), Buffer.from('good'), true);
    await store.settle(a, clock(30));
    expect(await store.readBody(a, clock(10)), 'settled: previous body dropped').to.equal(undefined);
    expect(await store.revert(a, clock(30)), 'a settled write cannot be reverted').to.deep.equal({ reverted: false });
    expect(store.getMeta(a)?.clock).to.deep.equal(clock(30));
  });

  it('reverts the first write of a key to nothing, and never reverts a newer write', async () => {
    const b: ObjectAddress = { kind: 'object', bucket: 'photos', key: 'new' };
    await put(b, clock(10), Buffer.from('x'), true);
    expect(await store.revert(b, clock(10))).to.deep.equal({ reverted: true, restored: undefined });
    expect(store.getMeta(b)).to.equal(undefined);
    expect([...store.scanRange(keyPosition('photos', 'new'), keyPosition('photos', 'new'))].map((e) => e.address.key)).to.not.include('new');

    await put(a, clock(10), Buffer.from('one'), true);
    await put(a, clock(20), Buffer.from('two'), false);
    expect(await store.revert(a, clock(10))).to.deep.equal({ reverted: false });
    expect(store.getMeta(a)?.clock).to.deep.equal(clock(20));
  });

  it('ages unsettled writes by a clock that is never stepped, not by their clocks or the wall time', async () => {
    let elapsedMs = 5_000;
    const path = join(dir, 'timed');
    let timed = ObjectStore.open({ path, logger: logged.logger, now: () => 0, elapsed: () => elapsedMs });
    const b: ObjectAddress = { kind: 'object', bucket: 'photos', key: 'dog.jpg' };
    try {
      await timed.apply({ address: a, meta: meta(a, clock(1_000), Buffer.from('old')), body: Buffer.from('old'), keepPrevious: false });
      // Stamped by a clock far ahead of this replica's: its age still counts from when it arrived here.
      await timed.apply({ address: a, meta: meta(a, clock(900_000), Buffer.from('new')), body: Buffer.from('new'), keepPrevious: true });
      elapsedMs = 6_000;
      await timed.apply({ address: b, meta: meta(b, clock(2_000), undefined, true), keepPrevious: true });
      expect(timed.staleWrites(60_000, 10)).to.deep.equal([]);
      elapsedMs = 65_500;
      expect(timed.staleWrites(60_000, 10)).to.deep.equal([{ address: a, clock: clock(900_000), deleted: false, ageMs: 60_500, ringChecksum: 1 }]);
      elapsedMs = 70_000;
      expect(timed.staleWrites(60_000, 10).map((write) => [write.address.key, write.deleted])).to.deep.equal([['cat.jpg', false], ['dog.jpg', true]]);
      expect(timed.staleWrites(60_000, 1)).to.have.length(1);
      await timed.settle(a, clock(900_000));
      expect(timed.staleWrites(60_000, 10).map((write) => write.address.key)).to.deep.equal(['dog.jpg']);

      // Reopened (a restart), the store knows no more of a write's age than that it is older than the session.
      await timed.close();
      elapsedMs = 10;
      timed = ObjectStore.open({ path, logger: logged.logger, now: () => 0, elapsed: () => elapsedMs });
      expect(timed.staleWrites(60_000, 10)).to.deep.equal([]);
      elapsedMs = 60_011;
      expect(timed.staleWrites(60_000, 10).map((write) => write.address.key)).to.deep.equal(['dog.jpg']);
    } finally {
      await timed.close();
    }
  });

  it('marks an unsettled write in flight until its coordinator must have decided it, in reads and listings alike', async () => {
    let elapsedMs = 1_000;
    const path = join(dir, 'in-flight');
    let timed = ObjectStore.open({ path, logger: logged.logger, now: () => 0, elapsed: () => elapsedMs, writeDecidedWithinMs: 2_000 });
    const listed = () => timed.list('object', 'photos', { prefix: '', startAt: '', limit: 10 }, true).entries.find((entry) => entry.key === 'cat.jpg');
    try {
      await timed.apply({ address: a, meta: meta(a, clock(10), Buffer.from('old')), body: Buffer.from('old'), keepPrevious: false });
      await timed.apply({ address: a, meta: meta(a, clock(20), Buffer.from('new')), body: Buffer.from('new'), keepPrevious: true });
      expect(timed.unsettledWrite(a, clock(20))).to.include({ inFlight: true });
      expect(listed()).to.include({ unsettled: true, inFlight: true });
      elapsedMs = 3_000;
      expect(timed.unsettledWrite(a, clock(20))).to.not.have.property('inFlight');
      expect(listed()).to.include({ unsettled: true }).and.not.have.property('inFlight');

      // After a restart the write is as old as the session at least: in flight again only for what is left of that.
      await timed.close();
      elapsedMs = 0;
      timed = ObjectStore.open({ path, logger: logged.logger, now: () => 0, elapsed: () => elapsedMs, writeDecidedWithinMs: 2_000 });
      expect(timed.unsettledWrite(a, clock(20))).to.include({ inFlight: true });
      elapsedMs = 2_000;
      expect(timed.unsettledWrite(a, clock(20))).to.not.have.property('inFlight');
    } finally {
      await timed.close();
    }
  });

  it('removes undo records that no longer belong to their key\u2019s version, and only those', async () => {
    const b: ObjectAddress = { kind: 'object', bucket: 'photos', key: 'dog.jpg' };
    await put(a, clock(10), Buffer.from('old'));
    await put(a, clock(20), Buffer.from('new'), true);
    await put(b, clock(10), Buffer.from('kept'), true);
    // As a crash between writes of an earlier release could leave it: the record moved on, its undo stayed.
    await store.close();
    const raw = open({ path: join(dir, 'objects'), maxDbs: 16 });
    const undo = raw.openDB({ name: 'undo', keyEncoding: 'binary' });
    const metaTable = raw.openDB({ name: 'meta', keyEncoding: 'binary' });
    await metaTable.put(metaKey(a), meta(a, clock(30), Buffer.from('newer')));
    expect(undo.getKeysCount()).to.equal(2);
    await raw.close();
    store = ObjectStore.open({ path: dir, logger: logged.logger });
    expect(await store.removeOrphanedUndo(10)).to.equal(1);
    expect(store.isUnsettled(b, clock(10)), 'an undo record of the current version stays').to.equal(true);
    expect(await store.readBody(a, clock(10)), 'the body only the orphan kept goes with it').to.equal(undefined);
    expect(await store.removeOrphanedUndo(10)).to.equal(0);
  });

  it('undoes a write over an unsettled version to that version, with what that one replaced beneath it', async () => {
    await put(a, clock(10), Buffer.from('settled'));
    await put(a, clock(20), Buffer.from('first'), true);
    await put(a, clock(30), Buffer.from('second'), true);
    expect(store.unsettledWrite(a, clock(30)), 'and the settled version both stand over').to.deep.include({ previousUnsettled: true, settledBeneath: clock(10) });
    expect(await store.revert(a, clock(30))).to.deep.equal({ reverted: true, restored: clock(20) });
    expect(store.unsettledWrite(a, clock(20))?.previous?.clock, 'still to be judged, over what it replaced').to.deep.equal(clock(10));
    expect((await store.readBody(a, clock(20)))?.toString()).to.equal('first');
    expect(await store.revert(a, clock(20))).to.deep.equal({ reverted: true, restored: clock(10) });
    expect((await store.readBody(a, clock(10)))?.toString()).to.equal('settled');
    expect(store.isUnsettled(a, clock(10))).to.equal(false);
  });

  it('never loses a version acknowledged beneath two writes that both fail', async () => {
    await put(a, clock(10), Buffer.from('old'));
    await put(a, clock(19), Buffer.from('acknowledged'), true);
    await put(a, clock(22), Buffer.from('failed once'), true);
    // The first write's settle comes after the second write arrived: what it replaced can go.
    await store.settle(a, clock(19));
    expect(store.unsettledWrite(a, clock(22))).to.not.have.property('previousUnsettled');
    expect(store.unsettledWrite(a, clock(22))).to.not.have.property('settledBeneath');
    expect(await store.readBody(a, clock(10))).to.equal(undefined);
    await put(a, clock(27), Buffer.from('failed twice'), true);
    expect(await store.revert(a, clock(27))).to.deep.equal({ reverted: true, restored: clock(22) });
    expect(await store.revert(a, clock(22))).to.deep.equal({ reverted: true, restored: clock(19) });
    expect((await store.readBody(a, clock(19)))?.toString()).to.equal('acknowledged');
    expect(store.isUnsettled(a, clock(19)), 'settled, nothing left to undo').to.equal(false);
  });

  it('undoes a failed write kept beneath a newer one there, so that undoing the newer gives back the version before both', async () => {
    await put(a, clock(10), Buffer.from('v10'));
    await put(a, clock(20), Buffer.from('v20'), true);
    await put(a, clock(30), Buffer.from('v30'), true);
    expect(await store.revert(a, clock(20))).to.deep.equal({ reverted: true, beneathNewest: true });
    expect(store.getMeta(a)?.clock, 'the newer write stays').to.deep.equal(clock(30));
    expect(await store.readBody(a, clock(20))).to.equal(undefined);
    expect(store.unsettledWrite(a, clock(30))).to.deep.include({ replacedUnknown: true });
    expect(await store.revert(a, clock(20)), 'undone once').to.deep.equal({ reverted: false });
    expect(await store.revert(a, clock(30))).to.deep.equal({ reverted: true, restored: clock(10) });
    expect((await store.readBody(a, clock(10)))?.toString()).to.equal('v10');
    expect(store.isUnsettled(a, clock(10))).to.equal(false);
  });

  it('drops a key whose writes form a chain with every body the chain kept', async () => {
    await put(a, clock(10), Buffer.from('v10'));
    await put(a, clock(20), Buffer.from('v20'), true);
    await put(a, clock(30), Buffer.from('v30'), true);
    expect((await store.dropLiveVersions(undefined, 10)).dropped).to.equal(1);
    expect(store.getMeta(a)).to.equal(undefined);
    for (const at of [10, 20, 30]) expect(await store.readBody(a, clock(at)), `v${at}`).to.equal(undefined);
    expect(store.hasUnsettledWrites()).to.equal(false);
  });

  it('settles the newest write of a chain with every version kept beneath it', async () => {
    await put(a, clock(10), Buffer.from('v10'));
    await put(a, clock(20), Buffer.from('v20'), true);
    await put(a, clock(30), Buffer.from('v30'), true);
    await store.settle(a, clock(30));
    expect(store.isUnsettled(a, clock(30))).to.equal(false);
    expect(await store.readBody(a, clock(20))).to.equal(undefined);
    expect(await store.readBody(a, clock(10))).to.equal(undefined);
    expect(await store.revert(a, clock(30))).to.deep.equal({ reverted: false });
  });

  it('keeps at most four undo records for a key, and undoes past them to a version over nothing known', async () => {
    await put(a, clock(10), Buffer.from('v10'));
    for (const at of [20, 30, 40, 50, 60]) await put(a, clock(at), Buffer.from(`v${at}`), true);
    expect(await store.readBody(a, clock(10)), 'cut off beneath the fourth record').to.equal(undefined);
    for (const at of [60, 50, 40, 30]) expect(await store.revert(a, clock(at))).to.deep.include({ reverted: true });
    expect(store.unsettledWrite(a, clock(20))).to.deep.include({ previous: null, replacedUnknown: true });
    expect(await store.revert(a, clock(20))).to.deep.equal({ reverted: true, restored: undefined });
    expect(store.getMeta(a), 'empty here, for the other replicas to fill').to.equal(undefined);
  });

  it('keeps the version an older unsettled write displaces beneath it, and drops it for a settled copy', async () => {
    await put(a, clock(10), Buffer.from('v10'));
    await put(a, clock(30), Buffer.from('v30'), true);
    expect(await put(a, clock(20), Buffer.from('v20'), true)).to.deep.include({ applied: false });
    expect(await store.revert(a, clock(30))).to.deep.equal({ reverted: true, restored: clock(20) });
    expect(await store.revert(a, clock(20))).to.deep.equal({ reverted: true, restored: clock(10) });
    expect((await store.readBody(a, clock(10)))?.toString()).to.equal('v10');

    await put(a, clock(40), Buffer.from('v40'), true);
    expect(await put(a, clock(35), Buffer.from('v35'), false)).to.deep.include({ applied: false });
    expect(await store.readBody(a, clock(10)), 'a settled copy stands where the older version stood').to.equal(undefined);
    expect(await store.revert(a, clock(40))).to.deep.equal({ reverted: true, restored: clock(35) });
    expect(store.isUnsettled(a, clock(35))).to.equal(false);
  });

  it('removes an orphaned chain of undo records with every body it kept but the current version\u2019s', async () => {
    await put(a, clock(10), Buffer.from('v10'));
    await put(a, clock(20), Buffer.from('v20'), true);
    await put(a, clock(30), Buffer.from('v30'), true);
    // The record moved back to a version the chain keeps, its undo records stayed.
    await store.close();
    const raw = open({ path: join(dir, 'objects'), maxDbs: 16 });
    await raw.openDB({ name: 'meta', keyEncoding: 'binary' }).put(metaKey(a), meta(a, clock(20), Buffer.from('v20')));
    await raw.close();
    store = ObjectStore.open({ path: dir, logger: logged.logger });
    expect(await store.removeOrphanedUndo(10)).to.equal(1);
    expect((await store.readBody(a, clock(20)))?.toString(), 'the current version keeps its body').to.equal('v20');
    expect(await store.readBody(a, clock(10)), 'a body only the chain kept goes').to.equal(undefined);
    expect(store.isUnsettled(a, clock(20))).to.equal(false);
  });

  it('marks unsettled versions in a listing when asked, with what they replaced', async () => {
    const b: ObjectAddress = { kind: 'object', bucket: 'photos', key: 'dog.jpg' };
    await put(a, clock(10), Buffer.from('old'));
    await put(b, clock(10), Buffer.from('dog'));
    const fetch = { prefix: '', startAt: '', limit: 10 };
    expect(store.hasUnsettledWrites()).to.equal(false);
    expect(store.list('object', 'photos', fetch, true).entries.some((entry) => entry.unsettled)).to.equal(false);
    await put(a, clock(20), Buffer.from('new'), true);
    expect(store.hasUnsettledWrites()).to.equal(true);
    const marked = store.list('object', 'photos', fetch, true).entries;
    expect(marked.map((entry) => [entry.key, entry.unsettled === true, entry.previous?.clock])).to.deep.equal([
      ['cat.jpg', true, clock(10)],
      ['dog.jpg', false, undefined],
    ]);
    expect(store.list('object', 'photos', fetch).entries.some((entry) => entry.unsettled), 'unmarked unless asked').to.equal(false);
    await store.settle(a, clock(20));
    expect(store.hasUnsettledWrites()).to.equal(false);
  });

  it('tells an unsettled version apart and serves the version it replaced by its clock', async () => {
    await put(a, clock(10), Buffer.from('old'));
    await put(a, clock(20), Buffer.from('new'), true);
    expect(store.unsettledWrite(a, clock(20))?.previous?.clock).to.deep.equal(clock(10));
    expect(store.unsettledWrite(a, clock(10))).to.equal(undefined);
    expect(store.versionAt(a, clock(20))?.clock).to.deep.equal(clock(20));
    expect(store.versionAt(a, clock(10))?.clock).to.deep.equal(clock(10));
    expect((await store.readBody(a, clock(10)))?.toString()).to.equal('old');
    expect(store.versionAt(a, clock(15))).to.equal(undefined);
    await store.settle(a, clock(20));
    expect(store.unsettledWrite(a, clock(20))).to.equal(undefined);
    expect(store.versionAt(a, clock(10)), 'the replaced version goes once the write settles').to.equal(undefined);
  });

  it('lists one bucket in UTF-8 byte order from startAt, tombstones included, chunks excluded', async () => {
    const keys = ['a/1', 'a/2', 'a/3', 'b', 'z', '\u00e9', '\u{1F600}', 'a/\uFFFF'];
    let t = 1;
    for (const key of keys) await put({ kind: 'object', bucket: 'bk', key }, clock(t++), Buffer.from(key));
    await put({ kind: 'object', bucket: 'bk', key: 'a/2' }, clock(t++), undefined, false, true);
    await put({ kind: 'chunk', bucket: 'bk', key: 'a/1\nchunk' }, clock(t++), Buffer.from('c'));
    await put({ kind: 'object', bucket: 'bk2', key: 'a/9' }, clock(t++), Buffer.from('other bucket'));
    await put({ kind: 'object', bucket: 'b', key: 'k\u0000zero' }, clock(t++), Buffer.from('nul in key'));

    const all = store.list('object', 'bk', { prefix: '', startAt: '', limit: 100 });
    expect(all.entries.map((e) => e.key)).to.deep.equal(['a/1', 'a/2', 'a/3', 'a/\uFFFF', 'b', 'z', '\u00e9', '\u{1F600}']);
    expect(all.truncated).to.equal(false);
    expect(all.entries.find((e) => e.key === 'a/2')?.deleted).to.equal(true);

    const page = store.list('object', 'bk', { prefix: 'a/', startAt: 'a/2', limit: 2 });
    expect(page.entries.map((e) => e.key)).to.deep.equal(['a/2', 'a/3']);
    expect(page.truncated).to.equal(true);
    expect(store.list('object', 'bk', { prefix: 'a/', startAt: 'a/3', limit: 2 }).truncated).to.equal(false);
    expect(store.list('object', 'b', { prefix: '', startAt: '', limit: 10 }).entries.map((e) => e.key)).to.deep.equal(['k\u0000zero']);
    expect(store.list('object', 'missing', { prefix: '', startAt: '', limit: 10 }).entries).to.deep.equal([]);

    // With a delimiter the index jumps over the rest of a prefix once a live key rolls it up.
    const jumped = store.list('object', 'bk', { prefix: '', startAt: '', limit: 100, delimiter: '/' });
    expect(jumped.entries.map((e) => e.key)).to.deep.equal(['a/1', 'b', 'z', '\u00e9', '\u{1F600}']);
    expect(jumped.gaps).to.deep.equal([{ after: 'a/1', until: 'a0' }]);
    const fromTombstone = store.list('object', 'bk', { prefix: 'a/', startAt: 'a/2', limit: 100, delimiter: '2' });
    expect(fromTombstone.entries.map((e) => e.key), 'a tombstone does not roll a prefix up').to.deep.equal(['a/2', 'a/3', 'a/\uFFFF']);
    // A scan's start is the whole key in UTF-8: cut short, it would take '\u00e9' too.
    const fromMultiByte = store.list('object', 'bk', { prefix: '', startAt: '\u00e9a', limit: 100, delimiter: '/' });
    expect(fromMultiByte.entries.map((e) => e.key)).to.deep.equal(['\u{1F600}']);
  });

  it('walks a ring range (start, end] in position order, wrapping past the top', async () => {
    const addresses = Array.from({ length: 200 }, (_, i): ObjectAddress => ({ kind: i % 5 === 0 ? 'chunk' : 'object', bucket: 'r', key: `k${i}` }));
    for (const address of addresses) await store.apply({ address, meta: meta(address, clock(1)), keepPrevious: false });
    const positions = addresses.map((address) => ({ address, position: keyPosition(address.bucket, address.key) })).sort((x, y) => (x.position < y.position ? -1 : 1));
    const start = positions[50]!.position;
    const end = positions[120]!.position;
    const inside = [...store.scanRange(start, end)].map((e) => e.position);
    expect(inside).to.deep.equal(positions.slice(51, 121).map((p) => p.position));
    const wrapped = [...store.scanRange(end, start)].map((e) => e.position);
    expect(wrapped).to.deep.equal([...positions.slice(121), ...positions.slice(0, 51)].map((p) => p.position));
    expect(new Set([...inside, ...wrapped]).size).to.equal(200);
  });

  it('resumes a walk of a range after the last entry it gave, in pages, with and without a wrap', async () => {
    const addresses = Array.from({ length: 120 }, (_, i): ObjectAddress => ({ kind: 'object', bucket: 'r', key: `k${i}` }));
    for (const address of addresses) await store.apply({ address, meta: meta(address, clock(1)), keepPrevious: false });
    const sorted = addresses.map((address) => keyPosition(address.bucket, address.key)).sort();
    const walk = (start: string, end: string, pageSize: number): string[] => {
      const seen: string[] = [];
      let after: { position: string; address: ObjectAddress } | undefined;
      for (let pages = 0; pages < 1000; pages++) {
        const page = [...store.scanRange(start, end, after)].slice(0, pageSize);
        if (page.length === 0) return seen;
        seen.push(...page.map((entry) => entry.position));
        const last = page[page.length - 1]!;
        after = { position: last.position, address: last.address };
      }
      throw new Error('the walk did not end');
    };
    const [start, end] = [sorted[30]!, sorted[90]!];
    expect(walk(start, end, 7)).to.deep.equal([...store.scanRange(start, end)].map((entry) => entry.position));
    expect(walk(end, start, 7)).to.deep.equal([...store.scanRange(end, start)].map((entry) => entry.position));
    expect(walk(end, start, 7)).to.have.length(120 - 60);
    // The whole ring: a range that starts where it ends.
    expect(walk(start, start, 11)).to.have.length(120);
  });

  it('refuses writes past its capacity with InsufficientStorage and stays readable', async () => {
    await store.close();
    store = ObjectStore.open({ path: dir, logger: logged.logger, capacityBytes: 2 * 1024 * 1024 });
    const body = Buffer.alloc(256 * 1024, 1);
    let refusedAt = -1;
    for (let i = 0; i < 40; i++) {
      try {
        await put({ kind: 'object', bucket: 'full', key: `k${i}` }, clock(i + 1), body);
      } catch (error) {
        expect(error).to.be.instanceOf(StoreFailure);
        expect((error as StoreFailure).code).to.equal('InsufficientStorage');
        refusedAt = i;
        break;
      }
    }
    expect(refusedAt).to.be.within(1, 39);
    for (let i = 0; i < refusedAt; i++) {
      const address: ObjectAddress = { kind: 'object', bucket: 'full', key: `k${i}` };
      expect((await store.readBody(address, store.getMeta(address)!.clock) as Buffer | undefined)?.equals(body), `k${i}`).to.equal(true);
    }
    expect(store.getMeta({ kind: 'object', bucket: 'full', key: `k${refusedAt}` })).to.equal(undefined);
  });

  it('counts the pages that overwrites freed inside its LMDB file', async () => {
    const fresh = store.space();
    expect(fresh.lmdbFreeBytes).to.be.at.most(fresh.lmdbUsedBytes);
    for (let i = 0; i < 300; i++) await put({ ...a, key: `k${i}` }, clock(10), Buffer.alloc(8 * 1024, i));
    const full = store.space();
    for (let i = 0; i < 300; i++) await put({ ...a, key: `k${i}` }, clock(20), Buffer.from('small'));
    const after = store.space();
    // About 300 pages of 8 KiB bodies went; LMDB keeps a few freed pages for its own bookkeeping.
    expect(after.lmdbFreeBytes - full.lmdbFreeBytes).to.be.above(300 * 4096);
    expect(after.lmdbFreeBytes).to.be.below(after.lmdbUsedBytes);
    expect(after.lmdbFileBytes).to.be.at.least(after.lmdbUsedBytes);
  });

  it('survives reopening with everything acknowledged', async () => {
    for (let i = 0; i < 50; i++) await put({ kind: 'object', bucket: 'durable', key: `k${i}` }, clock(i + 1), Buffer.from(`body ${i}`));
    await store.close();
    store = ObjectStore.open({ path: dir, logger: logged.logger });
    for (let i = 0; i < 50; i++) {
      const address: ObjectAddress = { kind: 'object', bucket: 'durable', key: `k${i}` };
      expect((await store.readBody(address, clock(i + 1)))?.toString()).to.equal(`body ${i}`);
    }
  });

  it('reports and skips a metadata record that does not decode', async () => {
    await put(a, clock(10), Buffer.from('fine'));
    await put({ kind: 'object', bucket: 'photos', key: 'apple' }, clock(10), Buffer.from('before'));
    const broken: ObjectAddress = { kind: 'object', bucket: 'photos', key: 'broken' };
    await store.close();
    const raw = open({ path: join(dir, 'objects'), maxDbs: 8 });
    const rawMeta = raw.openDB({ name: 'meta', keyEncoding: 'binary', encoding: 'binary' });
    await rawMeta.put(metaKey(broken), Buffer.from([0xc1, 0xff, 0x00, 0x13]));
    await raw.close();
    store = ObjectStore.open({ path: dir, logger: logged.logger });
    expect(store.getMeta(broken)).to.equal(undefined);
    expect(store.list('object', 'photos', { prefix: '', startAt: '', limit: 10 }).entries.map((e) => e.key)).to.deep.equal(['apple', 'cat.jpg']);
    expect(logged.lines.some((line) => String(line.msg).startsWith('metadata record'))).to.equal(true);
    // A new version replaces the broken record.
    expect(await put(broken, clock(30), Buffer.from('repaired'))).to.deep.include({ applied: true });
    expect(store.getMeta(broken)?.clock).to.deep.equal(clock(30));
  });

  it('skips a metadata record that does not decode where a delimiter listing jumps to a common prefix', async () => {
    for (const key of ['a/1', 'b/2', 'b/3', 'c/4']) await put({ kind: 'object', bucket: 'photos', key }, clock(10), Buffer.from(key));
    // A tombstone first in its prefix: the scan reads on past it into the damaged record.
    const gone: ObjectAddress = { kind: 'object', bucket: 'photos', key: 'b/0' };
    await store.apply({ address: gone, meta: meta(gone, clock(10), undefined, true), keepPrevious: false });
    await store.close();
    const raw = open({ path: join(dir, 'objects'), maxDbs: 8 });
    const rawMeta = raw.openDB({ name: 'meta', keyEncoding: 'binary', encoding: 'binary' });
    await rawMeta.put(metaKey({ kind: 'object', bucket: 'photos', key: 'b/1' }), Buffer.from([0xc1, 0xff, 0x00, 0x13]));
    await raw.close();
    store = ObjectStore.open({ path: dir, logger: logged.logger });
    const page = store.list('object', 'photos', { prefix: '', startAt: '', limit: 10, delimiter: '/' });
    expect(page.entries.map((e) => e.key)).to.deep.equal(['a/1', 'b/0', 'b/2', 'c/4']);
    expect(page.gaps).to.deep.equal([{ after: 'a/1', until: 'a0' }, { after: 'b/2', until: 'b0' }, { after: 'c/4', until: 'c0' }]);
  });
});
