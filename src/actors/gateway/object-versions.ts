/**
 * Reading an object's current version (through the cache) or one version by its id, and retiring the version a write or delete
 * replaced: its chunks are deleted once the new record is in place, and only if the new record really
 * won. Versions are ordered by their clocks, which different coordinators stamp, so "written after"
 * is checked, never assumed: a write that lost deletes its own chunks instead.
 */
import { compareHlc } from '../../core/hlc.js';
import { carriesBody, type ChunkLayout, type ObjectMeta } from '../../core/object-meta.js';
import { findVersion, layoutsDroppedBy, versionIdOf } from '../../core/object-versioning.js';
import { S3Error } from '../../protocol/s3/errors.js';
import { formatHttpDate } from '../../protocol/s3/headers.js';
import { deleteChunks } from '../common/chunk-deletion.js';
import { freshForMs, sameVersion } from './object-cache.js';
import type { FileHandle } from 'node:fs/promises';
import type { GatewayDeps } from './request-context.js';
import { expectOk, storageFailureError } from './storage-errors.js';

/**
 * The current version of a key, undefined when there is none or it is a delete marker; other failures
 * throw their S3 error.
 */
export async function currentObject(deps: GatewayDeps, bucket: string, key: string): Promise<ObjectMeta | undefined> {
  const result = await deps.storage.get('object', bucket, key, { withBody: false });
  if (result.ok) return result.meta.deleteMarker ? undefined : result.meta;
  if (result.code === 'NotFound') return undefined;
  throw storageFailureError(result);
}

export interface LoadedObject {
  readonly meta: ObjectMeta;
  /** The body when it lives in the record and was asked for. */
  readonly body: Uint8Array | undefined;
  /** A copy of the body in the disk tier, open for reading (only with `fromDisk`); the caller closes it. */
  readonly file?: FileHandle;
  /** When the copy served (or just cached) was last known current: what HTTP-cache mode's TTL counts from. */
  readonly cachedAtMs?: number;
}

export interface LoadOptions {
  /** The caller reads a body from the disk tier's file when it gets one (`LoadedObject.file`). */
  readonly fromDisk?: boolean;
  /** Only part of the body will be read: a disk copy not yet checked since the tier opened is not waited for. */
  readonly partial?: boolean;
}

/**
 * An object for a read: its current version, or the version `versionId` names. A cached copy is served
 * only after the storage node confirms it is still the current version (that check carries no body,
 * which is what the cache saves), or in HTTP-cache mode while it is younger than the TTL.
 */
export async function loadObject(deps: GatewayDeps, bucket: string, key: string, withBody: boolean, versionId?: string, options: LoadOptions = {}): Promise<LoadedObject> {
  if (versionId !== undefined) return loadVersion(deps, bucket, key, withBody, versionId);
  if (withBody) {
    const cached = await fromCaches(deps, bucket, key, options.fromDisk === true, options.partial === true);
    if (cached !== undefined && 'body' in cached) return cached;
    // The copy was stale: what the check found is the current version, and for a chunked one all a read needs.
    if (cached !== undefined && cached.chunks !== undefined) return { meta: cached, body: undefined };
  }
  const result = await deps.storage.get('object', bucket, key, { withBody });
  // As S3 answers a key that is gone: not hidden by a delete marker, simply not there.
  if (!result.ok && result.code === 'NotFound') throw new S3Error('NoSuchKey', undefined, { fields: { Key: key }, headers: { 'x-amz-delete-marker': 'false' } });
  const got = expectOk(result, 'NoSuchKey');
  if (got.meta.deleteMarker) throw deleteMarkerAsCurrent(got.meta);
  if (withBody && got.body !== undefined && got.meta.chunks === undefined) {
    const nowMs = deps.clock.now();
    if (deps.cache.offer(got.meta, got.body, nowMs)) return { meta: got.meta, body: got.body, cachedAtMs: nowMs };
  }
  return { meta: got.meta, body: got.body };
}

/**
 * A cached copy of the current version, checked as the cache mode says; the current version's record
 * when the copy was stale; undefined when there was no usable copy.
 */
async function fromCaches(deps: GatewayDeps, bucket: string, key: string, fromDisk: boolean, partial: boolean): Promise<LoadedObject | ObjectMeta | undefined> {
  const memory = deps.cache.get(bucket, key);
  const disk = memory === undefined && fromDisk ? deps.diskCache.lookup(bucket, key) : undefined;
  const candidate = memory ?? disk;
  if (candidate === undefined) return undefined;
  let cachedAtMs = candidate.checkedAtMs;
  const nowMs = deps.clock.now();
  if (freshForMs(deps.config, cachedAtMs, nowMs) <= 0) {
    const head = await deps.storage.get('object', bucket, key, { withBody: false });
    if (!head.ok) {
      dropCopies(deps, bucket, key);
      throw storageFailureError(head, 'NoSuchKey');
    }
    if (!sameVersion(head.meta, candidate.meta)) {
      dropCopies(deps, bucket, key);
      if (head.meta.deleteMarker) throw deleteMarkerAsCurrent(head.meta);
      return head.meta;
    }
    cachedAtMs = nowMs;
    if (memory !== undefined) deps.cache.refresh(bucket, key, nowMs);
    else deps.diskCache.refresh(bucket, key, nowMs);
  }
  if (memory !== undefined) return { meta: memory.meta, body: memory.body, cachedAtMs };
  const file = await deps.diskCache.openBody(disk!, { partial });
  return file === undefined ? undefined : { meta: disk!.meta, body: undefined, file, cachedAtMs };
}

function dropCopies(deps: GatewayDeps, bucket: string, key: string): void {
  deps.cache.invalidate(bucket, key);
  deps.diskCache.invalidate(bucket, key);
}

/**
 * One version of a key, read past the cache (which holds current versions only). Only the current
 * version can keep its body in the record; older ones are in chunks.
 */
async function loadVersion(deps: GatewayDeps, bucket: string, key: string, withBody: boolean, versionId: string): Promise<LoadedObject> {
  const record = await deps.storage.get('object', bucket, key, { withBody: false });
  if (!record.ok && record.code !== 'NotFound') throw storageFailureError(record);
  const found = findVersion(record.ok ? record.meta : undefined, versionId);
  if (found === undefined) throw new S3Error('NoSuchVersion', undefined, { fields: { Key: key, VersionId: versionId } });
  if (found.meta.deleteMarker) {
    // S3 answers a read of a delete marker by its id with 405, saying what it is.
    throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
      fields: { Method: 'GET', ResourceType: 'DeleteMarker' },
      headers: { 'x-amz-delete-marker': 'true', 'x-amz-version-id': versionId, 'Last-Modified': formatHttpDate(found.meta.lastModifiedMs) },
    });
  }
  if (!withBody || !found.current || !carriesBody(found.meta)) return { meta: found.meta, body: undefined };
  const whole = expectOk(await deps.storage.get('object', bucket, key, { withBody: true }), 'NoSuchVersion');
  const again = findVersion(whole.meta, versionId);
  if (again === undefined) throw new S3Error('NoSuchVersion', undefined, { fields: { Key: key, VersionId: versionId } });
  // Replaced meanwhile, the version was moved into chunks before it became an older one.
  return { meta: again.meta, body: again.current ? whole.body : undefined };
}

/** A read of a key whose current version is a delete marker: 404, saying so. */
function deleteMarkerAsCurrent(meta: ObjectMeta): S3Error {
  return new S3Error('NoSuchKey', undefined, {
    fields: { Key: meta.key },
    headers: { 'x-amz-delete-marker': 'true', 'x-amz-version-id': versionIdOf(meta) },
  });
}

/**
 * After `written` was stored over `previous`: deletes the chunks of whichever of the two lost, in the
 * background. Chunks shared by both (a version stamped again over its own first stamp) are never deleted. Chunks are keyed under the object
 * key, which for a part record is not the record's own key.
 */
export function retireReplaced(deps: GatewayDeps, previous: ObjectMeta | undefined, written: ObjectMeta, objectKey: string = written.key): void {
  if (previous === undefined) return;
  const writtenWon = compareHlc(written.clock, previous.clock) > 0;
  const loser = writtenWon ? previous : written;
  const winner = writtenWon ? written : previous;
  // Versions the winner keeps (the older versions of a versioned key) keep their chunks.
  const dropped = layoutsDroppedBy(loser, winner);
  if (dropped.length === 0) return;
  if (!writtenWon) deps.log.warn('a write lost to a newer version of its key; deleting its chunks', { bucket: written.bucket, key: written.key });
  void deps.background.start('retire replaced chunks', async () => {
    for (const layout of dropped) await deleteChunks(deps, loser.bucket, objectKey, layout);
  });
}

/**
 * After a delete: the versions its record replaced (reported by the replicas that took it, so the new
 * record is newer) and did not keep are gone for good, and their chunks with them. `written`: the
 * record a versioned delete left; a plain delete leaves a tombstone, which keeps nothing.
 */
export function retireDeleted(deps: GatewayDeps, replaced: ObjectMeta | undefined, written?: ObjectMeta): void {
  if (replaced === undefined) return;
  const dropped = written === undefined ? layoutsOf(replaced) : layoutsDroppedBy(replaced, written);
  if (dropped.length === 0) return;
  void deps.background.start('retire deleted chunks', async () => {
    for (const layout of dropped) await deleteChunks(deps, replaced.bucket, replaced.key, layout);
  });
}

function layoutsOf(record: ObjectMeta): ChunkLayout[] {
  return [record, ...(record.noncurrent ?? [])].flatMap((version) => (version.chunks === undefined ? [] : [version.chunks]));
}

/**
 * The version a request names (the current one without `versionId`), its record only, or undefined
 * when there is none (a delete marker counts as none). Storage failures are thrown.
 */
export async function findObjectVersion(deps: GatewayDeps, bucket: string, key: string, versionId: string | undefined): Promise<ObjectMeta | undefined> {
  const record = await deps.storage.get('object', bucket, key, { withBody: false });
  if (!record.ok) {
    if (record.code === 'NotFound') return undefined;
    throw storageFailureError(record);
  }
  const meta = versionId === undefined ? record.meta : findVersion(record.meta, versionId)?.meta;
  return meta === undefined || meta.deleteMarker === true ? undefined : meta;
}
