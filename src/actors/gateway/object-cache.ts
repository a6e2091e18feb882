/**
 * The gateway's memory cache of small objects, least recently used first out, bounded in bytes. It
 * takes an object in on its second use, and when full only one used more often than each entry it
 * would push out (cache-admission.ts): objects read once pass it by, and a loop over more objects than
 * it holds leaves part of them cached rather than none. An entry is only a candidate: the reader checks
 * it against the storage node's current version (etag and clock, no body) before serving it, so a
 * write through another gateway is never hidden. Writes through this gateway drop the entry at once.
 */
import { ownRecord } from '../../protocol/cluster/cbor.js';
import type { ObjectCacheStats } from '../../protocol/cluster/http-listener.js';
import { compareHlc } from '../../core/hlc.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import { FrequencySketch, MAX_COUNT } from './cache-admission.js';
import type { GatewayConfig } from './gateway-config.js';

export interface CachedObject {
  readonly meta: ObjectMeta;
  readonly body: Uint8Array;
  /** When it was stored or last found current (clock ms): what HTTP-cache mode's TTL counts from. */
  readonly checkedAtMs: number;
  /** What the entry counts against the cache's budget: its body, its record and its bookkeeping. */
  readonly chargedBytes: number;
}

/**
 * How much longer (ms) a copy last found current at `checkedAtMs` may be served without asking the
 * storage node: only in HTTP-cache mode, for its TTL; 0 or less means check it first.
 */
export function freshForMs(config: Pick<GatewayConfig, 'cacheMode' | 'cacheTtlSeconds'>, checkedAtMs: number, nowMs: number): number {
  if (config.cacheMode !== 'http') return 0;
  return checkedAtMs + config.cacheTtlSeconds * 1000 - nowMs;
}


/**
 * An entry is charged its body, an estimate of its record (recordBytes) and this much for the rest (its
 * map entry, key and body's Buffer object), so many tiny objects cannot exceed the budget unseen: an
 * entry of a 4-byte object with a short key and no user metadata took about 700 bytes of heap, and is
 * charged about 1,000.
 */
const ENTRY_OVERHEAD_BYTES = 512;

/** Counters per row of the cache's use counts: a multiple of the entries a default-sized cache holds. */
export const COUNTED_KEYS = 256 * 1024;
/**
 * Uses counted between two halvings of every count, per entry held (at least MIN_AGING_ENTRIES): a
 * count stays a measure of the last few turns over what the cache holds, so an object that was popular
 * and no longer is gives way within them, whatever the cache's size.
 */
const USES_PER_ENTRY_BETWEEN_AGINGS = 10;
const MIN_AGING_ENTRIES = 1024;

export class ObjectCache {
  private readonly entries = new Map<string, CachedObject>();
  private readonly uses: FrequencySketch | undefined;
  private usesSinceAging = 0;
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  /** `countedKeys` 0 takes every object in on its first offer (a plain LRU). */
  constructor(
    private readonly maxBytes: number,
    private readonly maxObjectBytes: number,
    countedKeys = COUNTED_KEYS,
  ) {
    this.uses = maxBytes > 0 && countedKeys > 0 ? new FrequencySketch(countedKeys) : undefined;
  }

  /** The entry for a key, marked as recently used; the caller validates it before use. */
  get(bucket: string, key: string): CachedObject | undefined {
    const id = cacheKey(bucket, key);
    const found = this.entries.get(id);
    if (found === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.countUse(id);
    this.entries.delete(id);
    this.entries.set(id, found);
    return found;
  }

  /**
   * Keeps a body that was just read or written, if it is small enough to be worth it and used often
   * enough (or cached now); returns whether it did. `checkedAtMs`: when it was read (without it, the
   * copy is checked before its first use in any mode).
   */
  offer(meta: ObjectMeta, body: Uint8Array, checkedAtMs = Number.NEGATIVE_INFINITY): boolean {
    if (this.maxBytes === 0 || body.length > this.maxObjectBytes || meta.chunks !== undefined) return false;
    const id = cacheKey(meta.bucket, meta.key);
    const cached = this.entries.has(id);
    // The copy cached now goes, whether or not this version takes its place.
    this.remove(id);
    const uses = this.countUse(id);
    // A new version of a cached key is taken in without question, as everything is when uses are not counted.
    const judged = !cached && uses !== undefined;
    // Used once: passed by before its record is even sized.
    if (judged && uses < 2) return false;
    const cost = body.length + recordBytes(meta) + ENTRY_OVERHEAD_BYTES;
    if (cost > this.maxBytes || (judged && !this.outweighs(uses, cost))) return false;
    // Records are kept as copies: one decoded from a frame would keep much of that frame alive, uncharged.
    const entry: CachedObject = { meta: ownRecord(meta), body: ownedCopy(body), checkedAtMs, chargedBytes: cost };
    this.entries.set(id, entry);
    this.bytes += cost;
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(oldest);
    }
    return true;
  }

  /**
   * Whether an object used `uses` times lately, costing `cost`, is taken in: when it does not fit
   * without evicting, only if used more often than each entry it would push out (or as often, when
   * counts reached their top: then the least recently used goes, as in a plain LRU). A key cached now
   * always is (a new version replaces the old), and another only once used twice (`offer`).
   */
  private outweighs(uses: number, cost: number): boolean {
    let freed = this.maxBytes - this.bytes;
    for (const [victim, entry] of this.entries) {
      if (freed >= cost) break;
      const victimUses = this.uses!.frequency(victim);
      if (victimUses > uses || (victimUses === uses && uses < MAX_COUNT)) return false;
      freed += entry.chargedBytes;
    }
    return true;
  }

  /** Counts a use of `id` and says how often it was used lately; undefined when uses are not counted. */
  private countUse(id: string): number | undefined {
    if (this.uses === undefined) return undefined;
    const uses = this.uses.record(id);
    if (++this.usesSinceAging >= USES_PER_ENTRY_BETWEEN_AGINGS * Math.max(MIN_AGING_ENTRIES, this.entries.size)) {
      this.uses.age();
      this.usesSinceAging = 0;
    }
    return uses;
  }

  /** The storage node confirmed the entry is current at `nowMs`. */
  refresh(bucket: string, key: string, nowMs: number): void {
    const id = cacheKey(bucket, key);
    const found = this.entries.get(id);
    if (found !== undefined) this.entries.set(id, { ...found, checkedAtMs: nowMs });
  }

  invalidate(bucket: string, key: string): void {
    this.remove(cacheKey(bucket, key));
  }

  /** Drops every copy of the bucket's objects. */
  invalidateBucket(bucket: string): void {
    for (const [id, entry] of [...this.entries]) if (entry.meta.bucket === bucket) this.remove(id);
  }

  /** Drops everything (purge-cache). */
  purge(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  get stats(): ObjectCacheStats {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }

  private remove(id: string): void {
    const found = this.entries.get(id);
    if (found === undefined) return;
    this.entries.delete(id);
    this.bytes -= charge(found);
  }
}

/** Whether a cached record is still the current version: same content and same write. */
export function sameVersion(a: ObjectMeta, b: ObjectMeta): boolean {
  return a.etag === b.etag && a.sizeBytes === b.sizeBytes && compareHlc(a.clock, b.clock) === 0;
}

/**
 * The body itself when it is the whole of its memory (an upload's own buffer); otherwise a copy in
 * memory of its own, so a cached body never pins a larger buffer it was sliced from (nor a slab of
 * Node's shared pool). Bodies are never written to once stored.
 */
function ownedCopy(body: Uint8Array): Uint8Array {
  if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength) return body;
  const copy = Buffer.allocUnsafeSlow(body.byteLength);
  copy.set(body);
  return copy;
}

function cacheKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}

function charge(entry: CachedObject): number {
  return entry.chargedBytes;
}

/**
 * Roughly the heap a record's copy takes: its strings, and a slot per field and element. A record may
 * carry user metadata, tags, an ACL or a version list far larger than its fixed fields.
 */
function recordBytes(value: unknown): number {
  if (typeof value === 'string') return STRING_HEADER_BYTES + value.length;
  if (typeof value !== 'object' || value === null) return SLOT_BYTES;
  let total = OBJECT_HEADER_BYTES;
  if (Array.isArray(value)) {
    for (const item of value) total += SLOT_BYTES + recordBytes(item);
    return total;
  }
  for (const name in value) total += SLOT_BYTES + name.length + recordBytes((value as Record<string, unknown>)[name]);
  return total;
}

const SLOT_BYTES = 8;
const STRING_HEADER_BYTES = 16;
const OBJECT_HEADER_BYTES = 32;
