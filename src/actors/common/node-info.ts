/**
 * Every node's introspection actor at a well-known path: liveness (ping, with an optional delay to
 * probe callers' timeouts), peers and their link state, the actors of this node, the log level, a ping
 * of another node from here (Erlang's net_adm:ping), and what the admin shell uses: a message delivered
 * to any actor of this node, guarded so that it cannot crash it, and this node's log lines teed to
 * followers under a lease, and the node's request counters, which the managers sample for their charts.
 */
import { assertNever } from '../../core/assert-never.js';
import type { Behavior } from '../../runtime/actor.js';
import type { TimerHandle } from '../../runtime/clock.js';
import { runtimeFailure } from '../../runtime/failures.js';
import { isLogLevel, type LineObserver, type LogLevel } from '../../runtime/logger.js';
import { formatRef, isActorRef, type Message } from '../../runtime/refs.js';
import { nodeInfoRef } from '../../protocol/cluster/paths.js';
import type { ActorSummary, FollowReply, NodeFacts, NodeInfoMessage, PingReply } from '../../protocol/cluster/node-info.js';
import type { PeerInfo } from '../../runtime/remote/transport.js';
import { ask } from '../../runtime/typed-ask.js';
import type { TrafficCounters } from '../../core/traffic-history.js';
import { DEFAULT_LOG_TEE_LIMITS, LogTee, type LogTeeLimits } from './log-tee.js';

const MAX_PING_DELAY_MS = 60_000;
/** How often followers are sent what was logged. */
const LOG_FLUSH_INTERVAL_MS = 250;
/** A follower whose link has this much unsent is skipped until it drains (its own bound then drops lines). */
const FOLLOWER_BACKLOG_BYTES = 1024 * 1024;

export interface NodeIntrospection {
  facts(): NodeFacts;
  peers(): PeerInfo[];
  actors(): ActorSummary[];
  setLogLevel(level: LogLevel): void;
  /** Hands `message` to the local actor at `path`, guarded (see runtime/guarded.ts). */
  deliverGuarded(path: string, message: Message): void;
  /** Observes every line the node logs; returns what stops observing. */
  onLogLine(observer: LineObserver): () => void;
  /** Bytes waiting to be sent on the link to `node`. */
  linkBacklogBytes(node: string): number;
  /** The node's request counters; null when it answers no requests of clients. */
  traffic?(): Promise<TrafficCounters | null>;
}

interface NodeInfoState {
  readonly tee: LogTee;
  /** Set while anyone follows: the logger observer and the flush timer. */
  following: { readonly stopObserving: () => void; readonly flushTimer: TimerHandle } | undefined;
}

export function nodeInfoBehavior(introspection: NodeIntrospection, teeLimits: LogTeeLimits = DEFAULT_LOG_TEE_LIMITS): Behavior<NodeInfoState, NodeInfoMessage> {
  return {
    accepts: ['ping', 'ping_node', 'which_nodes', 'which_actors', 'set_log_level', 'traffic', 'deliver', 'follow', 'unfollow'],
    init: (ctx) => {
      const state: NodeInfoState = { tee: new LogTee(teeLimits, () => ctx.clock.now()), following: undefined };
      ctx.onEnd(() => state.following?.stopObserving());
      return state;
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'ping': {
          const facts = introspection.facts();
          const answer: PingReply = { ok: true, node: facts.node, role: facts.role, uptimeMs: ctx.clock.now() - facts.startedAtMs };
          const delayMs = Math.min(Math.max(0, Number(message.delayMs) || 0), MAX_PING_DELAY_MS);
          // The delay is served by a timer so the mailbox keeps flowing meanwhile.
          if (delayMs > 0) ctx.clock.setTimeout(() => ctx.system.reply(message.replyTo, answer), delayMs);
          else ctx.system.reply(message.replyTo, answer);
          return state;
        }
        case 'ping_node': {
          const startedMs = ctx.clock.now();
          const timeoutMs = Math.min(Math.max(1, Number(message.timeoutMs) || 1000), MAX_PING_DELAY_MS);
          void ask(ctx.system, nodeInfoRef(String(message.node)), { type: 'ping', delayMs: Number(message.delayMs) || 0 }, timeoutMs)
            .then((reply) => ctx.system.reply(message.replyTo, reply.ok ? { ok: true, node: reply.node, roundTripMs: ctx.clock.now() - startedMs } : reply));
          return state;
        }
        case 'which_nodes':
          ctx.system.reply(message.replyTo, { ok: true, facts: introspection.facts(), peers: introspection.peers() });
          return state;
        case 'which_actors':
          ctx.system.reply(message.replyTo, { ok: true, actors: introspection.actors() });
          return state;
        case 'traffic': {
          const replyTo = message.replyTo;
          // Read off the mailbox: a registry's collectors may ask other actors.
          void (introspection.traffic?.() ?? Promise.resolve(null)).then(
            (traffic) => ctx.system.reply(replyTo, { ok: true, traffic }),
            (error: unknown) => ctx.system.reply(replyTo, runtimeFailure('Crashed', `the node's counters could not be read: ${String(error)}`)),
          );
          return state;
        }
        case 'set_log_level':
          if (!isLogLevel(message.level)) {
            ctx.system.reply(message.replyTo, { ok: false, code: 'BadLevel', message: `unknown log level ${String(message.level)}` });
            return state;
          }
          introspection.setLogLevel(message.level);
          // Not `level`: that would overwrite the line's own level.
          ctx.log.info('log level changed', { to: message.level });
          ctx.system.reply(message.replyTo, { ok: true });
          return state;
        case 'deliver': {
          const inner = message.message;
          if (typeof message.path !== 'string' || !message.path.startsWith('/')) {
            ctx.system.reply(message.replyTo, runtimeFailure('BadMessage', `deliver needs an actor path starting with / (got ${JSON.stringify(message.path)})`));
            return state;
          }
          if (typeof inner !== 'object' || inner === null || Array.isArray(inner) || typeof (inner as { type?: unknown }).type !== 'string') {
            ctx.system.reply(message.replyTo, runtimeFailure('BadMessage', 'deliver needs a message: an object with a string type'));
            return state;
          }
          ctx.log.info('delivering a message for an operator', { path: message.path, messageType: (inner as Message).type });
          introspection.deliverGuarded(message.path, { ...(inner as Message), replyTo: message.replyTo } as Message);
          return state;
        }
        case 'follow': {
          if (!isActorRef(message.subscriber)) {
            ctx.system.reply(message.replyTo, { ok: false, code: 'BadFollow', message: 'follow needs a subscriber {node, path}' });
            return state;
          }
          const outcome = state.tee.follow(message.subscriber, Number(message.leaseMs));
          if (!outcome.ok) {
            ctx.system.reply(message.replyTo, outcome);
            return state;
          }
          if (!state.following) {
            state.following = {
              stopObserving: introspection.onLogLine((line) => state.tee.offer(line)),
              flushTimer: ctx.clock.setInterval(() => ctx.system.dispatch(ctx.self, { type: 'flush_log' }), LOG_FLUSH_INTERVAL_MS),
            };
          }
          // Logged once the follower is in, so its first batch says it is.
          if (!outcome.renewed) ctx.log.info('log follower added', { follower: formatRef(message.subscriber), leaseMs: outcome.leaseMs });
          const reply: FollowReply = { ok: true, node: ctx.system.node, leaseMs: outcome.leaseMs, linesPerSecond: teeLimits.linesPerSecond };
          ctx.system.reply(message.replyTo, reply);
          return state;
        }
        case 'unfollow': {
          const wasFollowing = isActorRef(message.subscriber) && state.tee.unfollow(message.subscriber);
          if (wasFollowing) ctx.log.info('log follower left', { follower: formatRef(message.subscriber) });
          stopWhenAlone(state);
          ctx.system.reply(message.replyTo, { ok: true, wasFollowing });
          return state;
        }
        case 'flush_log': {
          const { batches, lapsed } = state.tee.take((node) => introspection.linkBacklogBytes(node) > FOLLOWER_BACKLOG_BYTES);
          for (const { follower, lines, dropped } of batches) ctx.system.dispatch(follower, { type: 'log', node: ctx.system.node, lines, dropped });
          for (const follower of lapsed) ctx.log.info('log follower lapsed', { follower: formatRef(follower) });
          stopWhenAlone(state);
          return state;
        }
        default:
          return assertNever(message);
      }
    },
  };
}

/** With no follower left, the node stops observing its log. */
function stopWhenAlone(state: NodeInfoState): void {
  if (state.tee.size > 0 || !state.following) return;
  state.following.stopObserving();
  state.following.flushTimer.cancel();
  state.following = undefined;
}
