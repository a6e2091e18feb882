import { expect } from 'chai';
import { keyPosition, rangeContains, rangeWidth, RING_SIZE } from '../../../../src/core/ring/position.js';
import { listRanges } from '../../../../src/core/ring/ranges.js';
import { planRebalance, type RebalanceMove } from '../../../../src/core/ring/rebalance.js';
import { buildRing, preferenceList, type Ring } from '../../../../src/core/ring/ring.js';
import { storageMembers } from './fixtures.js';

const share = (width: bigint): number => Number((width * 1_000_000n) / RING_SIZE) / 1_000_000;

function moveOf(moves: readonly RebalanceMove[], position: string): RebalanceMove | undefined {
  return moves.find((m) => rangeContains(m.start, m.end, position));
}

/** The fraction of the key space whose primary differs between two rings, from the union of their cuts. */
function primaryMovedShare(previous: Ring, next: Ring): number {
  const cuts = [...new Set([...previous.positions, ...next.positions])].sort();
  let moved = 0n;
  cuts.forEach((end, i) => {
    const start = cuts[(i + cuts.length - 1) % cuts.length]!;
    if (preferenceList(previous, end, 1)[0] !== preferenceList(next, end, 1)[0]) moved += rangeWidth(start, end);
  });
  return share(moved);
}

describe('core/ring/rebalance', () => {
  const five = buildRing(storageMembers(5));
  const six = buildRing(storageMembers(6));
  const newcomer = 'storage_5@127.0.0.1';

  it('moves nothing between equal rings', () => {
    expect(planRebalance(five, buildRing([...storageMembers(5)].reverse()), 3)).to.deep.equal([]);
  });

  it('adding a sixth node moves about a sixth of the primaries, all to the newcomer', () => {
    expect(primaryMovedShare(five, six)).to.be.within(1 / 6 - 0.03, 1 / 6 + 0.03);
    let moved = 0;
    const keys = 20_000;
    for (let i = 0; i < keys; i++) {
      const position = keyPosition('bucket', `key-${i}`);
      const before = preferenceList(five, position, 1)[0];
      const after = preferenceList(six, position, 1)[0];
      if (before !== after) {
        moved++;
        expect(after).to.equal(newcomer);
      }
    }
    expect(moved / keys).to.be.within(1 / 6 - 0.03, 1 / 6 + 0.03);
  });

  it('plans, for each changed segment, the newcomer in and one old holder out', () => {
    const moves = planRebalance(five, six, 3);
    expect(moves.length).to.be.greaterThan(0);
    let movedWidth = 0n;
    for (const m of moves) {
      expect(m.added).to.deep.equal([newcomer]);
      expect(m.removed).to.have.length(1);
      expect(m.sources).to.have.length(3);
      expect(m.sources).to.include(m.removed[0]);
      expect(m.holders).to.include(newcomer);
      expect(m.sources).to.deep.equal(preferenceList(five, m.end, 3));
      expect(m.holders).to.deep.equal(preferenceList(six, m.end, 3));
      const range = listRanges(six, 3)[m.rangeIndex]!;
      expect(rangeContains(range.start, range.end, m.end)).to.equal(true);
      movedWidth += rangeWidth(m.start, m.end);
    }
    // With N=3 the newcomer takes about 3/6 of the key space as primary or replica.
    expect(share(movedWidth)).to.be.within(0.5 - 0.05, 0.5 + 0.05);
  });

  it('lists exactly the positions whose replica set changes, in ring order', () => {
    const moves = planRebalance(five, six, 3);
    for (let i = 1; i < moves.length; i++) expect(moves[i - 1]!.end < moves[i]!.end).to.equal(true);
    for (let i = 0; i < 5000; i++) {
      const position = keyPosition('bucket', `probe-${i}`);
      const before = preferenceList(five, position, 3);
      const after = preferenceList(six, position, 3);
      const changed = after.some((n) => !before.includes(n));
      const move = moveOf(moves, position);
      expect(move !== undefined, position).to.equal(changed);
      if (move !== undefined) {
        expect(move.added).to.deep.equal(after.filter((n) => !before.includes(n)));
        expect(move.removed).to.deep.equal(before.filter((n) => !after.includes(n)));
        expect(move.sources).to.deep.equal(before);
      }
    }
  });

  it('removing a node moves only what that node held', () => {
    const leaving = 'storage_2@127.0.0.1';
    const four = buildRing(storageMembers(5).filter((m) => m.node !== leaving));
    const moves = planRebalance(five, four, 3);
    for (const m of moves) {
      expect(m.removed).to.deep.equal([leaving]);
      expect(m.added).to.have.length(1);
      expect(m.added).to.not.include(leaving);
    }
    for (let i = 0; i < 20_000; i++) {
      const position = keyPosition('bucket', `key-${i}`);
      const before = preferenceList(five, position, 1)[0];
      const after = preferenceList(four, position, 1)[0];
      if (before !== leaving) expect(after).to.equal(before);
      else expect(after).to.not.equal(leaving);
    }
    expect(primaryMovedShare(five, four)).to.be.within(0.2 - 0.03, 0.2 + 0.03);
  });

  it('a replacement taking over an alias moves exactly the old node\'s ranges to it', () => {
    const members = storageMembers(5);
    const replaced = members.map((m) => (m.alias === 'storage_3' ? { ...m, node: 'storage_9@127.0.0.9' } : m));
    const moves = planRebalance(five, buildRing(replaced), 3);
    for (const m of moves) {
      expect(m.removed).to.deep.equal(['storage_3@127.0.0.1']);
      expect(m.added).to.deep.equal(['storage_9@127.0.0.9']);
    }
    const held = listRanges(five, 3).filter((r) => r.nodes.includes('storage_3@127.0.0.1'));
    expect(moves.reduce((sum, m) => sum + rangeWidth(m.start, m.end), 0n))
      .to.equal(held.reduce((sum, r) => sum + rangeWidth(r.start, r.end), 0n));
  });

  it('hands the whole ring over from an empty ring', () => {
    const moves = planRebalance(buildRing([]), five, 3);
    expect(moves).to.have.length(five.points.length);
    expect(moves.reduce((sum, m) => sum + rangeWidth(m.start, m.end), 0n)).to.equal(RING_SIZE);
    for (const m of moves) {
      expect(m.sources).to.deep.equal([]);
      expect(m.added).to.deep.equal(m.holders);
    }
  });
});
