/**
 * What a bucket's public access block refuses while it is set: a public ACL (bucket or object) being
 * given, a public policy being put (core/public-access-block.ts).
 */
import type { BucketRecord } from '../../core/auth-snapshot.js';
import { policyIsPublic, type BucketPolicy } from '../../core/bucket-policy.js';
import { isPublicAcl } from '../../core/public-access-block.js';
import { S3Error } from '../../protocol/s3/errors.js';

/** AccessDenied when `acl` is public and the bucket blocks public ACLs. */
export function refusePublicAcl(bucket: BucketRecord | undefined, acl: string | undefined): void {
  if (acl !== undefined && isPublicAcl(acl) && bucket?.publicAccessBlock?.blockPublicAcls === true) {
    throw new S3Error('AccessDenied', `The bucket's public access block refuses the public ACL ${acl}.`);
  }
}

/** AccessDenied when `policy` is public and the bucket blocks public policies. */
export function refusePublicPolicy(bucket: BucketRecord, policy: BucketPolicy): void {
  if (bucket.publicAccessBlock?.blockPublicPolicy === true && policyIsPublic(policy)) {
    throw new S3Error('AccessDenied', "The bucket's public access block refuses a public policy.");
  }
}
