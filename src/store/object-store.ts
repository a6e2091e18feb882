/**
 * A storage node's objects in one LMDB environment (`<data>/objects`):
 *
 *   meta        one metadata record per object or chunk (the newest version this replica has)
 *   data        bodies, one row per version, so a replaced version can be restored until settled
 *   data_tails  the last bytes of bodies that would otherwise need an extra page (body-layout.ts)
 *   ring_index  (position, key) -> clock, so a vnode can walk and summarise its range of the ring
 *   undo        the version a still-unsettled write replaced
 *   queues      durable work (repairs), see durable-queue.ts
 *   namespaces  bucket namespaces that refuse writes: sealed or deleted (namespace-records.ts)
 *   tombstones  tombstones by wall time, for the reaper that purges them (tombstone-index.ts)
 *   presence    when this node was last present in the cluster (presence-marks.ts)
 *
 * Every write is one LMDB transaction that compares clocks inside it (last writer wins, decided at
 * commit), and it is acknowledged only once flushed to disk. A write to a sealed or deleted namespace
 * is refused inside its transaction, so it is ordered against the seal: it either committed before
 * the seal did (and a listing after the seal sees it) or it is refused.
 */
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { sliceBounds, type BodySlice } from '../core/body-slice.js';
import { compareHlc, decodeHlc, encodeHlc, isHlc, type Hlc } from '../core/hlc.js';
import type { ListingEntry, ListingFetch, ListingPage } from '../core/listing.js';
import type { ObjectMeta } from '../core/object-meta.js';
import { keyPosition, type RingPosition } from '../core/ring/position.js';
import type { Logger } from '../runtime/logger.js';
import type { ObjectKind } from '../core/object-meta.js';
import { bodyHeadBytes } from './body-layout.js';
import { DurableQueue } from './durable-queue.js';
import { isNamespaceRecord, type DeletedNamespaceRecord, type NamespaceRecord } from './namespace-records.js';
import { OBJECT_KINDS } from '../core/object-meta.js';
import { makePrivateDir, privateEnvironment, restrictFilesToOwner } from './private-files.js';
import { PresenceMarks } from './presence-marks.js';
import { justAfter, TombstoneIndex, type TombstoneEntry } from './tombstone-index.js';
import {
  bucketScanEnd,
  bucketScanStart,
  dataKey,
  metaKey,
  parseMetaKey,
  parseRingIndexKey,
  positionAfter,
  ringIndexKey,
  type ObjectAddress,
} from './store-keys.js';

export type StoreFailureCode = 'InsufficientStorage' | 'StoreError';

export class StoreFailure extends Error {
  override readonly name = 'StoreFailure';
  constructor(
    readonly code: StoreFailureCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ObjectStoreOptions {
  readonly path: string;
  readonly logger: Logger;
  /** Refuse writes once the store's file would grow past this; undefined for no limit. */
  readonly capacityBytes?: number;
  /** Refuse writes while the file system has less free space than this (the node turns read-only). */
  readonly minFreeDiskBytes?: number;
  /** Sync every commit to disk (default). Tests of logic may turn it off; a crash then loses writes. */
  readonly durable?: boolean;
}

export interface ApplyRequest {
  readonly address: ObjectAddress;
  /** The version to store; a tombstone when `meta.deleted`. */
  readonly meta: ObjectMeta;
  readonly body?: Uint8Array;
  /** Keep the replaced version until `settle` (or restore it on `revert`). */
  readonly keepPrevious: boolean;
}

export type ApplyResult =
  /** `previous`: the version this write replaced here, if any. */
  | { readonly applied: true; readonly previous: ObjectMeta | undefined }
  | { readonly applied: false; readonly current: Hlc }
  /** The key's namespace takes no writes: a deletion is checking its bucket, or the bucket is gone. */
  | { readonly applied: false; readonly refused: 'sealed' | 'deleted' };

export interface PurgeProgress {
  readonly removedKeys: number;
  readonly removedBytes: number;
  /** Nothing of the namespace is left. */
  readonly finished: boolean;
}

export type RevertOutcome = { readonly reverted: false } | { readonly reverted: true; readonly restored: Hlc | undefined };

export interface RangeEntry {
  readonly position: RingPosition;
  readonly address: ObjectAddress;
  readonly clock: Hlc;
}

/** A tombstone as the reaper names it: the record of `address` deleted at `clock`. */
export interface TombstoneRef {
  readonly address: ObjectAddress;
  readonly clock: Hlc;
}

interface UndoRecord {
  readonly clock: Hlc;
  readonly previous: ObjectMeta | null;
}

const FREE_SPACE_CACHE_MS = 1_000;
/** Stale writes settled per transaction, so a large backlog never makes one huge commit. */
const STALE_SETTLE_BATCH = 4096;

export class ObjectStore {
  private readonly metaDb: Database<unknown, Buffer>;
  private readonly dataDb: Database<Uint8Array, Buffer>;
  private readonly tailDb: Database<Uint8Array, Buffer>;
  private readonly pageSize: number;
  private readonly ringIndex: Database<string, Buffer>;
  private readonly undoDb: Database<unknown, Buffer>;
  private readonly queueDb: Database<unknown, Buffer>;
  private readonly namespaceDb: Database<unknown, string>;
  private readonly tombstones: TombstoneIndex;
  /** When this node was last present in the cluster, and whom it reported absent. */
  readonly presence: PresenceMarks;
  /** The namespaces table in memory, read inside write transactions and on every read. */
  private readonly fenced = new Map<string, NamespaceRecord>();
  private readonly log: Logger;
  private freeBytesCache: { atMs: number; freeBytes: number } | undefined;

  private constructor(
    private readonly root: RootDatabase,
    private readonly options: ObjectStoreOptions,
  ) {
    this.log = options.logger.child({ component: 'object-store' });
    this.metaDb = root.openDB({ name: 'meta', keyEncoding: 'binary' });
    this.dataDb = root.openDB({ name: 'data', keyEncoding: 'binary', encoding: 'binary' });
    this.tailDb = root.openDB({ name: 'data_tails', keyEncoding: 'binary', encoding: 'binary' });
    this.pageSize = (root.getStats() as { pageSize: number }).pageSize;
    this.ringIndex = root.openDB({ name: 'ring_index', keyEncoding: 'binary', encoding: 'string' });
    this.undoDb = root.openDB({ name: 'undo', keyEncoding: 'binary' });
    this.queueDb = root.openDB({ name: 'queues', keyEncoding: 'binary' });
    this.namespaceDb = root.openDB({ name: 'namespaces' });
    const tombstonesDb: Database<unknown, Buffer> = root.openDB({ name: 'tombstones', keyEncoding: 'binary' });
    const presenceDb: Database<unknown, string> = root.openDB({ name: 'presence' });
    this.tombstones = new TombstoneIndex(() => tombstonesDb);
    this.presence = new PresenceMarks(() => presenceDb, (action) => this.write(action));
    this.loadFences();
  }

  static open(options: ObjectStoreOptions): ObjectStore {
    makePrivateDir(options.path);
    const path = join(options.path, 'objects');
    makePrivateDir(path);
    // Each commit syncs within itself rather than overlapping its sync with the next commit: writes
    // gather into larger commits while a sync runs, and a small write costs about a fifth fewer syncs
    // and a tenth fewer page writes. A committed transaction is then one on disk.
    const sync = options.durable === false ? { noSync: true } : {};
    const root = open(privateEnvironment({ path, maxDbs: 12, noMemInit: true, overlappingSync: false, ...sync }));
    restrictFilesToOwner(path);
    return new ObjectStore(root, options);
  }

  // ---- reads ----

  /** The newest version here; nothing for a key of a deleted namespace. */
  getMeta(address: ObjectAddress): ObjectMeta | undefined {
    if (this.isDeleted(address.bucket)) return undefined;
    return this.readMeta(metaKey(address));
  }

  /** The body of the version with `clock`, or undefined when this replica has no such version. */
  getBody(address: ObjectAddress, clock: Hlc): Buffer | undefined {
    const key = dataKey(address, clock);
    const head = this.dataDb.getBinary(key);
    if (head === undefined) return undefined;
    const tail = this.tailDb.getBinary(key);
    return tail === undefined ? head : Buffer.concat([head, tail]);
  }

  /**
   * Part of the body of the version with `clock`, copied out of the store; undefined when this replica
   * has no such version, 'out-of-range' when the slice runs past the body's end.
   */
  getBodySlice(address: ObjectAddress, clock: Hlc, slice: BodySlice): Buffer | 'out-of-range' | undefined {
    const key = dataKey(address, clock);
    // The tail is read first: the fast read of the head lends a buffer that the next read reuses, so
    // only the slice is copied out of it, at once.
    const tail = this.tailDb.getBinary(key);
    const head = this.dataDb.getBinaryFast(key);
    if (head === undefined) return undefined;
    const headBytes = head.length;
    const bounds = sliceBounds(slice, headBytes + (tail?.length ?? 0));
    if (!bounds) return 'out-of-range';
    if (tail === undefined || bounds.end <= headBytes) return Buffer.from(head.subarray(bounds.start, bounds.end));
    const fromHead = head.subarray(Math.min(bounds.start, headBytes));
    return Buffer.concat([fromHead, tail.subarray(Math.max(0, bounds.start - headBytes), bounds.end - headBytes)]);
  }

  /**
   * True while the write that produced the version at `clock` may still be reverted: its coordinator
   * has not settled it. Such a version must not be copied to other replicas.
   */
  isUnsettled(address: ObjectAddress, clock: Hlc): boolean {
    const undo = this.readUndo(metaKey(address));
    return undo !== undefined && compareHlc(undo.clock, clock) === 0;
  }

  /**
   * One node's page of a listing: entries of `kind` in `bucket` under the prefix from `startAt`,
   * tombstones included; with `markUnsettled`, versions whose write may still be undone say so.
   */
  list(kind: ObjectKind, bucket: string, fetch: ListingFetch, markUnsettled = false): ListingPage<ListingEntry> {
    if (this.isDeleted(bucket)) return { entries: [], truncated: false };
    const startKey = fetch.startAt < fetch.prefix ? fetch.prefix : fetch.startAt;
    const entries: ListingEntry[] = [];
    let truncated = false;
    // Keys first, then each value on its own: one record that does not decode is skipped, not fatal.
    const keys = this.metaDb.getKeys({ start: bucketScanStart(kind, bucket, startKey), end: bucketScanEnd(kind, bucket) });
    for (const key of keys) {
      const address = parseMetaKey(key);
      if (!address) continue;
      if (!address.key.startsWith(fetch.prefix)) break;
      const meta = this.readMeta(key);
      if (!meta) continue;
      if (entries.length >= fetch.limit) {
        truncated = true;
        break;
      }
      const unsettled = markUnsettled && this.isUnsettled(address, meta.clock);
      entries.push({
        key: address.key,
        clock: meta.clock,
        deleted: meta.deleted,
        sizeBytes: meta.sizeBytes,
        etag: meta.etag,
        lastModifiedMs: meta.lastModifiedMs,
        ...(unsettled ? { unsettled: true as const } : {}),
      });
    }
    return { entries, truncated };
  }

  /** Keys of objects and chunks whose ring position is in (start, end], in position order, wrapping. */
  *scanRange(start: RingPosition, end: RingPosition): Generator<RangeEntry> {
    const segments: Array<{ from: Buffer | undefined; to: Buffer | undefined }> =
      start < end
        ? [{ from: positionAfter(start), to: positionAfter(end) }]
        : [
            { from: positionAfter(start), to: undefined },
            { from: undefined, to: positionAfter(end) },
          ];
    for (const { from, to } of segments) {
      if (from === undefined && start < end) continue;
      const options: { start?: Buffer; end?: Buffer } = {};
      if (from) options.start = from;
      if (to) options.end = to;
      for (const { key, value } of this.ringIndex.getRange(options)) {
        const parsed = parseRingIndexKey(key);
        const clock = typeof value === 'string' ? decodeHlc(value) : undefined;
        if (!parsed || !clock) {
          this.log.error('ring index entry does not decode; skipping it', { key: Buffer.from(key).toString('hex').slice(0, 80) });
          continue;
        }
        if (this.isDeleted(parsed.address.bucket)) continue;
        yield { position: parsed.position, address: parsed.address, clock };
      }
    }
  }

  // ---- writes ----

  /**
   * Stores `meta` (and its body) unless this replica already has the same or a newer version; the
   * comparison happens inside the write transaction, so concurrent writers cannot interleave.
   */
  async apply(request: ApplyRequest): Promise<ApplyResult> {
    this.checkSpace(request.body?.length ?? 0);
    const { address, meta, body, keepPrevious } = request;
    const key = metaKey(address);
    let result: ApplyResult | undefined;
    await this.write(() => {
      const fence = this.fenced.get(address.bucket);
      if (fence !== undefined) {
        result = { applied: false, refused: fence.state };
        return;
      }
      const current = this.readMeta(key);
      if (current && compareHlc(current.clock, meta.clock) >= 0) {
        result = { applied: false, current: current.clock };
        return;
      }
      if (body && !meta.deleted) this.putBody(dataKey(address, meta.clock), body);
      this.metaDb.put(key, meta);
      this.ringIndex.put(ringIndexKey(keyPosition(address.bucket, address.key), address), encodeHlc(meta.clock));
      const undo = this.readUndo(key);
      if (undo?.previous) this.removeBody(dataKey(address, undo.previous.clock));
      if (current && keepPrevious) this.undoDb.put(key, { clock: meta.clock, previous: current } satisfies UndoRecord);
      else {
        if (undo) this.undoDb.remove(key);
        if (current) this.removeBody(dataKey(address, current.clock));
      }
      if (!current && keepPrevious) this.undoDb.put(key, { clock: meta.clock, previous: null } satisfies UndoRecord);
      this.tombstones.note(key, current, meta);
      result = { applied: true, previous: current };
    });
    return result!;
  }

  /** The write at `clock` succeeded cluster-wide: the version it replaced can go. */
  async settle(address: ObjectAddress, clock: Hlc): Promise<void> {
    await this.settleMany([{ address, clock }]);
  }

  /** Settles many writes in one transaction. */
  async settleMany(items: ReadonlyArray<{ readonly address: ObjectAddress; readonly clock: Hlc }>): Promise<void> {
    await this.write(() => {
      for (const { address, clock } of items) {
        const key = metaKey(address);
        const undo = this.readUndo(key);
        if (!undo || compareHlc(undo.clock, clock) !== 0) continue;
        if (undo.previous) this.removeBody(dataKey(address, undo.previous.clock));
        this.undoDb.remove(key);
      }
    });
  }

  /**
   * The write at `clock` failed its quorum: put back what it replaced, if it is still the newest
   * version here. Says whether it did, and which version is there now (none when the key is gone).
   */
  async revert(address: ObjectAddress, clock: Hlc): Promise<RevertOutcome> {
    const key = metaKey(address);
    let outcome: RevertOutcome = { reverted: false };
    await this.write(() => {
      // A deleted namespace is purged whole; restoring a version there would only leave it behind.
      if (this.isDeleted(address.bucket)) return;
      const current = this.readMeta(key);
      const undo = this.readUndo(key);
      if (!current || !undo || compareHlc(current.clock, clock) !== 0 || compareHlc(undo.clock, clock) !== 0) return;
      const indexKey = ringIndexKey(keyPosition(address.bucket, address.key), address);
      if (undo.previous) {
        this.metaDb.put(key, undo.previous);
        this.ringIndex.put(indexKey, encodeHlc(undo.previous.clock));
      } else {
        this.metaDb.remove(key);
        this.ringIndex.remove(indexKey);
      }
      this.removeBody(dataKey(address, clock));
      this.undoDb.remove(key);
      this.tombstones.note(key, current, undo.previous ?? undefined);
      outcome = { reverted: true, restored: undo.previous?.clock };
    });
    return outcome;
  }

  /** Settles writes left unsettled longer than `olderThanMs` (their coordinator never said). */
  async settleStale(nowMs: number, olderThanMs: number): Promise<number> {
    const stale: Array<{ address: ObjectAddress; clock: Hlc }> = [];
    for (const { key, value } of this.undoDb.getRange({})) {
      const undo = value as UndoRecord;
      const address = parseMetaKey(key);
      if (!address || !isHlc(undo?.clock)) continue;
      if (nowMs - undo.clock.wallMs > olderThanMs) stale.push({ address, clock: undo.clock });
    }
    for (let i = 0; i < stale.length; i += STALE_SETTLE_BATCH) await this.settleMany(stale.slice(i, i + STALE_SETTLE_BATCH));
    return stale.length;
  }

  // ---- tombstones ----

  /**
   * Up to `limit` tombstone index entries whose wall time is before `beforeWallMs`, oldest first, after
   * the entry `after` (a cursor: a sweep goes on where its last batch ended).
   */
  tombstonesBefore(beforeWallMs: number, after: Buffer | undefined, limit: number): TombstoneEntry[] {
    return this.tombstones.before(beforeWallMs, after, limit);
  }

  /** Whether `entry` still names the record of its key: that tombstone, in a namespace not deleted. */
  isCurrentTombstone(entry: TombstoneEntry): boolean {
    if (!entry.address || !entry.clock || this.isDeleted(entry.address.bucket)) return false;
    const current = this.readMeta(entry.metaKey);
    return current !== undefined && current.deleted && compareHlc(current.clock, entry.clock) === 0;
  }

  /**
   * Removes each tombstone that is, when the transaction runs, still exactly the record of its key and
   * settled, with its ring index and tombstone index entries (a tombstone has no body). A write that
   * commits first leaves its record, which is then not the tombstone; one that commits after finds no
   * record and is stored: either way the write wins. Returns the items whose tombstone was removed.
   */
  async purgeTombstones(items: readonly TombstoneRef[]): Promise<TombstoneRef[]> {
    const purged: TombstoneRef[] = [];
    await this.write(() => {
      for (const item of items) {
        const { address, clock } = item;
        const key = metaKey(address);
        const current = this.readMeta(key);
        if (!current?.deleted || compareHlc(current.clock, clock) !== 0) continue;
        // An undo record exists only for the newest version's write, while it may still be reverted.
        if (this.readUndo(key)) continue;
        this.metaDb.remove(key);
        this.ringIndex.remove(ringIndexKey(keyPosition(address.bucket, address.key), address));
        this.tombstones.note(key, current, undefined);
        purged.push(item);
      }
    });
    return purged;
  }

  /** Removes index entries that no longer name their record's tombstone (checked again inside the transaction). */
  async forgetStaleTombstoneEntries(entries: readonly TombstoneEntry[]): Promise<void> {
    await this.write(() => {
      for (const entry of entries) if (!this.isCurrentTombstone(entry)) this.tombstones.remove(entry.indexKey);
    });
  }

  /**
   * Indexes up to `maxRecords` more of the tombstones written before the index existed; true once every
   * record has been looked at. Tombstones written meanwhile are indexed by their own writes.
   */
  async indexExistingTombstones(maxRecords: number): Promise<boolean> {
    let done = this.tombstones.buildState().done;
    if (done) return true;
    await this.write(() => {
      const state = this.tombstones.buildState();
      if (state.done) return;
      const keys = Array.from(this.metaDb.getKeys({ ...(state.after ? { start: justAfter(state.after) } : {}), limit: maxRecords }));
      for (const key of keys) {
        const meta = this.readMeta(key);
        if (meta?.deleted) this.tombstones.note(key, undefined, meta);
      }
      done = keys.length < maxRecords;
      this.tombstones.setBuildState(done ? { done: true } : { done: false, after: keys[keys.length - 1]! });
    });
    return done;
  }

  /**
   * Removes up to `maxRecords` records after the meta key `after` that are not tombstones, each with
   * its body, undo record (and the body that kept) and ring index entry: what a node that was away too
   * long must forget before it serves (see presence-keeper.ts). `next` is where to go on, undefined
   * once the last record has been looked at.
   */
  async dropLiveVersions(after: Buffer | undefined, maxRecords: number): Promise<{ dropped: number; next: Buffer | undefined }> {
    let dropped = 0;
    let next: Buffer | undefined;
    await this.write(() => {
      const keys = Array.from(this.metaDb.getKeys({ ...(after ? { start: justAfter(after) } : {}), limit: maxRecords }));
      for (const key of keys) {
        const address = parseMetaKey(key);
        const meta = this.readMeta(key);
        if (!address || !meta || meta.deleted) continue;
        const undo = this.readUndo(key);
        if (undo?.previous) this.removeBody(dataKey(address, undo.previous.clock));
        if (undo) this.undoDb.remove(key);
        this.removeBody(dataKey(address, meta.clock));
        this.ringIndex.remove(ringIndexKey(keyPosition(address.bucket, address.key), address));
        this.metaDb.remove(key);
        dropped++;
      }
      next = keys.length < maxRecords ? undefined : Buffer.from(keys[keys.length - 1]!);
    });
    return { dropped, next };
  }

  // ---- namespaces that take no writes ----

  namespaceRecord(namespace: string): NamespaceRecord | undefined {
    return this.fenced.get(namespace);
  }

  isDeleted(namespace: string): boolean {
    return this.fenced.get(namespace)?.state === 'deleted';
  }

  /** Every deleted namespace with its purge progress. */
  deletedNamespaces(): Array<[string, DeletedNamespaceRecord]> {
    const out: Array<[string, DeletedNamespaceRecord]> = [];
    for (const [namespace, record] of this.fenced) if (record.state === 'deleted') out.push([namespace, record]);
    return out;
  }

  /** Every sealed namespace with its seal. */
  sealedNamespaces(): Array<[string, Extract<NamespaceRecord, { state: 'sealed' }>]> {
    const out: Array<[string, Extract<NamespaceRecord, { state: 'sealed' }>]> = [];
    for (const [namespace, record] of this.fenced) if (record.state === 'sealed') out.push([namespace, record]);
    return out;
  }

  /**
   * Refuses writes to `namespace` from the moment this resolves until it is unsealed with the same
   * id. Writes already committed stay, and a listing after this resolves sees them. A deleted
   * namespace stays deleted, which fences it all the same.
   */
  async sealNamespace(namespace: string, sealId: string, nowMs: number): Promise<'sealed' | 'deleted'> {
    let outcome: 'sealed' | 'deleted' = 'sealed';
    await this.changeFences(() => {
      if (this.isDeleted(namespace)) {
        outcome = 'deleted';
        return;
      }
      this.setFence(namespace, { state: 'sealed', sealId, sinceMs: nowMs });
    });
    return outcome;
  }

  /** Lifts the seal `sealId` put on; a later seal (another id) or a deletion stays. */
  async unsealNamespace(namespace: string, sealId: string): Promise<void> {
    await this.changeFences(() => {
      const current = this.fenced.get(namespace);
      if (current?.state !== 'sealed' || current.sealId !== sealId) return;
      this.namespaceDb.remove(namespace);
      this.fenced.delete(namespace);
    });
  }

  /** Marks namespaces deleted (those already marked keep their progress); returns those newly marked. */
  async markDeleted(namespaces: ReadonlyArray<{ readonly namespace: string; readonly deletedAtMs: number }>): Promise<string[]> {
    const marked: string[] = [];
    await this.changeFences(() => {
      for (const { namespace, deletedAtMs } of namespaces) {
        if (this.isDeleted(namespace)) continue;
        this.setFence(namespace, { state: 'deleted', deletedAtMs, purge: 'pending', removedKeys: 0, removedBytes: 0 });
        marked.push(namespace);
      }
    });
    return marked;
  }

  /**
   * Removes up to `maxKeys` records of a deleted namespace, each with every body, tail, undo record
   * and ring index entry it has, in one transaction that also records the progress: a purge that
   * stops anywhere resumes where it was.
   */
  async purgeNamespace(namespace: string, maxKeys: number, nowMs: number): Promise<PurgeProgress> {
    let progress: PurgeProgress = { removedKeys: 0, removedBytes: 0, finished: true };
    await this.write(() => {
      const record = this.fenced.get(namespace);
      if (record?.state !== 'deleted') return;
      let removedKeys = 0;
      let removedBytes = 0;
      let removedRows = 0;
      for (const kind of OBJECT_KINDS) {
        const range = { start: bucketScanStart(kind, namespace, ''), end: bucketScanEnd(kind, namespace) };
        for (const key of Array.from(this.metaDb.getKeys({ ...range, limit: maxKeys - removedKeys }))) {
          const address = parseMetaKey(key);
          if (address) this.ringIndex.remove(ringIndexKey(keyPosition(address.bucket, address.key), address));
          this.metaDb.remove(key);
          this.undoDb.remove(key);
          removedKeys++;
        }
        // Bodies (every version), tails and undo records, found by range: whatever their record became.
        for (const db of [this.dataDb, this.tailDb] as const) {
          for (const key of Array.from(db.getKeys({ ...range, limit: maxKeys }))) {
            removedBytes += db.getBinaryFast(key)?.length ?? 0;
            db.remove(key);
            removedRows++;
          }
        }
        for (const key of Array.from(this.undoDb.getKeys({ ...range, limit: maxKeys }))) {
          this.undoDb.remove(key);
          removedRows++;
        }
        if (removedKeys >= maxKeys) break;
      }
      const finished = removedKeys === 0 && removedRows === 0;
      const next: DeletedNamespaceRecord = {
        ...record,
        purge: finished ? 'finished' : 'purging',
        removedKeys: record.removedKeys + removedKeys,
        removedBytes: record.removedBytes + removedBytes,
        startedAtMs: record.startedAtMs ?? nowMs,
        ...(finished ? { finishedAtMs: record.finishedAtMs ?? nowMs } : {}),
      };
      this.setFence(namespace, next);
      progress = { removedKeys, removedBytes, finished };
    });
    return progress;
  }

  /** Inside a write transaction: the record on disk and in memory alike. */
  private setFence(namespace: string, record: NamespaceRecord): void {
    this.namespaceDb.put(namespace, record);
    this.fenced.set(namespace, record);
  }

  /** A fence change that fails to commit leaves memory as the disk has it. */
  private async changeFences(action: () => void): Promise<void> {
    try {
      await this.write(action);
    } catch (error) {
      this.loadFences();
      throw error;
    }
  }

  private loadFences(): void {
    this.fenced.clear();
    for (const { key, value } of this.namespaceDb.getRange({})) {
      if (typeof key === 'string' && isNamespaceRecord(value)) this.fenced.set(key, value);
      else this.log.error('namespace record is malformed; ignoring it', { key: String(key).slice(0, 200) });
    }
  }

  /** A durable queue of work items kept in this store. */
  queue<T>(name: string, validate: (payload: unknown) => payload is T): DurableQueue<T> {
    return new DurableQueue<T>(this.queueDb, name, validate, (action) => this.write(action), this.log);
  }

  // ---- space ----

  /** Bytes the store's file occupies up to its last used page. */
  usedBytes(): number {
    const stats = this.root.getStats() as { lastPageNumber: number; pageSize: number };
    return stats.lastPageNumber * stats.pageSize;
  }

  private checkSpace(incomingBytes: number): void {
    const { capacityBytes, minFreeDiskBytes } = this.options;
    if (capacityBytes !== undefined && this.usedBytes() + incomingBytes > capacityBytes) {
      throw new StoreFailure('InsufficientStorage', `storage capacity of ${capacityBytes} bytes reached`);
    }
    if (minFreeDiskBytes !== undefined && this.freeDiskBytes() - incomingBytes < minFreeDiskBytes) {
      throw new StoreFailure('InsufficientStorage', `less than ${minFreeDiskBytes} bytes free on the disk`);
    }
  }

  private freeDiskBytes(): number {
    const nowMs = Date.now();
    if (!this.freeBytesCache || nowMs - this.freeBytesCache.atMs > FREE_SPACE_CACHE_MS) {
      const stats = statfsSync(this.options.path);
      this.freeBytesCache = { atMs: nowMs, freeBytes: stats.bavail * stats.bsize };
    }
    return this.freeBytesCache.freeBytes;
  }

  // ---- internals ----

  /** Inside a write transaction: stores a body as its head and, when that saves a page, a tail. */
  private putBody(key: Buffer, body: Uint8Array): void {
    const headBytes = bodyHeadBytes(body.length, this.pageSize);
    if (headBytes === body.length) {
      this.dataDb.put(key, body);
      return;
    }
    this.dataDb.put(key, body.subarray(0, headBytes));
    this.tailDb.put(key, body.subarray(headBytes));
  }

  /** Inside a write transaction: removes a body with its tail, if it has one. */
  private removeBody(key: Buffer): void {
    this.dataDb.remove(key);
    this.tailDb.remove(key);
  }

  private async write(action: () => void): Promise<void> {
    try {
      await this.root.transaction(action);
    } catch (error) {
      throw classify(error);
    }
  }

  private readMeta(key: Buffer): ObjectMeta | undefined {
    let value: unknown;
    try {
      value = this.metaDb.get(key);
    } catch (error) {
      this.log.error('metadata record does not decode; treating it as absent', { key: key.toString('hex').slice(0, 80), error });
      return undefined;
    }
    return value === undefined ? undefined : this.checkMeta(key, value);
  }

  private checkMeta(key: Uint8Array, value: unknown): ObjectMeta | undefined {
    if (isObjectMeta(value)) return value;
    this.log.error('metadata record is malformed; treating it as absent', { key: Buffer.from(key).toString('hex').slice(0, 80) });
    return undefined;
  }

  private readUndo(key: Buffer): UndoRecord | undefined {
    try {
      const value = this.undoDb.get(key) as UndoRecord | undefined;
      return value && isHlc(value.clock) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

export function isObjectMeta(value: unknown): value is ObjectMeta {
  if (typeof value !== 'object' || value === null) return false;
  const meta = value as Partial<ObjectMeta>;
  return (
    typeof meta.bucket === 'string' &&
    typeof meta.key === 'string' &&
    typeof meta.sizeBytes === 'number' &&
    typeof meta.etag === 'string' &&
    typeof meta.deleted === 'boolean' &&
    typeof meta.lastModifiedMs === 'number' &&
    isHlc(meta.clock)
  );
}

function classify(error: unknown): StoreFailure {
  if (error instanceof StoreFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/MDB_MAP_FULL|ENOSPC|No space left|EDQUOT/i.test(message)) return new StoreFailure('InsufficientStorage', `the disk is full: ${message}`);
  return new StoreFailure('StoreError', message);
}
