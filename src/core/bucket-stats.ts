/**
 * How big each bucket is (leofs-adm bucket-stats, the console's buckets): the objects and bytes of a
 * bucket namespace, counted on the storage nodes and summed by the manager.
 *
 * What counts: the object records of the namespace (chunks are not walked: a chunked object's record
 * carries the whole object's size), one object for each whose current version is live (not a
 * tombstone, not a delete marker), and as bytes every version that has a body, the current one and
 * the older versions a versioned bucket keeps, as S3's bucket size metric does: they take space, and
 * an operator looking for the space a bucket takes must see them. Older versions are also given apart.
 * Uploads in progress and their parts are not counted.
 *
 * Every key is on N replicas, so each node counts only the keys it is the counter of: the first node
 * of the key's preference list in the current ring, skipping nodes the manager says are not running
 * (their keys are counted by the next replica, which holds them as well). Dividing by N instead would
 * be wrong wherever a replica lacks a key for a while (a repair pending, a rebalance moving it); the
 * first-replica rule counts each key once as long as the counting node holds it, and every node
 * answers on the ring it counted by, so that the manager can tell answers on different rings apart.
 */
import type { ObjectMeta } from './object-meta.js';

export interface BucketSize {
  /** Keys whose current version is live. */
  readonly objects: number;
  /** Bytes of every version with a body: current and older. */
  readonly bytes: number;
  /** Older versions kept by a versioned bucket (delete markers not included), and their bytes. */
  readonly noncurrentVersions: number;
  readonly noncurrentBytes: number;
}

export const EMPTY_BUCKET_SIZE: BucketSize = { objects: 0, bytes: 0, noncurrentVersions: 0, noncurrentBytes: 0 };

/** What one object record adds to its bucket's size; a tombstone adds nothing. */
export function sizeOfRecord(meta: ObjectMeta): BucketSize {
  if (meta.deleted) return EMPTY_BUCKET_SIZE;
  const live = meta.deleteMarker !== true;
  let noncurrentVersions = 0;
  let noncurrentBytes = 0;
  for (const version of meta.noncurrent ?? []) {
    if (version.deleteMarker === true) continue;
    noncurrentVersions++;
    noncurrentBytes += version.sizeBytes;
  }
  const currentBytes = live ? meta.sizeBytes : 0;
  return { objects: live ? 1 : 0, bytes: currentBytes + noncurrentBytes, noncurrentVersions, noncurrentBytes };
}

export function addSizes(a: BucketSize, b: BucketSize): BucketSize {
  return {
    objects: a.objects + b.objects,
    bytes: a.bytes + b.bytes,
    noncurrentVersions: a.noncurrentVersions + b.noncurrentVersions,
    noncurrentBytes: a.noncurrentBytes + b.noncurrentBytes,
  };
}

/**
 * The node that counts a key: the first of its replicas (primary first) that is not known absent.
 * Undefined when every replica is absent: then nobody counts it, and the sum says it is partial.
 */
export function counterOf(replicas: readonly string[], absent: ReadonlySet<string>): string | undefined {
  return replicas.find((node) => !absent.has(node));
}

export function isBucketSize(value: unknown): value is BucketSize {
  if (typeof value !== 'object' || value === null) return false;
  const size = value as Partial<BucketSize>;
  const count = (field: unknown): boolean => typeof field === 'number' && Number.isSafeInteger(field) && field >= 0;
  return count(size.objects) && count(size.bytes) && count(size.noncurrentVersions) && count(size.noncurrentBytes);
}
