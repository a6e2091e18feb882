/**
 * The contract of a storage node's lifecycle worker: how far its passes over the buckets with lifecycle
 * rules have come and what they did, and why one key was or was not expired. The rules themselves:
 * core/lifecycle.ts.
 */
import type { LifecycleAction, LifecycleConfig } from '../../core/lifecycle.js';
import { actorRef, type ActorRef, type ReplyTo } from '../../runtime/refs.js';

export const LIFECYCLE_PATH = '/node/storage/lifecycle';

/** What a pass did to one bucket, counted over the keys this node judges (it is their first replica). */
export interface LifecycleCounts {
  readonly scanned: number;
  /** Current versions expired: delete markers put over them, or deleted where the bucket is unversioned. */
  readonly expired: number;
  readonly versionsRemoved: number;
  readonly markersRemoved: number;
  readonly uploadsAborted: number;
  /** Versions whose object lock kept them. */
  readonly locked: number;
  /** Actions that failed (the cluster could not be reached, a version changed meanwhile); tried again next pass. */
  readonly failed: number;
}

export interface BucketLifecycleProgress {
  readonly bucket: string;
  /** When the pass now over this bucket started, if one is. */
  readonly runningSinceMs?: number;
  readonly running?: LifecycleCounts;
  /** The last finished pass over this bucket. */
  readonly lastRun?: LifecycleCounts & { readonly startedAtMs: number; readonly finishedAtMs: number };
  /** Everything done to this bucket since the node started. */
  readonly total?: LifecycleCounts;
}

export interface LifecycleStatus {
  readonly ok: true;
  readonly node: string;
  readonly buckets: readonly BucketLifecycleProgress[];
}

export type LifecycleExplainReply =
  | { readonly ok: true; readonly node: string; readonly nowMs: number; readonly actions: readonly LifecycleAction[]; readonly explanation: readonly string[] }
  | { readonly ok: false; readonly code: 'Unavailable' | 'BadRequest'; readonly message: string };

export type LifecycleMessage =
  | { readonly type: 'tick' }
  | { readonly type: 'status'; readonly replyTo: ReplyTo<LifecycleStatus> }
  /** Why the key `key` of the bucket stored as `namespace` is or is not expired under `config` now. */
  | {
      readonly type: 'explain';
      readonly namespace: string;
      readonly key: string;
      readonly config: LifecycleConfig;
      readonly versioned: boolean;
      readonly replyTo: ReplyTo<LifecycleExplainReply>;
    };

export const lifecycleRef = (node: string): ActorRef<LifecycleMessage> => actorRef(node, LIFECYCLE_PATH);
