/**
 * A storage node's objects in one LMDB environment (`<data>/objects`):
 *
 *   meta        one metadata record per object or chunk (the newest version this replica has)
 *   data        small bodies, one row per version, so a replaced version can be restored until settled;
 *               none for an empty body, which no reader asks for
 *   data_tails  the last bytes of bodies that would otherwise need an extra page (body-layout.ts)
 *   body_files  bodies of `fileBodyMinBytes` and more, which live in files (body-files.ts): size by key
 *   ring_index  (position, key) -> clock, so a range of the ring can be walked and summarised (anti-entropy, rebalance hand-off)
 *   undo        the version a still-unsettled write replaced, and that one's own while it is unsettled too (undo-chain.ts)
 *   queues      durable work (repairs), see durable-queue.ts
 *   namespaces  bucket namespaces that refuse writes: sealed or deleted (namespace-records.ts)
 *   tombstones  tombstones by wall time, for the reaper that purges them (tombstone-index.ts)
 *   presence    when this node was last present in the cluster (presence-marks.ts), a wall time
 *               above every clock it stamped (clock-floor.ts), and the store's format (store-format.ts)
 *   cas         per key, the state of compare-and-set for conditional writes (cas-ledger.ts)
 *
 * Every write is one LMDB transaction that compares clocks inside it (last writer wins, decided at
 * commit), and it is acknowledged only once flushed to disk. A write to a sealed or deleted namespace
 * is refused inside its transaction, so it is ordered against the seal: it either committed before
 * the seal did (and a listing after the seal sees it) or it is refused.
 */
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { sliceBounds, type BodySlice } from '../core/body-slice.js';
import type { BodyFileRef } from '../core/body-file-ref.js';
import { compareHlc, decodeHlc, encodeHlc, isHlc, type Hlc } from '../core/hlc.js';
import { collectPage, listingEntryOf, type ListingEntry, type ListingFetch, type ListingPage } from '../core/listing.js';
import type { ObjectMeta } from '../core/object-meta.js';
import { hasValidVersions } from '../core/object-versioning.js';
import { addSizes, EMPTY_BUCKET_SIZE, sizeOfRecord, type BucketSize } from '../core/bucket-stats.js';
import { keyPosition, type RingPosition } from '../core/ring/position.js';
import type { Logger } from '../runtime/logger.js';
import type { ObjectKind } from '../core/object-meta.js';
import { bodyHeadBytes } from './body-layout.js';
import { BodyFiles, sizeOfBody, type BodySource } from './body-files.js';
import { StoreTables, type EnvironmentOptions, type TableWrite } from './store-environment.js';
import { pause } from './lmdb-copy.js';
import { DurableQueue } from './durable-queue.js';
import { isNamespaceRecord, type DeletedNamespaceRecord, type NamespaceRecord } from './namespace-records.js';
import { OBJECT_KINDS } from '../core/object-meta.js';
import { PresenceMarks } from './presence-marks.js';
import { settleStoreFormat } from './store-format.js';
import { DEFAULT_META_FORMAT, fillAddress, type MetaFormat } from './meta-encoding.js';
import { HandoffProgress } from './handoff-progress.js';
import { LinkedClustersMark } from './linked-clusters-mark.js';
import { ReleaseMark } from './release-mark.js';
import { ClockFloor } from './clock-floor.js';
import { randomHex } from '../core/random-id.js';
import { CasLedger } from './cas-ledger.js';
import { justAfter, TombstoneIndex, type TombstoneEntry } from './tombstone-index.js';
import { keptVersions, restoredUndo, settledBeneath, settledIn, stacked, withoutBeneath, type UndoRecord } from './undo-chain.js';
import {
  bucketScanEnd,
  bucketScanStart,
  dataKey,
  kindScanRange,
  metaKey,
  parseMetaKey,
  parseRingIndexKey,
  positionAfter,
  ringIndexKey,
  scanStartAt,
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
  /** Bodies of at least this many bytes are kept in files beside the environment (default 128 KiB). */
  readonly fileBodyMinBytes?: number;
  /**
   * The format metadata records are written in (meta-encoding.ts; default 3); every format is read.
   * Writing a later format than the store holds raises its format mark first (store-format.ts).
   */
  readonly metaFormat?: MetaFormat;
  /** Write body files past the page cache where the file system allows it (default true; see body-files.ts). */
  readonly directBodyWrites?: boolean;
  /** The node's time, for the durations the store measures and caches (the system clock by default). */
  readonly now?: () => number;
  /** Time that is never stepped, for how long writes have been unsettled (performance.now by default). */
  readonly elapsed?: () => number;
  /**
   * How long a write's coordinator takes to decide it (its replica timeout): a version unsettled here
   * for less may still be on its way to other replicas, and is marked `inFlight` (default 30 s, the
   * storage nodes' default replica timeout). A coordinator whose own disk stalls, or whose links stay
   * full, can take longer than that.
   */
  readonly writeDecidedWithinMs?: number;
}

export const DEFAULT_WRITE_DECIDED_WITHIN_MS = 30_000;

export const DEFAULT_FILE_BODY_MIN_BYTES = 128 * 1024;

export interface ApplyRequest {
  readonly address: ObjectAddress;
  /** The version to store; a tombstone when `meta.deleted`. */
  readonly meta: ObjectMeta;
  /** The body in memory, or staged by another process on this machine (staged-bodies.ts). */
  readonly body?: Uint8Array | BodySource;
  /** Keep the replaced version until `settle` (or restore it on `revert`). */
  readonly keepPrevious: boolean;
  /** Refuse to replace a record that keeps versions or a lock (a client's plain write). */
  readonly refuseOverVersions?: boolean;
}

export type ApplyResult =
  /**
   * `previous`: the version this write replaced here, if any; `previousSettled`: whether that version's
   * own write had settled (a version still being written may yet come back, stamped again).
   */
  | { readonly applied: true; readonly previous: ObjectMeta | undefined; readonly previousSettled: boolean }
  | { readonly applied: false; readonly current: Hlc }
  /**
   * The key's namespace takes no writes (a deletion is checking its bucket, or the bucket is gone), or
   * a plain write met a record that keeps versions or a lock.
   */
  | { readonly applied: false; readonly refused: 'sealed' | 'deleted' | 'versioned' };

export interface CompactionResult {
  /** The LMDB file before and after. */
  readonly beforeBytes: number;
  readonly afterBytes: number;
  /**
   * The size the copy came out at, when it would have given back next to nothing: the store then kept
   * its file and removed the copy (writes replayed into a packed copy during a heavy load can grow it).
   */
  readonly keptCopyBytes?: number;
  /** How long writes were held for the switch. */
  readonly pausedMs: number;
  readonly tookMs: number;
}

/** What a compaction would give back now: the LMDB file, and what it would take once compacted. */
export interface CompactionOutlook {
  readonly fileBytes: number;
  readonly compactedBytes: number;
  /**
   * Whether the disk has room for the copy a compaction writes (the compacted size and a tenth more)
   * and still the free space the store keeps (`minFreeDiskBytes`).
   */
  readonly roomForCopy: boolean;
}

/** A compaction's copy may come out larger than estimated by this share. */
const COPY_SIZE_MARGIN = 1.1;

/** What tells, cheaply, whether a store changed much since a compaction outlook was taken. */
export interface StoreShape {
  readonly fileBytes: number;
  readonly records: number;
}

/**
 * A compaction's copy smaller than the live file by less than this share is not switched to: a store
 * already packed copies to about its own size, and a few pages are not worth a new generation.
 */
const KEEP_BELOW_SHRINK = 0.01;

/** Rounds of replaying recorded writes into a compaction's copy while writes go on. */
const MAX_REPLAY_ROUNDS = 10;
/** Recorded writes few enough to replay with writes held. */
const REPLAY_WITH_WRITES_HELD = 2_000;

/** Where the store's bytes are on disk. */
export interface StoreSpace {
  readonly lmdbFileBytes: number;
  /** Up to the last page in use. */
  readonly lmdbUsedBytes: number;
  /** Pages below the last used one that hold nothing (reused by writes; returned by compaction). */
  readonly lmdbFreeBytes: number;
  readonly bodyFileBytes: number;
}

export interface DiskUsage {
  /** Objects that are not deleted (S3 objects, not their chunks). */
  readonly objects: number;
  /** Records of every kind: objects, chunks, uploads and parts, tombstones included. */
  readonly records: number;
  readonly tombstones: number;
  /** Bytes of the bodies of versions in use (the newest of each key). */
  readonly activeBytes: number;
  readonly bodyFileBytes: number;
  /** The LMDB file, and how much of it is up to its last page in use. */
  readonly lmdbFileBytes: number;
  readonly lmdbUsedBytes: number;
  /** What the store takes on disk: the LMDB file and the body files. */
  readonly totalBytes: number;
}

export interface RecordWalk {
  readonly records: ReadonlyArray<{ readonly address: ObjectAddress; readonly meta: ObjectMeta }>;
  /** The last key looked at; undefined when the walk reached the end. */
  readonly last: ObjectAddress | undefined;
}

export interface PurgeProgress {
  readonly removedKeys: number;
  readonly removedBytes: number;
  /** Nothing of the namespace is left. */
  readonly finished: boolean;
}

/** `beneathNewest`: the write undone was kept beneath a newer one, which stays the key's version. */
export type RevertOutcome =
  | { readonly reverted: false }
  | { readonly reverted: true; readonly restored: Hlc | undefined }
  | { readonly reverted: true; readonly beneathNewest: true };

export interface RangeEntry {
  readonly position: RingPosition;
  readonly address: ObjectAddress;
  readonly clock: Hlc;
}

/** Where a scan of a range stopped: the last entry it gave. */
export interface RangeCursor {
  readonly position: RingPosition;
  readonly address: ObjectAddress;
}

/** A tombstone as the reaper names it: the record of `address` deleted at `clock`. */
export interface TombstoneRef {
  readonly address: ObjectAddress;
  readonly clock: Hlc;
}

/** A version unsettled here: what an undo restores (null: none) and what is known of its write. */
export interface UnsettledHere {
  readonly previous: ObjectMeta | null;
  /** `previous` was unsettled too when this write replaced it. */
  readonly previousUnsettled?: true;
  /** With `previousUnsettled`, when `previous` stands right over a settled version: that one (undo-chain.ts `settledBeneath`). */
  readonly settledBeneath?: Hlc | null;
  /** `previous` is not known to be what the write replaced. */
  readonly replacedUnknown?: true;
  /** Taken here less than `writeDecidedWithinMs` ago: its coordinator may still be sending it to other replicas. */
  readonly inFlight?: true;
}

/** A write left unsettled here past a grace period: its coordinator never said how it ended. */
export interface StaleWrite {
  readonly address: ObjectAddress;
  readonly clock: Hlc;
  readonly deleted: boolean;
  readonly ageMs: number;
  /** The ring the write was made under. */
  readonly ringChecksum: number;
}

const FREE_SPACE_CACHE_MS = 1_000;

/** One listing's scan of a bucket's records: where its keys end and what each entry carries. */
interface BucketScan {
  readonly kind: ObjectKind;
  readonly bucket: string;
  /** Just past the bucket's last key. */
  readonly end: Buffer;
  /** The bucket's part of each of its LMDB keys, which the object key follows. */
  readonly bucketStart: Buffer;
  readonly lookForUnsettled: boolean;
  readonly withVersions: boolean;
}

/** Keys a bucket size walk reads between two yields to other work. */
const BUCKET_SIZE_BATCH_KEYS = 2_000;

export class ObjectStore {
  /** The LMDB tables; replaced whole when a compaction switches to a new generation. */
  private db: StoreTables;
  private readonly files: BodyFiles;
  private readonly fileBodyMinBytes: number;
  /** Bytes of body files, kept as they are written and removed (recounted at every start). */
  private fileBytes = 0;
  /** Inside a write transaction: the body files to unlink once that transaction has committed. */
  private unlinkAfterCommit: string[] | undefined;
  private readonly tombstones: TombstoneIndex;
  /** When this node was last present in the cluster, and whom it reported absent. */
  readonly presence: PresenceMarks;
  /** A wall time above every clock this node stamped: its clock starts above it. */
  readonly clockFloor: ClockFloor;
  /** How far this node has got in receiving what a rebalance moves to it. */
  readonly handoff: HandoffProgress;
  /** When this node may drop the data of ranges the ring no longer gives it. */
  readonly release: ReleaseMark;
  /** The clusters this node ships its writes to (multi-cluster replication). */
  readonly linkedClusters: LinkedClustersMark;
  /** The compare-and-set state of keys written conditionally. */
  readonly cas: CasLedger;
  /** The namespaces table in memory, read inside write transactions and on every read. */
  private readonly fenced = new Map<string, NamespaceRecord>();
  private readonly log: Logger;
  private freeBytesCache: { atMs: number; freeBytes: number } | undefined;
  /** Write transactions begun and not yet settled; a compaction waits for none. */
  private writesInFlight = 0;
  private writesSettled: (() => void) | undefined;
  /** Moves whenever what a read sees may change: see `contentsMark`. */
  private contentsChanges = 0;
  /** While a compaction switches environments, writes wait for this. */
  private writesPaused: Promise<void> | undefined;
  private compacting = false;
  /** A write failed while a compaction recorded writes: its copy may hold what never committed. */
  private writesFailed = false;
  /**
   * Set once `close` begins. Work that was waiting on another node when this one stopped may still come
   * here: it reads nothing and writes nothing, since a read of a closed LMDB environment leaves a timer
   * behind that throws outside any caller (and ends the process).
   */
  private closed = false;
  private readonly environment: EnvironmentOptions;
  private readonly now: () => number;
  private readonly elapsed: () => number;
  /** Names this opening of the store: an elapsed time means something only within it. */
  private readonly session = randomHex(8);
  private readonly openedElapsedMs: number;
  private readonly writeDecidedWithinMs: number;

  private constructor(
    tables: StoreTables,
    private readonly options: ObjectStoreOptions,
  ) {
    this.db = tables;
    this.log = options.logger.child({ component: 'object-store' });
    this.environment = environmentOf(options);
    this.now = options.now ?? Date.now;
    this.elapsed = options.elapsed ?? (() => performance.now());
    this.openedElapsedMs = this.elapsed();
    this.writeDecidedWithinMs = options.writeDecidedWithinMs ?? DEFAULT_WRITE_DECIDED_WITHIN_MS;
    this.files = new BodyFiles(join(options.path, 'objects', 'bodies'), this.log, { durable: options.durable !== false, directWrites: options.directBodyWrites !== false });
    this.fileBodyMinBytes = options.fileBodyMinBytes ?? DEFAULT_FILE_BODY_MIN_BYTES;
    for (const { value } of this.db.files.getRange({})) if (typeof value === 'number') this.fileBytes += value;
    this.tombstones = new TombstoneIndex(() => this.db.tombstones);
    this.presence = new PresenceMarks(() => this.db.presence, (action) => this.write(action));
    this.handoff = new HandoffProgress(() => this.db.presence, (action) => this.write(action));
    this.release = new ReleaseMark(() => this.db.presence, (action) => this.write(action));
    this.linkedClusters = new LinkedClustersMark(() => this.db.presence, (action) => this.write(action));
    this.clockFloor = new ClockFloor(() => this.db.presence, (action) => this.write(action), (error) => this.log.warn('cannot reserve the clock floor', { error }));
    this.cas = new CasLedger(() => this.db.cas, (action) => this.write(action), (address) => this.getMeta(address), (address, clock) => this.isUnsettled(address, clock));
    this.loadFences();
  }

  /** Write transactions begun and not yet committed (a simulation waits for none before its next step). */
  get pendingWrites(): number {
    return this.writesInFlight;
  }

  /**
   * While this stays the same, every read answers as it did when the mark was taken, but for the
   * `inFlight` mark of unsettled versions, which lapses with time (an answer kept from before only makes
   * a reader more careful): it moves once each write transaction has ended, and when a compaction
   * switches environments. Undefined while a write is in flight, whose changes a read may or may not see
   * (and which equals no mark).
   */
  get contentsMark(): number | undefined {
    return this.writesInFlight > 0 ? undefined : this.contentsChanges;
  }

  /** Throws StoreFormatError, having changed no record, when the store's format mark is later than this release reads, or not a format. */
  static open(options: ObjectStoreOptions): ObjectStore {
    const environment = environmentOf(options);
    const tables = StoreTables.open(environment, (opened) => settleStoreFormat(opened.presence, environment.directory, environment.metaFormat ?? DEFAULT_META_FORMAT));
    return new ObjectStore(tables, options);
  }

  // ---- reads ----

  /** The newest version here; nothing for a key of a deleted namespace. */
  getMeta(address: ObjectAddress): ObjectMeta | undefined {
    if (this.isDeleted(address.bucket)) return undefined;
    return this.readMeta(metaKey(address));
  }

  /**
   * The body of the version with `clock` (or the slice of it asked for), copied out of the store;
   * undefined when this replica has no such version, 'out-of-range' when the slice runs past its end.
   * Only for a version that carries a body (carriesBody): an empty one is not stored.
   */
  async readBody(address: ObjectAddress, clock: Hlc, slice?: BodySlice): Promise<Buffer | 'out-of-range' | undefined> {
    const key = dataKey(address, clock);
    const inFile = this.fileSliceOf(key, slice);
    if (inFile === 'out-of-range') return inFile;
    if (inFile) return this.files.read(inFile.name, inFile.offset, inFile.length);
    return slice === undefined ? this.readStoredBody(key) : this.readStoredSlice(key, slice);
  }

  /**
   * Where the body of the version with `clock` (or the slice of it asked for) lies, when it is kept in
   * a file; undefined when it is not (or this replica has no such version).
   */
  bodyFileOf(address: ObjectAddress, clock: Hlc, slice?: BodySlice): BodyFileRef | 'out-of-range' | undefined {
    const inFile = this.fileSliceOf(dataKey(address, clock), slice);
    if (inFile === undefined || inFile === 'out-of-range') return inFile;
    const { name, ...bytes } = inFile;
    return { path: this.files.pathFor(name), ...bytes };
  }

  /** The file of the body under `key` and the bytes of `slice` (all of them without one) in it; undefined when the body is not in a file. */
  private fileSliceOf(key: Buffer, slice: BodySlice | undefined): { name: string; offset: number; length: number; fileBytes: number } | 'out-of-range' | undefined {
    const fileBytes = this.db.files.get(key);
    if (typeof fileBytes !== 'number') return undefined;
    const bounds = slice === undefined ? { start: 0, end: fileBytes } : sliceBounds(slice, fileBytes);
    if (!bounds) return 'out-of-range';
    return { name: this.files.nameOf(key), offset: bounds.start, length: bounds.end - bounds.start, fileBytes };
  }

  private readStoredBody(key: Buffer): Buffer | undefined {
    const head = this.db.data.getBinary(key);
    if (head === undefined) return undefined;
    const tail = this.db.tails.getBinary(key);
    return tail === undefined ? head : Buffer.concat([head, tail]);
  }

  private readStoredSlice(key: Buffer, slice: BodySlice): Buffer | 'out-of-range' | undefined {
    // The tail is read first: the fast read of the head lends a buffer that the next read reuses, so
    // only the slice is copied out of it, at once.
    const tail = this.db.tails.getBinary(key);
    const head = this.db.data.getBinaryFast(key);
    if (head === undefined) return undefined;
    const headBytes = head.length;
    const bounds = sliceBounds(slice, headBytes + (tail?.length ?? 0));
    if (!bounds) return 'out-of-range';
    if (tail === undefined || bounds.end <= headBytes) return Buffer.from(head.subarray(bounds.start, bounds.end));
    const fromHead = head.subarray(Math.min(bounds.start, headBytes));
    return Buffer.concat([fromHead, tail.subarray(Math.max(0, bounds.start - headBytes), bounds.end - headBytes)]);
  }

  /**
   * Removes body files that no record points at, left by a crash between a file and its record.
   * Files written since this store opened are left alone.
   */
  async sweepBodyFiles(): Promise<number> {
    const keep = new Set<string>();
    for (const key of this.db.files.getKeys({})) keep.add(this.files.nameOf(key));
    const removed = await this.files.sweep(keep);
    if (removed > 0) this.log.info('removed body files no record points at', { removed });
    return removed;
  }

  /**
   * True while the write that produced the version at `clock` may still be reverted: its coordinator
   * has not settled it. Such a version must not be copied to other replicas.
   */
  isUnsettled(address: ObjectAddress, clock: Hlc): boolean {
    return this.unsettledWrite(address, clock) !== undefined;
  }

  /**
   * While the version at `clock` is unsettled: the version an undo restores here (null: none), whether
   * that one was unsettled too (and then the settled version beneath it, when it stands right over one), whether it
   * is not known to be what the write replaced, and whether the write may still be in flight.
   */
  unsettledWrite(address: ObjectAddress, clock: Hlc): UnsettledHere | undefined {
    const undo = this.readUndo(metaKey(address));
    if (undo === undefined || compareHlc(undo.clock, clock) !== 0) return undefined;
    const beneath = settledBeneath(undo);
    return {
      previous: undo.previous,
      ...(undo.previousUnsettled ? { previousUnsettled: true as const } : {}),
      ...(beneath ? { settledBeneath: beneath.clock } : {}),
      ...(undo.replacedUnknown ? { replacedUnknown: true as const } : {}),
      ...(this.unsettledForMs(undo) < this.writeDecidedWithinMs ? { inFlight: true as const } : {}),
    };
  }

  /**
   * How long the write of `undo` has been unsettled here, by the clock that is never stepped; a write
   * taken before this store was opened is at least as old as the store's session, which is all that is
   * known of it.
   */
  private unsettledForMs(undo: UndoRecord): number {
    const nowMs = this.elapsed();
    return undo.session === this.session && typeof undo.sinceElapsedMs === 'number' ? nowMs - undo.sinceElapsedMs : nowMs - this.openedElapsedMs;
  }

  /** Whether any write is unsettled on this replica. */
  hasUnsettledWrites(): boolean {
    for (const _key of this.db.undo.getKeys({ limit: 1 })) return true;
    return false;
  }

  /** The version of a key at `clock` if this replica has it: its newest, or the one an unsettled write replaced. */
  versionAt(address: ObjectAddress, clock: Hlc): ObjectMeta | undefined {
    const current = this.getMeta(address);
    if (!current) return undefined;
    if (compareHlc(current.clock, clock) === 0) return current;
    const previous = this.unsettledWrite(address, current.clock)?.previous;
    return previous && compareHlc(previous.clock, clock) === 0 ? previous : undefined;
  }

  /**
   * One node's page of a listing: entries of `kind` in `bucket` under the prefix from `startAt`,
   * tombstones included; with `markUnsettled`, versions whose write may still be undone say so, and
   * what an undo would restore.
   */
  list(kind: ObjectKind, bucket: string, fetch: ListingFetch, markUnsettled = false, withVersions = false): ListingPage<ListingEntry> {
    if (this.isDeleted(bucket)) return { entries: [], truncated: false };
    // With no write unsettled anywhere on this node (the common case at rest), no entry needs a look.
    const lookForUnsettled = markUnsettled && this.hasUnsettledWrites();
    // What every scan of the page shares (a delimiter listing scans anew at each common prefix).
    const scan: BucketScan = {
      kind, bucket, end: bucketScanEnd(kind, bucket), bucketStart: bucketScanStart(kind, bucket, ''), lookForUnsettled, withVersions,
    };
    return collectPage(fetch, (from) => this.listingEntries(scan, from));
  }

  /**
   * A bucket's listing entries from `from` on, in key order. Keys and values are read in one pass
   * (fewer lookups than a key and then its value, also for a delimiter listing's scans, which read an
   * entry or two each); a value that does not decode ends it. The rest is read key by key, so that one
   * damaged record is skipped, not fatal.
   */
  private *listingEntries(scan: BucketScan, from: string): Generator<ListingEntry> {
    const { bucket, end } = scan;
    let start = scanStartAt(scan.bucketStart, from);
    const range = this.db.meta.getRange({ start, end })[Symbol.iterator]();
    let last: Buffer | undefined;
    try {
      for (;;) {
        let step: IteratorResult<{ key: Buffer; value: unknown }>;
        try {
          step = range.next();
        } catch {
          break;
        }
        if (step.done) return;
        const { key, value } = step.value;
        last = key;
        // Every key in the range is one of this bucket's: its object key follows the bucket's part.
        const objectKey = key.toString('utf8', scan.bucketStart.length);
        const meta = this.checkMeta(key, value, () => ({ bucket, key: objectKey }));
        if (meta) yield this.listingEntry(objectKey, meta, scan);
      }
    } finally {
      range.return?.();
    }
    if (last !== undefined) start = justAfter(last);
    for (const key of this.db.meta.getKeys({ start, end })) {
      const meta = this.readMeta(key);
      if (meta) yield this.listingEntry(key.toString('utf8', scan.bucketStart.length), meta, scan);
    }
  }

  private listingEntry(key: string, meta: ObjectMeta, scan: BucketScan): ListingEntry {
    const { withVersions } = scan;
    const unsettled = scan.lookForUnsettled ? this.unsettledWrite({ kind: scan.kind, bucket: scan.bucket, key }, meta.clock) : undefined;
    const entry = listingEntryOf(key, meta, withVersions);
    if (!unsettled) return entry;
    return {
      ...entry,
      unsettled: true,
      previous: unsettled.previous && previousEntryOf(key, unsettled, withVersions),
      ...(unsettled.replacedUnknown ? { replacedUnknown: true as const } : {}),
      ...(unsettled.inFlight ? { inFlight: true as const } : {}),
    };
  }

  /**
   * The next records of `kind` in every bucket, in key order, after the record `after` (from the first
   * when undefined): at most `limit` keys are looked at, those of deleted namespaces skipped. `last` is
   * where to go on from; undefined once the walk is through. For background walks over the whole store.
   */
  walkRecords(kind: ObjectKind, after: ObjectAddress | undefined, limit: number): RecordWalk {
    const range = kindScanRange(kind);
    const start = after === undefined ? range.start : Buffer.concat([metaKey(after), Buffer.from([0])]);
    const records: Array<{ readonly address: ObjectAddress; readonly meta: ObjectMeta }> = [];
    let last: ObjectAddress | undefined;
    let looked = 0;
    for (const key of this.db.meta.getKeys({ start, end: range.end, limit })) {
      looked++;
      const address = parseMetaKey(key);
      if (!address) continue;
      last = address;
      if (this.isDeleted(address.bucket)) continue;
      const meta = this.readMeta(key);
      if (meta) records.push({ address, meta });
    }
    return { records, last: looked < limit ? undefined : last };
  }

  /**
   * The object records of one namespace whose keys lie in (after, upTo], in key order (undefined ends: from
   * its first key, to its last); at most `limit` keys are looked at. `last` is where to go on from;
   * undefined once the stretch is through.
   */
  walkNamespace(namespace: string, after: string | undefined, upTo: string | undefined, limit: number): RecordWalk {
    const start = after === undefined ? bucketScanStart('object', namespace, '') : justAfter(metaKey({ kind: 'object', bucket: namespace, key: after }));
    const end = upTo === undefined ? bucketScanEnd('object', namespace) : justAfter(metaKey({ kind: 'object', bucket: namespace, key: upTo }));
    const records: Array<{ readonly address: ObjectAddress; readonly meta: ObjectMeta }> = [];
    let last: ObjectAddress | undefined;
    let looked = 0;
    if (this.isDeleted(namespace)) return { records, last: undefined };
    for (const key of this.db.meta.getKeys({ start, end, limit })) {
      looked++;
      const address = parseMetaKey(key);
      if (!address) continue;
      last = address;
      const meta = this.readMeta(key);
      if (meta) records.push({ address, meta });
    }
    return { records, last: looked < limit ? undefined : last };
  }

  /** Keys of objects and chunks whose ring position is in (start, end], in position order, wrapping. */
  *scanRange(start: RingPosition, end: RingPosition, after?: RangeCursor): Generator<RangeEntry> {
    const segments: Array<{ from: Buffer | undefined; to: Buffer | undefined }> =
      start < end
        ? [{ from: positionAfter(start), to: positionAfter(end) }]
        : [
            { from: positionAfter(start), to: undefined },
            { from: undefined, to: positionAfter(end) },
          ];
    // Resuming: the first segment is skipped when the cursor lies in the second (past the wrap).
    if (after && start >= end && after.position <= end) segments.shift();
    // The smallest key after the cursor's own.
    const resumeAt = after ? Buffer.concat([ringIndexKey(after.position, after.address), Buffer.from([0])]) : undefined;
    for (const [index, segment] of segments.entries()) {
      const { to } = segment;
      const from = index === 0 && resumeAt ? resumeAt : segment.from;
      if (from === undefined && start < end) continue;
      const options: { start?: Buffer; end?: Buffer } = {};
      if (from) options.start = from;
      if (to) options.end = to;
      for (const { key, value } of this.db.ringIndex.getRange(options)) {
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
    const source = request.body;
    const sizeBytes = source === undefined ? 0 : sizeOfBody(source);
    this.checkSpace(sizeBytes);
    const { address, meta, keepPrevious } = request;
    // The record's format may leave its bucket and key to the address it is stored under (meta-encoding.ts).
    if (meta.bucket !== address.bucket || meta.key !== address.key) throw new Error(`a record of ${meta.bucket}/${meta.key} cannot be stored under ${address.bucket}/${address.key}`);
    const key = metaKey(address);
    const bodyKey = dataKey(address, meta.clock);
    // A large body goes to its file first, durably: the record that points at it commits after.
    const inFile = source !== undefined && !meta.deleted && sizeBytes >= this.fileBodyMinBytes;
    if (inFile) await this.files.write(this.files.nameOf(bodyKey), source);
    // What the record's transaction stores: a file's size, or a small body's bytes.
    const body = source === undefined ? undefined : inFile ? sizeBytes : source instanceof Uint8Array ? source : await source.bytes();
    let result: ApplyResult | undefined;
    await this.write(() => {
      const fence = this.fenced.get(address.bucket);
      const current = fence === undefined ? this.readMeta(key) : undefined;
      if (request.refuseOverVersions === true && current !== undefined && keepsVersions(current)) {
        result = { applied: false, refused: 'versioned' };
        return;
      }
      if (fence !== undefined || (current && compareHlc(current.clock, meta.clock) >= 0)) {
        // Behind a newer version still being written, this one takes the place that version would give
        // back if it were undone: a write acknowledged here is never lost to a write that fails.
        if (fence === undefined && this.keepBehindUnsettled(address, key, current!, meta, body, keepPrevious)) {
          result = { applied: false, current: current!.clock };
          return;
        }
        // The same version stored before keeps the file just written over its own (same bytes).
        if (inFile && this.db.files.get(bodyKey) === undefined) this.unlinkAfterCommit!.push(this.files.nameOf(bodyKey));
        result = fence !== undefined ? { applied: false, refused: fence.state } : { applied: false, current: current!.clock };
        return;
      }
      if (body !== undefined && !meta.deleted) this.putBody(bodyKey, body);
      this.db.meta.put(key, meta);
      this.db.ringIndex.put(ringIndexKey(keyPosition(address.bucket, address.key), address), encodeHlc(meta.clock));
      const undo = this.readUndo(key);
      const previousSettled = current === undefined || undo === undefined || compareHlc(undo.clock, current.clock) !== 0;
      if (keepPrevious && !previousSettled) {
        // The version replaced may still be undone in its turn: its own undo record stays beneath.
        const top = { clock: meta.clock, previous: current ?? null, session: this.session, sinceElapsedMs: this.elapsed(), previousUnsettled: true as const };
        const change = stacked(top, undo!);
        this.removeBodies(address, change.dropped);
        this.db.undo.put(key, change.record);
      } else if (keepPrevious) {
        // A record left over from an earlier write of the key: what it kept goes, but for the version replaced now.
        this.removeBodies(address, keptVersions(undo).filter((kept) => !current || compareHlc(kept.clock, current.clock) !== 0));
        this.db.undo.put(key, { clock: meta.clock, previous: current ?? null, session: this.session, sinceElapsedMs: this.elapsed() } satisfies UndoRecord);
      } else {
        this.removeBodies(address, keptVersions(undo));
        if (undo) this.db.undo.remove(key);
        if (current) this.removeBody(dataKey(address, current.clock));
      }
      this.tombstones.note(key, current, meta);
      result = { applied: true, previous: current, previousSettled };
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
        const change = undo && settledIn(undo, clock);
        if (!change) continue;
        this.removeBodies(address, change.dropped);
        if (change.record) this.db.undo.put(key, change.record);
        else this.db.undo.remove(key);
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
      if (!current || !undo || compareHlc(undo.clock, current.clock) !== 0) return;
      if (compareHlc(current.clock, clock) !== 0) {
        // Kept beneath a newer write: it must not come back when that one is undone.
        const change = withoutBeneath(undo, clock);
        if (!change) return;
        this.removeBodies(address, change.dropped);
        this.db.undo.put(key, change.record);
        outcome = { reverted: true, beneathNewest: true };
        return;
      }
      const indexKey = ringIndexKey(keyPosition(address.bucket, address.key), address);
      if (undo.previous) {
        this.db.meta.put(key, undo.previous);
        this.db.ringIndex.put(indexKey, encodeHlc(undo.previous.clock));
      } else {
        this.db.meta.remove(key);
        this.db.ringIndex.remove(indexKey);
      }
      this.removeBody(dataKey(address, clock));
      // Still undecided itself, the version given back keeps its own undo record, or one over nothing
      // known when that was not kept: undoing it in turn then leaves the key for the other replicas to fill.
      const restored = restoredUndo(undo, this.session, this.elapsed());
      if (restored) this.db.undo.put(key, restored);
      else this.db.undo.remove(key);
      this.tombstones.note(key, current, undo.previous ?? undefined);
      outcome = { reverted: true, restored: undo.previous?.clock };
    });
    return outcome;
  }

  /**
   * Up to `limit` writes this replica took more than `olderThanMs` ago that are still unsettled, in key
   * order after `after` (from the first without it).
   */
  staleWrites(olderThanMs: number, limit: number, after?: ObjectAddress): StaleWrite[] {
    const stale: StaleWrite[] = [];
    const afterKey = after ? metaKey(after) : undefined;
    for (const { key, value } of this.db.undo.getRange(afterKey ? { start: afterKey } : {})) {
      if (stale.length >= limit) break;
      if (afterKey && Buffer.compare(key as Buffer, afterKey) === 0) continue;
      const undo = value as UndoRecord;
      const address = parseMetaKey(key);
      if (!address || !isHlc(undo?.clock)) continue;
      const ageMs = this.unsettledForMs(undo);
      const current = this.readMeta(key);
      if (ageMs > olderThanMs && current && compareHlc(current.clock, undo.clock) === 0) stale.push({ address, clock: undo.clock, deleted: current.deleted === true, ageMs, ringChecksum: current.ringChecksum });
    }
    return stale;
  }

  /**
   * Removes up to `limit` undo records that no longer belong to their key's version (left by a crash
   * between writes of an earlier release); says how many went.
   */
  async removeOrphanedUndo(limit: number): Promise<number> {
    const orphaned: Buffer[] = [];
    for (const { key, value } of this.db.undo.getRange({})) {
      if (orphaned.length >= limit) break;
      const current = this.readMeta(key as Buffer);
      if (!isHlc((value as UndoRecord | undefined)?.clock) || !current || compareHlc(current.clock, (value as UndoRecord).clock) !== 0) orphaned.push(key as Buffer);
    }
    if (orphaned.length === 0) return 0;
    let removed = 0;
    await this.write(() => {
      for (const key of orphaned) {
        const undo = this.readUndo(key);
        const current = this.readMeta(key);
        if (undo && current && compareHlc(current.clock, undo.clock) === 0) continue;
        const address = parseMetaKey(key);
        if (address) this.removeBodies(address, keptVersions(undo).filter((kept) => !current || compareHlc(kept.clock, current.clock) !== 0));
        this.db.undo.remove(key);
        removed++;
      }
    });
    return removed;
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
        this.db.meta.remove(key);
        this.db.ringIndex.remove(ringIndexKey(keyPosition(address.bucket, address.key), address));
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
      const keys = Array.from(this.db.meta.getKeys({ ...(state.after ? { start: justAfter(state.after) } : {}), limit: maxRecords }));
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
      const keys = Array.from(this.db.meta.getKeys({ ...(after ? { start: justAfter(after) } : {}), limit: maxRecords }));
      for (const key of keys) {
        const address = parseMetaKey(key);
        const meta = this.readMeta(key);
        if (!address || !meta || meta.deleted) continue;
        const undo = this.readUndo(key);
        this.removeBodies(address, keptVersions(undo));
        if (undo) this.db.undo.remove(key);
        this.removeBody(dataKey(address, meta.clock));
        this.db.ringIndex.remove(ringIndexKey(keyPosition(address.bucket, address.key), address));
        this.db.meta.remove(key);
        dropped++;
      }
      next = keys.length < maxRecords ? undefined : Buffer.from(keys[keys.length - 1]!);
    });
    return { dropped, next };
  }

  /**
   * Removes these versions' records whatever they hold (tombstones too), each with its body and ring
   * index entry, unless the key holds another version now or its write is still unsettled here: data of
   * ranges this node no longer
   * holds, which their new holders have. Answers how many records went and the body bytes freed.
   */
  async dropRecords(items: ReadonlyArray<{ readonly address: ObjectAddress; readonly clock: Hlc }>): Promise<{ dropped: number; bytes: number }> {
    let dropped = 0;
    let bytes = 0;
    await this.write(() => {
      for (const { address, clock } of items) {
        const key = metaKey(address);
        const meta = this.readMeta(key);
        // A version written since it was listed is left to a later pass, which looks at it afresh.
        if (!meta || compareHlc(meta.clock, clock) !== 0 || this.readUndo(key)) continue;
        if (!meta.deleted) bytes += meta.sizeBytes;
        this.removeBody(dataKey(address, meta.clock));
        this.db.ringIndex.remove(ringIndexKey(keyPosition(address.bucket, address.key), address));
        this.db.cas.remove(key);
        this.db.meta.remove(key);
        this.tombstones.note(key, meta, undefined);
        dropped++;
      }
    });
    return { dropped, bytes };
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
      this.db.namespaces.remove(namespace);
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
   * Removes up to `maxKeys` records of a deleted namespace, each with every body, tail, undo record,
   * compare-and-set state and ring index entry it has, in one transaction that also records the progress: a purge that
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
        for (const key of Array.from(this.db.meta.getKeys({ ...range, limit: maxKeys - removedKeys }))) {
          const address = parseMetaKey(key);
          if (address) this.db.ringIndex.remove(ringIndexKey(keyPosition(address.bucket, address.key), address));
          this.db.meta.remove(key);
          this.db.undo.remove(key);
          removedKeys++;
        }
        // Bodies (every version), tails and undo records, found by range: whatever their record became.
        for (const db of [this.db.data, this.db.tails] as const) {
          for (const key of Array.from(db.getKeys({ ...range, limit: maxKeys }))) {
            removedBytes += db.getBinaryFast(key)?.length ?? 0;
            db.remove(key);
            removedRows++;
          }
        }
        for (const db of [this.db.undo, this.db.cas] as const) {
          for (const key of Array.from(db.getKeys({ ...range, limit: maxKeys }))) {
            db.remove(key);
            removedRows++;
          }
        }
        for (const key of Array.from(this.db.files.getKeys({ ...range, limit: maxKeys }))) {
          removedBytes += this.removeBodyFile(key);
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
    this.db.namespaces.put(namespace, record);
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
    for (const { key, value } of this.db.namespaces.getRange({})) {
      if (typeof key === 'string' && isNamespaceRecord(value)) this.fenced.set(key, value);
      else this.log.error('namespace record is malformed; ignoring it', { key: String(key).slice(0, 200) });
    }
  }

  // ---- compaction and disk use ----

  /**
   * Gives the LMDB file's free pages back to the file system: a compacting copy of the environment into
   * its next generation (store-environment.ts), then a switch to it. Writes go on while the copy is
   * made: every table write is recorded as it happens and replayed into the copy, a round at a time
   * while writes keep coming, and the last few with writes held for the moment that takes. Body files
   * need nothing of the kind: they are removed as soon as their version goes. Aborting `signal` stops
   * it before the switch, the copy removed. `pauseMs` says how long to rest between two batches of
   * the copy (the node's watchdog slows it under strain). A copy that would give back less than
   * KEEP_BELOW_SHRINK of the file is removed instead, and the store keeps its file (`keptCopyBytes`).
   */
  async compact(signal?: AbortSignal, pauseMs?: () => number): Promise<CompactionResult> {
    if (this.compacting) throw new StoreFailure('StoreError', 'a compaction is already running');
    this.compacting = true;
    const startedMs = this.now();
    const live = this.db;
    const beforeBytes = live.fileBytes();
    let log: TableWrite[] = [];
    this.db = live.recording(log);
    let copy: StoreTables | undefined;
    let pausedMs = 0;
    let keptCopyBytes: number | undefined;
    try {
      copy = await live.copyInto(this.environment, signal, pauseMs);
      for (let round = 0; round < MAX_REPLAY_ROUNDS && log.length > REPLAY_WITH_WRITES_HELD; round++) {
        signal?.throwIfAborted();
        const writes = log;
        log = [];
        this.db = live.recording(log);
        await copy.replay(writes);
      }
      const heldMs = this.now();
      await this.holdWrites(async () => {
        if (this.writesFailed) throw new StoreFailure('StoreError', 'a write failed while the store was being compacted');
        await copy!.replay(log);
        if (copy!.fileBytes() > live.fileBytes() * (1 - KEEP_BELOW_SHRINK)) {
          keptCopyBytes = copy!.fileBytes();
          this.db = live;
          return;
        }
        copy!.promote(this.environment);
        this.db = copy!;
        this.contentsChanges++;
      });
      pausedMs = this.now() - heldMs;
      // Removed while this compaction still runs: the next one makes its copy in the same directory.
      // One left behind is removed at the next start, whatever generation CURRENT names.
      if (keptCopyBytes !== undefined) await copy.discard(this.environment).catch((error: unknown) => this.log.warn('could not remove a compaction copy', { error }));
    } catch (error) {
      this.db = live;
      if (copy !== undefined) await copy.discard(this.environment).catch(() => undefined);
      throw error;
    } finally {
      this.compacting = false;
      this.writesFailed = false;
    }
    if (keptCopyBytes !== undefined) {
      const result = { beforeBytes, afterBytes: live.fileBytes(), keptCopyBytes, pausedMs, tookMs: this.now() - startedMs };
      this.log.info('object store kept its file: the compacted copy would have given back next to nothing', result);
      return result;
    }
    await live.retire(this.environment);
    const result = { beforeBytes, afterBytes: this.db.fileBytes(), pausedMs, tookMs: this.now() - startedMs };
    this.log.info('object store compacted', result);
    return result;
  }

  /** Runs `action` with no write transaction in flight and every new one waiting until it is done. */
  private async holdWrites(action: () => Promise<void>): Promise<void> {
    let resume!: () => void;
    this.writesPaused = new Promise((resolve) => (resume = resolve));
    try {
      if (this.writesInFlight > 0) await new Promise<void>((resolve) => (this.writesSettled = resolve));
      this.writesSettled = undefined;
      await action();
    } finally {
      this.writesPaused = undefined;
      resume();
    }
  }

  /**
   * The LMDB file and what a compaction would leave of it, from the sizes of its records read a batch at
   * a time; between batches it waits `pauseMs()` (or yields), and it stops if `signal` is aborted.
   * Refused while a compaction runs: its switch of environments would close the one being read.
   */
  async compactionOutlook(signal?: AbortSignal, pauseMs: () => number = () => 0): Promise<CompactionOutlook> {
    if (this.compacting) throw new StoreFailure('StoreError', 'a compaction is running');
    const tables = this.db;
    const estimate = await tables.estimateCompacted(() => pause(pauseMs()), signal);
    const roomForCopy = this.freeDiskBytes() - estimate.bytes * COPY_SIZE_MARGIN >= (this.options.minFreeDiskBytes ?? 0);
    return { fileBytes: tables.fileBytes(), compactedBytes: estimate.bytes, roomForCopy };
  }

  /** The LMDB file's size and its records, from its statistics (no records read). */
  shape(): StoreShape {
    return { fileBytes: this.db.fileBytes(), records: this.db.recordCount() };
  }

  /**
   * What this store holds and what its files take on disk. Counting walks every record, yielding to
   * other work between batches, so it is for an operator's command, not for a hot path.
   */
  async diskUsage(): Promise<DiskUsage> {
    let objects = 0;
    let activeBytes = 0;
    let records = 0;
    let tombstones = 0;
    for (const kind of OBJECT_KINDS) {
      let after: ObjectAddress | undefined;
      do {
        const walk = this.walkRecords(kind, after, 10_000);
        for (const { meta } of walk.records) {
          records++;
          if (meta.deleted) tombstones++;
          else if (kind === 'object') objects++;
          if (!meta.deleted && meta.chunks === undefined) activeBytes += meta.sizeBytes;
        }
        after = walk.last;
        await new Promise((resolve) => setImmediate(resolve));
      } while (after !== undefined);
    }
    return {
      objects,
      records,
      tombstones,
      activeBytes,
      bodyFileBytes: this.fileBytes,
      lmdbFileBytes: this.db.fileBytes(),
      lmdbUsedBytes: this.db.usedBytes(),
      totalBytes: this.db.fileBytes() + this.fileBytes,
    };
  }

  /**
   * The size of each bucket namespace (core/bucket-stats.ts), from the object records of the keys
   * `counts` picks (the keys this node counts of those it holds as a replica), of one namespace or of
   * all. The walk reads `batchKeys` keys at a time and yields to other work between two batches, so a
   * store of millions of keys is walked in seconds without holding anything up; each batch reads its
   * own snapshot, so writes made meanwhile may or may not be counted. Deleted namespaces are skipped.
   */
  async bucketSizes(options: { readonly namespace?: string; readonly counts: (namespace: string, key: string) => boolean; readonly batchKeys?: number }): Promise<Map<string, BucketSize>> {
    const batchKeys = options.batchKeys ?? BUCKET_SIZE_BATCH_KEYS;
    const sizes = new Map<string, BucketSize>();
    let after: ObjectAddress | undefined;
    do {
      const walk = options.namespace === undefined ? this.walkRecords('object', after, batchKeys) : this.walkNamespace(options.namespace, after?.key, undefined, batchKeys);
      for (const { address, meta } of walk.records) {
        if (!options.counts(address.bucket, address.key)) continue;
        sizes.set(address.bucket, addSizes(sizes.get(address.bucket) ?? EMPTY_BUCKET_SIZE, sizeOfRecord(meta)));
      }
      after = walk.last;
      if (after !== undefined) await new Promise((resolve) => setImmediate(resolve));
    } while (after !== undefined);
    return sizes;
  }

  /** A durable queue of work items kept in this store; open each name once (its `length` counts its own writes). */
  queue<T>(name: string, validate: (payload: unknown) => payload is T): DurableQueue<T> {
    return new DurableQueue<T>(() => this.db.queues, name, validate, (action) => this.write(action), this.log);
  }

  // ---- space ----

  /** Cheap to ask (no scan): for metrics taken every few seconds. */
  space(): StoreSpace {
    return { lmdbFileBytes: this.db.fileBytes(), lmdbUsedBytes: this.db.usedBytes(), lmdbFreeBytes: this.db.freeBytes(), bodyFileBytes: this.fileBytes };
  }

  /** Bytes the store occupies: its LMDB file up to the last used page, and its body files. */
  usedBytes(): number {
    return this.db.usedBytes() + this.fileBytes;
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
    const nowMs = this.now();
    if (!this.freeBytesCache || nowMs - this.freeBytesCache.atMs > FREE_SPACE_CACHE_MS) {
      const stats = statfsSync(this.options.path);
      this.freeBytesCache = { atMs: nowMs, freeBytes: stats.bavail * stats.bsize };
    }
    return this.freeBytesCache.freeBytes;
  }

  // ---- internals ----

  /**
   * Inside a write transaction, for `meta` older than the `current` record: when `current` is unsettled
   * and `meta` is newer than the version its undo record would restore, `meta` becomes that version.
   * Says whether it did.
   */
  private keepBehindUnsettled(address: ObjectAddress, key: Buffer, current: ObjectMeta, meta: ObjectMeta, body: Uint8Array | number | undefined, unsettled: boolean): boolean {
    const undo = this.readUndo(key);
    if (!undo || compareHlc(undo.clock, current.clock) !== 0 || compareHlc(meta.clock, current.clock) >= 0) return false;
    if (undo.previous && compareHlc(undo.previous.clock, meta.clock) >= 0) return false;
    if (body !== undefined && !meta.deleted) this.putBody(dataKey(address, meta.clock), body);
    const { previousUnsettled, replaced, ...rest } = undo;
    // `meta` is unsettled itself when a coordinator sent it (a copy from a replica is settled): then the
    // version it displaces stays beneath it, for an undo of `meta` in its turn to give back.
    if (unsettled && undo.previous) {
      const beneath: UndoRecord = {
        clock: meta.clock, previous: undo.previous, replacedUnknown: true, session: this.session, sinceElapsedMs: this.elapsed(),
        ...(previousUnsettled ? { previousUnsettled } : {}), ...(replaced ? { replaced } : {}),
      };
      const change = stacked({ ...rest, previous: meta, replacedUnknown: true, previousUnsettled: true }, beneath);
      this.removeBodies(address, change.dropped);
      this.db.undo.put(key, change.record);
      return true;
    }
    this.removeBodies(address, keptVersions(undo));
    this.db.undo.put(key, { ...rest, previous: meta, replacedUnknown: true, ...(unsettled ? { previousUnsettled: true as const } : {}) } satisfies UndoRecord);
    return true;
  }

  /**
   * Inside a write transaction: records a body written to its file (`body`: its size), or stores a
   * small one as its head and, when that saves a page, a tail.
   */
  private putBody(key: Buffer, body: Uint8Array | number): void {
    if (typeof body === 'number') {
      if (this.db.files.get(key) === undefined) this.fileBytes += body;
      this.db.files.put(key, body);
      return;
    }
    // No reader asks for the body of a version that carries none (carriesBody in core/object-meta.ts),
    // so an empty one is not stored: a row of about 150 bytes per empty object saved.
    if (body.length === 0) return;
    const headBytes = bodyHeadBytes(body.length, this.db.pageSize);
    if (headBytes === body.length) {
      this.db.data.put(key, body);
      return;
    }
    this.db.data.put(key, body.subarray(0, headBytes));
    this.db.tails.put(key, body.subarray(headBytes));
  }

  /** Inside a write transaction: removes the bodies of versions an undo record no longer keeps. */
  private removeBodies(address: ObjectAddress, versions: readonly ObjectMeta[]): void {
    for (const version of versions) this.removeBody(dataKey(address, version.clock));
  }

  /** Inside a write transaction: removes a body with its tail, or its file once the transaction commits. */
  private removeBody(key: Buffer): void {
    this.db.data.remove(key);
    this.db.tails.remove(key);
    this.removeBodyFile(key);
  }

  private removeBodyFile(key: Buffer): number {
    const bytes = this.db.files.get(key);
    if (bytes === undefined) return 0;
    this.db.files.remove(key);
    this.fileBytes -= bytes;
    this.unlinkAfterCommit!.push(this.files.nameOf(key));
    return bytes;
  }

  /**
   * One write transaction. Body files its action stops pointing at are unlinked only once it has
   * committed: a crash before leaves the file, never a record without its body.
   */
  private async write(action: () => void): Promise<void> {
    while (this.writesPaused !== undefined) await this.writesPaused;
    if (this.closed) throw new StoreFailure('StoreError', 'the store is closed');
    const unlinks: string[] = [];
    this.writesInFlight++;
    try {
      await this.db.root.transaction(() => {
        this.unlinkAfterCommit = unlinks;
        try {
          action();
        } finally {
          this.unlinkAfterCommit = undefined;
        }
      });
    } catch (error) {
      if (this.compacting) this.writesFailed = true;
      throw classify(error);
    } finally {
      this.writesInFlight--;
      this.contentsChanges++;
      if (this.writesInFlight === 0) this.writesSettled?.();
    }
    for (const name of unlinks) this.files.remove(name);
  }

  private readMeta(key: Buffer): ObjectMeta | undefined {
    if (this.closed) return undefined;
    let value: unknown;
    try {
      value = this.db.meta.get(key);
    } catch (error) {
      this.log.error('metadata record does not decode; treating it as absent', { key: key.toString('hex').slice(0, 80), error });
      return undefined;
    }
    return value === undefined ? undefined : this.checkMeta(key, value);
  }

  /** `address`: the bucket and key `key` names, for a record whose format leaves them to its key. */
  private checkMeta(key: Uint8Array, value: unknown, address: () => { bucket: string; key: string } | undefined = () => parseMetaKey(key)): ObjectMeta | undefined {
    const record = fillAddress(value, address);
    if (isObjectMeta(record)) return record;
    this.log.error('metadata record is malformed; treating it as absent', { key: Buffer.from(key).toString('hex').slice(0, 80) });
    return undefined;
  }

  private readUndo(key: Buffer): UndoRecord | undefined {
    if (this.closed) return undefined;
    try {
      const value = this.db.undo.get(key) as UndoRecord | undefined;
      return value && isHlc(value.clock) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.db.close();
  }
}

/** A record only a versioned write may change: it keeps versions, or a version under a lock. */
function keepsVersions(meta: ObjectMeta): boolean {
  if (meta.deleted) return false;
  return meta.versionId !== undefined || meta.noncurrent !== undefined || [meta, ...(meta.noncurrent ?? [])].some((version) => version.retention !== undefined || version.legalHold === true);
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
    isHlc(meta.clock) &&
    hasValidVersions(meta) &&
    (meta.writeId === undefined || (typeof meta.writeId === 'string' && meta.writeId.length <= MAX_WRITE_ID_CHARS))
  );
}

const MAX_WRITE_ID_CHARS = 64;

function environmentOf(options: ObjectStoreOptions): EnvironmentOptions {
  return { directory: join(options.path, 'objects'), durable: options.durable !== false, ...(options.metaFormat === undefined ? {} : { metaFormat: options.metaFormat }) };
}

function classify(error: unknown): StoreFailure {
  if (error instanceof StoreFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/MDB_MAP_FULL|ENOSPC|No space left|EDQUOT/i.test(message)) return new StoreFailure('InsufficientStorage', `the disk is full: ${message}`);
  return new StoreFailure('StoreError', message);
}

/** What an unsettled write replaced, as a listing entry: unsettled itself (over nothing known) if it was. */
function previousEntryOf(key: string, unsettled: { readonly previous: ObjectMeta | null; readonly previousUnsettled?: true }, withVersions: boolean): ListingEntry {
  const entry = listingEntryOf(key, unsettled.previous!, withVersions);
  // Unsettled in its turn over a version not known here: no `previous` (undone, it leaves nothing).
  return unsettled.previousUnsettled ? { ...entry, unsettled: true } : entry;
}
