/**
 * The manager's member directory: which nodes have joined, where they accept connections, and whether
 * they are up. Joining nodes get the whole list back and every member is told of changes, so nodes find
 * each other through the manager alone.
 */
import type { ActorApi, Behavior } from '../../runtime/actor.js';
import type { NodeEvent } from '../../runtime/system.js';
import type { ReplyTo } from '../../runtime/refs.js';
import { directoryRef } from '../common/paths.js';

export type MemberState = 'running' | 'stop';

export interface MemberView {
  readonly node: string;
  readonly role: string;
  readonly address: string | null;
  readonly state: MemberState;
}

export type JoinReply = { ok: true; members: readonly MemberView[] };

export type MembersMessage =
  | { readonly type: 'join'; readonly node: string; readonly role: string; readonly address: string | null; readonly replyTo: ReplyTo<JoinReply> }
  | { readonly type: 'list'; readonly replyTo: ReplyTo<{ ok: true; members: readonly MemberView[] }> }
  | { readonly type: 'node_event'; readonly event: NodeEvent };

export interface MembersDeps {
  readonly self: MemberView;
  /** Subscribes the actor to node up/down events; returns the unsubscribe function. */
  readonly watchNodes: (listener: (event: NodeEvent) => void) => () => void;
}

interface MembersState {
  readonly members: Map<string, MemberView>;
  readonly unwatch: () => void;
}

export function membersBehavior(deps: MembersDeps): Behavior<MembersState, MembersMessage> {
  return {
    accepts: ['join', 'list'],
    init(ctx) {
      const members = new Map<string, MemberView>([[deps.self.node, deps.self]]);
      const unwatch = deps.watchNodes((event) => ctx.system.dispatch(ctx.self, { type: 'node_event', event }));
      return { members, unwatch };
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'join': {
          const member: MemberView = { node: String(message.node), role: String(message.role), address: message.address ?? null, state: 'running' };
          state.members.set(member.node, member);
          ctx.log.info('node joined', { member: member.node, role: member.role, address: member.address });
          ctx.system.reply(message.replyTo, { ok: true, members: [...state.members.values()] });
          broadcast(state, ctx.system, member.node);
          return state;
        }
        case 'list':
          ctx.system.reply(message.replyTo, { ok: true, members: [...state.members.values()] });
          return state;
        case 'node_event': {
          const member = state.members.get(message.event.node);
          if (!member) return state;
          const next: MemberState = message.event.type === 'nodeup' ? 'running' : 'stop';
          if (member.state === next) return state;
          state.members.set(member.node, { ...member, state: next });
          broadcast(state, ctx.system, undefined);
          return state;
        }
      }
    },
    terminate(state) {
      state.unwatch();
    },
  };
}

/** Tells every running member (but `except`, which got the list in its reply) of the current list. */
function broadcast(state: MembersState, system: ActorApi, except: string | undefined): void {
  const members = [...state.members.values()];
  for (const member of members) {
    if (member.node === system.node || member.node === except || member.state !== 'running') continue;
    system.dispatch(directoryRef(member.node), { type: 'members', members });
  }
}
