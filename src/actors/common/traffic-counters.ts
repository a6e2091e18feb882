/**
 * A node's request counters as the managers sample them for their charts, read from the node's own
 * Prometheus registry: the gateway's requests, their latency histogram and the bytes they moved, summed
 * over APIs and operations. A node without those instruments (a storage node, a manager) has none.
 */
import type { Registry } from 'prom-client';
import type { TrafficCounters } from '../../core/traffic-history.js';

const REQUESTS = 'leofs_s3_requests_total';
const LATENCY = 'leofs_s3_request_duration_seconds';
const RECEIVED = 'leofs_s3_received_bytes_total';
const SENT = 'leofs_s3_sent_bytes_total';

export async function trafficCounters(registry: Registry): Promise<TrafficCounters | null> {
  const requests = registry.getSingleMetric(REQUESTS);
  const latency = registry.getSingleMetric(LATENCY);
  if (requests === undefined || latency === undefined) return null;
  const total = async (name: string): Promise<number> => {
    const metric = registry.getSingleMetric(name);
    if (metric === undefined) return 0;
    return (await metric.get()).values.reduce((sum, value) => sum + value.value, 0);
  };
  const buckets = new Map<number, number>();
  let sumSeconds = 0;
  let count = 0;
  for (const value of (await latency.get()).values) {
    const name = (value as { metricName?: string }).metricName ?? '';
    if (name.endsWith('_bucket')) {
      const bound = Number(value.labels.le);
      if (Number.isFinite(bound)) buckets.set(bound, (buckets.get(bound) ?? 0) + value.value);
    } else if (name.endsWith('_sum')) sumSeconds += value.value;
    else if (name.endsWith('_count')) count += value.value;
  }
  return {
    requests: await total(REQUESTS),
    receivedBytes: await total(RECEIVED),
    sentBytes: await total(SENT),
    latency: { buckets: [...buckets].sort(([a], [b]) => a - b), sumSeconds, count },
  };
}
