/**
 * The contract of a storage node's router (its well-known entry point), what other nodes may ask it:
 * the replica operations of replication and repair, the local inspections used by `whereis`, listing
 * and anti-entropy, and the compactor's commands it hands on. Replies are result unions; runtime
 * failures (NodeDown, Timeout, ...) come on top.
 */
import type { BodySlice } from '../../core/body-slice.js';
import type { BodyFileRef } from '../../core/body-file-ref.js';
import type { CasProposal } from '../../core/cas-rules.js';
import type { Hlc } from '../../core/hlc.js';
import type { ListingEntry, ListingFetch, ListingPage } from '../../core/listing.js';
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import type { RingPosition } from '../../core/ring/position.js';
import type { StagedBodyRef } from '../../core/staged-body-ref.js';
import { actorRef, type ReplyTo } from '../../runtime/refs.js';
import type { PackedListingPage } from './listing-rows.js';
import type { ListingColumns } from './listing-columns.js';
import type { DeletedNamespaceRecord } from '../../store/namespace-records.js';
import type { CompactionOutlook, CompactionResult, DiskUsage } from '../../store/object-store.js';
import type { BucketSize } from '../../core/bucket-stats.js';

export const STORAGE_ROUTER_PATH = '/node/storage/router';

/** The router of a storage node: every replica operation and local inspection goes through it. */
export const routerOf = (node: string) => actorRef<RouterMessage>(node, STORAGE_ROUTER_PATH);

export type StorageErrorCode =
  | 'InsufficientStorage'
  | 'StoreError'
  | 'Unavailable'
  /** The key's bucket namespace refuses writes while a deletion checks that the bucket is empty. */
  | 'BucketSealed'
  /** The key's bucket namespace was deleted. */
  | 'BucketDeleted'
  /** A plain write met a key whose record keeps versions or a lock: only a versioned write may change it. */
  | 'KeyVersioned'
  /** A staged body (store/staged-bodies.ts) this replica cannot take: send it the bytes. */
  | 'StagedBodyRefused';

/** `everyStagedBody`: with StagedBodyRefused, no staged body from this sender will do (another machine, files it may not read). */
export type StorageError = { readonly ok: false; readonly code: StorageErrorCode; readonly message: string; readonly everyStagedBody?: boolean };

export type ReplicaPutReply =
  /**
   * `replaced`: the version the write replaced on this replica, so its chunks can be retired; only a
   * version whose own write had settled (one still being written is left to its writer).
   */
  | { readonly ok: true; readonly applied: boolean; readonly clock: Hlc; readonly replaced?: ObjectMeta }
  | StorageError;

/**
 * Present while the write of the version a replica returns has not settled there: its coordinator has
 * not said that it met its quorum, so it may yet be undone. `previous`: what it would give back then.
 */
export interface UnsettledWrite {
  readonly previous: ObjectMeta | null;
  /** `previous` was unsettled too when this write replaced it; what that one replaced is not told here. */
  readonly previousUnsettled?: true;
  /**
   * With `previousUnsettled`, when `previous` stands right over a settled version there: that version's
   * clock (null: nothing), which undoing both writes would leave.
   */
  readonly settledBeneath?: Hlc | null;
  /** `previous` is not known to be what this write replaced: it arrived after it, or an undo left nothing known. */
  readonly replacedUnknown?: true;
  /** Taken so lately that its coordinator may still be sending it to other replicas, which may yet take it. */
  readonly inFlight?: true;
}

export type HeadLocalReply = { readonly ok: true; readonly meta: ObjectMeta | null; readonly unsettled?: UnsettledWrite } | StorageError;

/** `body` is the part asked for when the request named a slice. */
export type ReplicaGetReply =
  | { readonly ok: true; readonly meta: ObjectMeta | null; readonly body?: Uint8Array; readonly bodyFile?: BodyFileRef; readonly unsettled?: UnsettledWrite }
  | StorageError;

/** The most keys one replica_get_many names. */
export const MAX_GET_MANY_ITEMS = 256;
/** A replica_get_many answer carries at most this many body bytes; the keys past it are deferred. */
export const GET_MANY_BODY_BUDGET_BYTES = 1024 * 1024;

/**
 * One key of a replica_get_many answer, in the order asked. Deferred keys are not answered here:
 * `alone`, read it with replica_get (a body too large to travel inside an answer, or one replaced while
 * it was read); `again`, ask again (the answer's byte budget was spent).
 */
export type GetManyItem =
  | { readonly meta: ObjectMeta | null; readonly body?: Uint8Array; readonly unsettled?: UnsettledWrite }
  | { readonly deferred: 'alone' | 'again' };

export type ReplicaGetManyReply = { readonly ok: true; readonly items: readonly GetManyItem[] } | StorageError;

/** `deleted`: the namespace was already deleted, which fences it just as well. */
export type SealReply = { readonly ok: true; readonly state: 'sealed' | 'deleted' } | StorageError;

export type MarkDeletedReply = { readonly ok: true; readonly marked: number } | StorageError;

/** A deleted namespace as this node knows it, with the progress of its purge. */
export type PurgeStatus = { readonly namespace: string } & Omit<DeletedNamespaceRecord, 'state'>;

export type PurgeStatsReply = { readonly ok: true; readonly namespaces: readonly PurgeStatus[] } | StorageError;

/** What a storage node's compactor is doing (LeoFS's compaction states). */
export type CompactionState = 'idle' | 'running' | 'suspended';

/** Who started a compaction: an operator (compact-start), or the node itself (automatic compaction). */
export type CompactionTrigger = 'operator' | 'automatic';

export interface CompactionStatus {
  readonly state: CompactionState;
  /** Who started the running compaction, or the last one. */
  readonly trigger?: CompactionTrigger;
  readonly lastStartedAtMs?: number;
  readonly lastFinishedAtMs?: number;
  /**
   * The last look automatic compaction took: when, the LMDB file then, and what a compaction would have
   * left of it (an estimate from the sizes of its records).
   */
  readonly lastOutlook?: { readonly atMs: number; readonly fileBytes: number; readonly compactedBytes: number };
  /**
   * The last compaction that finished: the LMDB file before and after, how long writes were held, and
   * the copy's size when it would have given back next to nothing and the store kept its file.
   */
  readonly last?: CompactionResult;
  readonly lastError?: string;
}

export type CompactionReply =
  | ({ readonly ok: true } & CompactionStatus)
  | { readonly ok: false; readonly code: 'AlreadyRunning' | 'Suspended' | 'NotRunning'; readonly message: string }
  | StorageError;

export type CompactionAction = 'start' | 'suspend' | 'resume' | 'status';

export type DiskUsageReply = ({ readonly ok: true } & DiskUsage) | StorageError;

export const COMPACTOR_PATH = '/node/storage/compactor';

/** What the compactor takes; the router hands it the messages of other nodes. */
export type CompactorMessage =
  | { readonly type: 'compaction'; readonly action: CompactionAction; readonly replyTo: ReplyTo<CompactionReply> }
  | { readonly type: 'disk_usage'; readonly replyTo: ReplyTo<DiskUsageReply> }
  | { readonly type: 'finished'; readonly outcome: { readonly ok: true; readonly result: CompactionResult } | { readonly ok: false; readonly message: string; readonly cancelled: boolean } }
  /** Time for automatic compaction to look whether a compaction would pay. */
  | { readonly type: 'auto_check' }
  /** What that look found (the outlook), or why it could not tell. */
  | { readonly type: 'outlook'; readonly outcome: { readonly ok: true; readonly outlook: CompactionOutlook } | { readonly ok: false; readonly message: string; readonly cancelled: boolean } };

/**
 * The sizes of bucket namespaces as one node counts them (core/bucket-stats.ts): only the keys it is the
 * counter of on `ringChecksum`'s ring, so that the answers of all nodes on one ring add up.
 */
export type BucketStatsReply = { readonly ok: true; readonly ringChecksum: number; readonly namespaces: ReadonlyArray<{ readonly namespace: string } & BucketSize> } | StorageError;

/** The most nodes a bucket_stats names absent. */
export const MAX_ABSENT_COUNTERS = 1000;

/** The most namespaces one namespaces_deleted carries. */
export const MAX_DELETED_NAMESPACES = 1000;

/** `packed` answers a request that asked for it (protocol/cluster/listing-rows.ts); nodes of releases before it answer `page`. */
export type ListLocalReply =
  | { readonly ok: true; readonly page: ListingPage<ListingEntry> }
  | { readonly ok: true; readonly packed: PackedListingPage }
  | { readonly ok: true; readonly columns: ListingColumns }
  | StorageError;

/** XOR digests of (key, clock) per summary bucket of a ring range; equal digests, equal contents. */
export type RangeSummaryReply = { readonly ok: true; readonly digests: readonly number[] } | StorageError;

export interface RangeKey {
  readonly kind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
  readonly clock: Hlc;
}

export type RangeKeysReply = { readonly ok: true; readonly keys: readonly RangeKey[] } | StorageError;

/** Where a paged walk of a range stopped: the last key it gave, with its ring position. */
export interface RangeCursor {
  readonly position: RingPosition;
  readonly kind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
}

export interface PositionedKey extends RangeKey {
  readonly position: RingPosition;
}

/** The most entries one range_entries page carries. */
export const MAX_RANGE_ENTRIES = 1000;

/** `done`: the walk reached the end of the range. */
export type RangeEntriesReply = { readonly ok: true; readonly entries: readonly PositionedKey[]; readonly done: boolean } | StorageError;

/** The most settles one replica_settle_many carries; a larger backlog goes out in several. */
export const MAX_SETTLE_ITEMS = 4096;

export interface SettleItem {
  readonly objectKind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
  readonly clock: Hlc;
}

interface Addressed {
  readonly objectKind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
}

/** The most keys one versions_local or purge_tombstones carries. */
export const MAX_TOMBSTONE_ITEMS = 1000;

/** Per key asked, the clock of the newest version here; null where this node has no record. */
export type VersionsLocalReply = { readonly ok: true; readonly clocks: ReadonlyArray<Hlc | null> } | StorageError;

/** Per peer asked, how long this node has seen it unreachable (0: reachable now). */
export type AbsenceViewReply = { readonly ok: true; readonly downForMs: readonly number[] } | StorageError;

/** Whether this node has reported the asker absent past the horizon since the time asked about. */
export type AbsenceReportsReply = { readonly ok: true; readonly reported: boolean } | StorageError;

/**
 * A replica's answer to a compare-and-set prepare: its promise, with the newest proposal it accepted and
 * its newest version of the key; or the higher ballot it promised.
 */
export type CasPrepareReply =
  | {
      readonly ok: true;
      readonly granted: true;
      readonly accepted?: CasProposal;
      readonly head: ObjectMeta | null;
      /** Whether the head's own write has settled. */
      readonly headSettled: boolean;
      /** Write ids of the last chosen versions applied here. */
      readonly applied?: readonly string[];
    }
  | { readonly ok: true; readonly granted: false; readonly promised: Hlc }
  | StorageError;

/** A commit applied (as a replica write) or, for a fence, noted. */
export type CasCommitReply = ReplicaPutReply;

export type CasProposeReply = { readonly ok: true; readonly granted: true } | { readonly ok: true; readonly granted: false; readonly promised: Hlc } | StorageError;

export type HeadLocalMessage = Addressed & { readonly type: 'head_local'; readonly replyTo: ReplyTo<HeadLocalReply> };

export type RouterMessage =
  | HeadLocalMessage
  /**
   * `clock`: the version at this clock (the newest, or the one an unsettled write replaced), not the
   * newest. `fileOnMachine`: see GetOptions.fileOnMachine.
   */
  | (Addressed & {
      readonly type: 'replica_get';
      readonly withBody: boolean;
      readonly bodySlice?: BodySlice;
      readonly clock?: Hlc;
      readonly fileOnMachine?: string;
      /** Sent by a coordinator for a client's read: the replica counts it as client work (its watchdog's CPU alarm). */
      readonly forClient?: boolean;
      readonly replyTo: ReplyTo<ReplicaGetReply>;
    })
  /** The newest versions of many keys with their small bodies, in one answer (a rebalance's pulls). */
  | { readonly type: 'replica_get_many'; readonly items: readonly Addressed[]; readonly replyTo: ReplyTo<ReplicaGetManyReply> }
  | {
      readonly type: 'replica_put';
      readonly objectKind: ObjectKind;
      readonly meta: ObjectMeta;
      readonly body?: Uint8Array;
      /** Keep the replaced version until the coordinator settles or reverts this write. */
      readonly keepPrevious: boolean;
      /**
       * A client's plain write of an object (not a versioned one, not a repair): refused over a record
       * that keeps versions or a lock, which a gateway that has not yet learnt of its bucket's versioning
       * would otherwise wipe out.
       */
      readonly plain?: boolean;
      /** Sent by a coordinator for a client's write: the replica counts it as client work (its watchdog's CPU alarm). */
      readonly forClient?: boolean;
      readonly replyTo: ReplyTo<ReplicaPutReply>;
    }
  /**
   * A replica_put whose body a process on this node's machine staged (store/staged-bodies.ts). A replica
   * that cannot take it answers StagedBodyRefused (one of a release before it, BadMessage); the
   * coordinator then sends the bytes.
   */
  | {
      readonly type: 'replica_put_staged';
      readonly objectKind: ObjectKind;
      readonly meta: ObjectMeta;
      readonly stagedBody: StagedBodyRef;
      /** Keep the replaced version until the coordinator settles or reverts this write. */
      readonly keepPrevious: boolean;
      /**
       * A client's plain write of an object (not a versioned one, not a repair): refused over a record
       * that keeps versions or a lock, which a gateway that has not yet learnt of its bucket's versioning
       * would otherwise wipe out.
       */
      readonly plain?: boolean;
      /** Sent by a coordinator for a client's write: the replica counts it as client work (its watchdog's CPU alarm). */
      readonly forClient?: boolean;
      readonly replyTo: ReplyTo<ReplicaPutReply>;
    }
  /** Compare-and-set of a conditional write (core/cas-rules.ts): promise to take no lower ballot. */
  | (Addressed & { readonly type: 'cas_prepare'; readonly ballot: Hlc; readonly replyTo: ReplyTo<CasPrepareReply> })
  /** Accept this version (or fence) for the key unless a higher ballot was promised. */
  | (Addressed & { readonly type: 'cas_propose'; readonly proposal: CasProposal; readonly replyTo: ReplyTo<CasProposeReply> })
  /** A version a quorum accepted: apply it. */
  | { readonly type: 'cas_commit'; readonly objectKind: ObjectKind; readonly meta: ObjectMeta; readonly body?: Uint8Array; readonly replyTo: ReplyTo<CasCommitReply> }
  /** The writes at these clocks succeeded: the versions they replaced can go. */
  | { readonly type: 'replica_settle_many'; readonly items: readonly SettleItem[] }
  /** Read repair found `peer` stale while this node holds the newer version: queue a repair here. */
  | (Addressed & { readonly type: 'queue_repair'; readonly peer: string })
  | (Addressed & { readonly type: 'replica_revert'; readonly clock: Hlc; readonly replyTo?: ReplyTo<{ ok: true; reverted: boolean } | StorageError> })
  | {
      readonly type: 'list_local';
      readonly objectKind: ObjectKind;
      readonly bucket: string;
      readonly fetch: ListingFetch;
      /** Mark entries whose write may still be undone (a bucket deletion must not count on them). */
      readonly markUnsettled?: boolean;
      /** Entries carry their version ids and older versions. */
      readonly withVersions?: boolean;
      /** Answer with the page packed (listing-rows.ts). */
      readonly packed?: boolean;
      /** Answer with the page as columns (listing-columns.ts); nodes of earlier releases answer rows. */
      readonly columns?: boolean;
      /** With `columns`, the gaps as columns too; nodes of earlier releases send them as objects. */
      readonly gapColumns?: boolean;
      readonly replyTo: ReplyTo<ListLocalReply>;
    }
  /** Refuse writes to a bucket namespace until unsealed (a deletion checks that the bucket is empty). */
  | { readonly type: 'seal_namespace'; readonly namespace: string; readonly sealId: string; readonly replyTo: ReplyTo<SealReply> }
  | { readonly type: 'unseal_namespace'; readonly namespace: string; readonly sealId: string; readonly replyTo?: ReplyTo<{ readonly ok: true } | StorageError> }
  /** These namespaces' buckets were deleted: refuse their writes, hide their keys, purge them. */
  | {
      readonly type: 'namespaces_deleted';
      readonly namespaces: ReadonlyArray<{ readonly namespace: string; readonly deletedAtMs: number }>;
      readonly replyTo?: ReplyTo<MarkDeletedReply>;
    }
  /** compact-start, -suspend, -resume and -status, and du: handed to the compactor. */
  | Extract<CompactorMessage, { type: 'compaction' | 'disk_usage' }>
  /**
   * The size of one bucket namespace, or of each, counting the keys this node is the counter of; the
   * nodes in `absent` (not running) count for nothing, their keys counted by their next replica.
   */
  | { readonly type: 'bucket_stats'; readonly namespace?: string; readonly absent: readonly string[]; readonly replyTo: ReplyTo<BucketStatsReply> }
  /** The purge progress of these namespaces, or of every deleted one when none are named. */
  | { readonly type: 'purge_stats'; readonly namespaces?: readonly string[]; readonly replyTo: ReplyTo<PurgeStatsReply> }
  /**
   * The seals of the deletions still in progress, from the manager: any other seal on this node was
   * left by a deletion that ended while this node could not be told, and is lifted.
   */
  | { readonly type: 'seals_in_force'; readonly seals: ReadonlyArray<{ readonly namespace: string; readonly sealId: string }> }
  | {
      readonly type: 'range_summary';
      readonly start: RingPosition;
      readonly end: RingPosition;
      /** The asker's ring: ranges only compare between nodes on the same ring. */
      readonly ringChecksum: number;
      /** Scan now rather than use kept digests: for a segment that is not a range of the ring (a rebalance's). */
      readonly fresh?: boolean;
      readonly replyTo: ReplyTo<RangeSummaryReply>;
    }
  /** A page of the keys of (start, end] this node holds, in ring order, after `after` when given. */
  | {
      readonly type: 'range_entries';
      readonly start: RingPosition;
      readonly end: RingPosition;
      readonly after?: RangeCursor;
      readonly limit: number;
      readonly replyTo: ReplyTo<RangeEntriesReply>;
    }
  | {
      readonly type: 'range_keys';
      readonly start: RingPosition;
      readonly end: RingPosition;
      readonly buckets: readonly number[];
      readonly replyTo: ReplyTo<RangeKeysReply>;
    }
  /** The tombstone reaper's question to a replica: which version of each of these keys do you hold? */
  | { readonly type: 'versions_local'; readonly items: readonly Addressed[]; readonly replyTo: ReplyTo<VersionsLocalReply> }
  /**
   * The sender checked that no replica holds a version older than these tombstones: remove each that
   * is still exactly the record of its key here and settled. Ignored by a node on another ring.
   */
  | { readonly type: 'purge_tombstones'; readonly ringChecksum: number; readonly items: readonly SettleItem[] }
  /**
   * How long have you seen these peers unreachable? A reaper asks before it purges without a replica;
   * the answer is recorded first where it exceeds `horizonMs`, so the absent node can learn of it.
   */
  | { readonly type: 'absence_view'; readonly peers: readonly string[]; readonly horizonMs: number; readonly replyTo: ReplyTo<AbsenceViewReply> }
  /** From `node`, back after an absence: have you reported me absent at or after `sinceMs`? */
  | { readonly type: 'absence_reports'; readonly node: string; readonly sinceMs: number; readonly replyTo: ReplyTo<AbsenceReportsReply> };

/**
 * Whether the answer to a staged put (`put_staged`, `replica_put_staged`) refused its staged body: for
 * this body alone, or for every one from this sender (another machine, files the node may not read, or
 * a release that does not know staged puts and answered BadMessage). Undefined when the body was taken,
 * whatever came of the write.
 */
export function stagedBodyRefusal(reply: { readonly ok: boolean; readonly code?: string; readonly everyStagedBody?: boolean }): 'this-body' | 'every-body' | undefined {
  if (reply.ok) return undefined;
  if (reply.code === 'BadMessage') return 'every-body';
  if (reply.code !== 'StagedBodyRefused') return undefined;
  return reply.everyStagedBody === true ? 'every-body' : 'this-body';
}

export const ROUTER_ACCEPTS: readonly RouterMessage['type'][] = [
  'head_local',
  'replica_get',
  'replica_get_many',
  'replica_put',
  'replica_put_staged',
  'cas_prepare',
  'cas_propose',
  'cas_commit',
  'replica_settle_many',
  'queue_repair',
  'replica_revert',
  'list_local',
  'seal_namespace',
  'unseal_namespace',
  'namespaces_deleted',
  'purge_stats',
  'bucket_stats',
  'seals_in_force',
  'compaction',
  'disk_usage',
  'range_summary',
  'range_keys',
  'range_entries',
  'versions_local',
  'purge_tombstones',
  'absence_view',
  'absence_reports',
];
