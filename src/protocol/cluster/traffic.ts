/**
 * The contract of the managers' traffic sampler: every manager samples each member's request counters
 * every few seconds and keeps the last hour of each as points of rates and latencies (core/traffic-history.ts),
 * which the admin command `metrics_history` reads.
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';
import type { TrafficCounters, TrafficPoint } from '../../core/traffic-history.js';

export const TRAFFIC_SAMPLER_PATH = '/node/manager/traffic';

export interface NodeTrafficHistory {
  readonly node: string;
  readonly role: string;
  readonly points: readonly TrafficPoint[];
}

export interface TrafficHistoryReply {
  readonly ok: true;
  /** How often the members are sampled, and how far back points are kept. */
  readonly intervalMs: number;
  readonly windowMs: number;
  /** When the members were last sampled (all answers in); null before the first sample. */
  readonly lastSampleAtMs: number | null;
  readonly nodes: readonly NodeTrafficHistory[];
}

export type TrafficSamplerMessage =
  /** `node` absent: every node with request counters. */
  | { readonly type: 'history'; readonly node?: string; readonly replyTo: ReplyTo<TrafficHistoryReply> }
  /** Internal: time to sample the members. */
  | { readonly type: 'sample' }
  /** Internal: what the members answered, at `atMs` (counters undefined: the node did not answer). */
  | { readonly type: 'sampled'; readonly atMs: number; readonly answers: ReadonlyArray<{ readonly node: string; readonly role: string; readonly counters: TrafficCounters | undefined }> };

export const trafficSamplerRef = (managerNode: string): ActorRef<TrafficSamplerMessage> => actorRef(managerNode, TRAFFIC_SAMPLER_PATH);
