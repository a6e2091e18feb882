/**
 * Who may do what. The owner of a bucket and admin users may do everything to it; other users and
 * anonymous requests get what the bucket's canned ACL grants: public-read lets anyone read and list,
 * public-read-write also write, authenticated-read lets any signed-in user read. Changing a bucket
 * itself (its ACL, deleting it) and reading its settings stay with its owner.
 */
import { bucketAllows, type BucketRecord, type UserRecord } from '../../core/auth-snapshot.js';
import { assertNever } from '../../core/assert-never.js';
import { S3Error } from '../../protocol/s3/errors.js';
import type { S3Operation } from '../../protocol/s3/router.js';
import type { AuthView } from '../common/auth-view.js';

export type Access = 'read' | 'write' | 'owner';

export function accessOf(operation: Exclude<S3Operation, { type: 'ListBuckets' | 'CreateBucket' | 'PreflightRequest' }>): Access {
  switch (operation.type) {
    case 'HeadBucket':
    case 'ListObjects':
    case 'ListObjectsV2':
    case 'ListObjectVersions':
    case 'GetObject':
    case 'HeadObject':
    case 'GetObjectAttributes':
    case 'GetObjectTagging':
    case 'GetObjectRetention':
    case 'GetObjectLegalHold':
      return 'read';
    case 'PutObject':
    case 'CopyObject':
    case 'DeleteObject':
    case 'DeleteObjects':
    case 'CreateMultipartUpload':
    case 'UploadPart':
    case 'UploadPartCopy':
    case 'CompleteMultipartUpload':
    case 'AbortMultipartUpload':
    case 'ListParts':
    case 'ListMultipartUploads':
    case 'PutObjectTagging':
    case 'DeleteObjectTagging':
      return 'write';
    case 'DeleteBucket':
    case 'GetBucketLocation':
    case 'GetBucketVersioning':
    case 'PutBucketVersioning':
    case 'GetBucketTagging':
    case 'PutBucketTagging':
    case 'DeleteBucketTagging':
    case 'GetBucketLifecycle':
    case 'PutBucketLifecycle':
    case 'DeleteBucketLifecycle':
    case 'GetObjectLockConfiguration':
    case 'PutObjectLockConfiguration':
    // Locking a version keeps it from everyone for as long as the lock says: only the owner may.
    case 'PutObjectRetention':
    case 'PutObjectLegalHold':
    case 'GetBucketAcl':
    case 'PutBucketAcl':
    case 'GetObjectAcl':
    case 'PutObjectAcl':
      return 'owner';
    default:
      return assertNever(operation);
  }
}

export function isOwnerOrAdmin(bucket: BucketRecord, user: UserRecord | undefined): boolean {
  return user !== undefined && (user.role === 'admin' || user.userId === bucket.owner);
}

/** The bucket, if `user` may perform `access` on it; NoSuchBucket or AccessDenied otherwise. */
export function authorizeBucket(view: AuthView, bucketName: string, user: UserRecord | undefined, access: Access): BucketRecord {
  const bucket = view.bucket(bucketName);
  if (bucket === undefined) throw new S3Error('NoSuchBucket', undefined, { fields: { BucketName: bucketName } });
  if (isOwnerOrAdmin(bucket, user)) return bucket;
  if (access === 'owner' || !bucketAllows(bucket, user?.userId, access)) throw new S3Error('AccessDenied');
  return bucket;
}

/**
 * Authorizes a routed operation: the bucket it addresses (undefined for ListBuckets and CreateBucket,
 * which only need a signed-in user). A copy's source is authorized by its handler; a CORS preflight
 * needs no permission, only an existing bucket.
 */
export function authorize(view: AuthView, operation: S3Operation, user: UserRecord | undefined): BucketRecord | undefined {
  if (operation.type === 'ListBuckets' || operation.type === 'CreateBucket') {
    if (user === undefined) throw new S3Error('AccessDenied');
    return undefined;
  }
  if (operation.type === 'PreflightRequest') {
    const bucket = view.bucket(operation.bucket);
    if (bucket === undefined) throw new S3Error('NoSuchBucket', undefined, { fields: { BucketName: operation.bucket } });
    return bucket;
  }
  return authorizeBucket(view, operation.bucket, user, accessOf(operation));
}
