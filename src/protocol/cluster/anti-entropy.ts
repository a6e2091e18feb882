/**
 * The contract of a storage node's anti-entropy: its progress, and the recovery commands that make it
 * compare ranges at once (LeoFS's recover-node and recover-consistency).
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';

export const ANTI_ENTROPY_PATH = '/node/storage/anti_entropy';

export interface AntiEntropyStats {
  readonly ok: true;
  readonly rangesHeld: number;
  readonly roundsDone: number;
  readonly keysSynced: number;
  /** Ranges (times peers) queued ahead of the regular walk: a peer back up, or a recovery asked for. */
  readonly urgentPending: number;
}

export type AntiEntropyControl =
  | { readonly type: 'stats'; readonly replyTo: ReplyTo<AntiEntropyStats> }
  /** Compare every range shared with `peer` now (recover-node: the peer lost its data). */
  | { readonly type: 'recover_peer'; readonly peer: string; readonly replyTo?: ReplyTo<AntiEntropyStats> }
  /** Compare every range this node holds with every other holder now (recover-consistency). */
  | { readonly type: 'full_pass'; readonly replyTo?: ReplyTo<AntiEntropyStats> };

export const antiEntropyRef = (node: string): ActorRef<AntiEntropyControl> => actorRef(node, ANTI_ENTROPY_PATH);
