import { expect } from 'chai';
import { chooseLeader, type ManagerProbe } from '../../../src/actors/common/leader-choice.js';
import type { LeaderReply } from '../../../src/protocol/cluster/consensus.js';
import { runtimeFailure } from '../../../src/runtime/failures.js';

const says = (node: string, leader: string | null, term: number, extra: Partial<LeaderReply> = {}): ManagerProbe => ({
  address: `${node}:4010`,
  node,
  answer: { ok: true, leader, leaderAddress: leader === null ? null : `${leader}:4010`, term, role: leader === node ? 'leader' : 'follower', ...extra },
});
const unreachable = (address: string): ManagerProbe => ({ address, error: new Error('refused') });

describe('actors/common/leader-choice', () => {
  it('takes the manager that says it leads', () => {
    expect(chooseLeader([says('a', 'b', 3), says('b', 'b', 3), says('c', 'b', 3)], true)).to.deep.equal({ node: 'b', address: 'b:4010', dialled: true });
  });

  it('takes the leader a follower names when the leader itself did not answer, with the address it gives', () => {
    expect(chooseLeader([says('a', 'c', 3), unreachable('c:4010')], true)).to.deep.equal({ node: 'c', address: 'c:4010', dialled: false });
    expect(chooseLeader([says('a', 'c', 3, { leaderAddress: null })], true)).to.deep.equal({ node: 'c', address: null, dialled: false });
  });

  it('prefers a newer term over a leader that was cut off and still thinks it leads', () => {
    const stale = says('a', 'a', 2);
    expect(chooseLeader([stale, says('b', 'c', 4), says('c', 'c', 4)], true)?.node).to.equal('c');
    expect(chooseLeader([stale, says('b', 'c', 4), unreachable('c:4010')], true)?.node).to.equal('c');
  });

  it('does not take a follower\'s word for a node that says itself it does not lead', () => {
    expect(chooseLeader([says('a', 'b', 3), says('b', null, 4)], true)).to.equal(undefined);
  });

  it('chooses early only when a majority answered and none is in a newer term', () => {
    expect(chooseLeader([says('a', 'a', 3), undefined, undefined], false)).to.equal(undefined);
    expect(chooseLeader([says('a', 'a', 3), says('b', 'a', 3), undefined], false)?.node).to.equal('a');
    expect(chooseLeader([says('a', 'a', 3), says('b', 'c', 4), undefined], false)).to.equal(undefined);
    expect(chooseLeader([says('a', 'a', 3)], false)?.node).to.equal('a');
  });

  it('finds none while no manager knows a leader', () => {
    expect(chooseLeader([says('a', null, 3), says('b', null, 3), unreachable('c:4010')], true)).to.equal(undefined);
    expect(chooseLeader([unreachable('a:4010')], true)).to.equal(undefined);
  });

  it('takes a lone manager without a consensus actor (an earlier release) as the leader, and never one of several', () => {
    const legacy = (node: string): ManagerProbe => ({ address: `${node}:4010`, node, answer: runtimeFailure('NoProc', 'no actor') });
    expect(chooseLeader([legacy('a')], true)).to.deep.equal({ node: 'a', address: 'a:4010', dialled: true });
    expect(chooseLeader([legacy('a'), legacy('b')], true)).to.equal(undefined);
    expect(chooseLeader([{ address: 'a:4010', node: 'a', answer: runtimeFailure('Timeout', 'slow') }], true)).to.equal(undefined);
  });
});
