/**
 * The contract of a storage node's recoverer, which drains its durable queues (LeoFS's mq-stats,
 * mq-suspend, mq-resume): `repair` makes one key equal on this node and a peer, `revert` undoes a write
 * that failed its quorum.
 */
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';

export const RECOVERER_PATH = '/node/storage/recoverer';
export const QUEUE_NAMES = ['repair', 'revert'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** As LeoFS shows them: idling (nothing due), running, suspended (mq-suspend). */
export type QueueState = 'idling' | 'running' | 'suspended';

export interface QueueStats {
  readonly ok: true;
  readonly queues: ReadonlyArray<{ readonly name: QueueName; readonly size: number; readonly state: QueueState }>;
}

export type QueueControlReply = QueueStats | { readonly ok: false; readonly code: 'UnknownQueue'; readonly message: string };

export type QueueControl =
  /** `queue` absent: every queue. */
  | { readonly type: 'suspend'; readonly queue?: string; readonly replyTo?: ReplyTo<QueueControlReply> }
  | { readonly type: 'resume'; readonly queue?: string; readonly replyTo?: ReplyTo<QueueControlReply> }
  | { readonly type: 'stats'; readonly replyTo: ReplyTo<QueueStats> };

export const recovererRef = (node: string): ActorRef<QueueControl> => actorRef(node, RECOVERER_PATH);

export function isQueueName(value: unknown): value is QueueName {
  return (QUEUE_NAMES as readonly unknown[]).includes(value);
}
