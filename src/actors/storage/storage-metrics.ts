/**
 * The storage node's instruments: replication and repair failures (counted where they happen), and,
 * read at scrape time, its durable queues, the space its store takes, and the progress of a rebalance
 * or recovery. Progress comes from asking the node's own actors, as an operator's command would; an
 * actor too busy to answer within a second leaves those gauges out of that scrape rather than stalling it.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { antiEntropyRef, type AntiEntropyStats } from '../../protocol/cluster/anti-entropy.js';
import { handoffRef, type HandoffStatus } from '../../protocol/cluster/handoff.js';
import type { ActorApi } from '../../runtime/actor.js';
import { ask } from '../../runtime/typed-ask.js';
import type { ObjectStore } from '../../store/object-store.js';
import type { DurableQueue } from '../../store/durable-queue.js';
import type { StorageCounters } from './storage-context.js';
import { oncePerScrape } from '../common/node-metrics.js';
import type { BackgroundPace } from './background-pace.js';
import type { WriteGate } from './write-gate.js';
import type { LinkQueues } from './link-queues.js';
import type { LinkQueueStats } from '../../protocol/cluster/cluster-link.js';

const PROGRESS_TIMEOUT_MS = 1_000;

export interface StorageMetricsSources {
  readonly system: ActorApi;
  readonly store: ObjectStore;
  readonly queues: Readonly<Record<'repair' | 'revert', DurableQueue<unknown>>>;
  readonly pace: BackgroundPace;
  readonly writes: WriteGate;
  /** What this node ships to the linked clusters. */
  readonly links: LinkQueues;
  /** The node's wall clock, for the age of what waits to be shipped. */
  readonly now: () => number;
}

/** Registers the storage instruments and returns the counters the node's actors call. */
export function storageMetrics(registry: Registry, sources: StorageMetricsSources): StorageCounters {
  const registers = [registry];
  const replicaFailures = new Counter({
    name: 'leofs_replica_write_failures_total',
    help: 'Replica writes coordinated here that a replica did not take, by failure code (KnownDown: the replica was down and not asked).',
    labelNames: ['code'],
    registers,
  });
  const quorumFailures = new Counter({ name: 'leofs_write_quorum_failures_total', help: 'Writes and deletes coordinated here that failed their quorum and were undone.', registers });
  const queuedFailures = new Counter({ name: 'leofs_queue_retries_total', help: 'Repairs and reverts from the durable queues that failed and wait for another try, by queue.', labelNames: ['queue'], registers });
  const readRepairs = new Counter({ name: 'leofs_read_repairs_total', help: 'Replicas a read found behind the newest version, whose repair was queued.', registers });
  const listingPages = new Counter({
    name: 'leofs_listing_pages_total',
    help: 'Listing pages this node answered, by source: read_ahead (read while the client walked the previous page) or store (read when asked).',
    labelNames: ['source'],
    registers,
  });
  new Gauge({
    name: 'leofs_queue_messages',
    help: 'Items waiting in each durable queue of this node.',
    labelNames: ['queue'],
    registers,
    collect() {
      for (const [name, queue] of Object.entries(sources.queues)) this.set({ queue: name }, queue.length);
    },
  });
  linkMetrics(registers, sources.links, sources.now);
  new Gauge({ name: 'leofs_storage_read_only', help: 'Whether this node refuses writes that add data, its disk nearly full (1) or not (0).', registers, collect() { this.set(sources.writes.readOnly !== undefined ? 1 : 0); } });
  new Gauge({ name: 'leofs_storage_refusing_writes', help: 'Whether this node refuses to coordinate new writes, overloaded (1) or not (0).', registers, collect() { this.set(sources.writes.overloaded !== undefined ? 1 : 0); } });
  new Gauge({ name: 'leofs_background_pace', help: 'The share of its full pace background work runs at (1: not throttled).', registers, collect() { this.set(sources.pace.factor); } });
  spaceGauges(registry, sources.store);
  progressGauges(registry, sources.system);
  return {
    replicaWriteFailed: (code) => replicaFailures.inc({ code }),
    quorumFailed: () => quorumFailures.inc(),
    queuedWorkFailed: (queue) => queuedFailures.inc({ queue }),
    readRepairQueued: () => readRepairs.inc(),
    listingPageAnswered: (readAhead) => listingPages.inc({ source: readAhead ? 'read_ahead' : 'store' }),
  };
}

function spaceGauges(registry: Registry, store: ObjectStore): void {
  const registers = [registry];
  // One look at the store per scrape serves all four gauges.
  let space = store.space();
  new Gauge({
    name: 'leofs_lmdb_file_bytes',
    help: 'Bytes of the LMDB file on disk.',
    registers,
    collect() {
      space = store.space();
      this.set(space.lmdbFileBytes);
    },
  });
  new Gauge({ name: 'leofs_lmdb_used_bytes', help: 'Bytes of the LMDB file up to its last page in use.', registers, collect() { this.set(space.lmdbUsedBytes); } });
  new Gauge({
    name: 'leofs_lmdb_free_bytes',
    help: 'Bytes of free pages below the last used one in the LMDB file: reused by writes, returned to the disk by compaction.',
    registers,
    collect() {
      this.set(space.lmdbFreeBytes);
    },
  });
  new Gauge({ name: 'leofs_body_file_bytes', help: 'Bytes of large object bodies kept in files beside the LMDB file.', registers, collect() { this.set(space.bodyFileBytes); } });
}

function progressGauges(registry: Registry, system: ActorApi): void {
  const registers = [registry];
  const self = system.node;
  // Two gauges read each answer: one ask per scrape.
  const handoff = oncePerScrape((): Promise<HandoffStatus | undefined> =>
    ask(system, handoffRef(self), { type: 'status' }, PROGRESS_TIMEOUT_MS).then((reply) => (reply.ok ? reply : undefined)),
  );
  const antiEntropy = oncePerScrape((): Promise<AntiEntropyStats | undefined> =>
    ask(system, antiEntropyRef(self), { type: 'stats' }, PROGRESS_TIMEOUT_MS).then((reply) => (reply.ok ? reply : undefined)),
  );
  new Gauge({
    name: 'leofs_rebalance_segments',
    help: 'Segments of the running rebalance this node receives: all of them, and those done.',
    labelNames: ['state'],
    registers,
    async collect() {
      const status = await handoff();
      if (!status) return;
      this.set({ state: 'total' }, status.segments);
      this.set({ state: 'done' }, status.segmentsDone);
    },
  });
  new Gauge({
    name: 'leofs_rebalance_received_bytes',
    help: 'Bytes this node received in the latest rebalance.',
    registers,
    async collect() {
      const status = await handoff();
      if (status) this.set(status.bytes);
    },
  });
  new Gauge({
    name: 'leofs_recovery_ranges',
    help: 'Ranges of the latest recover-node or recover-consistency run on this node: all, compared, and skipped (no other holder reachable).',
    labelNames: ['state'],
    registers,
    async collect() {
      const recovery = (await antiEntropy())?.recovery;
      this.set({ state: 'total' }, recovery?.ranges ?? 0);
      this.set({ state: 'done' }, recovery?.rangesDone ?? 0);
      this.set({ state: 'skipped' }, recovery?.rangesSkipped ?? 0);
    },
  });
  new Counter({
    name: 'leofs_anti_entropy_keys_synced_total',
    help: 'Keys anti-entropy made equal with other replicas since the node started.',
    registers,
    async collect() {
      const stats = await antiEntropy();
      if (!stats) return;
      this.reset();
      this.inc(stats.keysSynced);
    },
  });
}

/** Per linked cluster: what waits to be shipped and how old it is, what was shipped, how far the comparison is. */
function linkMetrics(registers: Registry[], links: LinkQueues, now: () => number): void {
  // Read once per scrape: a cluster's backlog scans the head of its queue.
  const stats = oncePerScrape(() => Promise.resolve(links.clusterIds.map((clusterId) => links.statsOf(clusterId))));
  const perCluster = (name: string, help: string, value: (stats: LinkQueueStats, nowMs: number) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['cluster'],
      registers,
      async collect() {
        const clusters = await stats();
        this.reset();
        const nowMs = now();
        for (const cluster of clusters) this.set({ cluster: cluster.clusterId }, value(cluster, nowMs));
      },
    });
  };
  perCluster('leofs_link_queue_keys', 'Keys this node has yet to ship to each linked cluster.', (stats) => stats.queued);
  perCluster('leofs_link_lag_seconds', 'Age of the oldest write this node has yet to ship to each linked cluster (0 when none waits).', (stats, nowMs) =>
    stats.oldestMs === null ? 0 : Math.max(0, (nowMs - stats.oldestMs) / 1000),
  );
  perCluster('leofs_link_shipped_objects', 'Objects this node has shipped to each linked cluster since it started.', (stats) => stats.shippedObjects);
  perCluster('leofs_link_shipped_bytes', 'Body bytes this node has shipped to each linked cluster since it started.', (stats) => stats.shippedBytes);
  perCluster('leofs_link_sync_passes', 'Whole comparisons of this node\'s keys with each linked cluster since it started.', (stats) => stats.sync?.passes ?? 0);
}
