import { expect } from 'chai';
import { AuthView } from '../../../../../src/actors/common/auth-view.js';
import {
  bucketTagOf, encodeHandle, fileIdOf, FileHandles, MAX_INLINE_KEY_BYTES, parseHandle,
} from '../../../../../src/actors/gateway/nfs/file-handles.js';
import { AUTH_SNAPSHOT_VERSION, type AuthSnapshot, type BucketRecord } from '../../../../../src/core/auth-snapshot.js';
import { NFS3_FHSIZE } from '../../../../../src/protocol/nfs/nfs3-types.js';
import { ManualClock, systemClock } from '../../../../../src/runtime/clock.js';
import { MapHandleStore, memoryHandles } from '../../../../support/nfs-handles.js';

function bucket(name: string, incarnation: string): BucketRecord {
  return { name, owner: 'alice', acl: 'private', createdAtMs: 1, incarnation } as BucketRecord;
}

function viewWith(...buckets: BucketRecord[]): AuthView {
  const view = new AuthView();
  view.install({ version: AUTH_SNAPSHOT_VERSION, revision: 1, users: [], buckets, endpoints: [] } as unknown as AuthSnapshot);
  return view;
}

describe('NFS file handles', () => {
  const photos = bucket('photos', 'aaaaaaaaaaaa');
  const tag = bucketTagOf(photos);

  it('hold short keys themselves and long keys by hash, never over 64 bytes', () => {
    for (const key of ['', 'a', 'dir/', 'x'.repeat(MAX_INLINE_KEY_BYTES), 'y'.repeat(MAX_INLINE_KEY_BYTES + 1), 'é/'.repeat(300)]) {
      const { handle, keyHash } = encodeHandle(tag, key);
      expect(handle.length).to.be.at.most(NFS3_FHSIZE);
      const parsed = parseHandle(handle);
      expect(parsed.ok).to.equal(true);
      if (!parsed.ok) continue;
      expect(parsed.bucketTag).to.equal(tag);
      if (Buffer.byteLength(key) <= MAX_INLINE_KEY_BYTES) {
        expect(keyHash).to.equal(undefined);
        expect(parsed.hashed ? undefined : parsed.key).to.equal(key);
      } else {
        expect(parsed.hashed ? parsed.keyHash : undefined).to.equal(keyHash);
      }
    }
  });

  it('answer BADHANDLE for bytes they did not make', () => {
    for (const garbage of [Buffer.alloc(0), Buffer.from('short'), Buffer.alloc(20, 7), Buffer.concat([Buffer.from([1, 9]), Buffer.alloc(20)]), Buffer.concat([Buffer.from([1, 1]), Buffer.alloc(8), Buffer.alloc(3)])]) {
      expect(parseHandle(garbage)).to.deep.equal({ ok: false, status: 'NFS3ERR_BADHANDLE' });
    }
  });

  it('resolve across restarts: a new FileHandles over the same store reads handles of long keys', async () => {
    const store = new MapHandleStore();
    const view = viewWith(photos);
    const long = `${'deep/'.repeat(20)}file.bin`;
    const handle = await memoryHandles(view, systemClock, store).handleFor(tag, long);
    await memoryHandles(view, systemClock, store).handleFor(tag, long);
    expect(store.writes).to.equal(1);
    const again = memoryHandles(view, systemClock, store).resolve(handle);
    expect(again.ok && again.key).to.equal(long);
    expect(again.ok && again.bucket.name).to.equal('photos');
    const short = await memoryHandles(view, systemClock, store).handleFor(tag, 'a/b.txt');
    expect(store.writes).to.equal(1);
    const resolved = memoryHandles(view, systemClock, new MapHandleStore()).resolve(short);
    expect(resolved.ok && resolved.key).to.equal('a/b.txt');
  });

  it('are STALE once the bucket is a new incarnation, or the long key is unknown', async () => {
    const store = new MapHandleStore();
    const handle = await memoryHandles(viewWith(photos), systemClock, store).handleFor(tag, 'a.txt');
    expect(memoryHandles(viewWith(bucket('photos', 'bbbbbbbbbbbb')), systemClock, store).resolve(handle)).to.deep.equal({ ok: false, status: 'NFS3ERR_STALE' });
    const long = encodeHandle(tag, 'z'.repeat(100)).handle;
    expect(memoryHandles(viewWith(photos), systemClock, new MapHandleStore()).resolve(long)).to.deep.equal({ ok: false, status: 'NFS3ERR_STALE' });
  });

  describe('the table of long keys', () => {
    const DAY_MS = 24 * 60 * 60 * 1000;
    const longKey = (i: number): string => `${'deep/'.repeat(20)}file-${i}.bin`;
    const open = (clock: ManualClock, store: MapHandleStore) => new FileHandles(viewWith(photos), store, { clock, maxEntries: 3, maxAgeMs: 30 * DAY_MS });
    const keyOf = (handles: FileHandles, handle: Buffer) => {
      const resolved = handles.resolve(handle);
      return resolved.ok ? resolved.key : resolved.status;
    };

    it('keeps at most maxEntries pairs, the least recently used going first, on disk too', async () => {
      const clock = new ManualClock();
      const store = new MapHandleStore();
      const handles = open(clock, store);
      const made: Buffer[] = [];
      for (let i = 0; i < 3; i++) {
        made.push(await handles.handleFor(tag, longKey(i)));
        clock.advance(1000);
      }
      // Handle 0, in use, is kept; 1 is now the least recently used.
      expect(keyOf(handles, made[0]!)).to.equal(longKey(0));
      clock.advance(1000);
      made.push(await handles.handleFor(tag, longKey(3)));
      expect(handles.longKeys).to.equal(3);
      expect(store.map.size).to.equal(3);
      expect(keyOf(handles, made[1]!)).to.equal('NFS3ERR_STALE');
      for (const i of [0, 2, 3]) expect(keyOf(handles, made[i]!), `handle ${i}`).to.equal(longKey(i));
      // A gateway started again over the same table knows the same pairs, in the same order of use.
      const again = open(clock, store);
      expect(again.longKeys).to.equal(3);
      clock.advance(1000);
      await again.handleFor(tag, longKey(4));
      expect(keyOf(again, made[0]!)).to.equal('NFS3ERR_STALE');
      expect(keyOf(again, made[3]!)).to.equal(longKey(3));
    });

    it('drops pairs unused for maxAgeMs, keeps those used meanwhile, and writes a use to disk only now and then', async () => {
      const clock = new ManualClock();
      const store = new MapHandleStore();
      const handles = open(clock, store);
      const idle = await handles.handleFor(tag, longKey(0));
      const busy = await handles.handleFor(tag, longKey(1));
      const writes = store.writes;
      for (let day = 0; day < 40; day++) {
        clock.advance(DAY_MS);
        expect(keyOf(handles, busy)).to.equal(longKey(1));
      }
      // Used every day for 40 days: its time was stored every 3 days, not 40 times.
      expect(store.writes - writes).to.be.within(10, 15);
      await Promise.resolve();
      expect(keyOf(handles, idle)).to.equal('NFS3ERR_STALE');
      expect([...store.map.values()].map((record) => record.key)).to.deep.equal([longKey(1)]);
    });

    it('drops pairs only listed by READDIRPLUS before any a client used, and never a pair held', async () => {
      const clock = new ManualClock();
      const store = new MapHandleStore();
      const handles = open(clock, store);
      const root = await handles.handleFor(tag, longKey(0));
      const rootHash = parseHandle(root);
      handles.holdWith((keyHash) => rootHash.ok && rootHash.hashed && keyHash === rootHash.keyHash);
      clock.advance(1000);
      const used = await handles.handleFor(tag, longKey(1), true);
      expect(keyOf(handles, used)).to.equal(longKey(1));
      // A large listing: many handles minted, each newer than the two in use.
      const listed: Buffer[] = [];
      for (let i = 2; i < 12; i++) {
        clock.advance(1000);
        listed.push(await handles.handleFor(tag, longKey(i), true));
      }
      await Promise.resolve();
      expect(handles.longKeys).to.equal(3);
      expect(keyOf(handles, root)).to.equal(longKey(0));
      expect(keyOf(handles, used)).to.equal(longKey(1));
      expect(keyOf(handles, listed[listed.length - 1]!)).to.equal(longKey(11));
      expect(keyOf(handles, listed[0]!)).to.equal('NFS3ERR_STALE');
      // Used pairs over the count: the held root stays even as the least recently used.
      for (let i = 20; i < 24; i++) {
        clock.advance(1000);
        await handles.handleFor(tag, longKey(i));
      }
      await Promise.resolve();
      expect(keyOf(handles, root)).to.equal(longKey(0));
      expect(keyOf(handles, used)).to.equal('NFS3ERR_STALE');
    });

    it('does not age pairs by a clock that jumped ahead while no pair was used', async () => {
      const clock = new ManualClock();
      const store = new MapHandleStore();
      const first = open(clock, store);
      const kept = [await first.handleFor(tag, longKey(0)), await first.handleFor(tag, longKey(1))];
      // Started again with a clock a year ahead: the first use must not make every other pair look a year old.
      clock.advance(365 * DAY_MS);
      const handles = open(clock, store);
      expect(keyOf(handles, kept[0]!)).to.equal(longKey(0));
      await handles.handleFor(tag, longKey(2));
      await Promise.resolve();
      expect(keyOf(handles, kept[1]!)).to.equal(longKey(1));
      // Ages count again from there: a pair left unused for maxAgeMs, a day at a time, goes.
      for (let day = 0; day < 31; day++) {
        clock.advance(DAY_MS);
        expect(keyOf(handles, kept[0]!)).to.equal(longKey(0));
      }
      await Promise.resolve();
      expect(keyOf(handles, kept[1]!)).to.equal('NFS3ERR_STALE');
    });

    it('reads pairs stored before their time of use was kept as used at start', async () => {
      const clock = new ManualClock();
      const store = new MapHandleStore();
      const { handle, keyHash } = encodeHandle(tag, longKey(7));
      store.map.set(keyHash!, { key: longKey(7) });
      const handles = open(clock, store);
      expect(keyOf(handles, handle)).to.equal(longKey(7));
      await Promise.resolve();
      expect(store.map.get(keyHash!)?.usedAtMs).to.equal(clock.now());
    });
  });

  it('give every key a stable non-zero file id', () => {
    expect(fileIdOf(tag, 'a')).to.equal(fileIdOf(tag, 'a'));
    expect(fileIdOf(tag, 'a')).to.not.equal(fileIdOf(tag, 'b'));
    expect(fileIdOf(tag, '')).to.not.equal(0n);
  });
});
