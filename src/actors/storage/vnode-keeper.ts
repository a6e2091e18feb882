/**
 * Keeps one vnode running for every range of the current ring that this node holds, starting and
 * stopping them under the vnodes supervisor as the ring changes.
 */
import { rangesOfNode } from '../../core/ring/ranges.js';
import type { RingSnapshot } from '../../core/ring/ring-document.js';
import type { Behavior } from '../../runtime/actor.js';
import type { ActorRef } from '../../runtime/refs.js';
import { worker, type SupervisorMessage } from '../../runtime/supervisor.js';
import type { StorageContext } from './storage-context.js';
import type { VnodeMessage } from '../../protocol/cluster/vnode.js';
import { vnodeBehavior, vnodeName } from './vnode.js';
import { ask } from '../../runtime/typed-ask.js';

const SUPERVISOR_ASK_TIMEOUT_MS = 30_000;

export type VnodeKeeperMessage = { readonly type: 'ring_changed' };

interface KeeperState {
  appliedChecksum: number;
}

export function vnodeKeeperBehavior(context: StorageContext, vnodesSupervisor: ActorRef<SupervisorMessage>): Behavior<KeeperState, VnodeKeeperMessage> {
  return {
    accepts: [],
    init(ctx) {
      ctx.onEnd(context.ringView.subscribe(() => ctx.system.dispatch(ctx.self, { type: 'ring_changed' })));
      if (context.ringView.current) ctx.system.dispatch(ctx.self, { type: 'ring_changed' });
      return { appliedChecksum: 0 };
    },
    async receive(state, _message, ctx) {
      const snapshot = context.ringView.current;
      if (!snapshot || snapshot.checksum === state.appliedChecksum) return state;
      const { started, stopped } = await converge(snapshot);
      state.appliedChecksum = snapshot.checksum;
      ctx.log.info('vnodes follow the ring', { checksum: snapshot.checksum, running: context.vnodes.size, started, stopped });
      return state;

      async function converge(ring: RingSnapshot): Promise<{ started: number; stopped: number }> {
        const wanted = new Map(rangesOfNode(ring.current, context.node, ring.doc.settings.n).map((range) => [range.end, range]));
        let stopped = 0;
        for (const end of [...context.vnodes.keys()]) {
          if (wanted.has(end)) continue;
          context.vnodes.delete(end);
          await ask(ctx.system, vnodesSupervisor, { type: 'terminate_child', name: vnodeName({ start: end, end }) }, SUPERVISOR_ASK_TIMEOUT_MS);
          stopped++;
        }
        let started = 0;
        for (const [end, range] of wanted) {
          if (context.vnodes.has(end)) continue;
          const spec = worker(vnodeName(range), vnodeBehavior(context, range));
          const reply = await ask(ctx.system, vnodesSupervisor, { type: 'start_child', spec }, SUPERVISOR_ASK_TIMEOUT_MS);
          if (reply.ok) {
            context.vnodes.set(end, reply.ref as ActorRef<VnodeMessage>);
            started++;
          } else {
            ctx.log.warn('vnode did not start', { end, reason: reply.message });
          }
        }
        return { started, stopped };
      }
    },
  };
}
