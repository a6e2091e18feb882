import { expect } from 'chai';
import { refusalOf } from '../../../../src/core/consensus/control-plane.js';

describe('core/consensus/control-plane', () => {
  const voters = ['a:1', 'b:1', 'c:1'];
  const own = { clusterId: 'c1', epoch: 'e1' };

  it('heeds a listed manager of the same cluster and generation, and any listed one while empty', () => {
    expect(refusalOf({ voters, own, from: 'b:1', id: own })).to.equal(undefined);
    expect(refusalOf({ voters, own: null, from: 'b:1', id: { clusterId: 'c9', epoch: 'e9' } })).to.equal(undefined);
  });

  it('says why it refuses an unlisted manager, another cluster, another generation, a malformed id', () => {
    expect(refusalOf({ voters, own, from: 'x:1', id: own })).to.match(/not in this manager's list/);
    expect(refusalOf({ voters, own, from: 'b:1', id: { clusterId: 'c2', epoch: 'e1' } })).to.match(/belongs to cluster c2/);
    expect(refusalOf({ voters, own, from: 'b:1', id: { clusterId: 'c1', epoch: 'e0' } })).to.match(/another generation/);
    expect(refusalOf({ voters, own, from: 'b:1', id: { clusterId: '', epoch: 'e1' } })).to.equal('malformed');
  });
});
