/**
 * Every non-manager node's view of the cluster's members. It joins the manager whose address was given
 * on the command line, learns every member's address from the answer and from later pushes, and hands
 * them to the transport; it joins again whenever the manager comes back.
 */
import type { Behavior } from '../../runtime/actor.js';
import type { TimerHandle } from '../../runtime/clock.js';
import type { NodeEvent } from '../../runtime/system.js';
import type { DirectoryMessage } from '../../protocol/cluster/directory.js';
import type { MemberView, StorageJoin } from '../../protocol/cluster/ring-keeper.js';
import { ringKeeperRef } from '../../protocol/cluster/paths.js';
import { ask } from '../../runtime/typed-ask.js';
import type { NodeHealth } from './node-health.js';
import type { Logger } from '../../runtime/logger.js';

const JOIN_TIMEOUT_MS = 5_000;
const JOIN_RETRY_INITIAL_MS = 200;
const JOIN_RETRY_MAX_MS = 5_000;

export interface DirectoryDeps {
  readonly self: { readonly node: string; readonly role: string };
  /** What a storage node tells the manager about its place in the ring. */
  readonly storage?: StorageJoin;
  /** This node's own cluster address, once it listens. */
  readonly address: () => string | null;
  /** host:port of the manager; absent on the manager itself. */
  readonly managerAddress: string | undefined;
  readonly connect: (address: string) => Promise<string>;
  readonly addPeer: (node: string, address: string) => void;
  readonly watchNodes: (listener: (event: NodeEvent) => void) => () => void;
  /** Told when this node has joined and whether the manager is reachable (readiness). */
  readonly health?: Pick<NodeHealth, 'markJoined' | 'managerLink'>;
}

interface DirectoryState {
  manager: string | undefined;
  members: readonly MemberView[];
  joining: boolean;
  retryMs: number;
  retryTimer: TimerHandle | undefined;
}

export function directoryBehavior(deps: DirectoryDeps): Behavior<DirectoryState, DirectoryMessage> {
  return {
    accepts: ['members'],
    init(ctx) {
      ctx.onEnd(deps.watchNodes((event) => ctx.system.dispatch(ctx.self, { type: 'node_event', event })));
      if (deps.managerAddress) ctx.system.dispatch(ctx.self, { type: 'join' });
      return { manager: undefined, members: [], joining: false, retryMs: 0, retryTimer: undefined };
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'join': {
          if (state.joining || !deps.managerAddress) return state;
          state.joining = true;
          state.retryTimer = undefined;
          const managerAddress = deps.managerAddress;
          void (async () => {
            try {
              const manager = await deps.connect(managerAddress);
              const join = { node: deps.self.node, role: deps.self.role, address: deps.address(), ...(deps.storage ? { storage: deps.storage } : {}) };
              const reply = await ask(ctx.system, ringKeeperRef(manager), { type: 'join', ...join }, JOIN_TIMEOUT_MS);
              if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
              ctx.system.dispatch(ctx.self, { type: 'joined', manager, members: reply.members });
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
          ctx.log.warn('cannot join the manager yet; retrying', { manager: deps.managerAddress, reason: message.reason, retryMs: state.retryMs });
          state.retryTimer = ctx.clock.setTimeout(() => ctx.system.dispatch(ctx.self, { type: 'join' }), state.retryMs);
          return state;
        case 'members':
          learn(state, Array.isArray(message.members) ? message.members : [], ctx.log);
          return state;
        case 'node_event':
          if (message.event.node === state.manager) deps.health?.managerLink(message.event.type === 'nodeup');
          // A manager that comes back may have restarted: tell it we are here.
          if (message.event.type === 'nodeup' && message.event.node === state.manager) ctx.system.dispatch(ctx.self, { type: 'join' });
          return state;
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
