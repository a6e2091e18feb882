/**
 * DeleteObject (idempotent: a missing key or version is deleted already) and DeleteObjects (up to 1000 keys, each
 * answered on its own, only failures in quiet mode). With If-Match (an ETag element in DeleteObjects)
 * the delete is conditional, decided atomically by the key's replicas: 412 when the current version
 * does not match, 404 when there is none.
 */
import type { WriteCondition } from '../../../core/write-condition.js';
import { getHeader } from '../../../protocol/s3/headers.js';
import { MAX_KEY_BYTES } from '../../../protocol/s3/router.js';
import { S3Error, toS3Error } from '../../../protocol/s3/errors.js';
import {
  MAX_XML_BODY_BYTES, buildDeleteResult, parseDeleteRequest, type DeleteErrorEntry, type DeletedEntry,
} from '../../../protocol/s3/xml.js';
import type { BucketRecord } from '../../../core/auth-snapshot.js';
import { findVersion, isObjectVersionId, versionIdOf } from '../../../core/object-versioning.js';
import { mapBounded } from '../../../runtime/bounded.js';
import { deleteObjectRecord } from '../object-records.js';
import { authorizeAction } from '../authorization.js';
import { bypassesGovernance } from './object-lock.js';
import { retireDeleted } from '../object-versions.js';
import { readSmallBody } from '../request-body.js';
import type { GatewayDeps, OperationOf, RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { storageFailureError } from '../storage-errors.js';

export async function deleteObject(ctx: RequestContext, op: OperationOf<'DeleteObject'>): Promise<void> {
  const ifMatch = getHeader(ctx.headers, 'if-match');
  const removed = await removeObject(ctx.deps, ctx.bucket, { bucket: op.bucket, key: op.key, versionId: op.versionId }, ifMatch === undefined ? undefined : { ifMatch }, bypassesGovernance(ctx, op.key));
  const headers: Record<string, string> = {};
  if (removed.deleteMarker) headers['x-amz-delete-marker'] = 'true';
  if (removed.versionId !== undefined) headers['x-amz-version-id'] = removed.versionId;
  sendEmpty(ctx, 204, headers);
}

/** What a delete did: which version it made (a delete marker) or removed, where versions are spoken of. */
export interface Removed {
  readonly versionId?: string;
  /** A delete marker was made, or the version removed was one. */
  readonly deleteMarker: boolean;
}

/** Deletes one key (or version) and retires what the delete replaced; also the NFS gateway's REMOVE. */
export async function removeObject(
  deps: GatewayDeps,
  bucketRecord: BucketRecord | undefined,
  target: { readonly bucket: string; readonly key: string; readonly versionId: string | undefined },
  condition: WriteCondition | undefined,
  bypassGovernance: boolean,
): Promise<Removed> {
  const { bucket, key, versionId } = target;
  deps.cache.invalidate(bucket, key);
  const result = await deleteObjectRecord(deps, bucketRecord, target, condition, bypassGovernance);
  // Deleting what is not there is done already, unless the delete asked for a version to match.
  const absent = !result.ok && (result.code === 'NotFound' || result.code === 'NoSuchVersion') && condition === undefined;
  if (!result.ok && !absent) throw storageFailureError(result);
  deps.cache.invalidate(bucket, key);
  if (!result.ok) return versionId === undefined ? { deleteMarker: false } : { versionId, deleteMarker: false };
  retireDeleted(deps, result.replaced, result.written);
  if (versionId !== undefined) {
    const removed = findVersion(result.replaced, versionId);
    return { versionId, deleteMarker: removed?.meta.deleteMarker === true };
  }
  if (result.written?.deleteMarker) return { versionId: versionIdOf(result.written), deleteMarker: true };
  return { deleteMarker: false };
}

const DELETE_CONCURRENCY = 8;

export async function deleteObjects(ctx: RequestContext, op: OperationOf<'DeleteObjects'>): Promise<void> {
  const parsed = parseDeleteRequest(await readSmallBody(ctx, MAX_XML_BODY_BYTES.delete));
  if (!parsed.ok) throw parsed.error;
  const { objects, quiet } = parsed.value;
  const outcomes = await mapBounded(objects, DELETE_CONCURRENCY, async (object): Promise<DeletedEntry | DeleteErrorEntry> => {
    const versioned = object.versionId === undefined ? {} : { versionId: object.versionId };
    try {
      // An empty key names no object (a DeleteObject without a key is DeleteBucket): it is not sent to storage.
      if (object.key === '') throw new S3Error('UserKeyMustBeSpecified', 'A key must be specified for each object to delete.');
      if (Buffer.byteLength(object.key, 'utf8') > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError');
      if (object.versionId !== undefined && !isObjectVersionId(object.versionId)) throw new S3Error('NoSuchVersion');
      authorizeAction(ctx.deps.authView, ctx, op.bucket, object.versionId === undefined ? 's3:DeleteObject' : 's3:DeleteObjectVersion', object.key);
      const removed = await removeObject(ctx.deps, ctx.bucket, { bucket: op.bucket, key: object.key, versionId: object.versionId }, object.etag === undefined ? undefined : { ifMatch: object.etag }, bypassesGovernance(ctx, object.key));
      return {
        key: object.key,
        ...versioned,
        ...(removed.deleteMarker ? { deleteMarker: true } : {}),
        ...(removed.deleteMarker && object.versionId === undefined && removed.versionId !== undefined ? { deleteMarkerVersionId: removed.versionId } : {}),
      };
    } catch (error) {
      const s3 = toS3Error(error);
      if (s3.code === 'InternalError') ctx.log.error('a key of a batch delete failed', { key: object.key, error });
      return { key: object.key, ...versioned, code: s3.code, message: s3.message };
    }
  });
  const deleted = outcomes.filter((o): o is DeletedEntry => !('code' in o));
  const errors = outcomes.filter((o): o is DeleteErrorEntry => 'code' in o);
  sendXml(ctx, 200, buildDeleteResult({ quiet, deleted, errors }));
}
