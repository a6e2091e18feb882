/**
 * The S3 actions a bucket policy can name, as AWS names them, with what each acts on and what a
 * bucket's canned ACL lets others do with it. A policy that names an action outside this list is
 * refused, as S3 refuses it; the access decision (core/access-decision.ts) reads the rest.
 */

/** What a canned ACL grants: reading, writing, or nothing beyond the owner. */
export type AclAccess = 'read' | 'write' | 'owner';

export interface S3ActionInfo {
  /** The kind of ARN the action applies to: `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  readonly resource: 'bucket' | 'object' | 'none';
  readonly acl: AclAccess;
}

const bucket = (acl: AclAccess = 'owner'): S3ActionInfo => ({ resource: 'bucket', acl });
const object = (acl: AclAccess = 'owner'): S3ActionInfo => ({ resource: 'object', acl });

export const S3_ACTIONS = {
  's3:ListAllMyBuckets': { resource: 'none', acl: 'owner' },
  's3:CreateBucket': bucket(),
  's3:DeleteBucket': bucket(),
  's3:ListBucket': bucket('read'),
  's3:ListBucketVersions': bucket('read'),
  's3:ListBucketMultipartUploads': bucket('write'),
  's3:GetBucketLocation': bucket(),
  's3:GetBucketVersioning': bucket(),
  's3:PutBucketVersioning': bucket(),
  's3:GetBucketTagging': bucket(),
  's3:PutBucketTagging': bucket(),
  's3:GetLifecycleConfiguration': bucket(),
  's3:PutLifecycleConfiguration': bucket(),
  's3:GetBucketObjectLockConfiguration': bucket(),
  's3:PutBucketObjectLockConfiguration': bucket(),
  's3:GetBucketAcl': bucket(),
  's3:PutBucketAcl': bucket(),
  's3:GetBucketPolicy': bucket(),
  's3:PutBucketPolicy': bucket(),
  's3:DeleteBucketPolicy': bucket(),
  's3:GetBucketPolicyStatus': bucket(),
  's3:GetBucketCORS': bucket(),
  's3:PutBucketCORS': bucket(),
  's3:GetEncryptionConfiguration': bucket(),
  's3:PutEncryptionConfiguration': bucket(),
  's3:GetBucketPublicAccessBlock': bucket(),
  's3:PutBucketPublicAccessBlock': bucket(),
  's3:GetBucketOwnershipControls': bucket(),
  's3:PutBucketOwnershipControls': bucket(),
  's3:GetBucketLogging': bucket(),
  's3:PutBucketLogging': bucket(),
  's3:GetBucketWebsite': bucket(),
  's3:PutBucketWebsite': bucket(),
  's3:DeleteBucketWebsite': bucket(),
  's3:GetBucketNotification': bucket(),
  's3:PutBucketNotification': bucket(),
  's3:GetReplicationConfiguration': bucket(),
  's3:PutReplicationConfiguration': bucket(),
  's3:GetObject': object('read'),
  's3:GetObjectVersion': object('read'),
  's3:GetObjectAttributes': object('read'),
  's3:GetObjectVersionAttributes': object('read'),
  's3:GetObjectTagging': object('read'),
  's3:GetObjectVersionTagging': object('read'),
  's3:GetObjectRetention': object('read'),
  's3:GetObjectLegalHold': object('read'),
  's3:PutObject': object('write'),
  's3:DeleteObject': object('write'),
  's3:DeleteObjectVersion': object('write'),
  's3:PutObjectTagging': object('write'),
  's3:PutObjectVersionTagging': object('write'),
  's3:DeleteObjectTagging': object('write'),
  's3:DeleteObjectVersionTagging': object('write'),
  's3:AbortMultipartUpload': object('write'),
  's3:ListMultipartUploadParts': object('write'),
  // Locking a version keeps it from everyone for as long as the lock says: only the owner, by default.
  's3:PutObjectRetention': object(),
  's3:PutObjectLegalHold': object(),
  's3:BypassGovernanceRetention': object(),
  's3:GetObjectAcl': object(),
  's3:GetObjectVersionAcl': object(),
  's3:PutObjectAcl': object(),
  's3:PutObjectVersionAcl': object(),
  's3:RestoreObject': object(),
} as const satisfies Record<string, S3ActionInfo>;

export type S3Action = keyof typeof S3_ACTIONS;

export const ALL_S3_ACTIONS = Object.keys(S3_ACTIONS) as S3Action[];

export function actionInfo(action: S3Action): S3ActionInfo {
  return S3_ACTIONS[action];
}

/** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`: what a policy's Resource is matched against. */
export function resourceArn(bucketName: string, key?: string): string {
  return key === undefined ? `arn:aws:s3:::${bucketName}` : `arn:aws:s3:::${bucketName}/${key}`;
}
