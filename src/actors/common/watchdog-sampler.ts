/**
 * Where a node's watchdog gets its readings from: this process's CPU time and resident memory, the
 * event loop's delay (node:perf_hooks), the file system under the data directory, the durable queues,
 * the errors counted by the node's own metrics and the requests its clients made. Each sample covers
 * the time since the last.
 */
import { statfsSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { WatchdogReadings } from '../../core/watchdog-rules.js';
import type { Clock } from '../../runtime/clock.js';

export interface WatchdogSampler {
  sample(): Promise<WatchdogReadings>;
  close(): void;
}

export interface ProcessSamplerOptions {
  readonly clock: Clock;
  /** Where the node keeps its data; its file system's free space is watched. */
  readonly dataDir?: string;
  readonly queueItems?: () => number;
  /** Requests clients made of the node since it started (a storage node's): the reading is those of this interval and the one before. */
  readonly clientRequests?: () => number;
  /** The node's metrics, whose error counters the error rate is taken from. */
  readonly registry?: Registry;
}

/**
 * Counters of the node's metrics that count this node's own failures: a gateway's 5xx answers, and the
 * writes a storage node coordinated that failed their quorum. Failed replica writes and repair retries
 * are left out: they pile up while one peer is down or full, which says nothing of this node's health,
 * and counting them would throttle every healthy node through a routine outage.
 */
const ERROR_COUNTERS: ReadonlyArray<{ readonly name: string; readonly counts: (labels: Partial<Record<string, string | number>>) => boolean }> = [
  { name: 'leofs_s3_requests_total', counts: (labels) => Number(labels.status) >= 500 },
  { name: 'leofs_write_quorum_failures_total', counts: () => true },
];

/** The event loop's delay is measured at this resolution. */
const EVENT_LOOP_RESOLUTION_MS = 20;

export function processSampler(options: ProcessSamplerOptions): WatchdogSampler {
  const delay: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  delay.enable();
  let lastCpu = process.cpuUsage();
  let lastMs = options.clock.elapsed();
  let lastErrors: number | undefined;
  // Counted from when this sampler opened; the interval before the first counts none.
  const clientRequestsAtOpen = options.clientRequests?.() ?? 0;
  let clientRequestsBefore = [clientRequestsAtOpen, clientRequestsAtOpen];
  return {
    async sample() {
      const nowMs = options.clock.elapsed();
      const spanMs = Math.max(1, nowMs - lastMs);
      const cpu = process.cpuUsage(lastCpu);
      lastCpu = process.cpuUsage();
      lastMs = nowMs;
      // The histogram holds whole intervals between its timer's runs: the delay is what exceeds the resolution.
      const eventLoopDelayMs = delay.count > 0 ? Math.max(0, delay.percentile(99) / 1e6 - EVENT_LOOP_RESOLUTION_MS) : 0;
      delay.reset();
      const errors = options.registry ? await errorsCounted(options.registry) : 0;
      const errorsPerMinute = lastErrors === undefined ? 0 : (Math.max(0, errors - lastErrors) * 60_000) / spanMs;
      lastErrors = errors;
      // Two intervals, so that a lull of one does not turn throttling off and on again at every sample.
      const clientRequests = options.clientRequests?.();
      const clientRequestsSince = clientRequests === undefined ? undefined : clientRequests - clientRequestsBefore[0]!;
      clientRequestsBefore = [clientRequestsBefore[1]!, clientRequests ?? 0];
      return {
        cpuPercent: ((cpu.user + cpu.system) / 1000 / spanMs) * 100,
        rssBytes: process.memoryUsage.rss(),
        eventLoopDelayMs,
        errorsPerMinute,
        ...(options.dataDir !== undefined ? diskOf(options.dataDir) : {}),
        ...(options.queueItems ? { queueItems: options.queueItems() } : {}),
        ...(clientRequestsSince !== undefined ? { clientRequests: clientRequestsSince } : {}),
      };
    },
    close() {
      delay.disable();
    },
  };
}

function diskOf(path: string): Pick<WatchdogReadings, 'diskFreeBytes' | 'diskTotalBytes'> {
  try {
    const stats = statfsSync(path);
    return { diskFreeBytes: stats.bavail * stats.bsize, diskTotalBytes: stats.blocks * stats.bsize };
  } catch {
    // A data directory that cannot be looked at is the store's problem to report; no disk reading.
    return {};
  }
}

async function errorsCounted(registry: Registry): Promise<number> {
  let total = 0;
  for (const { name, counts } of ERROR_COUNTERS) {
    const metric = registry.getSingleMetric(name);
    if (!metric) continue;
    for (const value of (await metric.get()).values) if (counts(value.labels)) total += value.value;
  }
  return total;
}
