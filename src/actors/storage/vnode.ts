/**
 * A vnode: the single writer of one range of the ring on this node. Writes to keys of its range pass
 * through its mailbox in arrival order; each write is handed to the store without waiting for the
 * previous commit, so many writes share one LMDB transaction and fsync (group commit).
 */
import type { RingPosition } from '../../core/ring/position.js';
import type { Behavior } from '../../runtime/actor.js';
import { applyReplicaWrite, revertReplicaWrite } from './replica-ops.js';
import type { VnodeMessage } from '../../protocol/cluster/vnode.js';
import type { StorageContext } from './storage-context.js';

export interface VnodeRange {
  /** Exclusive start and inclusive end ring positions. */
  readonly start: RingPosition;
  readonly end: RingPosition;
}

export function vnodeName(range: VnodeRange): string {
  return `vn_${range.end}`;
}

export function vnodeBehavior(context: StorageContext, range: VnodeRange): Behavior<VnodeRange, VnodeMessage> {
  return {
    accepts: [],
    init: () => range,
    receive(state, message, ctx) {
      switch (message.type) {
        case 'put':
          void applyReplicaWrite(context, message).then((reply) => ctx.system.reply(message.replyTo, reply));
          return state;
        case 'revert':
          void revertReplicaWrite(context, message.address, message.clock).then((reply) => {
            if (message.replyTo) ctx.system.reply(message.replyTo, reply);
          });
          return state;
      }
    },
  };
}
