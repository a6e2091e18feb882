/**
 * The contract of the manager's keeper of users, access keys, buckets and endpoints: what the
 * gateways ask about buckets, and what the manager's own actors ask about everything.
 */
import type { AccessKeyRecord, AccessKeyView, AuthSnapshot, BucketAcl, BucketRecord, EndpointRecord, UserRecord, UserRole, UserView } from '../../core/auth-snapshot.js';
import type { BucketVersioning } from '../../core/object-versioning.js';
import type { Tags } from '../../core/object-tags.js';
import type { ObjectLockConfig } from '../../core/object-lock.js';
import type { LifecycleConfig } from '../../core/lifecycle.js';
import type { BucketPolicy } from '../../core/bucket-policy.js';
import type { CorsConfig } from '../../core/cors.js';
import type { PublicAccessBlock } from '../../core/public-access-block.js';
import type { AclGrant, ObjectOwnership } from '../../core/acl.js';
import type { ReplyTo } from '../../runtime/refs.js';

/** An error reply: a stable code for programs and a sentence for people. */
export interface AuthError<C extends string> {
  readonly ok: false;
  readonly code: C;
  readonly message: string;
}

export type CreateBucketReply =
  | { readonly ok: true; readonly bucket: BucketRecord }
  | AuthError<'BucketAlreadyOwnedByYou' | 'BucketAlreadyExists' | 'InvalidBucketName' | 'InvalidArgument' | 'NoSuchUser'>;
export type RemoveBucketReply = { readonly ok: true; readonly removed: boolean };
/** The answer to a change of a bucket's settings (its ACL, its versioning). */
/** A bucket's default encryption: SSE-S3, or SSE-KMS under a named key (the current one when absent). */
export interface DefaultEncryption {
  readonly algorithm: 'AES256' | 'aws:kms';
  readonly kmsKeyId?: string;
}

/** A bucket setting kept whole as one document: what it is, and its new value (null: none). */
export type BucketDocument =
  | { readonly kind: 'policy'; readonly value: BucketPolicy | null }
  | { readonly kind: 'cors'; readonly value: CorsConfig | null }
  | { readonly kind: 'publicAccessBlock'; readonly value: PublicAccessBlock | null }
  | { readonly kind: 'defaultEncryption'; readonly value: DefaultEncryption | null }
  | { readonly kind: 'objectOwnership'; readonly value: ObjectOwnership | null }
  /** The bucket's ACL grant by grant; a canned ACL (update_acl) replaces them. */
  | { readonly kind: 'grants'; readonly value: readonly AclGrant[] };

export type UpdateAclReply = { readonly ok: true; readonly bucket: BucketRecord } | AuthError<'NoSuchBucket' | 'AccessDenied' | 'InvalidArgument' | 'InvalidBucketState'>;
export type GetBucketReply = { readonly ok: true; readonly bucket: BucketRecord } | AuthError<'NoSuchBucket'>;
export type ListBucketsReply = { readonly ok: true; readonly buckets: readonly BucketRecord[] };
export type GetSnapshotReply = { readonly ok: true; readonly snapshot: AuthSnapshot };

export type CreateUserReply = { readonly ok: true; readonly user: UserRecord } | AuthError<'UserAlreadyExists' | 'AccessKeyInUse' | 'InvalidArgument'>;
export type DeleteUserReply = { readonly ok: true } | AuthError<'NoSuchUser' | 'UserOwnsBuckets' | 'LastAdmin'>;
export type UpdateUserRoleReply = { readonly ok: true; readonly user: UserView } | AuthError<'NoSuchUser' | 'LastAdmin' | 'InvalidArgument'>;
export type GetUsersReply = { readonly ok: true; readonly users: readonly UserView[] };
export type UserByKeyReply = { readonly ok: true; readonly user: UserView } | AuthError<'NoSuchUser'>;
/** One answer for an unknown key and a wrong secret, so that a guess learns nothing of which keys exist. */
export type CheckSecretReply = { readonly ok: true; readonly user: UserView } | AuthError<'InvalidCredentials'>;
/** A key just made, with its secret: shown this once. */
export type AddAccessKeyReply = { readonly ok: true; readonly userId: string; readonly key: AccessKeyRecord } | AuthError<'NoSuchUser' | 'TooManyAccessKeys'>;
export type DeleteAccessKeyReply = { readonly ok: true } | AuthError<'NoSuchUser' | 'NoSuchAccessKey' | 'LastAccessKey'>;
/** A user's keys, oldest first, without their secrets. */
export type GetAccessKeysReply = { readonly ok: true; readonly userId: string; readonly keys: readonly AccessKeyView[] } | AuthError<'NoSuchUser'>;
export type ChownBucketReply = { readonly ok: true; readonly bucket: BucketRecord } | AuthError<'NoSuchBucket' | 'NoSuchUser'>;
export type EndpointReply = { readonly ok: true; readonly endpoints: readonly EndpointRecord[] } | AuthError<'InvalidArgument' | 'NoSuchEndpoint'>;

/** What the S3 gateway asks: bucket creation, ACL changes, lookups, the snapshot (deletion: bucket-deletion.ts). */
export type GatewayAuthMessage =
  | {
      readonly type: 'create_bucket';
      readonly name: string;
      /** The creating user's id. */
      readonly owner: string;
      readonly acl?: BucketAcl;
      readonly location?: string;
      /** Create the bucket with object lock enabled (and so versioned). */
      readonly objectLock?: boolean;
      readonly replyTo: ReplyTo<CreateBucketReply>;
    }
  | { readonly type: 'update_acl'; readonly name: string; readonly requester: string; readonly acl: BucketAcl; readonly replyTo: ReplyTo<UpdateAclReply> }
  /** Enables or suspends versioning; a bucket once versioned never returns to unversioned. */
  | { readonly type: 'update_versioning'; readonly name: string; readonly requester: string; readonly status: BucketVersioning; readonly replyTo: ReplyTo<UpdateAclReply> }
  /** Sets the object lock configuration; the bucket must be versioned (Enabled). */
  | { readonly type: 'update_object_lock'; readonly name: string; readonly requester: string; readonly config: ObjectLockConfig; readonly replyTo: ReplyTo<UpdateAclReply> }
  /** Sets the lifecycle rules; null removes them. */
  | { readonly type: 'update_lifecycle'; readonly name: string; readonly requester: string; readonly config: LifecycleConfig | null; readonly replyTo: ReplyTo<UpdateAclReply> }
  /** Sets one of the bucket's documents, already checked by the gateway; a null value removes it. */
  | { readonly type: 'update_bucket_document'; readonly name: string; readonly requester: string; readonly document: BucketDocument; readonly replyTo: ReplyTo<UpdateAclReply> }
  /** Replaces the bucket's tags; none removes them. */
  | { readonly type: 'update_bucket_tags'; readonly name: string; readonly requester: string; readonly tags: Tags; readonly replyTo: ReplyTo<UpdateAclReply> }
  | { readonly type: 'get_bucket'; readonly name: string; readonly replyTo: ReplyTo<GetBucketReply> }
  /** Every bucket when `owner` is absent. */
  | { readonly type: 'list_buckets'; readonly owner?: string; readonly replyTo: ReplyTo<ListBucketsReply> }
  | { readonly type: 'get_snapshot'; readonly replyTo: ReplyTo<GetSnapshotReply> };

/** What only the manager's own actors send (the admin actor, the ring keeper, the bucket deletion). */
export type AdminAuthMessage =
  /**
   * The bucket deletion decided that the incarnation `namespace` ends: the record goes, if it is still
   * that incarnation's (a bucket created again since is not touched).
   */
  | { readonly type: 'remove_bucket'; readonly name: string; readonly namespace: string; readonly replyTo: ReplyTo<RemoveBucketReply> }
  | {
      readonly type: 'create_user';
      readonly userId: string;
      readonly role?: UserRole;
      /** Both given: import a user with these keys; both absent: generate them. */
      readonly accessKeyId?: string;
      readonly secretAccessKey?: string;
      /** The name S3 shows as the owner's DisplayName; the user id when absent. */
      readonly displayName?: string;
      readonly replyTo: ReplyTo<CreateUserReply>;
    }
  | { readonly type: 'delete_user'; readonly userId: string; readonly replyTo: ReplyTo<DeleteUserReply> }
  | { readonly type: 'update_user_role'; readonly userId: string; readonly role: UserRole; readonly replyTo: ReplyTo<UpdateUserRoleReply> }
  | { readonly type: 'get_users'; readonly replyTo: ReplyTo<GetUsersReply> }
  | { readonly type: 'user_by_key'; readonly accessKeyId: string; readonly replyTo: ReplyTo<UserByKeyReply> }
  /** Whether `secretAccessKey` is the secret of `accessKeyId` (the web console's login). */
  | { readonly type: 'check_secret'; readonly accessKeyId: string; readonly secretAccessKey: string; readonly replyTo: ReplyTo<CheckSecretReply> }
  /** A new key for the user, beside the one it has (rotation: make one, move clients to it, delete the old). */
  | { readonly type: 'add_access_key'; readonly userId: string; readonly replyTo: ReplyTo<AddAccessKeyReply> }
  /** Deletes one of the user's keys; its last key stays (delete the user instead). */
  | { readonly type: 'delete_access_key'; readonly userId: string; readonly accessKeyId: string; readonly replyTo: ReplyTo<DeleteAccessKeyReply> }
  | { readonly type: 'get_access_keys'; readonly userId: string; readonly replyTo: ReplyTo<GetAccessKeysReply> }
  | { readonly type: 'chown_bucket'; readonly name: string; readonly owner: string; readonly replyTo: ReplyTo<ChownBucketReply> }
  | { readonly type: 'add_endpoint'; readonly host: string; readonly replyTo: ReplyTo<EndpointReply> }
  | { readonly type: 'delete_endpoint'; readonly host: string; readonly replyTo: ReplyTo<EndpointReply> }
  | { readonly type: 'get_endpoints'; readonly replyTo: ReplyTo<EndpointReply> }
  | { readonly type: 'gateway_joined'; readonly node: string };

export type AuthMessage = GatewayAuthMessage | AdminAuthMessage;
