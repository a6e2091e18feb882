import { expect } from 'chai';
import { snapshotOf, type RingDocument } from '../../../../src/core/ring/ring-document.js';
import { unfencedRange } from '../../../../src/core/ring/write-fence.js';
import { vnodePosition } from '../../../../src/core/ring/position.js';
import { referencePreferenceList, storageMembers } from './fixtures.js';

function ring(count: number, w: number, previousCount?: number): RingDocument {
  return {
    epoch: 1,
    settings: { n: 3, w, r: 1, d: 2, rackAware: false },
    current: storageMembers(count, 16),
    previous: previousCount === undefined ? null : storageMembers(previousCount, 16, 'old'),
  };
}

/** Brute force: every range's replicas (the naive list at its end point). */
function referenceReplicaSets(doc: RingDocument): string[][] {
  const sets: string[][] = [];
  for (const members of doc.previous ? [doc.current, doc.previous] : [doc.current]) {
    for (const member of members) {
      for (let i = 0; i < member.numOfVnodes; i++) sets.push(referencePreferenceList(members, vnodePosition(member.alias, i), doc.settings.n));
    }
  }
  return sets;
}

/** Each range needs N-W+1 of its replicas fenced. */
function referenceCovered(doc: RingDocument, replicaSets: readonly string[][], fenced: ReadonlySet<string>): boolean {
  return replicaSets.every((replicas) => replicas.filter((node) => fenced.has(node)).length >= replicas.length - doc.settings.w + 1);
}

function subsets<T>(items: readonly T[]): T[][] {
  return Array.from({ length: 2 ** items.length }, (_, mask) => items.filter((_, bit) => (mask & (1 << bit)) !== 0));
}

describe('core/ring/write-fence', () => {
  it('agrees with a brute-force check for every set of fenced nodes', () => {
    for (const doc of [ring(5, 2), ring(5, 1), ring(5, 3), ring(4, 2, 3)]) {
      const snapshot = snapshotOf(doc);
      const nodes = [...doc.current, ...(doc.previous ?? [])].map((member) => member.node);
      const replicaSets = referenceReplicaSets(doc);
      for (const fenced of subsets(nodes)) {
        const set = new Set(fenced);
        expect(unfencedRange(snapshot, set) === undefined, `w=${doc.settings.w} fenced=${fenced.join(',')}`).to.equal(referenceCovered(doc, replicaSets, set));
      }
    }
  });

  it('needs N-W+1 of every range: with N=3 and W=2, any one node may be missing, never two', () => {
    const snapshot = snapshotOf(ring(5, 2));
    const all = snapshot.current.members.map((member) => member.node);
    for (const missing of all) expect(unfencedRange(snapshot, new Set(all.filter((node) => node !== missing)))).to.equal(undefined);
    const gap = unfencedRange(snapshot, new Set(all.slice(2)));
    expect(gap?.needed).to.equal(2);
    expect(gap?.replicas).to.have.length(3);
  });

  it('covers the previous ring as well while data may still sit there', () => {
    const snapshot = snapshotOf(ring(4, 2, 3));
    const current = snapshot.current.members.map((member) => member.node);
    expect(unfencedRange(snapshot, new Set(current)), 'the old ring is not fenced').to.not.equal(undefined);
  });
});
