/**
 * The S3 actions a bucket policy can name, as AWS names them, with what each acts on and which ACL
 * permission grants it to others (on the bucket, or on the object version). A policy that names an
 * action outside this list is refused, as S3 refuses it; the access decision (core/access-decision.ts)
 * reads the rest.
 */
import type { AclPermission } from './acl.js';

/** The ACL permission that grants an action: the bucket's, or the object version's. */
export interface AclGrantSpec {
  readonly on: 'bucket' | 'object';
  readonly permission: AclPermission;
}

export interface S3ActionInfo {
  /** The kind of ARN the action applies to: `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  readonly resource: 'bucket' | 'object' | 'none';
  /** Absent: no ACL grants it; only the owner, admins and the bucket policy do. */
  readonly grantedBy?: AclGrantSpec;
}

const bucket = (grantedBy?: AclGrantSpec): S3ActionInfo => ({ resource: 'bucket', ...(grantedBy === undefined ? {} : { grantedBy }) });
const object = (grantedBy?: AclGrantSpec): S3ActionInfo => ({ resource: 'object', ...(grantedBy === undefined ? {} : { grantedBy }) });
const onBucket = (permission: AclPermission): AclGrantSpec => ({ on: 'bucket', permission });
const onObject = (permission: AclPermission): AclGrantSpec => ({ on: 'object', permission });

export const S3_ACTIONS = {
  's3:ListAllMyBuckets': { resource: 'none' },
  's3:CreateBucket': bucket(),
  's3:DeleteBucket': bucket(),
  's3:ListBucket': bucket(onBucket('READ')),
  's3:ListBucketVersions': bucket(onBucket('READ')),
  's3:ListBucketMultipartUploads': bucket(onBucket('READ')),
  's3:GetBucketLocation': bucket(),
  's3:GetBucketVersioning': bucket(),
  's3:PutBucketVersioning': bucket(),
  's3:GetBucketTagging': bucket(),
  's3:PutBucketTagging': bucket(),
  's3:GetLifecycleConfiguration': bucket(),
  's3:PutLifecycleConfiguration': bucket(),
  's3:GetBucketObjectLockConfiguration': bucket(),
  's3:PutBucketObjectLockConfiguration': bucket(),
  's3:GetBucketAcl': bucket(onBucket('READ_ACP')),
  's3:PutBucketAcl': bucket(onBucket('WRITE_ACP')),
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
  's3:GetObject': object(onObject('READ')),
  's3:GetObjectVersion': object(onObject('READ')),
  's3:GetObjectAttributes': object(onObject('READ')),
  's3:GetObjectVersionAttributes': object(onObject('READ')),
  's3:GetObjectTagging': object(onObject('READ')),
  's3:GetObjectVersionTagging': object(onObject('READ')),
  's3:GetObjectRetention': object(onObject('READ')),
  's3:GetObjectLegalHold': object(onObject('READ')),
  's3:PutObject': object(onBucket('WRITE')),
  's3:DeleteObject': object(onBucket('WRITE')),
  's3:DeleteObjectVersion': object(onBucket('WRITE')),
  's3:PutObjectTagging': object(onBucket('WRITE')),
  's3:PutObjectVersionTagging': object(onBucket('WRITE')),
  's3:DeleteObjectTagging': object(onBucket('WRITE')),
  's3:DeleteObjectVersionTagging': object(onBucket('WRITE')),
  's3:AbortMultipartUpload': object(onBucket('WRITE')),
  's3:ListMultipartUploadParts': object(onBucket('WRITE')),
  // Locking a version keeps it from everyone for as long as the lock says: only the owner, by default.
  's3:PutObjectRetention': object(),
  's3:PutObjectLegalHold': object(),
  's3:BypassGovernanceRetention': object(),
  's3:GetObjectAcl': object(onObject('READ_ACP')),
  's3:GetObjectVersionAcl': object(onObject('READ_ACP')),
  's3:PutObjectAcl': object(onObject('WRITE_ACP')),
  's3:PutObjectVersionAcl': object(onObject('WRITE_ACP')),
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
