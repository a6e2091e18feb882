/**
 * A vnode: the single writer of one range of the ring on this node. Writes to keys of its range pass
 * through its mailbox in arrival order; each write is handed to the store without waiting for the
 * previous commit, so many writes share one LMDB transaction and fsync (group commit).
 */
import type { Hlc } from '../../core/hlc.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import type { RingPosition } from '../../core/ring/position.js';
import type { Behavior } from '../../runtime/actor.js';
import type { ReplyTo } from '../../runtime/refs.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import { applyReplicaWrite, revertReplicaWrite } from './replica-ops.js';
import type { ObjectKind, ReplicaPutReply, StorageError } from './router-messages.js';
import type { StorageContext } from './storage-context.js';

export type VnodeMessage =
  | {
      readonly type: 'put';
      readonly objectKind: ObjectKind;
      readonly meta: ObjectMeta;
      readonly body?: Uint8Array;
      readonly keepPrevious: boolean;
      readonly replyTo: ReplyTo<ReplicaPutReply>;
    }
  | { readonly type: 'revert'; readonly address: ObjectAddress; readonly clock: Hlc; readonly replyTo?: ReplyTo<{ ok: true; reverted: boolean } | StorageError> };

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
