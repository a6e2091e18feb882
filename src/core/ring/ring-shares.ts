/**
 * The ring as an operator looks at it: what share of the key space each storage node is the primary
 * of, and the arcs it holds, as fractions of the circle (0 at the top, clockwise), ready to draw.
 * Range i is (points[i-1], points[i]] and belongs to the owner of points[i] (ranges.ts).
 */
import type { Ring } from './ring.js';

export interface RingArc {
  readonly node: string;
  /** Exclusive start and inclusive end, fractions of the circle; the first arc, which wraps past the top, starts below 0. */
  readonly start: number;
  readonly end: number;
}

export interface RingShares {
  /** Each member's share of the key space as primary, from 0 to 1, in member order. */
  readonly shares: ReadonlyArray<{ readonly node: string; readonly share: number }>;
  /** Neighbouring ranges of one node merged, so that a drawing has one segment per run. */
  readonly arcs: readonly RingArc[];
}

/** The first 52 bits of a 128-bit position, as a fraction of the circle: exact enough to draw and to sum shares. */
export function positionFraction(position: string): number {
  return parseInt(position.slice(0, 13), 16) / 2 ** 52;
}

export function ringShares(ring: Ring): RingShares {
  const count = ring.points.length;
  const totals = new Map<string, number>(ring.members.map((member) => [member.node, 0]));
  if (count === 0) return { shares: [...totals].map(([node, share]) => ({ node, share })), arcs: [] };
  const arcs: RingArc[] = [];
  for (let i = 0; i < count; i++) {
    const point = ring.points[i]!;
    const end = positionFraction(point.position);
    let start = positionFraction(ring.points[(i + count - 1) % count]!.position);
    // Range 0 wraps past the top; a lone point's range is the whole circle.
    if (start >= end) start -= 1;
    totals.set(point.node, (totals.get(point.node) ?? 0) + (end - start));
    const last = arcs[arcs.length - 1];
    if (last !== undefined && last.node === point.node && last.end === start) arcs[arcs.length - 1] = { node: point.node, start: last.start, end };
    else arcs.push({ node: point.node, start, end });
  }
  return { shares: [...totals].map(([node, share]) => ({ node, share })), arcs };
}
