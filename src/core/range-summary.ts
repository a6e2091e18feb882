/**
 * Anti-entropy summaries: a ring range's contents folded into a few XOR digests of (key, clock), one
 * per summary bucket. Two replicas with equal digests hold the same versions; a differing digest
 * narrows the comparison to that bucket's keys. XOR makes the fold order-free.
 */
import { hash } from 'node:crypto';
import { encodeHlc, type Hlc } from './hlc.js';
import type { RingPosition } from './ring/position.js';

export const SUMMARY_BUCKETS = 64;

/** Which summary bucket a key falls in: from its ring position, so every replica agrees. */
export function summaryBucketOf(position: RingPosition): number {
  return parseInt(position.slice(-2), 16) % SUMMARY_BUCKETS;
}

/**
 * A 32-bit fingerprint of one version of one key: the first four bytes of the MD5 of identity, NUL and
 * clock. Every node of every release must compute the same value, or their digests never agree. The
 * one-shot hash costs a third of a Hash object, and an anti-entropy scan takes one per key.
 */
export function versionFingerprint(identity: string, clock: Hlc): number {
  return parseInt(hash('md5', `${identity}\0${encodeHlc(clock)}`, 'hex').slice(0, 8), 16);
}

export function emptyDigests(): number[] {
  return new Array<number>(SUMMARY_BUCKETS).fill(0);
}

export function foldVersion(digests: number[], position: RingPosition, identity: string, clock: Hlc): void {
  const bucket = summaryBucketOf(position);
  digests[bucket] = (digests[bucket]! ^ versionFingerprint(identity, clock)) >>> 0;
}

/** Indexes of the buckets whose digests differ. */
export function differingBuckets(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < SUMMARY_BUCKETS; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) out.push(i);
  return out;
}
