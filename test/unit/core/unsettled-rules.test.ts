import { expect } from 'chai';
import { tick, type Hlc } from '../../../src/core/hlc.js';
import { judgeUnsettled, type ReplicaView } from '../../../src/core/unsettled-rules.js';

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
});
