/**
 * How often the gateway's memory cache saw each object lately: what decides which objects it takes in
 * (TinyLFU). An object is taken in once it was used twice (read twice, or written and then read), and,
 * when the cache is full, only if it was used more often than the entry it would push out. Taking an
 * object in costs a copy of its record and body and the eviction of others: an object read once and
 * never again (a scan, a backup) would pay that on every read, and a loop over more objects than the
 * cache holds (a bucket read evenly, again and again) would push out each copy before its next read,
 * so that nothing is ever served from memory. With counts, such a loop leaves the cache holding a part
 * of it, which is then served from memory on every turn.
 *
 * Counts are kept in a fixed table of small counters (a count-min sketch of two rows), so the memory
 * is bounded: two keys that share both counters count as one, which only ever makes a count high. Its
 * owner halves every count (`age`) often enough for what was popular a while ago to give way. Counts
 * move only what is cached, never what a read answers.
 */
import { fnv1a32 } from '../../core/string-hash.js';

/** Counts stop here: enough to tell a popular object from the rest, and small enough to age fast. */
export const MAX_COUNT = 15;

export class FrequencySketch {
  private readonly counts: Uint8Array;
  private readonly mask: number;

  /** `slots`: counters per row, rounded up to a power of two (two rows, a byte per counter). */
  constructor(slots: number) {
    const rowSlots = 2 ** Math.ceil(Math.log2(Math.max(1, slots)));
    this.mask = rowSlots - 1;
    this.counts = new Uint8Array(2 * rowSlots);
  }

  /** Counts one use of `id` (an offer, or a hit), and says how often it was used lately, this one included. */
  record(id: string): number {
    const hash = fnv1a32(id);
    const first = hash & this.mask;
    const second = this.mask + 1 + (mix(hash) & this.mask);
    if (this.counts[first]! < MAX_COUNT) this.counts[first]!++;
    if (this.counts[second]! < MAX_COUNT) this.counts[second]!++;
    return Math.min(this.counts[first]!, this.counts[second]!);
  }

  /** How often `id` was used lately: never less than the uses recorded since the last aging halved them. */
  frequency(id: string): number {
    const hash = fnv1a32(id);
    return Math.min(this.counts[hash & this.mask]!, this.counts[this.mask + 1 + (mix(hash) & this.mask)]!);
  }

  /** Halves every count. */
  age(): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! >>= 1;
  }
}

/** A second, independent-looking index from the same hash (murmur3's finaliser). */
function mix(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
