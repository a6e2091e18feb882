/**
 * Object lock: a bucket's configuration (through the manager), a version's retention and legal hold
 * (decided on the key's replicas, where removing a version is refused while its lock holds), and the
 * lock headers of writes and reads. Buckets without object lock refuse all of it, as S3 does.
 */
import type { BucketRecord } from '../../../core/auth-snapshot.js';
import { defaultRetentionFrom, isRetentionMode, type Retention, type VersionLock } from '../../../core/object-lock.js';
import type { ObjectMeta } from '../../../core/object-meta.js';
import { versionIdOf } from '../../../core/object-versioning.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { formatIsoDate, getHeader, type HeaderBag } from '../../../protocol/s3/headers.js';
import {
  buildLegalHold, buildObjectLockConfiguration, buildRetention, MAX_XML_BODY_BYTES, parseLegalHold, parseObjectLockConfiguration, parseRetention,
} from '../../../protocol/s3/xml.js';
import { decide } from '../authorization.js';
import { changeVersion, versionHeaders } from '../object-records.js';
import { loadObject } from '../object-versions.js';
import { readSmallBody } from '../request-body.js';
import { bucketOf, type OperationOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { changeBucket } from './buckets.js';

const LOCK_HEADERS = ['x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date', 'x-amz-object-lock-legal-hold'];

/** What S3 answers for lock requests on a bucket created without object lock. */
function missingLock(): S3Error {
  return new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');
}

/**
 * The lock a new version gets: what its write's headers ask for, else its bucket's default retention.
 * Lock headers on a bucket without object lock are refused; a retention must name both a mode and a
 * date in the future.
 */
export function requestedLock(headers: HeaderBag, bucket: BucketRecord | undefined, nowMs: number): VersionLock {
  const mode = getHeader(headers, 'x-amz-object-lock-mode')?.trim();
  const until = getHeader(headers, 'x-amz-object-lock-retain-until-date')?.trim();
  const hold = getHeader(headers, 'x-amz-object-lock-legal-hold')?.trim();
  const asked = LOCK_HEADERS.some((name) => getHeader(headers, name) !== undefined);
  if (bucket?.objectLock === undefined) {
    if (asked) throw missingLock();
    return {};
  }
  if ((mode === undefined) !== (until === undefined)) {
    throw new S3Error('InvalidArgument', 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied');
  }
  if (hold !== undefined && hold !== 'ON' && hold !== 'OFF') throw invalidHeader('x-amz-object-lock-legal-hold', hold);
  let retention: Retention | undefined;
  if (mode !== undefined) {
    if (!isRetentionMode(mode)) throw invalidHeader('x-amz-object-lock-mode', mode);
    const untilMs = Date.parse(until!);
    if (!Number.isFinite(untilMs)) throw invalidHeader('x-amz-object-lock-retain-until-date', until!);
    if (untilMs <= nowMs) throw new S3Error('InvalidArgument', 'The retain until date must be in the future!');
    retention = { mode, untilMs };
  } else {
    retention = defaultRetentionFrom(bucket.objectLock.defaultRetention, nowMs);
  }
  return { ...(retention === undefined ? {} : { retention }), ...(hold === 'ON' ? { legalHold: true as const } : {}) };
}

function invalidHeader(name: string, value: string): S3Error {
  return new S3Error('InvalidArgument', `${name} is not valid.`, { fields: { ArgumentName: name, ArgumentValue: value } });
}

/** The lock headers of a read of a locked version. */
export function lockHeaders(meta: VersionLock): Record<string, string> {
  const headers: Record<string, string> = {};
  if (meta.retention !== undefined) {
    headers['x-amz-object-lock-mode'] = meta.retention.mode;
    headers['x-amz-object-lock-retain-until-date'] = formatIsoDate(meta.retention.untilMs);
  }
  if (meta.legalHold) headers['x-amz-object-lock-legal-hold'] = 'ON';
  return headers;
}

/**
 * Whether the request bypasses GOVERNANCE retention of `key`: it says so, and its user may
 * (s3:BypassGovernanceRetention: the bucket's owner, an admin, or whom the bucket policy allows).
 */
export function bypassesGovernance(ctx: RequestContext, key: string): boolean {
  const asked = getHeader(ctx.headers, 'x-amz-bypass-governance-retention')?.trim().toLowerCase() === 'true';
  return asked && ctx.bucket !== undefined && decide(ctx, ctx.bucket, 's3:BypassGovernanceRetention', key).allowed;
}

export function getObjectLockConfiguration(ctx: RequestContext): void {
  const bucket = bucketOf(ctx);
  if (bucket.objectLock === undefined) throw new S3Error('ObjectLockConfigurationNotFoundError', undefined, { fields: { BucketName: bucket.name } });
  sendXml(ctx, 200, buildObjectLockConfiguration(bucket.objectLock));
}

/** Sets the default retention; a bucket created without object lock gets it once its versioning is Enabled. */
export async function putObjectLockConfiguration(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const parsed = parseObjectLockConfiguration(await readSmallBody(ctx, MAX_XML_BODY_BYTES.objectLock));
  if (!parsed.ok) throw parsed.error;
  const config = parsed.value;
  const wanted = JSON.stringify(config);
  await changeBucket(ctx, bucket, (admin, requester) => admin.updateObjectLock(bucket.name, requester, config), (changed) => JSON.stringify(changed.objectLock) === wanted);
  sendEmpty(ctx, 200);
}

export async function getObjectRetention(ctx: RequestContext, op: OperationOf<'GetObjectRetention'>): Promise<void> {
  if (bucketOf(ctx).objectLock === undefined) throw missingLock();
  const { meta } = await loadObject(ctx.deps, op.bucket, op.key, false, op.versionId);
  if (meta.retention === undefined) throw new S3Error('NoSuchObjectLockConfiguration');
  sendXml(ctx, 200, buildRetention(meta.retention), versionHeaders(ctx.bucket, meta));
}

export async function putObjectRetention(ctx: RequestContext, op: OperationOf<'PutObjectRetention'>): Promise<void> {
  if (bucketOf(ctx).objectLock === undefined) throw missingLock();
  const parsed = parseRetention(await readSmallBody(ctx, MAX_XML_BODY_BYTES.objectLock));
  if (!parsed.ok) throw parsed.error;
  if (parsed.value.untilMs <= ctx.deps.clock.now()) throw new S3Error('InvalidArgument', 'The retain until date must be in the future!');
  const written = await changeVersion(ctx.deps, op, {
    type: 'protect', retention: parsed.value, ...versionOf(op), ...(bypassesGovernance(ctx, op.key) ? { bypassGovernance: true } : {}),
  });
  sendEmpty(ctx, 200, changedVersionHeaders(ctx, op, written));
}

export async function getObjectLegalHold(ctx: RequestContext, op: OperationOf<'GetObjectLegalHold'>): Promise<void> {
  if (bucketOf(ctx).objectLock === undefined) throw missingLock();
  const { meta } = await loadObject(ctx.deps, op.bucket, op.key, false, op.versionId);
  sendXml(ctx, 200, buildLegalHold(meta.legalHold === true), versionHeaders(ctx.bucket, meta));
}

export async function putObjectLegalHold(ctx: RequestContext, op: OperationOf<'PutObjectLegalHold'>): Promise<void> {
  if (bucketOf(ctx).objectLock === undefined) throw missingLock();
  const parsed = parseLegalHold(await readSmallBody(ctx, MAX_XML_BODY_BYTES.objectLock));
  if (!parsed.ok) throw parsed.error;
  const written = await changeVersion(ctx.deps, op, { type: 'protect', legalHold: parsed.value, ...versionOf(op) });
  sendEmpty(ctx, 200, changedVersionHeaders(ctx, op, written));
}

function versionOf(op: { readonly versionId: string | undefined }): { versionId?: string } {
  return op.versionId === undefined ? {} : { versionId: op.versionId };
}

/** The version a change was made to: the one named, else the key's current one. */
function changedVersionHeaders(ctx: RequestContext, op: { readonly versionId: string | undefined }, written: ObjectMeta): Record<string, string> {
  if (op.versionId !== undefined) return { 'x-amz-version-id': op.versionId };
  return versionHeaders(ctx.bucket, written)['x-amz-version-id'] === undefined ? {} : { 'x-amz-version-id': versionIdOf(written) };
}
