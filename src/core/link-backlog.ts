/**
 * What a cluster still has to ship to one linked cluster, summed over its storage nodes' answers
 * (cluster-status): keys queued, how far behind the oldest of them is, what was shipped, the last
 * failure. Each node ships its own writes, so the sums are the cluster's; the lag is the oldest's.
 */

/** One node's figures for one linked cluster (LinkQueueStats). */
export interface NodeBacklog {
  readonly queued: number;
  /** When the oldest waiting key was written; null when none waits. */
  readonly oldestMs: number | null;
  readonly shippedObjects: number;
  readonly shippedBytes: number;
  readonly lastError?: string;
  /** How far its comparison of keys with the linked cluster has got. */
  readonly sync?: { readonly passes: number; readonly compared: number; readonly behind: number };
}

export interface LinkBacklog {
  /**
   * Storage nodes here that have learnt of the link from the managers (a few seconds after it is made)
   * and so queue their writes for it; a write a node coordinates before then reaches the linked cluster
   * only through the comparison of keys.
   */
  readonly shippingNodes: number;
  readonly queued: number;
  /** Seconds since the oldest waiting key was written; null when none waits. */
  readonly lagSeconds: number | null;
  readonly shippedObjects: number;
  readonly shippedBytes: number;
  /** The failures nodes last reported, each with its node: `node: reason`. */
  readonly errors: readonly string[];
  /**
   * The comparison of keys with the linked cluster, which one node leads: whole passes done (the most
   * any node counts, as a node that takes over the lead counts afresh), keys compared in the pass under
   * way, and keys found missing there and queued.
   */
  readonly sync: { readonly passes: number; readonly compared: number; readonly behind: number };
}

export function sumBacklogs(nodes: ReadonlyArray<{ readonly node: string; readonly backlog: NodeBacklog }>, nowMs: number): LinkBacklog {
  let queued = 0;
  let oldestMs: number | null = null;
  let shippedObjects = 0;
  let shippedBytes = 0;
  const errors: string[] = [];
  let passes = 0;
  let compared = 0;
  let behind = 0;
  for (const { node, backlog } of nodes) {
    passes = Math.max(passes, backlog.sync?.passes ?? 0);
    compared += backlog.sync?.compared ?? 0;
    behind += backlog.sync?.behind ?? 0;
    queued += backlog.queued;
    shippedObjects += backlog.shippedObjects;
    shippedBytes += backlog.shippedBytes;
    if (backlog.oldestMs !== null && (oldestMs === null || backlog.oldestMs < oldestMs)) oldestMs = backlog.oldestMs;
    if (backlog.lastError !== undefined) errors.push(`${node}: ${backlog.lastError}`);
  }
  // A clock a little ahead on a storage node must not show as a negative lag.
  const lagSeconds = oldestMs === null ? null : Math.max(0, Math.round((nowMs - oldestMs) / 1000));
  return { shippingNodes: nodes.length, queued, lagSeconds, shippedObjects, shippedBytes, errors, sync: { passes, compared, behind } };
}
