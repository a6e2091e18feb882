import { expect } from 'chai';
import { bigIntToPosition, keyPosition, RING_SIZE } from '../../../../src/core/ring/position.js';
import {
  buildRing, encodeRingDefinition, preferenceList, readPreferenceList, ringChecksum, validateMembers, type RingMember,
} from '../../../../src/core/ring/ring.js';
import { randomInt, seededRandom } from '../seeded-random.js';
import { referencePreferenceList, storageMembers } from './fixtures.js';

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(next, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function randomPositions(count: number, seed: number): string[] {
  const next = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => keyPosition('bucket', `key-${seed}-${i}-${randomInt(next, 1e9)}`));
}

describe('core/ring/ring', () => {
  describe('buildRing', () => {
    it('places numOfVnodes points per node, sorted and distinct', () => {
      const ring = buildRing([...storageMembers(3), { node: 'heavy@h', alias: 'heavy', numOfVnodes: 300 }]);
      expect(ring.points).to.have.length(3 * 168 + 300);
      for (let i = 1; i < ring.points.length; i++) expect(ring.points[i - 1]!.position < ring.points[i]!.position).to.equal(true);
      expect(ring.points.filter((p) => p.node === 'heavy@h')).to.have.length(300);
      expect(ring.points[0]).to.deep.equal({ position: ring.positions[0], node: ring.members[ring.pointOwners[0]!]!.node, vnodeIndex: ring.points[0]!.vnodeIndex });
    });

    it('sorts members by node and freezes the result', () => {
      const ring = buildRing([{ node: 'b@h', alias: 'b', numOfVnodes: 2 }, { node: 'a@h', alias: 'a', numOfVnodes: 2 }]);
      expect(ring.members.map((m) => m.node)).to.deep.equal(['a@h', 'b@h']);
      expect(Object.isFrozen(ring)).to.equal(true);
      expect(Object.isFrozen(ring.points)).to.equal(true);
      expect(Object.isFrozen(ring.members[0])).to.equal(true);
    });

    it('refuses duplicate nodes or aliases and bad weights', () => {
      expect(validateMembers(storageMembers(3))).to.deep.equal([]);
      expect(validateMembers([...storageMembers(2), { node: 'storage_0@127.0.0.1', alias: 'x', numOfVnodes: 1 }]))
        .to.deep.equal(['node storage_0@127.0.0.1 is listed twice']);
      expect(validateMembers([...storageMembers(2), { node: 'x@h', alias: 'storage_1', numOfVnodes: 1 }]))
        .to.deep.equal(['alias storage_1 is used by two nodes (node x@h)']);
      expect(validateMembers([{ node: 'x@h', alias: 'x', numOfVnodes: 0 }])).to.have.length(1);
      expect(validateMembers([{ node: 'x@h', alias: 'x', numOfVnodes: 2.5 }])).to.have.length(1);
      expect(() => buildRing([{ node: '', alias: 'x', numOfVnodes: 1 }])).to.throw(RangeError, /empty node name/);
    });
  });

  describe('checksum', () => {
    it('is CRC32 of the documented encoding', () => {
      // "leofs-ring/1", rackAware byte, member count, then per member sorted by node: node, alias,
      // numOfVnodes, rack flag and rack; strings as u32 big-endian length + UTF-8. Computed independently.
      const members: RingMember[] = [{ node: 'b@h', alias: 'b', numOfVnodes: 1 }, { node: 'a@h', alias: 'a', numOfVnodes: 2, rack: 'r1' }];
      expect(ringChecksum(members, { rackAware: false })).to.equal(1206355397);
      expect(buildRing(members, { rackAware: false }).checksum).to.equal(1206355397);
      expect(encodeRingDefinition(members, { rackAware: false }).length).to.equal(16 + 1 + 4 + (7 + 5 + 4 + 1 + 6) + (7 + 5 + 4 + 1));
    });

    it('is stable across versions for the default five-node ring', () => {
      expect(buildRing(storageMembers(5)).checksum).to.equal(1660605914);
    });

    it('does not depend on the order members are given in', () => {
      const next = seededRandom(21);
      const members = [...storageMembers(6), { node: 'r@h', alias: 'r', numOfVnodes: 40, rack: 'east' }];
      const reference = buildRing(members);
      for (let i = 0; i < 10; i++) {
        const other = buildRing(shuffled(members, next));
        expect(other.checksum).to.equal(reference.checksum);
        expect(other.points).to.deep.equal(reference.points);
        for (const position of randomPositions(50, i)) {
          expect(preferenceList(other, position, 3)).to.deep.equal(preferenceList(reference, position, 3));
        }
      }
    });

    it('changes with every field and option', () => {
      const base = storageMembers(3);
      const checksums = new Set([
        ringChecksum(base),
        ringChecksum(base, { rackAware: false }),
        ringChecksum(base.slice(0, 2)),
        ringChecksum([{ ...base[0]!, numOfVnodes: 169 }, base[1]!, base[2]!]),
        ringChecksum([{ ...base[0]!, alias: 'other' }, base[1]!, base[2]!]),
        ringChecksum([{ ...base[0]!, node: 'storage_0@10.0.0.1' }, base[1]!, base[2]!]),
        ringChecksum([{ ...base[0]!, rack: 'r1' }, base[1]!, base[2]!]),
        ringChecksum([{ ...base[0]!, rack: '' }, base[1]!, base[2]!]),
      ]);
      expect(checksums.size).to.equal(8);
    });
  });

  describe('preferenceList', () => {
    const members = storageMembers(5);
    const ring = buildRing(members);

    it('is stable across versions for a known key', () => {
      expect(preferenceList(ring, keyPosition('photos', 'cat.jpg'), 3))
        .to.deep.equal(['storage_2@127.0.0.1', 'storage_4@127.0.0.1', 'storage_1@127.0.0.1']);
    });

    it('agrees with a naive walk of the ring', () => {
      const weighted = [...storageMembers(4, 20), { node: 'big@h', alias: 'big', numOfVnodes: 60 }];
      const small = buildRing(weighted);
      for (const position of randomPositions(300, 1)) {
        for (const n of [1, 2, 3, 5]) {
          expect(preferenceList(small, position, n)).to.deep.equal(referencePreferenceList(weighted, position, n));
        }
      }
    });

    it('gives N distinct nodes, primary owning the first point at or after the position', () => {
      for (const position of randomPositions(500, 2)) {
        const list = preferenceList(ring, position, 3);
        expect(new Set(list).size).to.equal(3);
        const first = ring.points.find((p) => p.position >= position) ?? ring.points[0]!;
        expect(list[0]).to.equal(first.node);
      }
    });

    it('treats a point as the end of its range and wraps past the top', () => {
      const point = ring.points[10]!;
      expect(preferenceList(ring, point.position, 1)).to.deep.equal([point.node]);
      const justAfter = bigIntToPosition(BigInt(`0x${point.position}`) + 1n);
      expect(preferenceList(ring, justAfter, 1)).to.deep.equal([ring.points[11]!.node]);
      expect(preferenceList(ring, 'f'.repeat(32), 1)).to.deep.equal([ring.points[0]!.node]);
      expect(preferenceList(ring, '0'.repeat(32), 1)).to.deep.equal([ring.points[0]!.node]);
    });

    it('returns every node when N exceeds the membership, and nothing on an empty ring', () => {
      expect([...preferenceList(ring, keyPosition('b', 'k'), 9)].sort()).to.deep.equal(members.map((m) => m.node));
      expect(preferenceList(buildRing([]), keyPosition('b', 'k'), 3)).to.deep.equal([]);
      expect(() => preferenceList(ring, keyPosition('b', 'k'), 0)).to.throw(RangeError);
    });

    it('gives five equal nodes 20% ± 3% of the keys each as primary', () => {
      for (const prefix of ['storage', 'node']) {
        const five = buildRing(storageMembers(5, 168, prefix));
        const counts = new Map<string, number>();
        const keys = 100_000;
        for (const position of randomPositions(keys, 3)) {
          const primary = preferenceList(five, position, 1)[0]!;
          counts.set(primary, (counts.get(primary) ?? 0) + 1);
        }
        expect(counts.size).to.equal(5);
        for (const count of counts.values()) expect(count / keys).to.be.within(0.17, 0.23);
      }
    });

    it('shares keys in proportion to numOfVnodes', () => {
      const weighted = buildRing([...storageMembers(4), { node: 'big@h', alias: 'big', numOfVnodes: 336 }]);
      let big = 0;
      const keys = 50_000;
      for (const position of randomPositions(keys, 4)) if (preferenceList(weighted, position, 1)[0] === 'big@h') big++;
      expect(big / keys).to.be.within(2 / 6 - 0.03, 2 / 6 + 0.03);
    });
  });

  describe('rack awareness', () => {
    const racked = (racks: readonly string[]): RingMember[] =>
      racks.map((rack, i) => ({ node: `storage_${i}@10.0.${i}.1`, alias: `storage_${i}`, numOfVnodes: 64, rack }));

    it('spreads replicas over distinct racks when there are enough', () => {
      const members = racked(['r1', 'r1', 'r2', 'r2', 'r3', 'r3']);
      const rackOf = new Map(members.map((m) => [m.node, m.rack]));
      const ring = buildRing(members);
      let differsFromPlainWalk = 0;
      for (const position of randomPositions(2000, 5)) {
        const list = preferenceList(ring, position, 3);
        expect(new Set(list.map((node) => rackOf.get(node))).size).to.equal(3);
        expect(list[0]).to.equal(referencePreferenceList(members, position, 1)[0]);
        if (list.join() !== referencePreferenceList(members, position, 3).join()) differsFromPlainWalk++;
      }
      expect(differsFromPlainWalk).to.be.greaterThan(0);
    });

    it('falls back to distinct nodes when racks are fewer than N', () => {
      const members = racked(['r1', 'r1', 'r1', 'r2', 'r2']);
      const rackOf = new Map(members.map((m) => [m.node, m.rack]));
      const ring = buildRing(members);
      for (const position of randomPositions(2000, 6)) {
        const list = preferenceList(ring, position, 3);
        expect(new Set(list).size).to.equal(3);
        expect(new Set(list.map((node) => rackOf.get(node))).size).to.equal(2);
      }
    });

    it('is the plain walk when racks are ignored or absent', () => {
      const members = racked(['r1', 'r1', 'r2', 'r2', 'r3', 'r3']);
      const plain = buildRing(members, { rackAware: false });
      const unracked = members.map(({ node, alias, numOfVnodes }) => ({ node, alias, numOfVnodes }));
      const noRacks = buildRing(unracked);
      for (const position of randomPositions(500, 7)) {
        const expected = referencePreferenceList(unracked, position, 3);
        expect(preferenceList(plain, position, 3)).to.deep.equal(expected);
        expect(preferenceList(noRacks, position, 3)).to.deep.equal(expected);
      }
    });
  });

  describe('readPreferenceList', () => {
    it('lists the current replicas first, then the previous ones not already listed', () => {
      const previous = buildRing(storageMembers(5));
      const current = buildRing(storageMembers(6));
      let widened = 0;
      for (const position of randomPositions(1000, 8)) {
        const now = preferenceList(current, position, 3);
        const before = preferenceList(previous, position, 3);
        const read = readPreferenceList(current, previous, position, 3);
        expect(read.slice(0, 3)).to.deep.equal(now);
        expect(read.slice(3)).to.deep.equal(before.filter((node) => !now.includes(node)));
        expect(new Set(read).size).to.equal(read.length);
        if (read.length > 3) widened++;
      }
      expect(widened).to.be.greaterThan(0);
      expect(readPreferenceList(current, undefined, keyPosition('b', 'k'), 3)).to.deep.equal(preferenceList(current, keyPosition('b', 'k'), 3));
    });
  });

  it('covers the whole key space: a random position always has a primary', () => {
    const ring = buildRing(storageMembers(2, 1));
    for (const v of [0n, 1n, RING_SIZE / 2n, RING_SIZE - 1n]) expect(preferenceList(ring, bigIntToPosition(v), 1)).to.have.length(1);
  });
});
