/**
 * The contract of a storage node's anti-entropy: its progress, and the recovery commands that make it
 * compare ranges at once (LeoFS's recover-node and recover-consistency).
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';

export const ANTI_ENTROPY_PATH = '/node/storage/anti_entropy';

/**
 * The last recovery asked of a node (recover-node on a peer's holders, recover-consistency on the node
 * itself): its ranges to compare, those compared so far, and the keys they repaired. Asked again while one
 * runs, the new ranges join it.
 */
export interface RecoveryProgress {
  readonly kind: 'node' | 'consistency';
  /** recover-node: the nodes being refilled (none for recover-consistency, which compares with every holder). */
  readonly peers: readonly string[];
  /** Ranges to compare, compared so far, and skipped because no other holder of theirs could be reached. */
  readonly ranges: number;
  readonly rangesDone: number;
  readonly rangesSkipped: number;
  /** Keys the comparisons repaired. */
  readonly keysSynced: number;
  /** Since it was asked for, until it finished (measured on the node, so clocks elsewhere do not matter). */
  readonly elapsedMs: number;
  readonly finished: boolean;
}

export interface AntiEntropyStats {
  readonly ok: true;
  readonly rangesHeld: number;
  readonly roundsDone: number;
  readonly keysSynced: number;
  /**
   * Ranges (times peers) queued ahead of the regular walk: a peer back up, a recovery asked for, or a
   * recovery's range waiting to be compared again with a peer it missed.
   */
  readonly urgentPending: number;
  /** Every range was in step with its peers for a whole walk: the walk goes on at the quiet pace. */
  readonly quiet: boolean;
  readonly recovery?: RecoveryProgress;
}

export type AntiEntropyControl =
  | { readonly type: 'stats'; readonly replyTo: ReplyTo<AntiEntropyStats> }
  /** Compare every range shared with `peer` now (recover-node: the peer lost its data). */
  | { readonly type: 'recover_peer'; readonly peer: string; readonly replyTo?: ReplyTo<AntiEntropyStats> }
  /** Compare every range this node holds with every other holder now (recover-consistency). */
  | { readonly type: 'full_pass'; readonly replyTo?: ReplyTo<AntiEntropyStats> };

export const antiEntropyRef = (node: string): ActorRef<AntiEntropyControl> => actorRef(node, ANTI_ENTROPY_PATH);
