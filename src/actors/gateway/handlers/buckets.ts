/**
 * Bucket operations. Creating, deleting and changing the ACL or versioning of a bucket go to the manager, the single
 * writer of buckets; the answer is given once this gateway's copy shows the change (or after a short
 * wait), so a client's next request here sees its own bucket. Reads come from that copy.
 */
import { isBucketAcl, locationProblem, type BucketAcl, type BucketRecord } from '../../../core/auth-snapshot.js';
import { isRuntimeFailure, type RuntimeFailure } from '../../../runtime/failures.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { getHeader } from '../../../protocol/s3/headers.js';
import {
  MAX_XML_BODY_BYTES, buildListAllMyBucketsResult, buildLocationConstraint, buildVersioningConfiguration, parseCreateBucketConfiguration,
  parseVersioningConfiguration,
} from '../../../protocol/s3/xml.js';
import type { AuthView } from '../../common/auth-view.js';
import type { BucketDocument, UpdateAclReply } from '../../../protocol/cluster/auth.js';
import type { BucketAdmin } from '../bucket-admin.js';
import type { Clock } from '../../../runtime/clock.js';
import { readSmallBody } from '../request-body.js';
import { headerAcl } from '../acl-requests.js';
import { isObjectOwnership } from '../../../core/acl.js';
import { bucketOf, type OperationOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { bucketRegion, createBucketRegionProblem } from '../signing-region.js';

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
    owner: { id: user.userId, displayName: user.displayName ?? user.userId },
    buckets: page.map((bucket) => ({ name: bucket.name, creationDate: bucket.createdAtMs, region: regionOf(ctx, bucket) })),
    prefix: op.prefix,
    continuationToken: more ? Buffer.from(page[page.length - 1]!.name, 'utf8').toString('base64url') : undefined,
  }));
}

export async function createBucket(ctx: RequestContext, op: OperationOf<'CreateBucket'>): Promise<void> {
  const user = signedIn(ctx);
  const grants = headerAcl(ctx.deps.authView, ctx.headers, user.userId, user.userId, true);
  const acl = grants?.canned !== undefined && isBucketAcl(grants.canned) ? grants.canned : 'private';
  const ownership = getHeader(ctx.headers, 'x-amz-object-ownership')?.trim();
  if (ownership !== undefined && !isObjectOwnership(ownership)) {
    throw new S3Error('InvalidArgument', 'Invalid x-amz-object-ownership header', { fields: { ArgumentName: 'x-amz-object-ownership', ArgumentValue: ownership } });
  }
  if (ownership === 'BucketOwnerEnforced' && grants !== undefined && grants.grants.some((grant) => !('user' in grant.grantee) || grant.grantee.user !== user.userId)) {
    throw new S3Error('InvalidBucketAclWithObjectOwnership');
  }
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
  // What the manager does not take at creation is set right after, before the client hears of the bucket.
  const created = reply.bucket;
  if (grants !== undefined && (grants.canned === undefined || !isBucketAcl(grants.canned))) {
    const wanted = JSON.stringify(grants.grants);
    await changeBucket(ctx, created, (admin, requester) => admin.updateDocument(created.name, requester, { kind: 'grants', value: grants.grants }), (changed) => JSON.stringify(changed.grants) === wanted);
  }
  if (ownership !== undefined) {
    await changeBucket(ctx, created, (admin, requester) => admin.updateDocument(created.name, requester, { kind: 'objectOwnership', value: ownership }), (changed) => changed.objectOwnership === ownership);
  }
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
  const reply = await ctx.deps.bucketAdmin.delete(op.bucket, actingOwner(bucket));
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

/** Has the manager set a bucket's canned ACL, and waits until this gateway's copy shows it. */
export function changeAcl(ctx: RequestContext, bucket: BucketRecord, acl: BucketAcl): Promise<void> {
  return changeBucket(ctx, bucket, (admin, requester) => admin.updateAcl(bucket.name, requester, acl), (changed) => changed.acl === acl);
}

/** Has the manager set one of the bucket's documents (its policy, CORS rules, ...), and waits until this gateway `shows` it. */
export function putBucketDocument(ctx: RequestContext, document: BucketDocument, shows: (changed: BucketRecord) => boolean): Promise<void> {
  const bucket = bucketOf(ctx);
  return changeBucket(ctx, bucket, (admin, requester) => admin.updateDocument(bucket.name, requester, document), shows);
}

/** Removes one of the bucket's documents if it `has` it, and answers 204 either way, as S3 does. */
export async function deleteBucketDocument(ctx: RequestContext, kind: Exclude<BucketDocument['kind'], 'grants'>, has: (bucket: BucketRecord) => boolean): Promise<void> {
  const bucket = bucketOf(ctx);
  if (has(bucket)) {
    await changeBucket(ctx, bucket, (admin, requester) => admin.updateDocument(bucket.name, requester, { kind, value: null }), (changed) => !has(changed));
  }
  sendEmpty(ctx, 204);
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
  const reply = await change(ctx.deps.bucketAdmin, actingOwner(bucket));
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

// ---------------------------------------------------------------------------------------------

function regionOf(ctx: RequestContext, bucket: BucketRecord): string {
  return bucketRegion(bucket, ctx.deps.config.region);
}

/** The manager takes bucket changes from the owner; the pipeline has already decided that this request may make them. */
function actingOwner(bucket: BucketRecord): string {
  return bucket.owner;
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
