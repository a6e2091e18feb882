/**
 * Writing and deleting an object's record as its bucket's versioning asks. In a bucket that never had
 * versioning a write replaces the record and a delete leaves a tombstone. In one that has, the key's
 * replicas decide the new list of versions against what they hold (core/object-versioning.ts), and
 * the answer names the version made (the sending: common/versioned-writes.ts).
 */
import type { BucketRecord } from '../../core/auth-snapshot.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import { newObjectVersionId, NULL_VERSION_ID, versionIdOf, type BucketVersioning, type Rechunked, type VersionedWrite } from '../../core/object-versioning.js';
import type { WriteCondition } from '../../core/write-condition.js';
import type { DeleteResult, ObjectFields, PutResult } from '../../protocol/cluster/storage-api.js';
import { sendVersionedWrite, VersionedWriteFailure } from '../common/versioned-writes.js';
import type { GatewayDeps } from './request-context.js';
import { storageFailureError } from './storage-errors.js';
import { S3Error } from '../../protocol/s3/errors.js';

/** The bucket's versioning, undefined for a bucket that never had it. */
export function versioningOf(bucket: BucketRecord | undefined): BucketVersioning | undefined {
  return bucket?.versioning;
}

/** Bodies in a versioned bucket go into chunks: a version kept after it is replaced must not live in its record. */
export function keepsBodiesInline(bucket: BucketRecord | undefined): boolean {
  return versioningOf(bucket) === undefined;
}

/** Writes a new version of an object: it replaces the record, or joins the key's versions. */
export function writeObjectRecord(
  deps: GatewayDeps,
  bucket: BucketRecord | undefined,
  fields: ObjectFields,
  body: Uint8Array | undefined,
  condition: WriteCondition | undefined,
): Promise<PutResult> {
  const mode = versioningOf(bucket);
  if (mode === undefined) return deps.storage.put('object', fields, body, condition);
  const write = { type: 'put' as const, mode, versionId: mode === 'Enabled' ? newObjectVersionId() : NULL_VERSION_ID };
  return sendAsClient(deps, fields.bucket, fields.key, write, (rechunked) =>
    deps.storage.put('object', fields, body, condition, rechunked === undefined ? write : { ...write, rechunked }),
  );
}

/**
 * Deletes an object. With `versionId`, that version goes for good (in any bucket: an unversioned one
 * has only `null`), unless object lock keeps it; without, a versioned bucket gets a delete marker and
 * an unversioned one a tombstone. `bypassGovernance`: the request may bypass GOVERNANCE retention.
 */
export function deleteObjectRecord(
  deps: GatewayDeps,
  bucket: BucketRecord | undefined,
  target: { readonly bucket: string; readonly key: string; readonly versionId: string | undefined },
  condition: WriteCondition | undefined,
  bypassGovernance = false,
): Promise<DeleteResult> {
  const mode = versioningOf(bucket);
  let write: VersionedWrite;
  if (target.versionId !== undefined) write = { type: 'remove', versionId: target.versionId, ...(bypassGovernance ? { bypassGovernance } : {}) };
  else if (mode !== undefined) write = { type: 'marker', mode, versionId: mode === 'Enabled' ? newObjectVersionId() : NULL_VERSION_ID };
  else return deps.storage.delete('object', target.bucket, target.key, condition);
  return sendAsClient(deps, target.bucket, target.key, write, (rechunked) =>
    deps.storage.delete('object', target.bucket, target.key, condition, rechunked === undefined ? write : { ...write, rechunked }),
  );
}

/**
 * Changes one version in place (the current one without `versionId`): its tags (`retag`) or its lock
 * (`protect`) or its ACL (`reacl`), and answers the record as it is now. NoSuchKey when the key has no current version,
 * NoSuchVersion when it lacks the one named.
 */
export async function changeVersion(
  deps: GatewayDeps,
  target: { readonly bucket: string; readonly key: string; readonly versionId: string | undefined },
  write: Extract<VersionedWrite, { type: 'retag' | 'reacl' | 'protect' }>,
): Promise<ObjectMeta> {
  const fields: ObjectFields = { bucket: target.bucket, key: target.key, sizeBytes: 0, etag: '', contentType: '', userMeta: {} };
  const result = await sendAsClient(deps, target.bucket, target.key, write, (rechunked) =>
    deps.storage.put('object', fields, undefined, undefined, rechunked === undefined ? write : { ...write, rechunked }),
  );
  if (result.ok) return result.meta;
  if (result.code === 'NoSuchVersion' && target.versionId === undefined) throw new S3Error('NoSuchKey', undefined, { fields: { Key: target.key } });
  throw storageFailureError(result);
}

/**
 * What a client is told of the version it reads: only buckets that have had versioning speak of
 * versions, the null version included.
 */
export function versionHeaders(bucket: BucketRecord | undefined, version: ObjectMeta): Record<string, string> {
  if (versioningOf(bucket) === undefined && version.versionId === undefined) return {};
  return { 'x-amz-version-id': versionIdOf(version) };
}

/** What a client is told of the version its write made: its id, none for a null version (as S3 answers). */
export function writtenVersionHeaders(written: ObjectMeta): Record<string, string> {
  return written.versionId === undefined ? {} : { 'x-amz-version-id': written.versionId };
}

/** A versioned write from a request: a body that could not be read or moved fails it with its S3 error. */
async function sendAsClient<R extends PutResult | DeleteResult>(
  deps: GatewayDeps,
  bucket: string,
  key: string,
  write: VersionedWrite,
  send: (rechunked: Rechunked | undefined) => Promise<R>,
): Promise<R> {
  try {
    return await sendVersionedWrite(deps, bucket, key, write, send);
  } catch (error) {
    if (error instanceof VersionedWriteFailure) throw storageFailureError(error.failure);
    throw error;
  }
}
