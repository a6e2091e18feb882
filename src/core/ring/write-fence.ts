/**
 * When a set of nodes is enough to fence writes off a whole key space. A write is acknowledged once W
 * of its key's N replicas have taken it. If, for every range of the ring, at least N-W+1 of its
 * replicas refuse further writes, no later write can gather W acknowledgements anywhere; and a write
 * acknowledged before is on at least one of those N-W+1 replicas (W + N-W+1 > N), so a listing of
 * them finds it. Deleting a bucket only if it is empty relies on both.
 *
 * While a rebalance runs, writes route by the current ring but keys may still sit on the previous
 * ring's replicas, so both rings must be covered.
 */
import type { RingSnapshot } from './ring-document.js';
import { walkFrom, type Ring } from './ring.js';

/** Undefined when `fenced` covers every range of both rings; otherwise a range that it does not. */
export function unfencedRange(snapshot: RingSnapshot, fenced: ReadonlySet<string>): { readonly replicas: readonly string[]; readonly needed: number } | undefined {
  const { n, w } = snapshot.doc.settings;
  for (const ring of snapshot.previous ? [snapshot.current, snapshot.previous] : [snapshot.current]) {
    const gap = firstGap(ring, n, w, fenced);
    if (gap) return gap;
  }
  return undefined;
}

function firstGap(ring: Ring, n: number, w: number, fenced: ReadonlySet<string>): { replicas: string[]; needed: number } | undefined {
  const seen = new Set<string>();
  for (let point = 0; point < ring.positions.length; point++) {
    const replicas = walkFrom(ring, point, n).map((owner) => ring.members[owner]!.node);
    const id = replicas.join('\u0000');
    if (seen.has(id)) continue;
    seen.add(id);
    // A ring with fewer members than N stores fewer copies; W is capped the same way by the writer.
    const needed = Math.max(1, replicas.length - Math.min(w, replicas.length) + 1);
    if (replicas.filter((node) => fenced.has(node)).length < needed) return { replicas, needed };
  }
  return undefined;
}
