/**
 * The contract of a vnode, the single writer of one ring range on a storage node: the replica writes
 * and reverts that the node's router and write coordinator hand it. Vnodes are never addressed from
 * another node.
 */
import type { Hlc } from '../../core/hlc.js';
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import type { ReplyTo } from '../../runtime/refs.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import type { ReplicaPutReply, StorageError } from './storage.js';

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
