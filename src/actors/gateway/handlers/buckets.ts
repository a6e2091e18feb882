/**
 * Bucket operations. Creating, deleting and changing the ACL or versioning of a bucket go to the manager, the single
 * writer of buckets; the answer is given once this gateway's copy shows the change (or after a short
 * wait), so a client's next request here sees its own bucket. Reads come from that copy.
 */
import { isBucketAcl, locationProblem, type BucketAcl, type BucketRecord } from '../../../core/auth-snapshot.js';
import { isRuntimeFailure, type RuntimeFailure } from '../../../runtime/failures.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { getHeader, parseCannedAcl } from '../../../protocol/s3/headers.js';
import {
  ALL_USERS_GROUP, AUTHENTICATED_USERS_GROUP, MAX_XML_BODY_BYTES, buildAccessControlPolicy, buildListAllMyBucketsResult,
  buildLocationConstraint, buildVersioningConfiguration, parseAccessControlPolicy, parseCreateBucketConfiguration,
  parseVersioningConfiguration, type AccessControlPolicy, type Grant,
} from '../../../protocol/s3/xml.js';
import type { AuthView } from '../../common/auth-view.js';
import type { UpdateAclReply } from '../../../protocol/cluster/auth.js';
import type { BucketAdmin } from '../bucket-admin.js';
import type { Clock } from '../../../runtime/clock.js';
import { currentObject } from '../object-versions.js';
import { refusePublicAcl } from '../public-access-refusals.js';
import { readSmallBody } from '../request-body.js';
import { bucketOf, type OperationOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { bucketRegion, createBucketRegionProblem } from '../signing-region.js';

const GRANT_HEADERS = ['x-amz-grant-read', 'x-amz-grant-write', 'x-amz-grant-read-acp', 'x-amz-grant-write-acp', 'x-amz-grant-full-control'];

/** The region whose buckets keep S3's original semantics for creating a bucket twice. */
const LEGACY_REGION = 'us-east-1';

/** How long an answer waits for the manager's change to reach this gateway. */
const VIEW_WAIT_MS = 5_000;

function signedIn(ctx: RequestContext): NonNullable<RequestContext['user']> {
  if (ctx.user === undefined) throw new S3Error('AccessDenied');
  return ctx.user;
}

export async function listBuckets(ctx: RequestContext, op: OperationOf<'ListBuckets'>): Promise<void> {
  const user = signedIn(ctx);
  const after = op.continuationToken === undefined ? undefined : Buffer.from(op.continuationToken, 'base64url').toString('utf8');
  const all = ctx.deps.authView
    .bucketsOf(user.userId)
    .filter((bucket) => (op.prefix === undefined || bucket.name.startsWith(op.prefix)) && (after === undefined || bucket.name > after));
  const page = all.slice(0, op.maxBuckets);
  const more = all.length > page.length;
  sendXml(ctx, 200, buildListAllMyBucketsResult({
    owner: { id: user.userId, displayName: user.userId },
    buckets: page.map((bucket) => ({ name: bucket.name, creationDate: bucket.createdAtMs, region: regionOf(ctx, bucket) })),
    prefix: op.prefix,
    continuationToken: more ? Buffer.from(page[page.length - 1]!.name, 'utf8').toString('base64url') : undefined,
  }));
}

export async function createBucket(ctx: RequestContext, op: OperationOf<'CreateBucket'>): Promise<void> {
  const user = signedIn(ctx);
  const acl = cannedBucketAcl(ctx) ?? 'private';
  const config = parseCreateBucketConfiguration(await readSmallBody(ctx, MAX_XML_BODY_BYTES.createBucket));
  if (!config.ok) throw config.error;
  const location = config.value.locationConstraint;
  if (location !== undefined && locationProblem(location) !== undefined) throw new S3Error('InvalidLocationConstraint');
  const wrongRegion = createBucketRegionProblem(ctx.auth, ctx.deps.config.region, location);
  if (wrongRegion !== undefined) throw wrongRegion;
  const existing = ctx.deps.authView.bucket(op.bucket);
  if (existing !== undefined) {
    if (existing.owner !== user.userId) throw new S3Error('BucketAlreadyExists', undefined, { fields: { BucketName: op.bucket } });
    return recreateOwnBucket(ctx, existing, acl);
  }
  const objectLock = parseBoolHeader(ctx, 'x-amz-bucket-object-lock-enabled');
  const reply = await ctx.deps.bucketAdmin.create({ name: op.bucket, owner: user.userId, acl, location, ...(objectLock ? { objectLock } : {}) });
  if (!reply.ok) {
    const raced = reply.code === 'BucketAlreadyOwnedByYou' ? ctx.deps.authView.bucket(op.bucket) : undefined;
    if (raced !== undefined) return recreateOwnBucket(ctx, raced, acl);
    switch (reply.code) {
      case 'BucketAlreadyOwnedByYou':
      case 'BucketAlreadyExists':
      case 'InvalidBucketName':
        throw new S3Error(reply.code, undefined, { fields: { BucketName: op.bucket } });
      case 'InvalidArgument':
        throw new S3Error('InvalidArgument', reply.message);
      case 'NoSuchUser':
        throw new S3Error('InvalidAccessKeyId');
      default:
        throw managerUnavailable(ctx, reply);
    }
  }
  await waitForView(ctx.deps.authView, ctx.deps.clock, () => ctx.deps.authView.bucket(op.bucket) !== undefined);
  sendEmpty(ctx, 200, { Location: `/${op.bucket}` });
}

/** A header that is `true` or `false` (absent: false); anything else is InvalidArgument. */
function parseBoolHeader(ctx: RequestContext, name: string): boolean {
  const value = getHeader(ctx.headers, name)?.trim().toLowerCase();
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new S3Error('InvalidArgument', `${name} must be true or false.`, { fields: { ArgumentName: name, ArgumentValue: value } });
}

/**
 * Creating a bucket one already owns: in us-east-1 S3 keeps its legacy answer, 200 with the bucket's ACL
 * reset to the one asked for (its objects untouched); every other region answers BucketAlreadyOwnedByYou.
 */
async function recreateOwnBucket(ctx: RequestContext, bucket: BucketRecord, acl: BucketAcl): Promise<void> {
  if (regionOf(ctx, bucket) !== LEGACY_REGION || ctx.deps.config.region !== LEGACY_REGION) {
    throw new S3Error('BucketAlreadyOwnedByYou', undefined, { fields: { BucketName: bucket.name } });
  }
  if (bucket.acl !== acl) await changeAcl(ctx, bucket, acl);
  sendEmpty(ctx, 200, { Location: `/${bucket.name}` });
}

/**
 * DeleteBucket: the manager checks that the bucket holds no object and no upload in progress, with
 * writes to it fenced off on the storage nodes meanwhile, so a write through any gateway either lands
 * before (and the bucket is not empty) or fails.
 */
export async function deleteBucket(ctx: RequestContext, op: OperationOf<'DeleteBucket'>): Promise<void> {
  const bucket = bucketOf(ctx);
  const reply = await ctx.deps.bucketAdmin.delete(op.bucket, actingOwner(ctx, bucket));
  if (!reply.ok) {
    switch (reply.code) {
      case 'NoSuchBucket':
      case 'BucketNotEmpty':
        throw new S3Error(reply.code, undefined, { fields: { BucketName: op.bucket } });
      case 'AccessDenied':
      case 'OperationAborted':
        throw new S3Error(reply.code);
      default:
        throw managerUnavailable(ctx, reply);
    }
  }
  await waitForView(ctx.deps.authView, ctx.deps.clock, () => ctx.deps.authView.bucket(op.bucket) === undefined);
  sendEmpty(ctx, 204);
}

export function headBucket(ctx: RequestContext): void {
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': regionOf(ctx, bucketOf(ctx)) });
}

export function getBucketLocation(ctx: RequestContext): void {
  const location = bucketOf(ctx).location ?? (ctx.deps.config.region === 'us-east-1' ? undefined : ctx.deps.config.region);
  sendXml(ctx, 200, buildLocationConstraint(location));
}

export function getBucketVersioning(ctx: RequestContext): void {
  sendXml(ctx, 200, buildVersioningConfiguration(bucketOf(ctx).versioning));
}

/**
 * PutBucketVersioning: Enabled or Suspended, through the manager like an ACL change. MFA delete needs
 * a hardware token this store has no way to check, so asking for it is refused.
 */
export async function putBucketVersioning(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const parsed = parseVersioningConfiguration(await readSmallBody(ctx, MAX_XML_BODY_BYTES.versioning));
  if (!parsed.ok) throw parsed.error;
  const { status, mfaDelete } = parsed.value;
  if (mfaDelete === 'Enabled') throw new S3Error('NotImplemented', 'MFA delete is not supported.');
  if (status !== undefined && status !== bucket.versioning) {
    await changeBucket(ctx, bucket, (admin, requester) => admin.updateVersioning(bucket.name, requester, status), (changed) => changed.versioning === status);
  }
  sendEmpty(ctx, 200);
}

export function getBucketAcl(ctx: RequestContext): void {
  sendXml(ctx, 200, buildAccessControlPolicy(policyOf(bucketOf(ctx))));
}

export async function putBucketAcl(ctx: RequestContext, op: OperationOf<'PutBucketAcl'>): Promise<void> {
  const bucket = bucketOf(ctx);
  if (GRANT_HEADERS.some((h) => getHeader(ctx.headers, h) !== undefined)) {
    throw new S3Error('NotImplemented', 'Only canned ACLs are supported.');
  }
  const canned = cannedBucketAcl(ctx);
  const body = await readSmallBody(ctx, MAX_XML_BODY_BYTES.acl);
  let acl: BucketAcl;
  if (body.length > 0) {
    if (canned !== undefined) throw new S3Error('UnexpectedContent', 'This request does not support content when x-amz-acl is given.');
    const policy = parseAccessControlPolicy(body);
    if (!policy.ok) throw policy.error;
    acl = cannedOf(policy.value, bucket);
  } else {
    if (canned === undefined) throw new S3Error('MissingSecurityHeader', 'Your request was missing a required header', { fields: { MissingHeaderName: 'x-amz-acl' } });
    acl = canned;
  }
  refusePublicAcl(bucket, acl);
  await changeAcl(ctx, bucket, acl);
  sendEmpty(ctx, 200);
}

/** Has the manager set a bucket's ACL, and waits until this gateway's copy shows it. */
function changeAcl(ctx: RequestContext, bucket: BucketRecord, acl: BucketAcl): Promise<void> {
  return changeBucket(ctx, bucket, (admin, requester) => admin.updateAcl(bucket.name, requester, acl), (changed) => changed.acl === acl);
}

/**
 * Has the manager make a change to a bucket on the requester's behalf, and waits until this gateway's
 * copy `shows` it; the manager's refusals become their S3 errors.
 */
export async function changeBucket(
  ctx: RequestContext,
  bucket: BucketRecord,
  change: (admin: BucketAdmin, requester: string) => Promise<UpdateAclReply | RuntimeFailure>,
  shows: (bucket: BucketRecord) => boolean,
): Promise<void> {
  const reply = await change(ctx.deps.bucketAdmin, actingOwner(ctx, bucket));
  if (!reply.ok) throw bucketChangeError(ctx, bucket, reply);
  await waitForView(ctx.deps.authView, ctx.deps.clock, () => {
    const changed = ctx.deps.authView.bucket(bucket.name);
    return changed !== undefined && shows(changed);
  });
}

/** The S3 error for a bucket change the manager refused or could not be asked. */
function bucketChangeError(ctx: RequestContext, bucket: BucketRecord, reply: Exclude<UpdateAclReply | RuntimeFailure, { ok: true }>): S3Error {
  switch (reply.code) {
    case 'NoSuchBucket':
      return new S3Error('NoSuchBucket', undefined, { fields: { BucketName: bucket.name } });
    case 'AccessDenied':
      return new S3Error('AccessDenied');
    case 'InvalidArgument':
      return new S3Error('InvalidArgument', reply.message);
    case 'InvalidBucketState':
      return new S3Error('InvalidBucketState', reply.message);
    default:
      return managerUnavailable(ctx, reply);
  }
}

/** Objects have no ACL of their own: they show their bucket's. */
export async function getObjectAcl(ctx: RequestContext, op: OperationOf<'GetObjectAcl'>): Promise<void> {
  if ((await currentObject(ctx.deps, op.bucket, op.key)) === undefined) throw new S3Error('NoSuchKey', undefined, { fields: { Key: op.key } });
  sendXml(ctx, 200, buildAccessControlPolicy(policyOf(bucketOf(ctx))));
}

/**
 * Objects have no ACL of their own, so setting one succeeds only when it changes nothing: the bucket's
 * ACL, which the object already has, or bucket-owner-full-control, which the bucket owner always has
 * (as S3 accepts it where object ACLs are disabled). Any other is not supported.
 */
export async function putObjectAcl(ctx: RequestContext, op: OperationOf<'PutObjectAcl'>): Promise<void> {
  const bucket = bucketOf(ctx);
  if (GRANT_HEADERS.some((h) => getHeader(ctx.headers, h) !== undefined)) throw objectAclUnsupported();
  const parsed = parseCannedAcl(ctx.headers);
  if (!parsed.ok) throw parsed.error;
  const body = await readSmallBody(ctx, MAX_XML_BODY_BYTES.acl);
  let asked: string;
  if (body.length > 0) {
    if (parsed.value !== undefined) throw new S3Error('UnexpectedContent', 'This request does not support content when x-amz-acl is given.');
    const policy = parseAccessControlPolicy(body);
    if (!policy.ok) throw policy.error;
    asked = cannedOf(policy.value, bucket);
  } else {
    if (parsed.value === undefined) throw new S3Error('MissingSecurityHeader', 'Your request was missing a required header', { fields: { MissingHeaderName: 'x-amz-acl' } });
    asked = parsed.value;
  }
  refusePublicAcl(bucket, asked);
  if ((await currentObject(ctx.deps, op.bucket, op.key)) === undefined) throw new S3Error('NoSuchKey', undefined, { fields: { Key: op.key } });
  if (asked !== bucket.acl && asked !== 'bucket-owner-full-control') throw objectAclUnsupported();
  sendEmpty(ctx, 200);
}

function objectAclUnsupported(): S3Error {
  return new S3Error('NotImplemented', 'Objects take the ACL of their bucket; set it with PutBucketAcl.');
}

// ---------------------------------------------------------------------------------------------

function regionOf(ctx: RequestContext, bucket: BucketRecord): string {
  return bucketRegion(bucket, ctx.deps.config.region);
}

/** An admin acting on another user's bucket does so as its owner, which is what the manager checks. */
/** The manager takes bucket changes from the owner; the pipeline has already decided that this request may make them. */
function actingOwner(_ctx: RequestContext, bucket: BucketRecord): string {
  return bucket.owner;
}

/** x-amz-acl on a bucket: only the canned ACLs a bucket can carry. */
function cannedBucketAcl(ctx: RequestContext): BucketAcl | undefined {
  const parsed = parseCannedAcl(ctx.headers);
  if (!parsed.ok) throw parsed.error;
  if (parsed.value === undefined) return undefined;
  if (!isBucketAcl(parsed.value)) throw new S3Error('NotImplemented', `The canned ACL ${parsed.value} is not supported on buckets.`);
  return parsed.value;
}

function policyOf(bucket: BucketRecord): AccessControlPolicy {
  const owner = { id: bucket.owner, displayName: bucket.owner };
  const grants: Grant[] = [{ grantee: { type: 'CanonicalUser', id: owner.id, displayName: owner.displayName }, permission: 'FULL_CONTROL' }];
  if (bucket.acl === 'public-read' || bucket.acl === 'public-read-write') grants.push({ grantee: { type: 'Group', uri: ALL_USERS_GROUP }, permission: 'READ' });
  if (bucket.acl === 'public-read-write') grants.push({ grantee: { type: 'Group', uri: ALL_USERS_GROUP }, permission: 'WRITE' });
  if (bucket.acl === 'authenticated-read') grants.push({ grantee: { type: 'Group', uri: AUTHENTICATED_USERS_GROUP }, permission: 'READ' });
  return { owner, grants };
}

/** The canned ACL an access control policy amounts to; a policy no canned ACL expresses is not supported. */
function cannedOf(policy: AccessControlPolicy, bucket: BucketRecord): BucketAcl {
  const groups = new Set<string>();
  for (const grant of policy.grants) {
    if (grant.grantee.type === 'CanonicalUser') {
      if (grant.grantee.id !== bucket.owner || grant.permission !== 'FULL_CONTROL') throw unsupportedPolicy();
      continue;
    }
    groups.add(`${grant.grantee.uri} ${grant.permission}`);
  }
  const has = (uri: string, permission: string): boolean => groups.delete(`${uri} ${permission}`);
  let acl: BucketAcl = 'private';
  if (has(ALL_USERS_GROUP, 'READ')) acl = has(ALL_USERS_GROUP, 'WRITE') ? 'public-read-write' : 'public-read';
  else if (has(AUTHENTICATED_USERS_GROUP, 'READ')) acl = 'authenticated-read';
  if (groups.size > 0) throw unsupportedPolicy();
  return acl;
}

function unsupportedPolicy(): S3Error {
  return new S3Error('NotImplemented', 'Only ACLs that a canned ACL (private, public-read, public-read-write, authenticated-read) expresses are supported.');
}

function managerUnavailable(ctx: RequestContext, failure: RuntimeFailure | { readonly code: string; readonly message: string }): S3Error {
  ctx.log.warn('the manager did not answer a bucket change', { code: failure.code, message: failure.message, runtime: isRuntimeFailure(failure) });
  return new S3Error('ServiceUnavailable', "The cluster's manager cannot be reached now, so buckets cannot be changed. Please try again later.");
}

/** Resolves once `done()` holds for this gateway's copy of the buckets, or after a few seconds. */
function waitForView(view: AuthView, clock: Clock, done: () => boolean): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = (): void => {
      timer.cancel();
      unsubscribe();
      resolve();
    };
    const unsubscribe = view.subscribe(() => {
      if (done()) finish();
    });
    const timer = clock.setTimeout(finish, VIEW_WAIT_MS);
  });
}
