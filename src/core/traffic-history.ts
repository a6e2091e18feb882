/**
 * The last hour of each node's traffic, as the manager sees it: every few seconds a node's request
 * counters are sampled (cumulative, as Prometheus exports them), and each sample becomes a point of
 * rates over the time since the previous one, with the latency of those requests read from the deltas
 * of the latency histogram. Pure: times are given, so the bounds and gaps are tested without waiting.
 *
 * A counter that went down means the node restarted: its counters count from zero again, so the delta
 * is the value itself (Prometheus's `rate` does the same). A sample that did not come leaves no point;
 * the next one covers the time since the last that came, unless that is older than the window.
 */

/** A node's request counters at one moment, summed over APIs and operations. */
export interface TrafficCounters {
  readonly requests: number;
  readonly receivedBytes: number;
  readonly sentBytes: number;
  readonly latency: {
    /** Cumulative counts at each finite upper bound (seconds), in increasing order; the +Inf bucket is `count`. */
    readonly buckets: ReadonlyArray<readonly [upperBoundSeconds: number, count: number]>;
    readonly sumSeconds: number;
    readonly count: number;
  };
}

/** The traffic of one span between two samples. */
export interface TrafficPoint {
  /** When the span ended (the later sample). */
  readonly atMs: number;
  readonly spanMs: number;
  readonly requestsPerSecond: number;
  readonly receivedBytesPerSecond: number;
  readonly sentBytesPerSecond: number;
  /** Latencies of the requests answered in the span; null when none was. */
  readonly meanMs: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface TrafficHistoryLimits {
  /** How far back points are kept. */
  readonly windowMs: number;
  /** How often samples are taken: bounds the points a node keeps (window / interval, and one more). */
  readonly intervalMs: number;
  /** Nodes followed at most; a node not sampled for a whole window is forgotten first. */
  readonly maxNodes: number;
}

export const DEFAULT_TRAFFIC_WINDOW_MS = 3_600_000;

interface NodeTraffic {
  last: { readonly atMs: number; readonly counters: TrafficCounters } | undefined;
  readonly points: TrafficPoint[];
}

export class TrafficHistory {
  private readonly nodes = new Map<string, NodeTraffic>();
  private readonly maxPoints: number;

  constructor(private readonly limits: TrafficHistoryLimits) {
    this.maxPoints = Math.ceil(limits.windowMs / Math.max(1, limits.intervalMs)) + 1;
  }

  get windowMs(): number {
    return this.limits.windowMs;
  }

  /** A node's sample taken at `atMs`; undefined: the node did not answer. */
  record(node: string, atMs: number, counters: TrafficCounters | undefined): void {
    let traffic = this.nodes.get(node);
    if (traffic === undefined) {
      if (counters === undefined) return;
      this.makeRoom(atMs);
      traffic = { last: undefined, points: [] };
      this.nodes.set(node, traffic);
    }
    this.prune(traffic, atMs);
    if (counters === undefined) return;
    const last = traffic.last;
    if (last !== undefined && atMs > last.atMs && atMs - last.atMs <= this.limits.windowMs) traffic.points.push(pointOf(last.counters, counters, last.atMs, atMs));
    if (last === undefined || atMs > last.atMs) traffic.last = { atMs, counters };
    while (traffic.points.length > this.maxPoints) traffic.points.shift();
  }

  /** A node's points within the window that ends at `nowMs`, oldest first. */
  points(node: string, nowMs: number): TrafficPoint[] {
    const traffic = this.nodes.get(node);
    return traffic === undefined ? [] : traffic.points.filter((point) => point.atMs > nowMs - this.limits.windowMs);
  }

  /** Forgets a node (no longer a member). */
  forget(node: string): void {
    this.nodes.delete(node);
  }

  /** The nodes with a sample, in the order they were first seen. */
  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  private prune(traffic: NodeTraffic, nowMs: number): void {
    const oldest = nowMs - this.limits.windowMs;
    while (traffic.points.length > 0 && traffic.points[0]!.atMs <= oldest) traffic.points.shift();
  }

  private makeRoom(nowMs: number): void {
    for (const [node, traffic] of this.nodes) {
      if (this.nodes.size < this.limits.maxNodes) return;
      if (traffic.last === undefined || traffic.last.atMs <= nowMs - this.limits.windowMs) this.nodes.delete(node);
    }
    while (this.nodes.size >= this.limits.maxNodes) {
      const oldest = this.nodes.keys().next();
      if (oldest.done) return;
      this.nodes.delete(oldest.value);
    }
  }
}

/** The counters' growth from `before` to `after`; all of `after` when any counter went back (a restart). */
export function trafficDelta(before: TrafficCounters, after: TrafficCounters): TrafficCounters {
  const restarted =
    after.requests < before.requests ||
    after.receivedBytes < before.receivedBytes ||
    after.sentBytes < before.sentBytes ||
    after.latency.count < before.latency.count ||
    after.latency.sumSeconds < before.latency.sumSeconds;
  if (restarted) return after;
  const earlier = new Map(before.latency.buckets);
  return {
    requests: after.requests - before.requests,
    receivedBytes: after.receivedBytes - before.receivedBytes,
    sentBytes: after.sentBytes - before.sentBytes,
    latency: {
      buckets: after.latency.buckets.map(([bound, count]) => [bound, Math.max(0, count - (earlier.get(bound) ?? 0))] as const),
      sumSeconds: after.latency.sumSeconds - before.latency.sumSeconds,
      count: after.latency.count - before.latency.count,
    },
  };
}

/**
 * The latency below which `quantile` of the observations fall, interpolated within its bucket as
 * Prometheus's histogram_quantile does; past the last finite bound, that bound. Null with no observation.
 */
export function histogramQuantile(quantile: number, latency: TrafficCounters['latency']): number | null {
  if (latency.count <= 0) return null;
  const rank = quantile * latency.count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of latency.buckets) {
    if (count >= rank) {
      const inBucket = count - lowerCount;
      return inBucket <= 0 ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

function pointOf(before: TrafficCounters, after: TrafficCounters, fromMs: number, atMs: number): TrafficPoint {
  const delta = trafficDelta(before, after);
  const spanMs = atMs - fromMs;
  const perSecond = (value: number): number => (value * 1000) / spanMs;
  const ms = (seconds: number | null): number | null => (seconds === null ? null : seconds * 1000);
  return {
    atMs,
    spanMs,
    requestsPerSecond: perSecond(delta.requests),
    receivedBytesPerSecond: perSecond(delta.receivedBytes),
    sentBytesPerSecond: perSecond(delta.sentBytes),
    meanMs: delta.latency.count > 0 ? (delta.latency.sumSeconds / delta.latency.count) * 1000 : null,
    p50Ms: ms(histogramQuantile(0.5, delta.latency)),
    p99Ms: ms(histogramQuantile(0.99, delta.latency)),
  };
}

/** Whether a value from the wire is a node's counters, as TrafficCounters says. */
export function isTrafficCounters(value: unknown): value is TrafficCounters {
  if (typeof value !== 'object' || value === null) return false;
  const counters = value as Partial<TrafficCounters>;
  const count = (field: unknown): boolean => typeof field === 'number' && Number.isFinite(field) && field >= 0;
  const latency = counters.latency as Partial<TrafficCounters['latency']> | undefined;
  return (
    count(counters.requests) && count(counters.receivedBytes) && count(counters.sentBytes) &&
    typeof latency === 'object' && latency !== null && count(latency.sumSeconds) && count(latency.count) &&
    Array.isArray(latency.buckets) && latency.buckets.length <= 64 &&
    latency.buckets.every((bucket: unknown) => Array.isArray(bucket) && bucket.length === 2 && count(bucket[0]) && count(bucket[1]))
  );
}
