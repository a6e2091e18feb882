import { expect } from 'chai';
import { isBucketRecord } from '../../../src/core/auth-snapshot.js';
import { bucketNameOf, isIncarnation, isNamespace, namespaceOf } from '../../../src/core/bucket-namespace.js';
import { isValidBucketName } from '../../../src/protocol/s3/router.js';

describe('core/bucket-namespace', () => {
  it('scopes a bucket by its incarnation, and leaves a bucket of the previous release at its bare name', () => {
    expect(namespaceOf({ name: 'photos', incarnation: '0123456789abcdef' })).to.equal('photos~0123456789abcdef');
    expect(namespaceOf({ name: 'photos' })).to.equal('photos');
    expect(bucketNameOf('photos~0123456789abcdef')).to.equal('photos');
    expect(bucketNameOf('photos')).to.equal('photos');
  });

  it('never lets two incarnations, or a bucket name and an incarnation, share a namespace', () => {
    expect(isValidBucketName('photos~0123456789abcdef'), 'no bucket name looks like a namespace').to.equal(false);
    expect(namespaceOf({ name: 'a.b', incarnation: '0123456789abcdef' })).to.not.equal(namespaceOf({ name: 'a.b', incarnation: 'fedcba9876543210' }));
  });

  it('checks incarnations and namespaces arriving from the wire or from disk', () => {
    expect(isIncarnation('0123456789abcdef')).to.equal(true);
    for (const bad of ['', 'short', 'XYZ0123456789abc', 42, undefined]) expect(isIncarnation(bad), String(bad)).to.equal(false);
    expect(isNamespace('photos~0123456789abcdef')).to.equal(true);
    for (const bad of ['', 'a\u0000b', 'x'.repeat(200), 7]) expect(isNamespace(bad), JSON.stringify(bad)).to.equal(false);
    const record = { name: 'photos', owner: 'alice', acl: 'private', createdAtMs: 1 };
    expect(isBucketRecord(record), 'a record of the previous release').to.equal(true);
    expect(isBucketRecord({ ...record, incarnation: '0123456789abcdef' })).to.equal(true);
    expect(isBucketRecord({ ...record, incarnation: '../../etc' })).to.equal(false);
  });
});
