/**
 * Bucket changes the gateway cannot make itself: creating, deleting and re-permissioning a bucket is
 * the managers' leader's, which then pushes the new snapshot to every gateway. Handlers see this small
 * interface; `managerBucketAdmin` implements it over the cluster, tests with a fake.
 */
import type { BucketAcl } from '../../core/auth-snapshot.js';
import type { BucketVersioning } from '../../core/object-versioning.js';
import type { Tags } from '../../core/object-tags.js';
import type { ObjectLockConfig } from '../../core/object-lock.js';
import type { LifecycleConfig } from '../../core/lifecycle.js';
import type { RuntimeFailure } from '../../runtime/failures.js';
import type { AuthMessage, BucketDocument, CreateBucketReply, UpdateAclReply } from '../../protocol/cluster/auth.js';
import type { BucketDeletionMessage, DeleteBucketReply } from '../../protocol/cluster/bucket-deletion.js';
import { authRef, bucketDeletionRef } from '../../protocol/cluster/paths.js';
import type { ManagerLink } from '../common/manager-link.js';

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
  /** Finds the managers' leader, which makes bucket changes, and asks it again where it moved. */
  readonly managers: Pick<ManagerLink, 'askLeader'>;
  readonly timeoutMs: number;
  /** Deleting a bucket asks every storage node, so it may take longer than other changes. */
  readonly deleteTimeoutMs: number;
}

export function managerBucketAdmin(deps: ManagerBucketAdminDeps): BucketAdmin {
  const { managers, timeoutMs } = deps;
  return {
    create: (request) =>
      managers.askLeader<AuthMessage, 'create_bucket'>(
        authRef,
        {
          type: 'create_bucket',
          name: request.name,
          owner: request.owner,
          acl: request.acl,
          ...(request.location === undefined ? {} : { location: request.location }),
          ...(request.objectLock ? { objectLock: true } : {}),
        },
        timeoutMs,
        // Made again after a leader fell mid-way, it would answer "already exists" for a bucket just made.
        false,
      ),
    delete: (name, requester) =>
      managers.askLeader<BucketDeletionMessage, 'delete_bucket'>(bucketDeletionRef, { type: 'delete_bucket', name, requester, withContent: false }, deps.deleteTimeoutMs, false),
    updateAcl: (name, requester, acl) => managers.askLeader<AuthMessage, 'update_acl'>(authRef, { type: 'update_acl', name, requester, acl }, timeoutMs),
    updateVersioning: (name, requester, status) => managers.askLeader<AuthMessage, 'update_versioning'>(authRef, { type: 'update_versioning', name, requester, status }, timeoutMs),
    updateObjectLock: (name, requester, config) => managers.askLeader<AuthMessage, 'update_object_lock'>(authRef, { type: 'update_object_lock', name, requester, config }, timeoutMs),
    updateLifecycle: (name, requester, config) => managers.askLeader<AuthMessage, 'update_lifecycle'>(authRef, { type: 'update_lifecycle', name, requester, config }, timeoutMs),
    updateDocument: (name, requester, document) => managers.askLeader<AuthMessage, 'update_bucket_document'>(authRef, { type: 'update_bucket_document', name, requester, document }, timeoutMs),
    updateTags: (name, requester, tags) => managers.askLeader<AuthMessage, 'update_bucket_tags'>(authRef, { type: 'update_bucket_tags', name, requester, tags }, timeoutMs),
  };
}
