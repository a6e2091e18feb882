import {
  CreateBucketCommand, DeleteBucketOwnershipControlsCommand, GetBucketOwnershipControlsCommand, GetObjectAclCommand, PutBucketAclCommand,
  PutBucketOwnershipControlsCommand, PutBucketPolicyCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { eventually, failure, startHarness, type Harness } from '../../support/gateway-harness.js';

const enforced = { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' as const }] };

describe('actors/gateway object ownership controls', function () {
  this.timeout(60_000);
  let h: Harness;
  let alice: S3Client;
  let bob: S3Client;

  beforeEach(async () => {
    h = await startHarness();
    alice = h.client('alice');
    bob = h.client('bob');
  });

  afterEach(async () => {
    await h.close();
  });

  async function letBobWrite(bucket: string): Promise<void> {
    await alice.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:PutObject', Resource: `arn:aws:s3:::${bucket}/*` }] }) }));
    await eventually(() => h.view.bucket(bucket)?.policy !== undefined);
  }

  it('gives objects to their writer by default, and to the bucket owner when preferred and granted full control', async () => {
    h.admin.addBucket('shared', 'alice');
    await letBobWrite('shared');
    expect(await failure(alice.send(new GetBucketOwnershipControlsCommand({ Bucket: 'shared' })))).to.deep.equal({ name: 'OwnershipControlsNotFoundError', status: 404 });
    await bob.send(new PutObjectCommand({ Bucket: 'shared', Key: 'by-bob', Body: 'x' }));
    expect((await alice.send(new GetObjectAclCommand({ Bucket: 'shared', Key: 'by-bob' }))).Owner?.ID).to.equal('bob');
    await alice.send(new PutBucketOwnershipControlsCommand({ Bucket: 'shared', OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] } }));
    expect((await alice.send(new GetBucketOwnershipControlsCommand({ Bucket: 'shared' }))).OwnershipControls?.Rules?.[0]?.ObjectOwnership).to.equal('BucketOwnerPreferred');
    await bob.send(new PutObjectCommand({ Bucket: 'shared', Key: 'handed-over', Body: 'x', ACL: 'bucket-owner-full-control' }));
    expect((await alice.send(new GetObjectAclCommand({ Bucket: 'shared', Key: 'handed-over' }))).Owner?.ID).to.equal('alice');
    await alice.send(new DeleteBucketOwnershipControlsCommand({ Bucket: 'shared' }));
    expect(await failure(alice.send(new GetBucketOwnershipControlsCommand({ Bucket: 'shared' })))).to.deep.equal({ name: 'OwnershipControlsNotFoundError', status: 404 });
  });

  it('disables ACLs when the bucket owner is enforced: they grant nothing and cannot be set', async () => {
    await alice.send(new CreateBucketCommand({ Bucket: 'owned', ObjectOwnership: 'BucketOwnerEnforced' }));
    expect((await alice.send(new GetBucketOwnershipControlsCommand({ Bucket: 'owned' }))).OwnershipControls?.Rules?.[0]?.ObjectOwnership).to.equal('BucketOwnerEnforced');
    expect(await failure(alice.send(new PutBucketAclCommand({ Bucket: 'owned', ACL: 'public-read' })))).to.deep.equal({ name: 'AccessControlListNotSupported', status: 400 });
    expect(await failure(alice.send(new PutObjectCommand({ Bucket: 'owned', Key: 'k', Body: 'x', ACL: 'public-read' })))).to.deep.equal({ name: 'AccessControlListNotSupported', status: 400 });
    await letBobWrite('owned');
    await bob.send(new PutObjectCommand({ Bucket: 'owned', Key: 'from-bob', Body: 'x', ACL: 'bucket-owner-full-control' }));
    expect((await alice.send(new GetObjectAclCommand({ Bucket: 'owned', Key: 'from-bob' }))).Owner?.ID).to.equal('alice');

    h.admin.addBucket('open', 'alice', 'public-read');
    expect(await failure(alice.send(new PutBucketOwnershipControlsCommand({ Bucket: 'open', OwnershipControls: enforced })))).to.deep.equal({ name: 'InvalidBucketAclWithObjectOwnership', status: 400 });
    await alice.send(new PutBucketAclCommand({ Bucket: 'open', ACL: 'private' }));
    await eventually(() => h.view.bucket('open')?.acl === 'private');
    await alice.send(new PutBucketOwnershipControlsCommand({ Bucket: 'open', OwnershipControls: enforced }));
  });
});
