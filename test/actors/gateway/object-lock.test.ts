import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand,
  GetBucketVersioningCommand, GetObjectLegalHoldCommand, GetObjectLockConfigurationCommand, GetObjectRetentionCommand, HeadObjectCommand,
  PutBucketVersioningCommand, PutObjectCommand, PutObjectLegalHoldCommand, PutObjectLockConfigurationCommand, PutObjectRetentionCommand,
  UploadPartCommand, S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { failure, type Harness, startHarness } from '../../support/gateway-harness.js';

const LOCKED = 'vault';
const PLAIN = 'plain';
const FUTURE = new Date('2100-01-01T00:00:00.000Z');

describe('actors/gateway object lock', function () {
  this.timeout(60_000);
  let h: Harness;
  let s3: S3Client;

  beforeEach(async () => {
    h = await startHarness();
    s3 = h.client('alice');
    // Public-read-write: other users may write and delete, so that their bypass can be tried.
    await s3.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true, ACL: 'public-read-write' }));
    await s3.send(new CreateBucketCommand({ Bucket: PLAIN }));
  });

  afterEach(async () => {
    await h.close();
  });

  it('creates a locked bucket versioned for good, and keeps its default retention', async () => {
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: LOCKED }))).Status).to.equal('Enabled');
    expect(await failure(s3.send(new PutBucketVersioningCommand({ Bucket: LOCKED, VersioningConfiguration: { Status: 'Suspended' } }))))
      .to.deep.equal({ name: 'InvalidBucketState', status: 409 });
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: LOCKED }))).ObjectLockConfiguration).to.deep.equal({ ObjectLockEnabled: 'Enabled' });
    const config = { ObjectLockEnabled: 'Enabled' as const, Rule: { DefaultRetention: { Mode: 'GOVERNANCE' as const, Days: 1 } } };
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: LOCKED, ObjectLockConfiguration: config }));
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: LOCKED }))).ObjectLockConfiguration).to.deep.equal(config);
    const before = Date.now();
    const put = await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'k', Body: 'x' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: LOCKED, Key: 'k' }));
    expect(head.ObjectLockMode).to.equal('GOVERNANCE');
    expect(head.ObjectLockRetainUntilDate!.getTime() - before).to.be.within(86_400_000 - 5_000, 86_400_000 + 5_000);
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'k', VersionId: put.VersionId })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    await s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'k', VersionId: put.VersionId, BypassGovernanceRetention: true }));
    for (const [rule, code] of [[{ Mode: 'GOVERNANCE', Days: 0 }, 'InvalidRetentionPeriod'], [{ Mode: 'GOVERNANCE', Days: 1, Years: 1 }, 'MalformedXML'], [{ Mode: 'governance', Days: 1 }, 'MalformedXML']] as const) {
      const refused = await failure(s3.send(new PutObjectLockConfigurationCommand({ Bucket: LOCKED, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: rule as never } } })));
      expect(refused, JSON.stringify(rule)).to.deep.equal({ name: code, status: 400 });
    }
  });

  it('refuses lock requests on a bucket without object lock, and enables it once versioning is', async () => {
    expect(await failure(s3.send(new GetObjectLockConfigurationCommand({ Bucket: PLAIN })))).to.deep.equal({ name: 'ObjectLockConfigurationNotFoundError', status: 404 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: PLAIN, Key: 'k', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })))).to.deep.equal({ name: 'InvalidRequest', status: 400 });
    await s3.send(new PutObjectCommand({ Bucket: PLAIN, Key: 'k', Body: 'x' }));
    expect(await failure(s3.send(new PutObjectRetentionCommand({ Bucket: PLAIN, Key: 'k', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: FUTURE } })))).to.deep.equal({ name: 'InvalidRequest', status: 400 });
    expect(await failure(s3.send(new GetObjectLegalHoldCommand({ Bucket: PLAIN, Key: 'k' })))).to.deep.equal({ name: 'InvalidRequest', status: 400 });
    const config = { ObjectLockEnabled: 'Enabled' as const };
    expect(await failure(s3.send(new PutObjectLockConfigurationCommand({ Bucket: PLAIN, ObjectLockConfiguration: config })))).to.deep.equal({ name: 'InvalidBucketState', status: 409 });
    await s3.send(new PutBucketVersioningCommand({ Bucket: PLAIN, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: PLAIN, ObjectLockConfiguration: config }));
    // The object written before versioning (its body in its record) can be locked too.
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: PLAIN, Key: 'k', LegalHold: { Status: 'ON' } }));
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: PLAIN, Key: 'k', VersionId: 'null' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
  });

  it('lets GOVERNANCE retention be extended freely and shortened only with the bypass; COMPLIANCE only extended', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'g', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date('2099-01-01T00:00:00Z') }));
    const retention = async (key: string): Promise<[string | undefined, number | undefined]> => {
      const got = await s3.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: key }));
      return [got.Retention?.Mode, got.Retention?.RetainUntilDate?.getTime()];
    };
    expect(await retention('g')).to.deep.equal(['GOVERNANCE', Date.parse('2099-01-01T00:00:00Z')]);
    await s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: 'g', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: FUTURE } }));
    expect(await failure(s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: 'g', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date('2098-01-01T00:00:00Z') } }))))
      .to.deep.equal({ name: 'AccessDenied', status: 403 });
    await s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: 'g', VersionId: put.VersionId, BypassGovernanceRetention: true, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date('2098-01-01T00:00:00Z') } }));
    expect(await retention('g')).to.deep.equal(['GOVERNANCE', Date.parse('2098-01-01T00:00:00Z')]);

    await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'c', Body: 'x', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date('2099-01-01T00:00:00Z') }));
    for (const shorter of [{ Mode: 'COMPLIANCE', RetainUntilDate: new Date('2098-01-01T00:00:00Z') }, { Mode: 'GOVERNANCE', RetainUntilDate: FUTURE }] as const) {
      expect(await failure(s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: 'c', BypassGovernanceRetention: true, Retention: shorter }))))
        .to.deep.equal({ name: 'AccessDenied', status: 403 });
    }
    await s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: 'c', Retention: { Mode: 'COMPLIANCE', RetainUntilDate: FUTURE } }));
    expect(await retention('c')).to.deep.equal(['COMPLIANCE', FUTURE.getTime()]);
    expect(await failure(s3.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: 'c', Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date('2001-01-01T00:00:00Z') } }))))
      .to.deep.equal({ name: 'InvalidArgument', status: 400 });
  });

  it('keeps a locked version from every delete path, and lets a delete marker be made over it', async () => {
    const compliance = await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'c', Body: 'x', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: FUTURE }));
    const held = await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'h', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }));
    const free = await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'f', Body: 'x' }));
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'c', VersionId: compliance.VersionId, BypassGovernanceRetention: true })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'h', VersionId: held.VersionId, BypassGovernanceRetention: true })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    const batch = await s3.send(new DeleteObjectsCommand({
      Bucket: LOCKED,
      BypassGovernanceRetention: true,
      Delete: { Objects: [{ Key: 'c', VersionId: compliance.VersionId }, { Key: 'h', VersionId: held.VersionId }, { Key: 'f', VersionId: free.VersionId }] },
    }));
    expect((batch.Errors ?? []).map((e) => [e.Key, e.Code, e.VersionId])).to.deep.equal([['c', 'AccessDenied', compliance.VersionId], ['h', 'AccessDenied', held.VersionId]]);
    expect((batch.Deleted ?? []).map((d) => d.Key)).to.deep.equal(['f']);
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'c' }));
    expect(marker.DeleteMarker).to.equal(true);
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'c', VersionId: compliance.VersionId })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    // Another user who may write to the bucket cannot bypass governance.
    const governance = await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'g', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: FUTURE }));
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: LOCKED, Key: 'h', LegalHold: { Status: 'OFF' } }));
    expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: LOCKED, Key: 'h' }))).LegalHold?.Status).to.equal('OFF');
    await s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'h', VersionId: held.VersionId }));
    const bob = h.client('bob');
    expect(await failure(bob.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'g', VersionId: governance.VersionId, BypassGovernanceRetention: true })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    const bobs = await bob.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'bob', Body: 'x' }));
    await bob.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'bob', VersionId: bobs.VersionId }));
  });

  it('carries a lock asked for at CreateMultipartUpload to the completed object', async () => {
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: LOCKED, Key: 'mp', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: FUTURE, ObjectLockLegalHoldStatus: 'ON' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: LOCKED, Key: 'mp', UploadId: upload.UploadId, PartNumber: 1, Body: 'part' }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: LOCKED, Key: 'mp', UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: LOCKED, Key: 'mp' }));
    expect([head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime(), head.ObjectLockLegalHoldStatus]).to.deep.equal(['GOVERNANCE', FUTURE.getTime(), 'ON']);
    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'mp', VersionId: done.VersionId, BypassGovernanceRetention: true })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
  });

  it('refuses malformed lock headers', async () => {
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'k', Body: 'x', ObjectLockMode: 'GOVERNANCE' })))).to.deep.equal({ name: 'InvalidArgument', status: 400 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'k', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date('2001-01-01') })))).to.deep.equal({ name: 'InvalidArgument', status: 400 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'k', Body: 'x', ObjectLockMode: 'FOREVER' as never, ObjectLockRetainUntilDate: FUTURE })))).to.deep.equal({ name: 'InvalidArgument', status: 400 });
    expect(h.storage.liveKeys('object', LOCKED)).to.deep.equal([]);
  });
});
