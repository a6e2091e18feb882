/**
 * What a membership change moves. Both rings' points together cut the key space into segments on
 * which each ring has one preference list; a segment moves when those lists differ as sets.
 */
import type { RingPosition } from './position.js';
import { preferenceList, type Ring } from './ring.js';
import { rangeIndexOf } from './ranges.js';

export interface RebalanceMove {
  /** Exclusive. */
  readonly start: RingPosition;
  /** Inclusive. A segment that starts where it ends is the whole ring. */
  readonly end: RingPosition;
  /** The range of the next ring that contains this segment (its vnode owns the hand-off). */
  readonly rangeIndex: number;
  /** The next ring's preference list for the segment. */
  readonly holders: readonly string[];
  /** Nodes that must receive the segment. */
  readonly added: readonly string[];
  /** The previous ring's preference list, primary first: where the data is to be copied from. */
  readonly sources: readonly string[];
  /** Nodes that may drop the segment once the new holders have it. */
  readonly removed: readonly string[];
}

/** The segments whose holders change from `previous` to `next`, in ring order. */
export function planRebalance(previous: Ring, next: Ring, n: number): RebalanceMove[] {
  const cuts = mergePositions(previous.positions, next.positions);
  const moves: RebalanceMove[] = [];
  cuts.forEach((end, i) => {
    const start = cuts[(i + cuts.length - 1) % cuts.length]!;
    const sources = preferenceList(previous, end, n);
    const holders = preferenceList(next, end, n);
    const added = holders.filter((node) => !sources.includes(node));
    const removed = sources.filter((node) => !holders.includes(node));
    if (added.length === 0 && removed.length === 0) return;
    moves.push({ start, end, rangeIndex: rangeIndexOf(next, end), holders, added, sources, removed });
  });
  return moves;
}

function mergePositions(a: readonly RingPosition[], b: readonly RingPosition[]): RingPosition[] {
  const merged: RingPosition[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    let next: RingPosition;
    if (y === undefined || (x !== undefined && x < y)) {
      next = x!;
      i++;
    } else if (x === undefined || y < x) {
      next = y;
      j++;
    } else {
      next = x;
      i++;
      j++;
    }
    merged.push(next);
  }
  return merged;
}
