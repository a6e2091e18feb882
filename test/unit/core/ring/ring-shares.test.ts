import { expect } from 'chai';
import { buildRing } from '../../../../src/core/ring/ring.js';
import { keyPosition } from '../../../../src/core/ring/position.js';
import { rangeIndexOf } from '../../../../src/core/ring/ranges.js';
import { positionFraction, ringShares } from '../../../../src/core/ring/ring-shares.js';

describe('ring shares', () => {
  const ring = buildRing([
    { node: 's0@h', alias: 's0', numOfVnodes: 168 },
    { node: 's1@h', alias: 's1', numOfVnodes: 168 },
    { node: 's2@h', alias: 's2', numOfVnodes: 336 },
  ]);
  const { shares, arcs } = ringShares(ring);

  it('gives shares that sum to the whole ring, in proportion to the weights', () => {
    expect(shares.reduce((sum, entry) => sum + entry.share, 0)).to.be.closeTo(1, 1e-9);
    const share = new Map(shares.map((entry) => [entry.node, entry.share]));
    expect(share.get('s2@h')).to.be.closeTo(0.5, 0.08);
    expect(share.get('s0@h')).to.be.closeTo(0.25, 0.06);
  });

  it('agrees with where keys go: a sampled share is close to the computed one', () => {
    const counts = new Map<string, number>();
    const samples = 20_000;
    for (let i = 0; i < samples; i++) {
      const owner = ring.points[rangeIndexOf(ring, keyPosition('b', `k${i}`))]!.node;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    for (const { node, share } of shares) expect((counts.get(node) ?? 0) / samples, node).to.be.closeTo(share, 0.02);
  });

  it('covers the circle with arcs that follow each other', () => {
    expect(arcs.reduce((sum, arc) => sum + (arc.end - arc.start), 0)).to.be.closeTo(1, 1e-9);
    for (let i = 1; i < arcs.length; i++) expect(arcs[i]!.start).to.equal(arcs[i - 1]!.end);
    expect(positionFraction('80000000000000000000000000000000')).to.equal(0.5);
  });

  it('has no arcs on an empty ring', () => {
    expect(ringShares(buildRing([]))).to.deep.equal({ shares: [], arcs: [] });
  });
});
