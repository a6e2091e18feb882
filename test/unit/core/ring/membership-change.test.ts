import { expect } from 'chai';
import { membersAfterDetach, planMembershipChange } from '../../../../src/core/ring/membership-change.js';
import type { RingMember } from '../../../../src/core/ring/ring.js';

const member = (name: string, alias = name): RingMember => ({ node: `${name}@h`, alias, numOfVnodes: 16 });

describe('the next ring of a rebalance', () => {
  const current = [member('s0'), member('s1'), member('s2')];

  it('adds attached nodes and removes detached ones', () => {
    const plan = planMembershipChange({ current, joining: [member('s3')], leaving: new Set(['s0@h']), n: 3 });
    expect(plan.ok).to.equal(true);
    if (!plan.ok) return;
    expect(plan.next.map((m) => m.node)).to.deep.equal(['s1@h', 's2@h', 's3@h']);
    expect(plan.joined).to.deep.equal(['s3@h']);
    expect(plan.left).to.deep.equal(['s0@h']);
  });

  it('lets a new node take over the alias of a detached one', () => {
    const plan = planMembershipChange({ current, joining: [member('s4', 's1')], leaving: new Set(['s1@h']), n: 3 });
    expect(plan.ok && plan.next.find((m) => m.node === 's4@h')?.alias).to.equal('s1');
  });

  it('refuses a change that moves nothing, leaves fewer than N nodes, or reuses a live alias', () => {
    expect(planMembershipChange({ current, joining: [], leaving: new Set(), n: 3 })).to.include({ ok: false, code: 'NothingToDo' });
    expect(planMembershipChange({ current, joining: [member('s0')], leaving: new Set(['s9@h']), n: 3 })).to.include({ ok: false, code: 'NothingToDo' });
    expect(planMembershipChange({ current, joining: [], leaving: new Set(['s0@h']), n: 3 })).to.include({ ok: false, code: 'NotEnoughNodes' });
    expect(planMembershipChange({ current, joining: [member('s5', 's1')], leaving: new Set(), n: 3 })).to.include({ ok: false, code: 'BadMembers' });
  });

  it('counts joining nodes when it judges a detach', () => {
    expect(membersAfterDetach(current, new Set(), 's0@h', 0)).to.equal(2);
    expect(membersAfterDetach(current, new Set(['s1@h']), 's0@h', 1)).to.equal(2);
    expect(membersAfterDetach(current, new Set(), 's0@h', 1)).to.equal(3);
  });
});
