/**
 * The contract of a storage node's replicator, the coordinator of writes: what a gateway (or any
 * client of the cluster) sends to put or delete one object on the replicas of its key.
 */
import type { ObjectKind } from '../../core/object-meta.js';
import type { StagedBodyRef } from '../../core/staged-body-ref.js';
import type { WriteCondition } from '../../core/write-condition.js';
import type { VersionedWrite } from '../../core/object-versioning.js';
import { actorRef, type ReplyTo } from '../../runtime/refs.js';
import type { DeleteResult, ObjectFields, PutResult } from './storage-api.js';

export const REPLICATOR_PATH = '/node/storage/replicator';
/** Larger bodies are cut into chunks by the caller; this bounds what one message may carry. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * With a `condition`, the write happens only if the key's version satisfies it, decided atomically.
 * `writeId` names the write across the coordinators a client tries: a coordinator takes a write it has
 * taken before (a message delivered twice) only once, and one finishing a conditional write after
 * another went down recognises the version the first one made as this write's. `retried`: the client
 * sent this write to another coordinator first, which may still be working on it. A write with
 * `versioning` is always decided like a conditional one (core/object-versioning.ts).
 */
export type ReplicatorMessage =
  | {
      readonly type: 'put';
      readonly objectKind: ObjectKind;
      readonly fields: ObjectFields;
      readonly body?: Uint8Array;
      readonly condition?: WriteCondition;
      /** A write to a bucket with versioning (a `put`), or new tags for a version (a `retag`): decided against the key's versions, atomically. */
      readonly versioning?: VersionedWrite;
      readonly writeId?: string;
      readonly retried?: boolean;
      readonly replyTo: ReplyTo<PutResult>;
    }
  /**
   * A plain put whose body the writer staged on this node's machine (store/staged-bodies.ts) instead of
   * sending it. A coordinator that cannot take it answers StagedBodyRefused (one of a release before it,
   * BadMessage); the writer then sends the bytes.
   */
  | {
      readonly type: 'put_staged';
      readonly objectKind: ObjectKind;
      readonly fields: ObjectFields;
      readonly stagedBody: StagedBodyRef;
      readonly writeId?: string;
      readonly retried?: boolean;
      readonly replyTo: ReplyTo<PutResult>;
    }
  | {
      readonly type: 'delete';
      readonly objectKind: ObjectKind;
      readonly bucket: string;
      readonly key: string;
      readonly condition?: WriteCondition;
      /** A delete in a bucket with versioning (a `marker` or a `remove`). */
      readonly versioning?: VersionedWrite;
      readonly writeId?: string;
      readonly retried?: boolean;
      readonly replyTo: ReplyTo<DeleteResult>;
    };

export const replicatorRef = (node: string) => actorRef<ReplicatorMessage>(node, REPLICATOR_PATH);
