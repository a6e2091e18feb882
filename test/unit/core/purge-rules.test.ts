import { expect } from 'chai';
import type { Hlc } from '../../../src/core/hlc.js';
import { inContact, isPastGrace, majorityOf, mayPurgeWithout, presenceTiming, purgeVerdict, wasAway, type ReplicaVersion } from '../../../src/core/purge-rules.js';

const at = (wallMs: number, counter = 0, node = 'a'): Hlc => ({ wallMs, counter, node });
const answered = (clock: Hlc | null): ReplicaVersion => ({ answered: true, clock });
const silent: ReplicaVersion = { answered: false };

describe('core/purge-rules', () => {
  const tombstone = at(1_000, 2, 'b');

  it('counts the grace period from the wall time of the clock, strictly', () => {
    expect(isPastGrace(tombstone, 1_500, 500)).to.equal(false);
    expect(isPastGrace(tombstone, 1_501, 500)).to.equal(true);
  });

  it('purges when every replica holds the tombstone, a newer version, or nothing', () => {
    const versions = new Map([
      ['r1', answered(tombstone)],
      ['r2', answered(at(2_000))],
      ['r3', answered(null)],
    ]);
    expect(purgeVerdict(tombstone, versions, () => false)).to.deep.equal({ purge: true });
  });

  it('is blocked by an older version, and says which replica needs the tombstone', () => {
    const versions = new Map([
      ['r1', answered(tombstone)],
      ['r2', answered(at(1_000, 1, 'z'))],
    ]);
    expect(purgeVerdict(tombstone, versions, () => true)).to.deep.equal({ purge: false, older: ['r2'], silent: [] });
  });

  it('is blocked by a replica that does not answer, unless it may be purged without', () => {
    const versions = new Map([
      ['r1', answered(tombstone)],
      ['r2', silent],
    ]);
    expect(purgeVerdict(tombstone, versions, () => false)).to.deep.equal({ purge: false, older: [], silent: ['r2'] });
    expect(purgeVerdict(tombstone, versions, (replica) => replica === 'r2')).to.deep.equal({ purge: true });
  });

  it('purges without a replica only when a majority answered and all saw it away past the horizon', () => {
    const view = (downForMs: number) => new Map([['z', downForMs]]);
    const horizonMs = 1_000;
    // Five members: three answers are a majority, two are not.
    expect(mayPurgeWithout('z', 5, new Map([['a', view(2_000)], ['b', view(2_000)], ['c', view(1_001)]]), horizonMs)).to.equal(true);
    expect(mayPurgeWithout('z', 5, new Map([['a', view(2_000)], ['b', view(2_000)]]), horizonMs)).to.equal(false);
    // One member that saw it recently (or at all: exactly the horizon is not past it) is enough to wait.
    expect(mayPurgeWithout('z', 5, new Map([['a', view(2_000)], ['b', view(2_000)], ['c', view(1_000)]]), horizonMs)).to.equal(false);
    expect(mayPurgeWithout('z', 5, new Map([['a', view(2_000)], ['b', view(2_000)], ['c', new Map()]]), horizonMs)).to.equal(false);
  });

  it('two majorities always share a member, so both sides of a split never both purge or both stay', () => {
    for (let members = 1; members <= 9; members++) {
      expect(2 * majorityOf(members), `${members} members`).to.be.greaterThan(members);
      expect(majorityOf(members) - 1, `${members} members`).to.be.at.most(members / 2);
    }
  });

  it('counts a node in contact while it and the members it reaches are a majority', () => {
    const members = ['a', 'b', 'c', 'd'];
    expect(inContact(members, 'a', (m) => m === 'b' || m === 'c')).to.equal(true);
    expect(inContact(members, 'a', (m) => m === 'b')).to.equal(false);
    expect(inContact(['a'], 'a', () => false)).to.equal(true);
  });

  it('counts a node away before anyone may purge without it, with a margin', () => {
    const day = 24 * 60 * 60_000;
    const timing = presenceTiming(7 * day, 60_000);
    expect(timing.refreshMs).to.equal(60_000);
    expect(timing.awayAfterMs).to.be.lessThan(7 * day - 2 * 60_000);
    expect(timing.awayAfterMs).to.be.greaterThan(6 * day);
    expect(timing.reportSlackMs).to.equal(7 * day - timing.awayAfterMs);
    // A short horizon shortens the refresh so the margin still covers two of them.
    const short = presenceTiming(2_000, 60_000);
    expect(short.refreshMs).to.equal(100);
    expect(short.awayAfterMs).to.equal(1_800);
    expect(wasAway(undefined, 10_000, short), 'a new store was never away').to.equal(false);
    expect(wasAway(8_200, 10_000, short)).to.equal(false);
    expect(wasAway(8_199, 10_000, short)).to.equal(true);
  });
});
