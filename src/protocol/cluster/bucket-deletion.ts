/**
 * The contract of the manager's bucket deletions: what a gateway (S3 DeleteBucket) and the admin ask,
 * what the ring keeper tells it of storage nodes, and the messages its own deletions send it back.
 */
import type { DeletedBucketRecord } from '../../core/bucket-deletion.js';
import type { ReplyTo } from '../../runtime/refs.js';
import type { PurgeState } from '../../store/namespace-records.js';
import type { AuthError } from './auth.js';

export type DeleteBucketReply =
  | {
      readonly ok: true;
      /** Storage nodes told that the namespace is deleted, of all storage members. */
      readonly notified: number;
      readonly storageNodes: number;
    }
  | AuthError<'NoSuchBucket' | 'AccessDenied' | 'BucketNotEmpty' | 'OperationAborted' | 'Unavailable' | 'InvalidArgument'>;

/** A storage node's part in removing one deleted bucket. */
export interface PurgeOnNode {
  readonly node: string;
  /** `not-notified`: the node does not know yet (it is told when it is back); `unreachable`: it did not answer. */
  readonly state: PurgeState | 'not-notified' | 'unreachable';
  readonly removedKeys?: number;
  readonly removedBytes?: number;
  readonly startedAtMs?: number;
  readonly finishedAtMs?: number;
}

export interface DeletedBucketStats {
  readonly name: string;
  readonly namespace: string;
  readonly owner: string;
  readonly deletedAtMs: number;
  readonly withContent: boolean;
  readonly nodes: readonly PurgeOnNode[];
}

export type DeleteBucketStatsReply = { readonly ok: true; readonly buckets: readonly DeletedBucketStats[] } | AuthError<'Unavailable'>;

export type BucketDeletionMessage =
  | {
      readonly type: 'delete_bucket';
      readonly name: string;
      /** The owner's user id (an admin acts as the owner). */
      readonly requester: string;
      /** Delete whatever the bucket holds (leofs-adm) rather than refuse a bucket that is not empty (S3). */
      readonly withContent: boolean;
      readonly replyTo: ReplyTo<DeleteBucketReply>;
    }
  /** A storage node joined or came back: it learns the deleted namespaces and the seals in force. */
  | { readonly type: 'storage_up'; readonly node: string }
  | { readonly type: 'stats'; readonly name?: string; readonly replyTo: ReplyTo<DeleteBucketStatsReply> }
  | { readonly type: 'recover' }
  | { readonly type: 'reconcile' }
  /** From the deletions running beside the mailbox: */
  | { readonly type: 'recorded'; readonly record: DeletedBucketRecord }
  | { readonly type: 'record_removed'; readonly namespace: string }
  | { readonly type: 'told'; readonly nodes: readonly string[]; readonly namespaces: readonly string[] }
  | { readonly type: 'finished'; readonly name: string }
  | { readonly type: 'reconciled' };
