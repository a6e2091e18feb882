/**
 * What the storage nodes enforce about records that keep versions (in-process cluster, N=3, W=2, R=1,
 * D=2): a plain write or delete (from a gateway that has not yet learnt that the bucket is versioned)
 * is refused, whatever the versions or locks the record keeps, while versioned writes go on.
 */
import { expect } from 'chai';
import { newObjectVersionId, versionsOf } from '../../../src/core/object-versioning.js';
import { objectFields, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'kept~0123456789abcdef';

describe('records that keep versions (in-process cluster)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster;

  before(async () => {
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false });
    await cluster.start();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('refuses a plain write or delete over them, keeping every version', async () => {
    const versioned = () => ({ type: 'put' as const, mode: 'Enabled' as const, versionId: newObjectVersionId() });
    expect((await cluster.client.put('object', objectFields(BUCKET, 'doc', ''), undefined, undefined, versioned())).ok).to.equal(true);
    expect((await cluster.client.put('object', objectFields(BUCKET, 'doc', ''), undefined, undefined, versioned())).ok).to.equal(true);
    const plainPut = await cluster.client.put('object', objectFields(BUCKET, 'doc', 'stale gateway'), Buffer.from('stale gateway'));
    expect(plainPut).to.include({ ok: false, code: 'Unavailable' });
    const plainDelete = await cluster.client.delete('object', BUCKET, 'doc');
    expect(plainDelete).to.include({ ok: false, code: 'Unavailable' });
    const record = await cluster.client.get('object', BUCKET, 'doc');
    expect(record.ok && versionsOf(record.meta)).to.have.length(2);
    // An unversioned key takes plain writes as before.
    expect((await cluster.client.put('object', objectFields(BUCKET, 'plain', 'x'), Buffer.from('x'))).ok).to.equal(true);
    expect((await cluster.client.delete('object', BUCKET, 'plain')).ok).to.equal(true);
  });
});
