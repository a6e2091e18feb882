/**
 * Which objects the gateway's memory cache takes in: one offered a second time while it is still
 * remembered (read twice, or written and then read). Taking an object in costs a copy of its record and
 * body and the eviction of others; an object read once and never again (a scan, a backup, a bucket read
 * evenly) would pay that on every read and push out the objects that are read over and over.
 *
 * Keys are remembered as 32-bit hashes in a table of fixed size, so the memory is bounded: a key whose
 * slot another took is forgotten and taken in one offer later, and two keys of the same hash count as
 * one (the second is taken in an offer early). Both only move when an object is cached, never what a
 * read answers.
 */
import { fnv1a32 } from '../../core/string-hash.js';

export class SecondOfferAdmission {
  private readonly seen: Uint32Array;

  /** `slots`: how many keys it remembers at most, rounded up to a power of two. */
  constructor(slots: number) {
    this.seen = new Uint32Array(2 ** Math.ceil(Math.log2(Math.max(1, slots))));
  }

  /** Whether `id` was offered before and is remembered; otherwise it is remembered now. */
  admits(id: string): boolean {
    // 0 marks an empty slot.
    const hash = fnv1a32(id) || 1;
    const slot = hash & (this.seen.length - 1);
    if (this.seen[slot] === hash) return true;
    this.seen[slot] = hash;
    return false;
  }
}
