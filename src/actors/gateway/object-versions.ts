/**
 * Reading an object's current version (through the cache), and retiring the version a write or delete
 * replaced: its chunks are deleted once the new record is in place, and only if the new record really
 * won. Versions are ordered by their clocks, which different coordinators stamp, so "written after"
 * is checked, never assumed: a write that lost deletes its own chunks instead.
 */
import { compareHlc } from '../../core/hlc.js';
import { versionIdsOf } from '../../core/chunk-layout.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import { deleteChunks } from './body-writer.js';
import { sameVersion } from './object-cache.js';
import type { GatewayDeps } from './request-context.js';
import { expectOk, storageFailureError } from './storage-errors.js';

/** The current record of a key, undefined when there is none; other failures throw their S3 error. */
export async function currentObject(deps: GatewayDeps, bucket: string, key: string): Promise<ObjectMeta | undefined> {
  const result = await deps.storage.get('object', bucket, key, { withBody: false });
  if (result.ok) return result.meta;
  if (result.code === 'NotFound') return undefined;
  throw storageFailureError(result);
}

export interface LoadedObject {
  readonly meta: ObjectMeta;
  /** The body when it lives in the record and was asked for. */
  readonly body: Uint8Array | undefined;
}

/**
 * An object for a read. A cached copy is served only after the storage node confirms it is still the
 * current version; that check carries no body, which is what the cache saves.
 */
export async function loadObject(deps: GatewayDeps, bucket: string, key: string, withBody: boolean): Promise<LoadedObject> {
  const cached = withBody ? deps.cache.get(bucket, key) : undefined;
  if (cached !== undefined) {
    const head = await deps.storage.get('object', bucket, key, { withBody: false });
    if (!head.ok) {
      deps.cache.invalidate(bucket, key);
      throw storageFailureError(head, 'NoSuchKey');
    }
    if (sameVersion(head.meta, cached.meta)) return { meta: cached.meta, body: cached.body };
    deps.cache.invalidate(bucket, key);
    if (head.meta.chunks !== undefined) return { meta: head.meta, body: undefined };
  }
  const got = expectOk(await deps.storage.get('object', bucket, key, { withBody }), 'NoSuchKey');
  if (withBody && got.body !== undefined && got.meta.chunks === undefined) deps.cache.offer(got.meta, got.body);
  return { meta: got.meta, body: got.body };
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
  if (loser.chunks === undefined) return;
  const kept = versionIdsOf(winner.chunks);
  if ((loser.chunks.runs ?? []).some((run) => kept.has(run.versionId))) return;
  if (!writtenWon) deps.log.warn('a write lost to a newer version of its key; deleting its chunks', { bucket: written.bucket, key: written.key });
  void deps.background.start('retire replaced chunks', () => deleteChunks(deps, loser.bucket, objectKey, loser.chunks));
}

/**
 * After a delete: the version its tombstone replaced (reported by the replicas that took it, so the
 * tombstone is newer) is gone for good, and its chunks with it.
 */
export function retireDeleted(deps: GatewayDeps, replaced: ObjectMeta | undefined): void {
  if (replaced?.chunks === undefined) return;
  void deps.background.start('retire deleted chunks', () => deleteChunks(deps, replaced.bucket, replaced.key, replaced.chunks));
}
