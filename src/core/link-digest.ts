/**
 * Digests for comparing clusters linked by multi-cluster replication. A stretch of a bucket's keys is
 * folded into one sum (modulo 2^32) of fingerprints of each key's newest version (bucket name, key,
 * clock), so two clusters, whatever their rings and replica counts, hold the same versions of a stretch
 * when their digests (and key counts) are equal. A sum is order-free, so each storage node folds the keys
 * it judges and the nodes' digests add up to the cluster's; unlike XOR, a key counted twice (two nodes
 * judging it for a moment) does not cancel out and hide a key the other cluster lacks.
 *
 * A plain tombstone is left out: a key deleted on one side and never seen (or purged) on the other
 * agree, while a key live on one side and deleted on the other differ.
 */
import type { Hlc } from './hlc.js';
import type { ObjectMeta } from './object-meta.js';
import { compareKeys } from './key-order.js';
import { versionFingerprint } from './range-summary.js';

/** Whether a record counts in a comparison digest: anything but a tombstone with no versions left behind it. */
export function countsInLinkDigest(meta: Pick<ObjectMeta, 'deleted' | 'noncurrent'>): boolean {
  return !meta.deleted || (meta.noncurrent?.length ?? 0) > 0;
}

export function foldLinkVersion(digest: number, bucket: string, key: string, clock: Hlc): number {
  return addLinkDigests(digest, versionFingerprint(`${bucket}/${key}`, clock));
}

/** Two digests of disjoint sets of keys folded into the digest of both. */
export function addLinkDigests(a: number, b: number): number {
  return (a + b) >>> 0;
}

export function isLinkDigest(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff;
}

/** The first of the keys in the stores' order (key-order.ts); undefined for none. */
export function earliestKey(keys: readonly string[]): string | undefined {
  let earliest: string | undefined;
  for (const key of keys) if (earliest === undefined || compareKeys(key, earliest) < 0) earliest = key;
  return earliest;
}
