/**
 * Every node's introspection actor at a well-known path: liveness (ping, with an optional delay to
 * probe callers' timeouts), peers and their link state, the actors of this node, the log level, and a
 * ping of another node from here (Erlang's net_adm:ping), which the admin shell uses.
 */
import type { Behavior } from '../../runtime/actor.js';
import { isLogLevel, type LogLevel } from '../../runtime/logger.js';
import { nodeInfoRef } from '../../protocol/cluster/paths.js';
import type { ActorSummary, NodeFacts, NodeInfoMessage, PingReply } from '../../protocol/cluster/node-info.js';
import type { PeerInfo } from '../../runtime/remote/transport.js';
import { ask } from '../../runtime/typed-ask.js';

const MAX_PING_DELAY_MS = 60_000;

export interface NodeIntrospection {
  facts(): NodeFacts;
  peers(): PeerInfo[];
  actors(): ActorSummary[];
  setLogLevel(level: LogLevel): void;
}

export function nodeInfoBehavior(introspection: NodeIntrospection): Behavior<null, NodeInfoMessage> {
  return {
    accepts: ['ping', 'ping_node', 'which_nodes', 'which_actors', 'set_log_level'],
    init: () => null,
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
        case 'set_log_level':
          if (!isLogLevel(message.level)) {
            ctx.system.reply(message.replyTo, { ok: false, code: 'BadLevel', message: `unknown log level ${String(message.level)}` });
            return state;
          }
          introspection.setLogLevel(message.level);
          ctx.log.info('log level changed', { level: message.level });
          ctx.system.reply(message.replyTo, { ok: true });
          return state;
      }
    },
  };
}
