/**
 * The key space cut at vnode points: range i is (points[i-1], points[i]], range 0 wrapping past the
 * top. A range is what a vnode actor serves and what a rebalance hands off.
 */
import type { RingPosition } from './position.js';
import { pointIndexAt, walkFrom, type Ring } from './ring.js';

export interface RingRange {
  readonly index: number;
  /** Exclusive. */
  readonly start: RingPosition;
  /** Inclusive: the range's vnode point. A range that starts where it ends is the whole ring. */
  readonly end: RingPosition;
  /** Preference list, primary first. */
  readonly nodes: readonly string[];
}

/** Index of the range holding `position`, or -1 on a ring with no points. */
export function rangeIndexOf(ring: Ring, position: RingPosition): number {
  return ring.positions.length === 0 ? -1 : pointIndexAt(ring, position);
}

export function rangeAt(ring: Ring, index: number, n: number): RingRange {
  const count = ring.positions.length;
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`no range ${index} on a ring of ${count}`);
  return {
    index,
    start: ring.positions[(index + count - 1) % count]!,
    end: ring.positions[index]!,
    nodes: walkFrom(ring, index, n).map((owner) => ring.members[owner]!.node),
  };
}

export function listRanges(ring: Ring, n: number): RingRange[] {
  return ring.positions.map((_, index) => rangeAt(ring, index, n));
}

/** The ranges `node` must hold, as primary or replica, when each key has `n` replicas. */
export function rangesOfNode(ring: Ring, node: string, n: number): RingRange[] {
  return listRanges(ring, n).filter((range) => range.nodes.includes(node));
}
