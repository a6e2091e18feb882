/**
 * Every non-manager node's view of the cluster's members. It joins the managers' leader (found through
 * the manager link), learns every member's address from the answer and from later pushes, and hands
 * them to the transport. It joins again whenever that may be needed: the leader's node went down or
 * came back (it may have restarted), a join failed, or the regular check finds another leader.
 */
import type { Behavior } from '../../runtime/actor.js';
import type { TimerHandle } from '../../runtime/clock.js';
import type { NodeEvent } from '../../runtime/system.js';
import type { DirectoryMessage } from '../../protocol/cluster/directory.js';
import type { MemberView, StorageJoin } from '../../protocol/cluster/ring-keeper.js';
import { ringKeeperRef } from '../../protocol/cluster/paths.js';
import { ask } from '../../runtime/typed-ask.js';
import type { ManagerLink } from './manager-link.js';
import type { NodeHealth } from './node-health.js';
import type { Logger } from '../../runtime/logger.js';
import { assertNever } from '../../core/assert-never.js';

const JOIN_TIMEOUT_MS = 5_000;
const JOIN_RETRY_INITIAL_MS = 200;
const JOIN_RETRY_MAX_MS = 5_000;
/** How often the leader joined is asked whether it still leads: one small ask, so a change is followed within about a second. */
export const LEADER_CHECK_INTERVAL_MS = 1_000;

export interface DirectoryDeps {
  readonly self: { readonly node: string; readonly role: string };
  /** What a storage node tells the manager about its place in the ring. */
  readonly storage?: StorageJoin;
  /** This node's own cluster address, once it listens. */
  readonly address: () => string | null;
  /** Finds the managers' leader; absent on the managers themselves. */
  readonly managers: Pick<ManagerLink, 'addresses' | 'leader' | 'confirm' | 'forget'> | undefined;
  readonly addPeer: (node: string, address: string) => void;
  readonly watchNodes: (listener: (event: NodeEvent) => void) => () => void;
  /** Told when this node has joined and whether the leader is reachable (readiness). */
  readonly health?: Pick<NodeHealth, 'markJoined' | 'managerLink'>;
}

interface DirectoryState {
  /** The leader this node last joined. */
  manager: string | undefined;
  members: readonly MemberView[];
  joining: boolean;
  checking: boolean;
  retryMs: number;
  retryTimer: TimerHandle | undefined;
}

export function directoryBehavior(deps: DirectoryDeps): Behavior<DirectoryState, DirectoryMessage> {
  return {
    accepts: ['members'],
    init(ctx) {
      ctx.onEnd(deps.watchNodes((event) => ctx.system.dispatch(ctx.self, { type: 'node_event', event })));
      if (deps.managers) {
        ctx.system.dispatch(ctx.self, { type: 'join' });
        ctx.clock.setInterval(() => ctx.system.dispatch(ctx.self, { type: 'check' }), LEADER_CHECK_INTERVAL_MS);
      }
      return { manager: undefined, members: [], joining: false, checking: false, retryMs: 0, retryTimer: undefined };
    },
    receive(state, message, ctx) {
      const managers = deps.managers;
      switch (message.type) {
        case 'join': {
          if (state.joining || !managers) return state;
          state.joining = true;
          state.retryTimer?.cancel();
          state.retryTimer = undefined;
          void (async () => {
            try {
              const leader = await managers.leader();
              const join = { node: deps.self.node, role: deps.self.role, address: deps.address(), ...(deps.storage ? { storage: deps.storage } : {}) };
              const reply = await ask(ctx.system, ringKeeperRef(leader), { type: 'join', ...join }, JOIN_TIMEOUT_MS);
              if (!reply.ok) {
                // NoProc: it no longer leads; anything else: let the next try find the leader afresh.
                managers.forget(leader);
                throw new Error(`${leader} answered ${reply.code}: ${reply.message}`);
              }
              ctx.system.dispatch(ctx.self, { type: 'joined', manager: leader, members: reply.members });
            } catch (error) {
              ctx.system.dispatch(ctx.self, { type: 'join_failed', reason: (error as Error).message });
            }
          })();
          return state;
        }
        case 'joined':
          state.joining = false;
          state.retryMs = 0;
          if (state.manager !== message.manager) ctx.log.info('joined the cluster', { manager: message.manager, members: message.members.length });
          state.manager = message.manager;
          deps.health?.markJoined(message.manager);
          learn(state, message.members, ctx.log);
          return state;
        case 'join_failed':
          state.joining = false;
          state.retryMs = Math.min(JOIN_RETRY_MAX_MS, state.retryMs === 0 ? JOIN_RETRY_INITIAL_MS : state.retryMs * 2);
          ctx.log.warn('cannot join the managers\' leader yet; retrying', { managers: managers?.addresses, reason: message.reason, retryMs: state.retryMs });
          state.retryTimer = ctx.clock.setTimeout(() => ctx.system.dispatch(ctx.self, { type: 'join' }), state.retryMs);
          return state;
        case 'check': {
          // Before the first join the retries look for the leader already.
          if (!managers || state.joining || state.checking || state.manager === undefined) return state;
          state.checking = true;
          managers.confirm().then(
            (leader) => ctx.system.dispatch(ctx.self, { type: 'checked', leader }),
            () => ctx.system.dispatch(ctx.self, { type: 'checked', leader: null }),
          );
          return state;
        }
        case 'checked':
          state.checking = false;
          if (message.leader !== null && message.leader !== state.manager && !state.joining) {
            ctx.log.info('the managers have another leader; joining it', { previous: state.manager, leader: message.leader });
            ctx.system.dispatch(ctx.self, { type: 'join' });
          }
          return state;
        case 'members':
          learn(state, Array.isArray(message.members) ? message.members : [], ctx.log);
          return state;
        case 'node_event':
          if (message.event.node !== state.manager) return state;
          deps.health?.managerLink(message.event.type === 'nodeup');
          // Gone: another manager may lead by now. Back: it may have restarted, so tell it we are here.
          if (message.event.type === 'nodedown') managers?.forget(state.manager);
          ctx.system.dispatch(ctx.self, { type: 'join' });
          return state;
        default:
          return assertNever(message);
      }
    },
  };

  /** Members as the manager pushes them; entries that are not members are left out (with a log line). */
  function learn(state: DirectoryState, pushed: readonly unknown[], log: Logger): void {
    const members = pushed.filter(isMemberLike);
    if (members.length < pushed.length) log.warn('left out malformed members of a push', { malformed: pushed.length - members.length });
    state.members = members;
    for (const member of members) {
      if (member.node !== deps.self.node && typeof member.address === 'string') deps.addPeer(member.node, member.address);
    }
  }
}

function isMemberLike(value: unknown): value is MemberView {
  if (typeof value !== 'object' || value === null) return false;
  const member = value as Partial<MemberView>;
  return typeof member.node === 'string' && (member.address === null || member.address === undefined || typeof member.address === 'string');
}
