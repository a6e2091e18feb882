/**
 * What this storage node still has to ship to each linked cluster: one durable queue per cluster
 * (LeoFS's mdcr queues), one item per key. A write this node coordinated is queued for every linked
 * cluster before the client gets its answer, so a write that was acknowledged is shipped even if the node
 * dies right after; the shipper (link-shipper.ts) reads the key's newest version when it ships, so many
 * writes to one key cost one shipment.
 */
import { compareHlc, type Hlc } from '../../core/hlc.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import type { DurableQueue } from '../../store/durable-queue.js';
import type { ObjectStore } from '../../store/object-store.js';
import { shipsBucket, type LinkQueueStats, type LinkTarget } from '../../protocol/cluster/cluster-link.js';
import { bucketNameOf } from '../../core/bucket-namespace.js';

export interface LinkItem {
  /** The namespace of the key's bucket incarnation, as stored here. */
  readonly bucket: string;
  readonly key: string;
  /** The newest version queued (acknowledged): the shipment must carry it or a later one. */
  readonly clock: Hlc;
}

/** What one node has done for one linked cluster since it started: shipments, and the comparison of keys. */
interface ClusterCounts {
  shippedObjects: number;
  shippedBytes: number;
  /** Why the last shipment failed; cleared by a round that shipped everything it took. */
  shipError: string | undefined;
  passes: number;
  compared: number;
  behind: number;
  lastPassMs: number | null;
  syncError: string | undefined;
}

/** Queue items scanned at most for the oldest write still waiting. */
const OLDEST_SCAN_ITEMS = 1_000;

export class LinkQueues {
  private ids: readonly string[];
  private readonly queues = new Map<string, DurableQueue<LinkItem>>();
  private linked: ReadonlyMap<string, LinkTarget> = new Map();
  private readonly counts = new Map<string, ClusterCounts>();
  private readonly queuedListeners = new Set<() => void>();

  constructor(private readonly store: ObjectStore) {
    this.ids = store.linkedClusters.load();
  }

  get clusterIds(): readonly string[] {
    return this.ids;
  }

  /** Calls `listener` after each write queued, until the returned function is called: the shipper wakes. */
  onQueued(listener: () => void): () => void {
    this.queuedListeners.add(listener);
    return () => this.queuedListeners.delete(listener);
  }

  /** The linked clusters with their storage nodes, as the managers last said (empty before they did). */
  get targets(): ReadonlyMap<string, LinkTarget> {
    return this.linked;
  }

  /** The managers' view of the linked clusters: whom to ship to, and the clusters to queue writes for. */
  async setTargets(targets: readonly LinkTarget[]): Promise<void> {
    this.linked = new Map(targets.map((target) => [target.clusterId, target]));
    await this.setClusters(targets.map((target) => target.clusterId));
  }

  queueOf(clusterId: string): DurableQueue<LinkItem> {
    let queue = this.queues.get(clusterId);
    if (!queue) {
      queue = this.store.queue(`link:${clusterId}`, isLinkItem);
      this.queues.set(clusterId, queue);
    }
    return queue;
  }

  /**
   * The clusters linked now, from the manager. A cluster no longer linked has its queue emptied: what it
   * has not received it gets from nobody, as with a cluster that was never linked.
   */
  private async setClusters(clusterIds: readonly string[]): Promise<void> {
    const next = [...new Set(clusterIds)].sort();
    if (next.join('\n') === this.ids.join('\n')) return;
    const dropped = this.ids.filter((id) => !next.includes(id));
    this.ids = next;
    await this.store.linkedClusters.save(next);
    for (const id of dropped) {
      const queue = this.queueOf(id);
      this.queues.delete(id);
      await queue.clear();
    }
  }

  /** Queues a write this node coordinated (`meta.bucket` a namespace) for every linked cluster. */
  async noteWrite(meta: ObjectMeta, nowMs: number): Promise<void> {
    if (this.ids.length === 0) return;
    const item: LinkItem = { bucket: meta.bucket, key: meta.key, clock: meta.clock };
    // A link for some buckets only: the others are not queued for it (before the managers said which, all are).
    const ids = this.ids.filter((id) => shipsBucket(this.linked.get(id), bucketNameOf(meta.bucket)));
    await Promise.all(ids.map((id) => this.queueOf(id).enqueue(linkItemKey(item), item, nowMs, nowMs, newerItem)));
    if (ids.length > 0) for (const listener of this.queuedListeners) listener();
  }

  /** Queues a version for one linked cluster only (a comparison found that cluster without it). */
  async noteMissing(clusterId: string, meta: Pick<ObjectMeta, 'bucket' | 'key' | 'clock'>, nowMs: number): Promise<void> {
    // The link may have been removed while the comparison ran: its queue is gone and stays gone.
    if (!this.ids.includes(clusterId)) return;
    const item: LinkItem = { bucket: meta.bucket, key: meta.key, clock: meta.clock };
    await this.queueOf(clusterId).enqueue(linkItemKey(item), item, nowMs, nowMs, newerItem);
  }

  // ---- what was done, for link_stats and the metrics ----

  shipped(clusterId: string, objects: number, bytes: number): void {
    const counts = this.countsOf(clusterId);
    counts.shippedObjects += objects;
    counts.shippedBytes += bytes;
  }

  shipFailed(clusterId: string, reason: string | undefined): void {
    this.countsOf(clusterId).shipError = reason;
  }

  lastShipError(clusterId: string): string | undefined {
    return this.countsOf(clusterId).shipError;
  }

  compared(clusterId: string, keys: number, behind: number): void {
    const counts = this.countsOf(clusterId);
    counts.compared += keys;
    counts.behind += behind;
    counts.syncError = undefined;
  }

  comparisonDone(clusterId: string, nowMs: number): void {
    const counts = this.countsOf(clusterId);
    counts.passes++;
    counts.compared = 0;
    counts.lastPassMs = nowMs;
  }

  comparisonFailed(clusterId: string, reason: string): void {
    this.countsOf(clusterId).syncError = reason;
  }

  /** Another node leads the comparison now: this one's pass under way and its last failure are no longer news. */
  comparisonLedElsewhere(clusterId: string): void {
    const counts = this.countsOf(clusterId);
    counts.compared = 0;
    counts.syncError = undefined;
  }

  /** Everything this node has to say about its link with `clusterId`. */
  statsOf(clusterId: string): LinkQueueStats {
    const counts = this.countsOf(clusterId);
    const lastError = counts.shipError ?? counts.syncError;
    return {
      clusterId,
      ...this.backlog(clusterId),
      shippedObjects: counts.shippedObjects,
      shippedBytes: counts.shippedBytes,
      ...(lastError !== undefined ? { lastError } : {}),
      sync: { passes: counts.passes, compared: counts.compared, behind: counts.behind, lastPassMs: counts.lastPassMs },
    };
  }

  private countsOf(clusterId: string): ClusterCounts {
    let counts = this.counts.get(clusterId);
    if (!counts) {
      counts = { shippedObjects: 0, shippedBytes: 0, shipError: undefined, passes: 0, compared: 0, behind: 0, lastPassMs: null, syncError: undefined };
      this.counts.set(clusterId, counts);
    }
    return counts;
  }

  /** Keys waiting for `clusterId`, and when the oldest of them was written (scanning a bounded number). */
  backlog(clusterId: string): { readonly queued: number; readonly oldestMs: number | null } {
    const queue = this.queueOf(clusterId);
    const queued = queue.length;
    if (queued === 0) return { queued, oldestMs: null };
    let oldestMs: number | null = null;
    for (const item of queue.due(Number.MAX_SAFE_INTEGER, OLDEST_SCAN_ITEMS)) oldestMs = Math.min(oldestMs ?? item.enqueuedMs, item.enqueuedMs);
    return { queued, oldestMs };
  }
}

export function linkItemKey(item: Pick<LinkItem, 'bucket' | 'key'>): string {
  return `${item.bucket}\0${item.key}`;
}

/** Of two writes queued for one key, the later one stands for both. */
function newerItem(queued: LinkItem, incoming: LinkItem): LinkItem {
  return compareHlc(incoming.clock, queued.clock) >= 0 ? incoming : queued;
}

function isLinkItem(value: unknown): value is LinkItem {
  if (typeof value !== 'object' || value === null) return false;
  const item = value as Partial<LinkItem>;
  const clock = item.clock as Partial<Hlc> | undefined;
  return (
    typeof item.bucket === 'string' &&
    typeof item.key === 'string' &&
    typeof clock === 'object' && clock !== null && Number.isFinite(clock.wallMs) && Number.isFinite(clock.counter) && typeof clock.node === 'string'
  );
}
