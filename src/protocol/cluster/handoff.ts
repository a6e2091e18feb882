/**
 * The contract of a storage node's hand-off actor, which receives the data a rebalance moves to the
 * node. The manager's ring keeper asks it how far it has got, and drops the previous ring once every
 * receiving node says `done` for the change in progress.
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';

export const HANDOFF_PATH = '/node/storage/handoff';

/**
 * `idle`: the ring moves nothing to this node. `copying`: segments are pulled from their old holders.
 * `verifying`: copied segments are compared with their old holders until nothing there is newer.
 * `waiting`: no old holder of a segment answers; tried again shortly. `done`: every segment is here.
 * `checked`: verified once more after every node held the new ring (the manager asks for it).
 */
export type HandoffState = 'idle' | 'copying' | 'verifying' | 'waiting' | 'done' | 'checked';

export interface HandoffStatus {
  readonly ok: true;
  /** The rebalance these moves belong to (core/ring/ring-document.ts rebalanceIdOf); empty when none. */
  readonly change: string;
  readonly state: HandoffState;
  readonly segments: number;
  readonly segmentsDone: number;
  /** Objects and bytes received for rebalance `change`, across restarts; once it is over, kept (state idle) until the next one. */
  readonly objects: number;
  readonly bytes: number;
  /** Receiving rate over the last few seconds. */
  readonly bytesPerSec: number;
  /** Estimated time left, from the share of segments done; null when unknown. */
  readonly etaSeconds: number | null;
  /** The limit in force, 0 for none. */
  readonly rateLimitBytesPerSec: number;
  readonly lastError?: string;
  /** The node still holds data of ranges a finished rebalance moved away (until releaseGraceMs has passed). */
  readonly releasePending: boolean;
}

export type HandoffMessage =
  | { readonly type: 'status'; readonly replyTo: ReplyTo<HandoffStatus> }
  /** From the manager, once every node holds the ring of rebalance `change`: verify every segment once more. */
  | { readonly type: 'final_check'; readonly change: string };

export const handoffRef = (node: string): ActorRef<HandoffMessage> => actorRef(node, HANDOFF_PATH);
