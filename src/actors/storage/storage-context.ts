/**
 * What the storage node's actors share: the object store, the ring as this node sees it, the node's
 * hybrid logical clock, which peers are known to be down (and since when), whether this node serves its
 * data, the durable repair queues, and the settings.
 */
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import type { Clock } from '../../runtime/clock.js';
import type { BytesOnlyPeers } from '../common/bytes-only-peers.js';
import type { ObjectStore } from '../../store/object-store.js';
import type { DurableQueue } from '../../store/durable-queue.js';
import type { RingView } from '../common/ring-view.js';
import type { HlcSource } from './hlc-source.js';
import type { PeerAbsence } from './peer-absence.js';
import type { PresenceGate } from './presence-gate.js';
import type { RangeDigests } from './range-digests.js';
import type { LinkQueues } from './link-queues.js';
import type { SettleBatcher } from './settle-batcher.js';
import type { BackgroundPace } from './background-pace.js';
import type { ClientRequests } from './client-requests.js';
import type { WriteGate } from './write-gate.js';

export interface StorageOptions {
  /** How long a coordinator waits for one replica's write. */
  readonly replicaTimeoutMs: number;
  /** How long a read waits for one replica. */
  readonly readTimeoutMs: number;
  /**
   * Writes unsettled longer than this (their coordinator went away) are ended by the node itself,
   * settled or reverted as the key's other replicas show (stale-writes.ts). Must exceed how long a
   * coordinator can take over one write.
   */
  readonly settleGraceMs: number;
  /**
   * A write still undecided this long after it was taken (replicas that could tell have not answered
   * for all that time) is settled as it stands: a key of it answers again, at the risk that a version
   * which was never acknowledged wins.
   */
  readonly settleGiveUpMs: number;
  readonly recovererIntervalMs: number;
  readonly recovererBatchSize: number;
  /** Pause between two ranges of an anti-entropy sweep. */
  readonly antiEntropyIntervalMs: number;
  /** The pause instead, once a whole sweep found every range in step with its peers. */
  readonly antiEntropyQuietIntervalMs: number;
  /**
   * A recovery's range that could not be compared with a peer is tried again after this long, then
   * twice as long, and so on a few times (anti-entropy.ts).
   */
  readonly recoveryRetryMs: number;
  /** Keys repaired per range and peer in one anti-entropy round. */
  readonly antiEntropyMaxKeysPerRound: number;
  /** Records of a deleted bucket removed per transaction. */
  readonly purgeBatchKeys: number;
  /** Pause between two purge transactions: with purgeBatchKeys, the rate at which deleted data goes. */
  readonly purgeIntervalMs: number;
  /** A chunk or part record nothing names, older than this, is an orphan (far beyond any upload's length). */
  readonly orphanAgeMs: number;
  /** A multipart upload started longer ago than this is abandoned and aborted. */
  readonly uploadMaxAgeMs: number;
  /** Records the orphan sweep looks at per second at most. */
  readonly sweepKeysPerSecond: number;
  /** Rest between two passes of the orphan sweep (and before the first). */
  readonly sweepPauseMs: number;
  /** How often the node looks whether a compaction would pay (compactor.ts); 0 turns automatic compaction off. */
  readonly autoCompactionIntervalMs: number;
  /** A compaction starts by itself when it would give back at least this share of the LMDB file, in percent. */
  readonly autoCompactionMinReclaimPercent: number;
  /** ... of an LMDB file at least this large. */
  readonly autoCompactionMinFileBytes: number;
  /** Keys the lifecycle worker looks at per second at most. */
  readonly lifecycleKeysPerSecond: number;
  /** Rest between two lifecycle passes (and before the first). */
  readonly lifecyclePauseMs: number;
  /** A tombstone is purged once older than this and held (or outdone) by every replica of its key. */
  readonly tombstoneGraceMs: number;
  /** How many tombstones the reaper looks at per second at most, so it never crowds out clients. */
  readonly tombstonePurgeKeysPerSecond: number;
  /**
   * A replica unreachable for longer than this no longer blocks purges; a node away that long drops
   * the live versions it held when it comes back (presence-keeper.ts).
   */
  readonly purgeHorizonMs: number;
  /** How often a node records that it is present (shortened to a twentieth of the horizon if that is less). */
  readonly presenceRefreshMs: number;
  /** How long a conditional write keeps retrying when concurrent ones preempt it. */
  readonly conditionalWriteDeadlineMs: number;
  /**
   * How long after a rebalance ends this node keeps the data of ranges it no longer holds (their new
   * holders have verified copies). Capped at half the tombstone grace period, so that the data goes
   * before a tombstone that a later delete left on the new holders can be purged.
   */
  readonly releaseGraceMs: number;
  /**
   * How long a rebalance's receiver leaves a key not done while its version on the old holder is
   * unsettled and not known to be acknowledged: a write still on its way to its quorum settles within
   * this. After it the version beneath stands on the receiver (handoff.ts).
   */
  readonly handoffUnsettledWaitMs: number;
  /** Bytes per second this node ships to each linked cluster at most (0: no limit). */
  readonly linkRateBytesPerSec: number;
  /** Keys a node compares with each linked cluster per second at most (link-sync.ts). */
  readonly linkSyncKeysPerSecond: number;
  /** Rest between two whole comparisons with a linked cluster. */
  readonly linkSyncPauseMs: number;
  /** Keys each node looks at for one stretch of a comparison (at most MAX_SCOPE_KEYS): the stretch ends where the first node reaches this many. */
  readonly linkSyncStretchKeys: number;
}

export const DEFAULT_STORAGE_OPTIONS: StorageOptions = {
  replicaTimeoutMs: 30_000,
  readTimeoutMs: 10_000,
  settleGraceMs: 10 * 60_000,
  settleGiveUpMs: 60 * 60_000,
  recovererIntervalMs: 100,
  recovererBatchSize: 32,
  antiEntropyIntervalMs: 50,
  antiEntropyQuietIntervalMs: 1_000,
  recoveryRetryMs: 1_000,
  antiEntropyMaxKeysPerRound: 1_000,
  purgeBatchKeys: 256,
  purgeIntervalMs: 50,
  orphanAgeMs: 24 * 60 * 60_000,
  uploadMaxAgeMs: 7 * 24 * 60 * 60_000,
  sweepKeysPerSecond: 2_000,
  sweepPauseMs: 10 * 60_000,
  autoCompactionIntervalMs: 10 * 60_000,
  autoCompactionMinReclaimPercent: 25,
  autoCompactionMinFileBytes: 64 * 1024 * 1024,
  lifecycleKeysPerSecond: 1_000,
  lifecyclePauseMs: 60 * 60_000,
  tombstoneGraceMs: 24 * 60 * 60_000,
  tombstonePurgeKeysPerSecond: 1_000,
  purgeHorizonMs: 7 * 24 * 60 * 60_000,
  presenceRefreshMs: 60_000,
  conditionalWriteDeadlineMs: 10_000,
  releaseGraceMs: 60 * 60_000,
  handoffUnsettledWaitMs: 30_000,
  linkRateBytesPerSec: 20 * 1024 * 1024,
  linkSyncKeysPerSecond: 1_000,
  linkSyncPauseMs: 10 * 60_000,
  linkSyncStretchKeys: 1_024,
};

/** Make one key equal on this node and `peer` (push or pull the newer version). */
export interface RepairItem {
  readonly peer: string;
  readonly objectKind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
}

/** Undo a write that failed its quorum on `peer`, if that write is still its newest version there. */
export interface RevertItem extends RepairItem {
  readonly clock: ObjectMeta['clock'];
}

/** What the storage node counts for its metrics (storage-metrics.ts); tests and simulations count nothing. */
export interface StorageCounters {
  /** A replica did not take a write: its code (KnownDown for a replica not even asked). */
  replicaWriteFailed(code: string): void;
  /** A write or delete failed its quorum and was undone. */
  quorumFailed(): void;
  /** A queued repair or revert failed and waits for its next try. */
  queuedWorkFailed(queue: 'repair' | 'revert'): void;
  /** A read found a replica behind the newest version and queued its repair. */
  readRepairQueued(): void;
  /** A listing page was answered: from what was read ahead for its walk, or read then. */
  listingPageAnswered(readAhead: boolean): void;
}

export const UNCOUNTED: StorageCounters = {
  replicaWriteFailed: () => undefined,
  quorumFailed: () => undefined,
  queuedWorkFailed: () => undefined,
  readRepairQueued: () => undefined,
  listingPageAnswered: () => undefined,
};

export interface StorageContext {
  readonly node: string;
  readonly store: ObjectStore;
  readonly ringView: RingView;
  readonly hlc: HlcSource;
  readonly clock: Clock;
  /** Uniform in [0, 1): the node's source of randomness, which a test may own. */
  readonly random: () => number;
  /** True for a peer that cannot be reached now, and for this node while it does not serve its data. */
  readonly isKnownDown: (node: string) => boolean;
  /** How long each peer has been unreachable, as this node has seen it. */
  readonly absence: PeerAbsence;
  /** Whether this node serves and hands on its data (not while it comes back from a long absence). */
  readonly presence: PresenceGate;
  readonly repairs: DurableQueue<RepairItem>;
  readonly reverts: DurableQueue<RevertItem>;
  /** Anti-entropy digests of the ranges held, kept current by every write. */
  readonly digests: RangeDigests;
  /** What this node still has to ship to the linked clusters. */
  readonly links: LinkQueues;
  /** Settles owed to replicas, sent in batches. */
  readonly settles: SettleBatcher;
  /** Peers that took no staged body from this node lately (an earlier release): they are sent bytes. */
  readonly bytesOnlyPeers: BytesOnlyPeers;
  /** This node's machine, as same-machine readers and writers name it (store/same-machine.ts); undefined where it cannot be told. */
  readonly machine: string | undefined;
  readonly counters: StorageCounters;
  /** How fast background work runs now (slowed by the watchdog under strain). */
  readonly pace: BackgroundPace;
  /** Counted for the watchdog, which slows background work for CPU only while clients are served. */
  readonly clientRequests: ClientRequests;
  /** Whether this node takes writes now (refused by the watchdog when overloaded or nearly full). */
  readonly writes: WriteGate;
  readonly options: StorageOptions;
}

export function repairItemKey(item: RepairItem): string {
  return `${item.peer}\u0000${item.objectKind}\u0000${item.bucket}\u0000${item.key}`;
}

export function isRepairItem(value: unknown): value is RepairItem {
  if (typeof value !== 'object' || value === null) return false;
  const item = value as Partial<RepairItem>;
  return typeof item.peer === 'string' && typeof item.bucket === 'string' && typeof item.key === 'string' && (item.objectKind === 'object' || item.objectKind === 'chunk' || item.objectKind === 'upload');
}

export function isRevertItem(value: unknown): value is RevertItem {
  return isRepairItem(value) && typeof (value as Partial<RevertItem>).clock === 'object';
}
