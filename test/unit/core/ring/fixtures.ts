import { createHash } from 'node:crypto';
import type { RingMember } from '../../../../src/core/ring/ring.js';

export function storageMembers(count: number, numOfVnodes = 168, namePrefix = 'storage'): RingMember[] {
  return Array.from({ length: count }, (_, i) => ({ node: `${namePrefix}_${i}@127.0.0.1`, alias: `${namePrefix}_${i}`, numOfVnodes }));
}

/** A deliberately naive ring: every point hashed here, sorted, then walked until n distinct nodes. */
export function referencePreferenceList(members: readonly RingMember[], position: string, n: number): string[] {
  const points = members
    .flatMap((m) => Array.from({ length: m.numOfVnodes }, (_, i) => ({
      position: createHash('md5').update(`${m.alias}_${i}`).digest('hex'),
      node: m.node,
    })))
    .sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  const start = points.findIndex((p) => p.position >= position);
  const ordered = [...points.slice(start < 0 ? 0 : start), ...points.slice(0, start < 0 ? 0 : start)];
  const nodes: string[] = [];
  for (const p of ordered) {
    if (nodes.length === n) break;
    if (!nodes.includes(p.node)) nodes.push(p.node);
  }
  return nodes;
}
