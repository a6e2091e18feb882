/**
 * Anti-entropy digests of the ring ranges this node holds, computed once by scanning a range and then
 * kept current by every write and revert (XOR out the old version, XOR in the new), so comparing a
 * range with a peer costs no scan and no hashing while nothing changes.
 *
 * A write that commits while its range is being scanned can be counted twice or not at all; the
 * digest of that summary bucket then differs from the peer's although the keys agree. Every scan of a
 * bucket's keys (which such a difference triggers) recomputes that bucket's digest, so it heals.
 */
import type { Hlc } from '../../core/hlc.js';
import { isFresh } from '../../runtime/clock.js';
import { emptyDigests, summaryBucketOf, versionFingerprint } from '../../core/range-summary.js';
import { rangeIndexOf } from '../../core/ring/ranges.js';
import { keyPosition, type RingPosition } from '../../core/ring/position.js';
import type { ObjectStore, RangeEntry } from '../../store/object-store.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import type { RingView } from '../common/ring-view.js';

/**
 * Digests are recomputed from the store this often, so a change that bypassed the write path (a disk
 * restored from a backup, say) is still found by anti-entropy.
 */
export const DIGEST_MAX_AGE_MS = 10 * 60_000;

interface CachedDigests {
  readonly digests: number[];
  readonly computedAtMs: number;
}

export class RangeDigests {
  private readonly cache = new Map<string, CachedDigests>();
  private ringChecksum = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly ringView: RingView,
    /** The node's clock: digests are recomputed after a while, as the node's time says. */
    private readonly now: () => number,
  ) {}

  /** The digests of the range (start, end] of the current ring. */
  of(start: RingPosition, end: RingPosition): readonly number[] {
    this.followRing();
    const id = rangeId(start, end);
    const cached = this.cache.get(id);
    if (cached && isFresh(this.now() - cached.computedAtMs, DIGEST_MAX_AGE_MS)) return cached.digests;
    const digests = emptyDigests();
    for (const entry of this.store.scanRange(start, end)) fold(digests, entry);
    this.cache.set(id, { digests, computedAtMs: this.now() });
    return digests;
  }

  /** The digests of any segment (start, end], scanned now and not kept: a segment need not be a range of the ring. */
  scan(start: RingPosition, end: RingPosition): readonly number[] {
    const digests = emptyDigests();
    for (const entry of this.store.scanRange(start, end)) fold(digests, entry);
    return digests;
  }

  /** The range's entries in the given summary buckets; their digests are recomputed on the way. */
  keysIn(start: RingPosition, end: RingPosition, buckets: readonly number[]): RangeEntry[] {
    this.followRing();
    const wanted = new Set(buckets);
    const entries: RangeEntry[] = [];
    const fresh = emptyDigests();
    for (const entry of this.store.scanRange(start, end)) {
      if (!wanted.has(summaryBucketOf(entry.position))) continue;
      entries.push(entry);
      fold(fresh, entry);
    }
    const cached = this.cache.get(rangeId(start, end))?.digests;
    if (cached) for (const bucket of wanted) if (bucket >= 0 && bucket < cached.length) cached[bucket] = fresh[bucket]!;
    return entries;
  }

  /** A version of `address` replaced `before` (absent: none) with `after` (absent: removed). */
  changed(address: ObjectAddress, before: Hlc | undefined, after: Hlc | undefined): void {
    this.followRing();
    const snapshot = this.ringView.current;
    if (!snapshot || this.cache.size === 0) return;
    const position = keyPosition(address.bucket, address.key);
    const index = rangeIndexOf(snapshot.current, position);
    const positions = snapshot.current.positions;
    const end = positions[index];
    const start = positions[(index - 1 + positions.length) % positions.length];
    if (end === undefined || start === undefined) return;
    const digests = this.cache.get(rangeId(start, end))?.digests;
    if (!digests) return;
    const bucket = summaryBucketOf(position);
    const identity = identityOf(address);
    if (before) digests[bucket] = (digests[bucket]! ^ versionFingerprint(identity, before)) >>> 0;
    if (after) digests[bucket] = (digests[bucket]! ^ versionFingerprint(identity, after)) >>> 0;
  }

  /** Drops every digest; each is recomputed from the store when next asked for. */
  forget(): void {
    this.cache.clear();
  }

  private followRing(): void {
    const checksum = this.ringView.current?.checksum ?? 0;
    if (checksum === this.ringChecksum) return;
    this.ringChecksum = checksum;
    this.cache.clear();
  }
}

/** The key's identity within a summary: kind, bucket and key, unambiguous because buckets hold no NUL. */
export function identityOf(address: ObjectAddress): string {
  return `${address.kind}\u0000${address.bucket}\u0000${address.key}`;
}

function fold(digests: number[], entry: RangeEntry): void {
  const bucket = summaryBucketOf(entry.position);
  digests[bucket] = (digests[bucket]! ^ versionFingerprint(identityOf(entry.address), entry.clock)) >>> 0;
}

function rangeId(start: RingPosition, end: RingPosition): string {
  return `${start}:${end}`;
}
