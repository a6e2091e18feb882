/**
 * The manager's traffic sampler, on every manager whether it leads or not (so a newly elected leader
 * already has the last hour): every few seconds it asks each member's introspection actor for its
 * request counters, over the cluster transport as `leofs-adm status NODE` asks, and keeps the points
 * (core/traffic-history.ts) that the admin command `metrics_history` shows, as a table in leofs-adm
 * and as charts in the web console.
 *
 * The asks run off the mailbox and their answers come back as one message, so a slow node delays
 * neither the history's readers nor the next sample's start; a sample still running when the next is
 * due makes that one skipped (unless it has run past its asks' limit: its answer was lost, and the
 * sampler must not wait for it forever).
 */
import type { Behavior } from '../../runtime/actor.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import { ask } from '../../runtime/typed-ask.js';
import { assertNever } from '../../core/assert-never.js';
import { DEFAULT_TRAFFIC_WINDOW_MS, isTrafficCounters, TrafficHistory, type TrafficCounters } from '../../core/traffic-history.js';
import { nodeInfoRef } from '../../protocol/cluster/paths.js';
import type { TrafficSamplerMessage } from '../../protocol/cluster/traffic.js';

export const DEFAULT_TRAFFIC_SAMPLE_INTERVAL_MS = 10_000;
/** Members followed at most. */
const MAX_NODES = 512;

export interface TrafficSamplerDeps {
  /** The cluster's members now (this manager's copy of the replicated members). */
  readonly members: () => ReadonlyArray<{ readonly node: string; readonly role: string }>;
  readonly intervalMs?: number;
  readonly windowMs?: number;
  /** Limit on each member's answer (default: 0.8 of the interval, so answers are in before the next sample is due; at most 5 s). */
  readonly askTimeoutMs?: number;
}

interface SamplerState {
  readonly history: TrafficHistory;
  readonly roles: Map<string, string>;
  readonly timer: SelfTimer<TrafficSamplerMessage>;
  /** When the sample under way started; null when none is. */
  samplingSinceMs: number | null;
  lastSampleAtMs: number | null;
}

export function trafficSamplerBehavior(deps: TrafficSamplerDeps): Behavior<SamplerState, TrafficSamplerMessage> {
  const intervalMs = deps.intervalMs ?? DEFAULT_TRAFFIC_SAMPLE_INTERVAL_MS;
  const windowMs = deps.windowMs ?? DEFAULT_TRAFFIC_WINDOW_MS;
  const askTimeoutMs = deps.askTimeoutMs ?? Math.max(1, Math.min(Math.floor(intervalMs * 0.8), 5_000));
  return {
    accepts: ['history'],
    init(ctx) {
      const timer = new SelfTimer<TrafficSamplerMessage>(ctx, { type: 'sample' });
      timer.schedule(intervalMs);
      return { history: new TrafficHistory({ windowMs, intervalMs, maxNodes: MAX_NODES }), roles: new Map(), timer, samplingSinceMs: null, lastSampleAtMs: null };
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'sample': {
          state.timer.schedule(intervalMs);
          const atMs = ctx.clock.now();
          // Every ask ends within askTimeoutMs: a sample running longer lost its answer.
          if (state.samplingSinceMs !== null && atMs - state.samplingSinceMs <= askTimeoutMs) return state;
          state.samplingSinceMs = atMs;
          const members = deps.members();
          const answerOf = async (node: string, role: string): Promise<{ node: string; role: string; counters: TrafficCounters | undefined } | null> => {
            try {
              const reply = await ask(ctx.system, nodeInfoRef(node), { type: 'traffic' }, askTimeoutMs);
              if (isRuntimeFailure(reply)) return { node, role, counters: undefined };
              // null: the node answers no clients' requests; nothing to chart.
              if (reply.traffic === null) return null;
              return { node, role, counters: isTrafficCounters(reply.traffic) ? (reply.traffic as TrafficCounters) : undefined };
            } catch {
              return { node, role, counters: undefined };
            }
          };
          void Promise.all(members.map(({ node, role }) => answerOf(node, role))).then((answers) =>
            ctx.system.dispatch(ctx.self, { type: 'sampled', atMs, answers: answers.filter((answer) => answer !== null) }),
          );
          return state;
        }
        case 'sampled': {
          if (state.samplingSinceMs === message.atMs) state.samplingSinceMs = null;
          state.lastSampleAtMs = message.atMs;
          for (const { node, role, counters } of message.answers) {
            state.history.record(node, message.atMs, counters);
            state.roles.set(node, role);
          }
          // A node taken out of the cluster leaves the charts with the sample that no longer asks it.
          const members = new Set(deps.members().map(({ node }) => node));
          for (const node of state.history.nodeNames()) if (!members.has(node)) state.history.forget(node);
          const followed = new Set(state.history.nodeNames());
          for (const node of state.roles.keys()) if (!followed.has(node)) state.roles.delete(node);
          return state;
        }
        case 'history': {
          const nowMs = ctx.clock.now();
          const names = state.history.nodeNames().filter((node) => message.node === undefined || node === message.node);
          const nodes = names.map((node) => ({ node, role: state.roles.get(node) ?? 'unknown', points: state.history.points(node, nowMs) }));
          ctx.system.reply(message.replyTo, { ok: true, intervalMs, windowMs, lastSampleAtMs: state.lastSampleAtMs, nodes });
          return state;
        }
        default:
          return assertNever(message);
      }
    },
  };
}
