import { expect } from 'chai';
import { tick, type Hlc } from '../../../src/core/hlc.js';
import { acknowledgedNewest, hidesNoWrite, judgeUnsettled, type HeldVersion, type ReplicaView } from '../../../src/core/unsettled-rules.js';

const at = (wallMs: number, node = 'a'): Hlc => tick(undefined, wallMs, node);
const holds = (clock: Hlc, unsettled = true): ReplicaView => ({ clock, unsettled });
const older = holds(at(10, 'b'), false);
const nothing: ReplicaView = { clock: null, unsettled: false };

describe('core/unsettled-rules', () => {
  const version = at(100);

  it('settles a version held by W replicas, or by one that settled it', () => {
    expect(judgeUnsettled(version, 2, [holds(version), holds(version), older])).to.equal('settle');
    expect(judgeUnsettled(version, 2, [holds(version), holds(version, false), 'unknown'])).to.equal('settle');
    expect(judgeUnsettled(version, 1, [holds(version), 'unknown', 'unknown'])).to.equal('settle');
  });

  it('settles a version a settled newer one overrides anyway', () => {
    expect(judgeUnsettled(version, 2, [holds(version), holds(at(200, 'c'), false), older])).to.equal('settle');
  });

  it('reverts a version fewer than W replicas can hold', () => {
    expect(judgeUnsettled(version, 2, [holds(version), older, older])).to.equal('revert');
    expect(judgeUnsettled(version, 2, [holds(version), nothing, older])).to.equal('revert');
    expect(judgeUnsettled(version, 3, [holds(version), holds(version), older])).to.equal('revert');
  });

  it('waits while a replica that did not answer, or an unsettled newer version, may hide a holder', () => {
    expect(judgeUnsettled(version, 2, [holds(version), 'unknown', older])).to.equal('wait');
    expect(judgeUnsettled(version, 2, [holds(version), holds(at(200, 'c')), older])).to.equal('wait');
    expect(judgeUnsettled(version, 3, [holds(version), holds(version), 'unknown'])).to.equal('wait');
  });

  it('never settles a version no quorum can hold, whatever the order of the views', () => {
    const views: ReplicaView[] = [holds(version), older, nothing, holds(at(5, 'c'), true)];
    for (let shift = 0; shift < views.length; shift++) {
      const rotated = [...views.slice(shift), ...views.slice(0, shift)];
      expect(judgeUnsettled(version, 2, rotated)).to.equal('revert');
    }
  });

  it('shows an undecided version only when no write acknowledged since can lie beneath it', () => {
    const settings = { n: 3, w: 2, d: 2 };
    const replaced = { previous: at(10, 'b'), vouches: true };
    expect(hidesNoWrite([replaced], [at(10, 'b')], settings)).to.equal(true);
    expect(hidesNoWrite([replaced], [at(20, 'c')], settings), 'another replica moved on').to.equal(false);
    expect(hidesNoWrite([replaced], [], settings), 'too few answers for every quorum to meet one').to.equal(false);
    expect(hidesNoWrite([{ previous: null, vouches: true }], [null], settings)).to.equal(true);
    // Beneath it an unsettled version, or one that arrived after it (acknowledged since, maybe): no proof.
    expect(hidesNoWrite([{ ...replaced, vouches: false }], [at(10, 'b')], settings)).to.equal(false);
    expect(hidesNoWrite([replaced, { previous: at(5, 'c'), vouches: true }], [], settings), 'holders disagree beneath').to.equal(false);
  });

  describe('acknowledgedNewest', () => {
    interface Entry extends HeldVersion<Entry> {
      readonly name: string;
    }
    const settings = { n: 3, w: 2, d: 2 };
    const replicas = ['a', 'b', 'c'];
    const settled: Entry = { name: 'settled', clock: at(50, 'b'), deleted: false };
    const ghost: Entry = { name: 'ghost', clock: at(900, 'a'), deleted: true, unsettled: true, previous: settled };

    it('takes the newest version when it is settled, or may have been acknowledged', () => {
      expect(acknowledgedNewest(new Map([['a', settled], ['b', settled], ['c', null]]), replicas, settings)).to.equal(settled);
      const onTwo = new Map<string, Entry | null>([['a', ghost], ['b', ghost], ['c', settled]]);
      expect(acknowledgedNewest(onTwo, replicas, settings)).to.equal(ghost);
    });

    it('takes what an unacknowledgeable version replaced, down to nothing', () => {
      expect(acknowledgedNewest(new Map([['a', ghost], ['b', settled], ['c', settled]]), replicas, settings)).to.equal(settled);
      const first: Entry = { name: 'first', clock: at(900, 'a'), deleted: false, unsettled: true, previous: null };
      expect(acknowledgedNewest(new Map<string, Entry | null>([['a', first], ['b', null], ['c', null]]), replicas, settings)).to.equal(undefined);
    });

    it('is undecided while a replica that could hold it did not answer, unless showing it hides no write', () => {
      const later: Entry = { name: 'later', clock: at(60, 'c'), deleted: false };
      expect(acknowledgedNewest(new Map([['a', ghost], ['b', later]]), replicas, settings)).to.equal('undecided');
      // b holds just what the ghost replaced on a: a write acknowledged since would show on a or b.
      expect(acknowledgedNewest(new Map([['a', ghost], ['b', settled]]), replicas, settings)).to.equal(ghost);
      expect(acknowledgedNewest(new Map([['a', ghost]]), replicas, settings), 'one answer is too few to tell').to.equal('undecided');
      const overUnknown: Entry = { name: 'ghost over unknown', clock: ghost.clock, deleted: true, unsettled: true };
      expect(acknowledgedNewest(new Map([['a', overUnknown], ['b', settled]]), replicas, settings)).to.equal('undecided');
      // What lies beneath it on a arrived after it: a write acknowledged since it, not what it replaced.
      const overLater: Entry = { ...ghost, name: 'ghost over a later arrival', replacedUnknown: true };
      expect(acknowledgedNewest(new Map([['a', overLater], ['b', settled]]), replicas, settings)).to.equal('undecided');
    });

    it('never shows a write still in flight before it settles, where it would show one no longer in flight', () => {
      const inFlight: Entry = { ...ghost, name: 'in flight', inFlight: true };
      // A replica did not answer: showing it now, a later reader that all answer would take it back.
      expect(acknowledgedNewest(new Map([['a', ghost], ['b', settled]]), replicas, settings)).to.equal(ghost);
      expect(acknowledgedNewest(new Map([['a', inFlight], ['b', settled]]), replicas, settings)).to.equal('undecided');
      // All answered: not acknowledged so far, so what it replaced, in flight or not.
      expect(acknowledgedNewest(new Map([['a', inFlight], ['b', settled], ['c', settled]]), replicas, settings)).to.equal(settled);
      // On W replicas it may have been acknowledged, in flight or not.
      expect(acknowledgedNewest(new Map([['a', inFlight], ['b', inFlight]]), replicas, settings)).to.equal(inFlight);
    });

    it('counts only the key\u2019s replicas as witnesses, while any node\u2019s settled copy settles it', () => {
      const elsewhere = new Map<string, Entry | null>([['a', ghost], ['b', settled], ['c', settled], ['x', null]]);
      expect(acknowledgedNewest(elsewhere, replicas, settings)).to.equal(settled);
      const copied = new Map<string, Entry | null>([['a', ghost], ['b', settled], ['x', { name: 'ghost', clock: ghost.clock, deleted: true }]]);
      expect(acknowledgedNewest(copied, replicas, settings)).to.deep.include({ name: 'ghost' });
    });
  });
});
