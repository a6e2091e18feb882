/**
 * Bucket changes the gateway cannot make itself: creating, deleting and re-permissioning a bucket is
 * the manager's, which then pushes the new snapshot to every gateway. Handlers see this small
 * interface; `managerBucketAdmin` implements it over the cluster, tests with a fake.
 */
import type { BucketAcl } from '../../core/auth-snapshot.js';
import type { BucketVersioning } from '../../core/object-versioning.js';
import type { Tags } from '../../core/object-tags.js';
import type { ObjectLockConfig } from '../../core/object-lock.js';
import type { LifecycleConfig } from '../../core/lifecycle.js';
import type { ActorApi } from '../../runtime/actor.js';
import { runtimeFailure, type RuntimeFailure } from '../../runtime/failures.js';
import type { AuthMessage, BucketDocument, CreateBucketReply, UpdateAclReply } from '../../protocol/cluster/auth.js';
import type { BucketDeletionMessage, DeleteBucketReply } from '../../protocol/cluster/bucket-deletion.js';
import type { ActorRef } from '../../runtime/refs.js';
import { authRef, bucketDeletionRef } from '../../protocol/cluster/paths.js';

export interface CreateBucketRequest {
  readonly name: string;
  readonly owner: string;
  readonly acl: BucketAcl;
  readonly location: string | undefined;
  /** Create it with object lock enabled. */
  readonly objectLock?: boolean;
}

export interface BucketAdmin {
  create(request: CreateBucketRequest): Promise<CreateBucketReply | RuntimeFailure>;
  /** Deletes the bucket if it holds no object (BucketNotEmpty otherwise); uploads in progress go with it. */
  delete(name: string, requester: string): Promise<DeleteBucketReply | RuntimeFailure>;
  updateAcl(name: string, requester: string, acl: BucketAcl): Promise<UpdateAclReply | RuntimeFailure>;
  updateVersioning(name: string, requester: string, status: BucketVersioning): Promise<UpdateAclReply | RuntimeFailure>;
  updateObjectLock(name: string, requester: string, config: ObjectLockConfig): Promise<UpdateAclReply | RuntimeFailure>;
  /** Sets the lifecycle rules; null removes them. */
  updateLifecycle(name: string, requester: string, config: LifecycleConfig | null): Promise<UpdateAclReply | RuntimeFailure>;
  /** Sets or removes one of the bucket's documents (its policy, ...). */
  updateDocument(name: string, requester: string, document: BucketDocument): Promise<UpdateAclReply | RuntimeFailure>;
  /** Replaces the bucket's tags; an empty set removes them. */
  updateTags(name: string, requester: string, tags: Tags): Promise<UpdateAclReply | RuntimeFailure>;
}

export interface ManagerBucketAdminDeps {
  readonly api: ActorApi;
  /** The manager's node name, once known; undefined while no manager can be reached. */
  readonly managerNode: () => Promise<string | undefined>;
  readonly timeoutMs: number;
  /** Deleting a bucket asks every storage node, so it may take longer than other changes. */
  readonly deleteTimeoutMs: number;
}

export function managerBucketAdmin(deps: ManagerBucketAdminDeps): BucketAdmin {
  async function askManager<M extends AuthMessage | BucketDeletionMessage, R>(
    actor: (manager: string) => ActorRef<M>,
    build: (replyTo: Parameters<ActorApi['reply']>[0]) => M,
    timeoutMs: number,
  ): Promise<R | RuntimeFailure> {
    const manager = await deps.managerNode();
    if (manager === undefined) return runtimeFailure('NodeDown', 'no manager is reachable');
    return deps.api.ask<M, R>(actor(manager), build as never, timeoutMs);
  }
  const ask = <R>(build: (replyTo: Parameters<ActorApi['reply']>[0]) => AuthMessage): Promise<R | RuntimeFailure> => askManager<AuthMessage, R>(authRef, build, deps.timeoutMs);
  return {
    create: (request) =>
      ask<CreateBucketReply>((replyTo) => ({
        type: 'create_bucket',
        name: request.name,
        owner: request.owner,
        acl: request.acl,
        ...(request.location === undefined ? {} : { location: request.location }),
        ...(request.objectLock ? { objectLock: true } : {}),
        replyTo,
      })),
    delete: (name, requester) =>
      askManager<BucketDeletionMessage, DeleteBucketReply>(bucketDeletionRef, (replyTo) => ({ type: 'delete_bucket', name, requester, withContent: false, replyTo }), deps.deleteTimeoutMs),
    updateAcl: (name, requester, acl) => ask<UpdateAclReply>((replyTo) => ({ type: 'update_acl', name, requester, acl, replyTo })),
    updateVersioning: (name, requester, status) => ask<UpdateAclReply>((replyTo) => ({ type: 'update_versioning', name, requester, status, replyTo })),
    updateObjectLock: (name, requester, config) => ask<UpdateAclReply>((replyTo) => ({ type: 'update_object_lock', name, requester, config, replyTo })),
    updateLifecycle: (name, requester, config) => ask<UpdateAclReply>((replyTo) => ({ type: 'update_lifecycle', name, requester, config, replyTo })),
    updateDocument: (name, requester, document) => ask<UpdateAclReply>((replyTo) => ({ type: 'update_bucket_document', name, requester, document, replyTo })),
    updateTags: (name, requester, tags) => ask<UpdateAclReply>((replyTo) => ({ type: 'update_bucket_tags', name, requester, tags, replyTo })),
  };
}
