/**
 * Bucket and object ACLs: Get/PutBucketAcl and Get/PutObjectAcl, from a canned ACL, grant headers or
 * an AccessControlPolicy document (acl-requests.ts). A bucket's canned ACL is kept as its name, an ACL
 * given grant by grant as the grants; an object version's ACL is replaced on the key's replicas like
 * its tags, its data and modification time left alone. A version written before objects had ACLs
 * shows, and until it is given one follows, its bucket's.
 */
import type { AclGrant, ObjectAcl } from '../../../core/acl.js';
import { bucketGrants } from '../../../core/access-decision.js';
import { isBucketAcl, type BucketRecord } from '../../../core/auth-snapshot.js';
import { versionIdOf } from '../../../core/object-versioning.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { buildAccessControlPolicy, buildOwnershipControls, MAX_XML_BODY_BYTES, parseAccessControlPolicy, parseOwnershipControls } from '../../../protocol/s3/xml.js';
import { isObjectOwnership } from '../../../core/acl.js';
import { headerAcl, policyGrants, policyOfGrants, refuseAclsWhenDisabled, refusePublicGrants, type RequestedAcl } from '../acl-requests.js';
import { changeVersion, versionHeaders } from '../object-records.js';
import { loadObject } from '../object-versions.js';
import { recheckVersion } from '../authorization.js';
import { readSmallBody } from '../request-body.js';
import { bucketOf, type OperationOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { changeAcl, deleteBucketDocument, putBucketDocument } from './buckets.js';

export function getBucketAcl(ctx: RequestContext): void {
  const bucket = bucketOf(ctx);
  sendXml(ctx, 200, buildAccessControlPolicy(policyOfGrants(ctx.deps.authView, bucket.owner, bucketGrants(bucket))));
}

export async function putBucketAcl(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const requested = await requestedAcl(ctx, bucket.owner, bucket, true);
  refuseAclsWhenDisabled(bucket, requested.grants);
  refusePublicGrants(bucket, requested.grants);
  if (requested.canned !== undefined && isBucketAcl(requested.canned)) {
    await changeAcl(ctx, bucket, requested.canned);
  } else {
    const grants = requested.grants;
    const wanted = JSON.stringify(grants);
    await putBucketDocument(ctx, { kind: 'grants', value: grants }, (changed) => JSON.stringify(changed.grants) === wanted);
  }
  sendEmpty(ctx, 200);
}

export async function getObjectAcl(ctx: RequestContext, op: OperationOf<'GetObjectAcl'>): Promise<void> {
  const bucket = bucketOf(ctx);
  const { meta } = await loadObject(ctx.deps, op.bucket, op.key, false, op.versionId);
  recheckVersion(ctx, meta);
  const acl = objectAclOf(bucket, meta.acl);
  sendXml(ctx, 200, buildAccessControlPolicy(policyOfGrants(ctx.deps.authView, acl.owner, acl.grants)), versionHeaders(ctx.bucket, meta));
}

export async function putObjectAcl(ctx: RequestContext, op: OperationOf<'PutObjectAcl'>): Promise<void> {
  const bucket = bucketOf(ctx);
  const { meta } = await loadObject(ctx.deps, op.bucket, op.key, false, op.versionId);
  const owner = objectAclOf(bucket, meta.acl).owner;
  const requested = await requestedAcl(ctx, owner, bucket, false);
  refuseAclsWhenDisabled(bucket, requested.grants);
  refusePublicGrants(bucket, requested.grants);
  const acl: ObjectAcl = { owner, grants: requested.grants };
  const written = await changeVersion(ctx.deps, { bucket: op.bucket, key: op.key, versionId: op.versionId }, {
    type: 'reacl', acl, ...(op.versionId === undefined ? {} : { versionId: op.versionId }),
  });
  const speaksOfVersions = Object.keys(versionHeaders(ctx.bucket, written)).length > 0 || op.versionId !== undefined;
  sendEmpty(ctx, 200, speaksOfVersions ? { 'x-amz-version-id': op.versionId ?? versionIdOf(written) } : {});
}

export function getBucketOwnershipControls(ctx: RequestContext): void {
  const bucket = bucketOf(ctx);
  if (bucket.objectOwnership === undefined) throw new S3Error('OwnershipControlsNotFoundError', undefined, { fields: { BucketName: bucket.name } });
  sendXml(ctx, 200, buildOwnershipControls(bucket.objectOwnership));
}

/** Setting BucketOwnerEnforced disables ACLs: the bucket's own must be private first, as S3 requires. */
export async function putBucketOwnershipControls(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const parsed = parseOwnershipControls(await readSmallBody(ctx, MAX_XML_BODY_BYTES.versioning));
  if (!parsed.ok) throw parsed.error;
  const ownership = parsed.value;
  if (!isObjectOwnership(ownership)) throw new S3Error('MalformedXML');
  if (ownership === 'BucketOwnerEnforced') {
    const grants = bucketGrants(bucket);
    if (!grants.every((grant) => 'user' in grant.grantee && grant.grantee.user === bucket.owner)) throw new S3Error('InvalidBucketAclWithObjectOwnership');
  }
  await putBucketDocument(ctx, { kind: 'objectOwnership', value: ownership }, (changed) => changed.objectOwnership === ownership);
  sendEmpty(ctx, 200);
}

/** Without controls, objects are their writers' again. */
export function deleteBucketOwnershipControls(ctx: RequestContext): Promise<void> {
  return deleteBucketDocument(ctx, 'objectOwnership', (bucket) => bucket.objectOwnership !== undefined);
}

/** A version's ACL; one written before objects had ACLs follows its bucket's, owned by the bucket's owner. */
export function objectAclOf(bucket: BucketRecord, acl: ObjectAcl | undefined): ObjectAcl {
  return acl ?? { owner: bucket.owner, grants: bucketGrants(bucket) };
}

/** The ACL a Put*Acl request gives: in its headers, or as a document in its body (not both). */
async function requestedAcl(ctx: RequestContext, owner: string, bucket: BucketRecord, forBucket: boolean): Promise<RequestedAcl> {
  const fromHeaders = headerAcl(ctx.deps.authView, ctx.headers, owner, bucket.owner, forBucket);
  const body = await readSmallBody(ctx, MAX_XML_BODY_BYTES.acl);
  if (body.length > 0) {
    if (fromHeaders !== undefined) throw new S3Error('UnexpectedContent', 'This request does not support content when an ACL is given in headers.');
    const policy = parseAccessControlPolicy(body);
    if (!policy.ok) throw policy.error;
    const grants: AclGrant[] = policyGrants(ctx.deps.authView, policy.value, owner);
    return { grants };
  }
  if (fromHeaders === undefined) throw new S3Error('MissingSecurityHeader', 'Your request was missing a required header', { fields: { MissingHeaderName: 'x-amz-acl' } });
  return fromHeaders;
}
