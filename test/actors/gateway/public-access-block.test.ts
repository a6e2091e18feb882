import {
  DeletePublicAccessBlockCommand, GetObjectCommand, GetPublicAccessBlockCommand, ListObjectsV2Command, PutBucketAclCommand, PutBucketPolicyCommand,
  PutObjectCommand, PutPublicAccessBlockCommand, S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { eventually, failure, rawRequest, startHarness, type Harness } from '../../support/gateway-harness.js';

const BUCKET = 'guarded';
const ALL_OFF = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false };

describe('actors/gateway public access block', function () {
  this.timeout(60_000);
  let h: Harness;
  let alice: S3Client;

  async function block(switches: Partial<typeof ALL_OFF>): Promise<void> {
    const wanted = { ...ALL_OFF, ...switches };
    await alice.send(new PutPublicAccessBlockCommand({ Bucket: BUCKET, PublicAccessBlockConfiguration: wanted }));
    expect((await alice.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }))).PublicAccessBlockConfiguration).to.deep.equal(wanted);
  }

  beforeEach(async () => {
    h = await startHarness();
    h.admin.addBucket(BUCKET, 'alice');
    alice = h.client('alice');
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'v' }));
  });

  afterEach(async () => {
    await h.close();
  });

  it('keeps, gives back and removes the switches', async () => {
    expect(await failure(alice.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'NoSuchPublicAccessBlockConfiguration', status: 404 });
    await block({ BlockPublicAcls: true, BlockPublicPolicy: true });
    expect(await failure(h.client('bob').send(new GetPublicAccessBlockCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    await alice.send(new DeletePublicAccessBlockCommand({ Bucket: BUCKET }));
    expect(await failure(alice.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'NoSuchPublicAccessBlockConfiguration', status: 404 });
  });

  it('refuses public ACLs and public policies while blocked, and takes private ones', async () => {
    await block({ BlockPublicAcls: true, BlockPublicPolicy: true });
    for (const acl of ['public-read', 'public-read-write', 'authenticated-read'] as const) {
      expect(await failure(alice.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: acl })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
      expect(await failure(alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'p', Body: '', ACL: acl })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    }
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'p', Body: '', ACL: 'private' }));
    const publicPolicy = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` }] });
    expect(await failure(alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: publicPolicy })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    const namedPolicy = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` }] });
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: namedPolicy }));
    expect(h.view.bucket(BUCKET)?.acl).to.equal('private');
  });

  it('has public ACLs grant nothing while ignored, and a public policy grant only the owner while restricted', async () => {
    const bob = h.client('bob');
    await alice.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: 'public-read' }));
    await eventually(() => h.view.bucket(BUCKET)?.acl === 'public-read');
    expect((await bob.send(new ListObjectsV2Command({ Bucket: BUCKET }))).KeyCount).to.equal(1);
    await block({ IgnorePublicAcls: true });
    expect(await failure(bob.send(new ListObjectsV2Command({ Bucket: BUCKET })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(bob.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });

    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` }] }) }));
    expect((await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/k` })).status).to.equal(200);
    await block({ RestrictPublicBuckets: true });
    expect((await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/k` })).status).to.equal(403);
    expect((await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }))).ContentLength).to.equal(1);
  });
});
