import {
  CopyObjectCommand, DeleteBucketPolicyCommand, DeleteObjectsCommand, GetBucketPolicyCommand, GetBucketPolicyStatusCommand, GetObjectCommand,
  ListObjectsV2Command, PutBucketAclCommand, PutBucketPolicyCommand, PutObjectAclCommand, PutObjectCommand, PutObjectTaggingCommand, S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { failure, rawRequest, signedRequest, startHarness, type Harness } from '../../support/gateway-harness.js';

const BUCKET = 'shared';

function policyOf(...statements: object[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

describe('actors/gateway bucket policies', function () {
  this.timeout(60_000);
  let h: Harness;
  let alice: S3Client;
  let bob: S3Client;

  beforeEach(async () => {
    h = await startHarness();
    h.admin.addBucket(BUCKET, 'alice');
    alice = h.client('alice');
    bob = h.client('bob');
    for (const key of ['public/a.txt', 'private/b.txt']) await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
  });

  afterEach(async () => {
    await h.close();
  });

  it('keeps, gives back unchanged and removes a policy; only the owner may', async () => {
    expect(await failure(alice.send(new GetBucketPolicyCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'NoSuchBucketPolicy', status: 404 });
    const text = policyOf({ Sid: 'ReadPublic', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/public/*` });
    expect(await failure(bob.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: text })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: text }));
    expect((await alice.send(new GetBucketPolicyCommand({ Bucket: BUCKET }))).Policy).to.equal(text);
    expect((await alice.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET }))).PolicyStatus?.IsPublic).to.equal(true);
    await alice.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET }));
    expect(await failure(alice.send(new GetBucketPolicyCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'NoSuchBucketPolicy', status: 404 });
    expect((await alice.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET }))).PolicyStatus?.IsPublic).to.equal(false);
    await alice.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: 'authenticated-read' }));
    expect((await alice.send(new GetBucketPolicyStatusCommand({ Bucket: BUCKET }))).PolicyStatus?.IsPublic).to.equal(true);
  });

  it('refuses malformed policies with the reason, and conditions it cannot judge with NotImplemented', async () => {
    const put = (body: string) => signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}?policy`, body });
    const cases: Array<[string, number, string, RegExp]> = [
      ['{"Statement": [', 400, 'MalformedPolicy', /valid JSON/],
      [policyOf({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::elsewhere/*' }), 400, 'MalformedPolicy', /invalid resource/],
      [policyOf({ Effect: 'Allow', Principal: '*', Action: 's3:Teleport', Resource: `arn:aws:s3:::${BUCKET}/*` }), 400, 'MalformedPolicy', /invalid action/],
      [policyOf({ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { StringEquals: { 's3:TlsVersion': '1.2' } } }), 501, 'NotImplemented', /TlsVersion/],
    ];
    for (const [body, status, code, message] of cases) {
      const answer = await put(body);
      expect([answer.status, /<Code>([^<]+)</.exec(answer.text)?.[1]], body).to.deep.equal([status, code]);
      expect(answer.text).to.match(message);
    }
    expect(h.view.bucket(BUCKET)?.policy).to.equal(undefined);
  });

  it('grants others reads of the resources it names, to anonymous clients too', async () => {
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyOf(
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/public/*` },
      { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:user/bob' }, Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}`, Condition: { StringLike: { 's3:prefix': 'public/*' } } },
    ) }));
    expect((await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/public/a.txt` })).text).to.equal('public/a.txt');
    expect((await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/private/b.txt` })).status).to.equal(403);
    expect(await failure(bob.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'private/b.txt' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    const listed = await bob.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'public/' }));
    expect(listed.Contents?.map((o) => o.Key)).to.deep.equal(['public/a.txt']);
    expect(await failure(bob.send(new ListObjectsV2Command({ Bucket: BUCKET })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'public/c.txt', Body: 'x' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
  });

  it('lets an explicit deny win over the owner and the ACL, but not over the owner\'s hold on the policy', async () => {
    await alice.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: 'public-read' }));
    for (const key of ['public/a.txt', 'private/b.txt']) await alice.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: key, ACL: 'public-read' }));
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyOf(
      { Sid: 'LockPrivate', Effect: 'Deny', Principal: '*', Action: ['s3:GetObject', 's3:DeleteObject', 's3:*Policy'], Resource: [`arn:aws:s3:::${BUCKET}/private/*`, `arn:aws:s3:::${BUCKET}`] },
    ) }));
    expect(await failure(alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'private/b.txt' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect((await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/public/a.txt` })).status).to.equal(200);
    expect((await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/private/b.txt` })).status).to.equal(403);
    const batch = await alice.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'public/a.txt' }, { Key: 'private/b.txt' }] } }));
    expect(batch.Deleted?.map((d) => d.Key)).to.deep.equal(['public/a.txt']);
    expect(batch.Errors?.map((e) => [e.Key, e.Code])).to.deep.equal([['private/b.txt', 'AccessDenied']]);
    expect(await failure(bob.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    await alice.send(new DeleteBucketPolicyCommand({ Bucket: BUCKET }));
    expect((await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'private/b.txt' }))).ContentLength).to.equal('private/b.txt'.length);
  });

  it('judges request conditions such as the copy source', async () => {
    h.admin.addBucket('target', 'alice');
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyOf({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` }) }));
    await alice.send(new PutBucketPolicyCommand({ Bucket: 'target', Policy: policyOf({
      Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:PutObject', Resource: 'arn:aws:s3:::target/*',
      Condition: { StringLike: { 's3:x-amz-copy-source': `${BUCKET}/public/*` } },
    }) }));
    await bob.send(new CopyObjectCommand({ Bucket: 'target', Key: 'copied', CopySource: `${BUCKET}/public/a.txt` }));
    expect(await failure(bob.send(new CopyObjectCommand({ Bucket: 'target', Key: 'copied', CopySource: `${BUCKET}/private/b.txt` })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(bob.send(new PutObjectCommand({ Bucket: 'target', Key: 'direct', Body: 'x' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
  });

  it('judges what the connection says: the source address and whether it is encrypted', async () => {
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyOf(
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/public/*`, Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } },
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/private/*`, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } },
      { Effect: 'Deny', Principal: { AWS: 'bob' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ) }));
    expect((await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/public/a.txt` })).text).to.equal('public/a.txt');
    expect((await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/private/b.txt` })).status).to.equal(403);
    expect(await failure(bob.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'public/a.txt' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
  });

  it('judges the tags an upload asks for', async () => {
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyOf({
      Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/*`,
      Condition: { StringEquals: { 's3:RequestObjectTag/security': 'public' } },
    }) }));
    await bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'tagged', Body: 'x', Tagging: 'security=public' }));
    expect(await failure(bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'tagged', Body: 'x', Tagging: 'security=secret' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'untagged', Body: 'x' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
  });

  it('judges the tags an object already has, reading its version first', async () => {
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'shared.txt', Body: 'shared', Tagging: 'share=yes' }));
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'secret.txt', Body: 'secret', Tagging: 'share=yes&secret=yes' }));
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyOf(
      { Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { StringEquals: { 's3:ExistingObjectTag/share': 'yes' } } },
      { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { StringEquals: { 's3:ExistingObjectTag/secret': 'yes' } } },
    ) }));
    expect(await (await bob.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'shared.txt' }))).Body?.transformToString()).to.equal('shared');
    expect(await failure(bob.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'public/a.txt' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(bob.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'secret.txt' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    // The deny holds for the owner too; the owner can still take the tag away.
    expect(await failure(alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'secret.txt' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    await alice.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: 'secret.txt', Tagging: { TagSet: [{ Key: 'share', Value: 'yes' }] } }));
    expect(await (await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'secret.txt' }))).Body?.transformToString()).to.equal('secret');
  });

  it('holds a write that sets an ACL to s3:PutObjectAcl as well', async () => {
    await alice.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policyOf(
      { Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/*` },
      { Effect: 'Deny', Principal: '*', Action: 's3:PutObjectAcl', Resource: `arn:aws:s3:::${BUCKET}/*` },
    ) }));
    await bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'plain', Body: 'x' }));
    expect(await failure(bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'opened', Body: 'x', ACL: 'public-read' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    expect(await failure(bob.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'opened', Body: 'x', GrantRead: 'id="alice"' })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
  });
});
