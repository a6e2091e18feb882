import { expect } from 'chai';
import { keyPosition, rangeContains, rangeWidth, RING_SIZE } from '../../../../src/core/ring/position.js';
import { listRanges, rangeAt, rangeIndexOf, rangesOfNode } from '../../../../src/core/ring/ranges.js';
import { buildRing, preferenceList } from '../../../../src/core/ring/ring.js';
import { storageMembers } from './fixtures.js';

describe('core/ring/ranges', () => {
  const ring = buildRing(storageMembers(5));
  const ranges = listRanges(ring, 3);

  it('cuts the ring at every point into ranges that cover it exactly once', () => {
    expect(ranges).to.have.length(ring.points.length);
    expect(ranges.reduce((sum, r) => sum + rangeWidth(r.start, r.end), 0n)).to.equal(RING_SIZE);
    expect(ranges[0]!.start).to.equal(ring.positions[ring.positions.length - 1]);
    ranges.forEach((r, i) => {
      expect(r.index).to.equal(i);
      expect(r.end).to.equal(ring.positions[i]);
      if (i > 0) expect(r.start).to.equal(ranges[i - 1]!.end);
    });
  });

  it('finds the range of a position and its replicas', () => {
    for (let i = 0; i < 500; i++) {
      const position = keyPosition('bucket', `k${i}`);
      const index = rangeIndexOf(ring, position);
      const range = ranges[index]!;
      expect(rangeContains(range.start, range.end, position)).to.equal(true);
      expect(ranges.filter((r) => rangeContains(r.start, r.end, position))).to.have.length(1);
      expect(range.nodes).to.deep.equal(preferenceList(ring, position, 3));
    }
    expect(rangeIndexOf(ring, ring.positions[7]!)).to.equal(7);
    expect(rangeIndexOf(buildRing([]), keyPosition('b', 'k'))).to.equal(-1);
  });

  it('gives each node about N/5 of the key space to hold', () => {
    let total = 0;
    for (const m of storageMembers(5)) {
      const held = rangesOfNode(ring, m.node, 3);
      total += held.length;
      for (const r of held) expect(r.nodes).to.include(m.node);
      const share = Number((held.reduce((sum, r) => sum + rangeWidth(r.start, r.end), 0n) * 10_000n) / RING_SIZE) / 10_000;
      expect(share).to.be.within(0.6 - 0.05, 0.6 + 0.05);
    }
    expect(total).to.equal(ranges.length * 3);
    expect(rangesOfNode(ring, 'stranger@h', 3)).to.deep.equal([]);
  });

  it('treats a single point as the whole ring', () => {
    const single = buildRing([{ node: 'only@h', alias: 'only', numOfVnodes: 1 }]);
    const [whole] = listRanges(single, 3);
    expect(whole!.start).to.equal(whole!.end);
    expect(rangeWidth(whole!.start, whole!.end)).to.equal(RING_SIZE);
    expect(whole!.nodes).to.deep.equal(['only@h']);
  });

  it('refuses an index that is not a range', () => {
    expect(() => rangeAt(ring, ranges.length, 3)).to.throw(RangeError);
    expect(() => rangeAt(ring, -1, 3)).to.throw(RangeError);
  });
});
