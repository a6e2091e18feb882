/**
 * Which S3 action each operation is, and the pipeline's authorization of it through the one access
 * decision (core/access-decision.ts). A copy's source and each key of a batch delete are decided by
 * their handlers with `authorizeAction`, on the same request description.
 */
import { decideAccess, type AccessDecision } from '../../core/access-decision.js';
import type { BucketRecord, UserRecord } from '../../core/auth-snapshot.js';
import { assertNever } from '../../core/assert-never.js';
import type { ConditionContext } from '../../core/policy-conditions.js';
import type { ObjectAcl } from '../../core/acl.js';
import { existingTagKeys, policyAsksExistingTags } from '../../core/bucket-policy.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import type { S3Action } from '../../core/s3-actions.js';
import { S3Error } from '../../protocol/s3/errors.js';
import type { HeaderBag } from '../../protocol/s3/headers.js';
import type { S3Operation } from '../../protocol/s3/router.js';
import type { Logger } from '../../runtime/logger.js';
import type { AuthView } from '../common/auth-view.js';

/** Operations the pipeline does not decide by one action: they need no bucket permission, or decide per key. */
type DecidedElsewhere = 'ListBuckets' | 'CreateBucket' | 'PreflightRequest' | 'DeleteObjects' | 'PostObject';

/** The S3 action of an operation, as bucket policies name it. */
export function actionOf(operation: Exclude<S3Operation, { type: DecidedElsewhere }>): S3Action {
  const versioned = (plain: S3Action, version: S3Action): S3Action => ('versionId' in operation && operation.versionId !== undefined ? version : plain);
  switch (operation.type) {
    case 'HeadBucket':
    case 'ListObjects':
    case 'ListObjectsV2':
      return 's3:ListBucket';
    case 'ListObjectVersions':
      return 's3:ListBucketVersions';
    case 'ListMultipartUploads':
      return 's3:ListBucketMultipartUploads';
    case 'GetObject':
    case 'HeadObject':
      return versioned('s3:GetObject', 's3:GetObjectVersion');
    case 'GetObjectAttributes':
      return versioned('s3:GetObjectAttributes', 's3:GetObjectVersionAttributes');
    case 'GetObjectTagging':
      return versioned('s3:GetObjectTagging', 's3:GetObjectVersionTagging');
    case 'PutObjectTagging':
      return versioned('s3:PutObjectTagging', 's3:PutObjectVersionTagging');
    case 'DeleteObjectTagging':
      return versioned('s3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging');
    case 'GetObjectRetention':
      return 's3:GetObjectRetention';
    case 'PutObjectRetention':
      return 's3:PutObjectRetention';
    case 'GetObjectLegalHold':
      return 's3:GetObjectLegalHold';
    case 'PutObjectLegalHold':
      return 's3:PutObjectLegalHold';
    case 'GetObjectAcl':
      return versioned('s3:GetObjectAcl', 's3:GetObjectVersionAcl');
    case 'PutObjectAcl':
      return versioned('s3:PutObjectAcl', 's3:PutObjectVersionAcl');
    case 'PutObject':
    case 'CopyObject':
    case 'CreateMultipartUpload':
    case 'UploadPart':
    case 'UploadPartCopy':
    case 'CompleteMultipartUpload':
      return 's3:PutObject';
    case 'DeleteObject':
      return versioned('s3:DeleteObject', 's3:DeleteObjectVersion');
    case 'AbortMultipartUpload':
      return 's3:AbortMultipartUpload';
    case 'ListParts':
      return 's3:ListMultipartUploadParts';
    case 'DeleteBucket':
      return 's3:DeleteBucket';
    case 'GetBucketLocation':
      return 's3:GetBucketLocation';
    case 'GetBucketVersioning':
      return 's3:GetBucketVersioning';
    case 'PutBucketVersioning':
      return 's3:PutBucketVersioning';
    case 'GetBucketTagging':
      return 's3:GetBucketTagging';
    case 'PutBucketTagging':
    case 'DeleteBucketTagging':
      return 's3:PutBucketTagging';
    case 'GetBucketLifecycle':
      return 's3:GetLifecycleConfiguration';
    case 'PutBucketLifecycle':
    case 'DeleteBucketLifecycle':
      return 's3:PutLifecycleConfiguration';
    case 'GetObjectLockConfiguration':
      return 's3:GetBucketObjectLockConfiguration';
    case 'PutObjectLockConfiguration':
      return 's3:PutBucketObjectLockConfiguration';
    case 'GetBucketAcl':
      return 's3:GetBucketAcl';
    case 'PutBucketAcl':
      return 's3:PutBucketAcl';
    case 'GetBucketPolicy':
      return 's3:GetBucketPolicy';
    case 'PutBucketPolicy':
      return 's3:PutBucketPolicy';
    case 'DeleteBucketPolicy':
      return 's3:DeleteBucketPolicy';
    case 'GetBucketPolicyStatus':
      return 's3:GetBucketPolicyStatus';
    case 'GetBucketCors':
      return 's3:GetBucketCORS';
    case 'GetBucketOwnershipControls':
      return 's3:GetBucketOwnershipControls';
    case 'PutBucketOwnershipControls':
    case 'DeleteBucketOwnershipControls':
      return 's3:PutBucketOwnershipControls';
    case 'GetBucketEncryption':
      return 's3:GetEncryptionConfiguration';
    case 'PutBucketEncryption':
    case 'DeleteBucketEncryption':
      return 's3:PutEncryptionConfiguration';
    case 'GetPublicAccessBlock':
      return 's3:GetBucketPublicAccessBlock';
    case 'PutPublicAccessBlock':
    case 'DeletePublicAccessBlock':
      return 's3:PutBucketPublicAccessBlock';
    case 'PutBucketCors':
    case 'DeleteBucketCors':
      return 's3:PutBucketCORS';
    default:
      return assertNever(operation);
  }
}

/** Actions on an existing object version, for which S3 fills in s3:ExistingObjectTag conditions. */
const EXISTING_OBJECT_ACTIONS: ReadonlySet<S3Action> = new Set<S3Action>([
  's3:GetObject', 's3:GetObjectVersion', 's3:GetObjectAcl', 's3:GetObjectVersionAcl', 's3:PutObjectAcl', 's3:PutObjectVersionAcl',
  's3:GetObjectTagging', 's3:GetObjectVersionTagging', 's3:PutObjectTagging', 's3:PutObjectVersionTagging',
  's3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging', 's3:GetObjectAttributes', 's3:GetObjectVersionAttributes',
]);

/** What a decision needs besides the action: who asks, about which request, and where denials are logged. */
export interface AccessAsker {
  readonly user: UserRecord | undefined;
  readonly conditions: ConditionContext;
  readonly log: Logger;
}

export function decide(asker: AccessAsker, bucket: BucketRecord, action: S3Action, key?: string, objectAcl?: ObjectAcl | 'legacy'): AccessDecision {
  return decideAccess({
    action,
    bucket,
    ...(key === undefined ? {} : { key }),
    requester: asker.user === undefined ? undefined : { userId: asker.user.userId, role: asker.user.role },
    context: asker.conditions,
    ...(objectAcl === undefined ? {} : { objectAcl }),
  });
}

/** An action the bucket alone does not allow, which the object version's ACL may: decided once it is read. */
export interface PendingObjectAccess {
  readonly action: S3Action;
  readonly key: string;
}

/**
 * The bucket, if `action` (on `key`, for object actions) is allowed, or may be by the version's ACL
 * (`pending`); NoSuchBucket or AccessDenied otherwise.
 */
export function authorizeAction(view: AuthView, asker: AccessAsker, bucketName: string, action: S3Action, key?: string): { readonly bucket: BucketRecord; readonly pending?: PendingObjectAccess } {
  const bucket = existingBucket(view, bucketName);
  // A policy that judges the object's tags decides once the version, and so its tags, are read.
  if (key !== undefined && EXISTING_OBJECT_ACTIONS.has(action) && bucket.policy !== undefined && policyAsksExistingTags(bucket.policy)) {
    return { bucket, pending: { action, key } };
  }
  const decision = decide(asker, bucket, action, key);
  if (decision.allowed) return { bucket };
  if (decision.objectAclMayGrant === true && key !== undefined) return { bucket, pending: { action, key } };
  throw denied(asker, bucketName, key, action, decision.reason);
}

/**
 * Decides a pending object action against the version read: allowed, or AccessDenied. A version that
 * is not there is told apart from one not allowed only to a requester who may list the bucket, as S3
 * does, so that keys cannot be probed.
 */
export function authorizeVersion(asker: AccessAsker, bucket: BucketRecord, pending: PendingObjectAccess, meta: ObjectMeta | undefined): void {
  if (meta === undefined) {
    // May the requester list the bucket at this very key, as a listing of it as a prefix would ask?
    const listing = decide({ ...asker, conditions: new Map(asker.conditions).set('s3:prefix', [pending.key]) }, bucket, 's3:ListBucket');
    if (!listing.allowed) throw denied(asker, bucket.name, pending.key, pending.action, 'no such version, and the requester may not list the bucket');
    return;
  }
  const tags = existingTagKeys(meta.tags);
  const withTags = tags.length === 0 ? asker : { ...asker, conditions: new Map([...asker.conditions, ...tags]) };
  const decision = decide(withTags, bucket, pending.action, pending.key, meta.acl ?? 'legacy');
  if (!decision.allowed) throw denied(asker, bucket.name, pending.key, pending.action, decision.reason);
}

/**
 * A write that sets its object's ACL (x-amz-acl, x-amz-grant-*) needs s3:PutObjectAcl too, as in S3:
 * refused where the bucket policy denies it. (A new version's writer may otherwise set its ACL: it
 * owns the version.)
 */
export function authorizeAclOnWrite(asker: AccessAsker, bucket: BucketRecord, key: string, headers: HeaderBag): void {
  const setsAcl = Object.keys(headers).some((name) => name === 'x-amz-acl' || name.startsWith('x-amz-grant-'));
  if (!setsAcl) return;
  const decision = decide(asker, bucket, 's3:PutObjectAcl', key);
  if (decision.explicitDeny === true) throw denied(asker, bucket.name, key, 's3:PutObjectAcl', decision.reason);
}

/** For a handler that read the version itself: decides again on it when the request went the pending way. */
export function recheckVersion(ctx: AccessAsker & { readonly pending?: PendingObjectAccess; readonly bucket: BucketRecord | undefined }, meta: ObjectMeta): void {
  if (ctx.pending !== undefined && ctx.bucket !== undefined) authorizeVersion(ctx, ctx.bucket, ctx.pending, meta);
}

function denied(asker: AccessAsker, bucket: string, key: string | undefined, action: S3Action, reason: string): S3Error {
  asker.log.debug('access denied', { bucket, key: key ?? null, action, user: asker.user?.userId ?? 'anonymous', reason });
  return new S3Error('AccessDenied');
}

/**
 * Authorizes a routed operation: the bucket it addresses (undefined for ListBuckets and CreateBucket,
 * which only need a signed-in user). A CORS preflight needs no permission, a batch delete decides each
 * key and a form upload is signed inside its body: these only need an existing bucket.
 */
export function authorize(view: AuthView, operation: S3Operation, asker: AccessAsker): { readonly bucket: BucketRecord | undefined; readonly pending?: PendingObjectAccess } {
  switch (operation.type) {
    case 'ListBuckets':
    case 'CreateBucket':
      if (asker.user === undefined) throw new S3Error('AccessDenied');
      return { bucket: undefined };
    case 'PreflightRequest':
    case 'DeleteObjects':
    case 'PostObject':
      return { bucket: existingBucket(view, operation.bucket) };
    default:
      return authorizeAction(view, asker, operation.bucket, actionOf(operation), 'key' in operation ? operation.key : undefined);
  }
}

function existingBucket(view: AuthView, name: string): BucketRecord {
  const bucket = view.bucket(name);
  if (bucket === undefined) throw new S3Error('NoSuchBucket', undefined, { fields: { BucketName: name } });
  return bucket;
}
