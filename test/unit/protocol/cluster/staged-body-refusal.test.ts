import { expect } from 'chai';
import { stagedBodyRefusal } from '../../../../src/protocol/cluster/storage.js';

describe('protocol/cluster stagedBodyRefusal', () => {
  it('tells a body taken from a refusal of this body, and of every body from the sender', () => {
    expect(stagedBodyRefusal({ ok: true })).to.equal(undefined);
    // Taken, whatever came of the write.
    expect(stagedBodyRefusal({ ok: false, code: 'QuorumFailed' })).to.equal(undefined);
    expect(stagedBodyRefusal({ ok: false, code: 'Timeout' })).to.equal(undefined);
    expect(stagedBodyRefusal({ ok: false, code: 'StagedBodyRefused' })).to.equal('this-body');
    expect(stagedBodyRefusal({ ok: false, code: 'StagedBodyRefused', everyStagedBody: true })).to.equal('every-body');
    // A node of a release before staged puts does not accept the message at all.
    expect(stagedBodyRefusal({ ok: false, code: 'BadMessage' })).to.equal('every-body');
  });
});
