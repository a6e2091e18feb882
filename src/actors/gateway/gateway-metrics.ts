/**
 * The gateway's instruments: requests by API (S3 or the plain REST API), operation and status, their
 * latency, the bytes they moved, and the object cache. Request sizes are counted on the wire (headers included), per connection:
 * HTTP/1.1 answers a connection's requests one after another, so what the socket read and wrote since
 * the previous answer ended belongs to this one.
 */
import type { Socket } from 'node:net';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ObjectCache } from './object-cache.js';
import type { DiskCache } from './disk-cache.js';
import type { ObjectCacheStats } from '../../protocol/cluster/http-listener.js';
import type { SameMachineCounts } from './same-machine-reads.js';
import type { StagedWriteCounts } from '../common/storage-client.js';

export interface AnsweredRequest {
  /** The listener's API: `S3` or `REST`. */
  readonly api: string;
  /** The S3 operation, or 'Unknown' when the request could not be routed. */
  readonly operation: string;
  readonly status: number;
  readonly seconds: number;
  readonly socket: Socket;
}

export interface RequestObserver {
  /** Called once per request, when its response is over (sent, or cut off). */
  answered(request: AnsweredRequest): void;
}

export const UNOBSERVED: RequestObserver = { answered: () => undefined };

/** Seconds: from a cached small GET to a large upload over a slow link. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function gatewayMetrics(
  registry: Registry,
  cache: ObjectCache,
  disk?: DiskCache,
  sameMachine?: { readonly counts: SameMachineCounts },
  stagedWrites?: { readonly stagedWriteCounts: StagedWriteCounts },
): RequestObserver {
  const registers = [registry];
  // The REST API runs S3 operations: one family for both, told apart by `api`, keeps dashboards' sums whole.
  const requests = new Counter({
    name: 'leofs_s3_requests_total', help: 'Requests answered, by API (S3, REST), operation and HTTP status.', labelNames: ['api', 'operation', 'status'], registers,
  });
  const latency = new Histogram({
    name: 'leofs_s3_request_duration_seconds',
    help: 'Time from a request\'s arrival to the end of its response, by API (S3, REST) and operation.',
    labelNames: ['api', 'operation'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const received = new Counter({
    name: 'leofs_s3_received_bytes_total', help: 'Bytes of requests read from clients (headers and bodies), by API (S3, REST) and operation.', labelNames: ['api', 'operation'], registers,
  });
  const sent = new Counter({
    name: 'leofs_s3_sent_bytes_total', help: 'Bytes of responses written to clients (headers and bodies), by API (S3, REST) and operation.', labelNames: ['api', 'operation'], registers,
  });
  const tiers = (): ReadonlyArray<readonly [string, ObjectCacheStats]> => [['memory', cache.stats], ...(disk?.enabled ? [['disk', disk.stats] as const] : [])];
  new Counter({
    name: 'leofs_gateway_cache_hits_total',
    help: 'GETs that found a copy in the gateway\'s object cache, by tier (memory, disk).',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      for (const [tier, stats] of tiers()) this.inc({ tier }, stats.hits);
    },
  });
  new Counter({
    name: 'leofs_gateway_cache_misses_total',
    help: 'GETs of cacheable objects the gateway\'s object cache did not hold, by tier (memory, disk).',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      for (const [tier, stats] of tiers()) this.inc({ tier }, stats.misses);
    },
  });
  new Gauge({
    name: 'leofs_gateway_cache_bytes',
    help: 'Bytes of object bodies in the gateway\'s cache, by tier (memory, disk).',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      for (const [tier, stats] of tiers()) this.set({ tier }, stats.bytes);
    },
  });
  new Gauge({
    name: 'leofs_gateway_cache_entries',
    help: 'Objects in the gateway\'s cache, by tier (memory, disk).',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      for (const [tier, stats] of tiers()) this.set({ tier }, stats.entries);
    },
  });
  new Counter({
    name: 'leofs_gateway_same_machine_reads_total',
    help: 'Bodies a storage node on this machine pointed the gateway at in its files, by outcome (read: read there; fell_back: sent by the node after all).',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      if (sameMachine === undefined) return;
      this.inc({ outcome: 'read' }, sameMachine.counts.read);
      this.inc({ outcome: 'fell_back' }, sameMachine.counts.fellBack);
    },
  });
  new Counter({
    name: 'leofs_gateway_same_machine_writes_total',
    help: 'With sameMachineWrites on, bodies large enough to stage for a coordinator, by outcome (staged: the coordinator took the staging file; sent: the bytes were sent).',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      if (stagedWrites === undefined) return;
      this.inc({ outcome: 'staged' }, stagedWrites.stagedWriteCounts.staged);
      this.inc({ outcome: 'sent' }, stagedWrites.stagedWriteCounts.sent);
    },
  });
  const counted = new WeakMap<Socket, { read: number; written: number }>();
  return {
    answered({ api, operation, status, seconds, socket }) {
      const before = counted.get(socket) ?? { read: 0, written: 0 };
      const now = { read: socket.bytesRead, written: socket.bytesWritten };
      counted.set(socket, now);
      requests.inc({ api, operation, status: String(status) });
      latency.observe({ api, operation }, seconds);
      received.inc({ api, operation }, Math.max(0, now.read - before.read));
      sent.inc({ api, operation }, Math.max(0, now.written - before.written));
    },
  };
}
