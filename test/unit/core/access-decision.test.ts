import { expect } from 'chai';
import { decideAccess, type AccessRequest } from '../../../src/core/access-decision.js';
import type { BucketRecord } from '../../../src/core/auth-snapshot.js';
import { parseBucketPolicy } from '../../../src/core/bucket-policy.js';
import { conditionContext } from '../../../src/core/policy-conditions.js';
import type { S3Action } from '../../../src/core/s3-actions.js';

const alice = { userId: 'alice', role: 'normal' as const };
const bob = { userId: 'bob', role: 'normal' as const };
const admin = { userId: 'root', role: 'admin' as const };

function bucket(acl: BucketRecord['acl'], statements?: unknown[]): BucketRecord {
  const base: BucketRecord = { name: 'b', owner: 'alice', acl, createdAtMs: 0 };
  if (statements === undefined) return base;
  const parsed = parseBucketPolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'b');
  if (!parsed.ok) throw new Error(parsed.problem);
  return { ...base, policy: parsed.policy };
}

function decide(b: BucketRecord, requester: AccessRequest['requester'], action: S3Action, key?: string, context: Record<string, string> = {}, objectAcl: AccessRequest['objectAcl'] = 'legacy') {
  return decideAccess({ bucket: b, requester, action, ...(key === undefined ? {} : { key }), context: conditionContext(context), objectAcl });
}

describe('core/access-decision', () => {
  it('grants by canned ACL, and owners and admins everything', () => {
    expect(decide(bucket('private'), alice, 's3:PutObject', 'k')).to.deep.equal({ allowed: true, reason: 'the bucket owner' });
    expect(decide(bucket('private'), admin, 's3:DeleteBucket')).to.deep.equal({ allowed: true, reason: 'an admin user' });
    expect(decide(bucket('private'), bob, 's3:GetObject', 'k').allowed).to.equal(false);
    expect(decide(bucket('private'), undefined, 's3:ListBucket').allowed).to.equal(false);
    expect(decide(bucket('public-read'), undefined, 's3:GetObject', 'k')).to.deep.equal({ allowed: true, reason: "the bucket's ACL grants READ" });
    expect(decide(bucket('public-read'), bob, 's3:PutObject', 'k').allowed).to.equal(false);
    expect(decide(bucket('public-read-write'), undefined, 's3:PutObject', 'k').allowed).to.equal(true);
    expect(decide(bucket('public-read-write'), undefined, 's3:PutBucketAcl').allowed).to.equal(false);
    expect(decide(bucket('authenticated-read'), undefined, 's3:GetObject', 'k').allowed).to.equal(false);
    expect(decide(bucket('authenticated-read'), bob, 's3:ListBucket').allowed).to.equal(true);
    expect(decide(bucket('authenticated-read'), bob, 's3:DeleteObject', 'k').allowed).to.equal(false);
  });

  it('lets a policy grant others what the ACL does not, on the resources it names', () => {
    const b = bucket('private', [{ Sid: 'BobReadsPublic', Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/public/*' }]);
    expect(decide(b, bob, 's3:GetObject', 'public/x')).to.deep.equal({ allowed: true, reason: 'statement BobReadsPublic of the bucket policy allows s3:GetObject' });
    expect(decide(b, bob, 's3:GetObject', 'private/x').allowed).to.equal(false);
    expect(decide(b, undefined, 's3:GetObject', 'public/x').allowed).to.equal(false);
  });

  it('lets an explicit deny win over ownership and ACLs, but never lock the owner out of the policy', () => {
    const b = bucket('public-read', [{ Sid: 'NoListing', Effect: 'Deny', Principal: '*', Action: ['s3:ListBucket', 's3:*Policy'], Resource: 'arn:aws:s3:::b' }]);
    expect(decide(b, bob, 's3:ListBucket')).to.deep.equal({ allowed: false, reason: 'statement NoListing of the bucket policy denies s3:ListBucket', explicitDeny: true });
    expect(decide(b, alice, 's3:ListBucket').allowed).to.equal(false);
    expect(decide(b, admin, 's3:ListBucket').allowed).to.equal(false);
    expect(decide(b, bob, 's3:GetObject', 'k').allowed).to.equal(true);
    expect(decide(b, alice, 's3:DeleteBucketPolicy').allowed).to.equal(true);
    expect(decide(b, admin, 's3:PutBucketPolicy').allowed).to.equal(true);
    expect(decide(b, bob, 's3:DeleteBucketPolicy').allowed).to.equal(false);
  });

  it('judges conditions against the request description', () => {
    const b = bucket('private', [{ Effect: 'Allow', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::b/*', Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } }]);
    expect(decide(b, bob, 's3:PutObject', 'k', { 's3:x-amz-acl': 'bucket-owner-full-control' }).allowed).to.equal(true);
    expect(decide(b, bob, 's3:PutObject', 'k', { 's3:x-amz-acl': 'public-read' }).allowed).to.equal(false);
    expect(decide(b, bob, 's3:PutObject', 'k').allowed).to.equal(false);
  });

  it('lets the public access block silence public ACLs and public policies, never the owner', () => {
    const ignored = { ...bucket('public-read'), publicAccessBlock: { blockPublicAcls: false, ignorePublicAcls: true, blockPublicPolicy: false, restrictPublicBuckets: false } };
    expect(decide(ignored, bob, 's3:GetObject', 'k').allowed).to.equal(false);
    expect(decide(ignored, alice, 's3:GetObject', 'k').allowed).to.equal(true);
    const publicPolicy = bucket('private', [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }]);
    const restricted = { ...publicPolicy, publicAccessBlock: { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: true } };
    expect(decide(publicPolicy, undefined, 's3:GetObject', 'k').allowed).to.equal(true);
    expect(decide(restricted, undefined, 's3:GetObject', 'k')).to.deep.equal({ allowed: false, reason: "the public access block restricts the bucket's public policy to its owner" });
    expect(decide(restricted, alice, 's3:GetObject', 'k').allowed).to.equal(true);
    const named = { ...bucket('private', [{ Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }]), publicAccessBlock: restricted.publicAccessBlock };
    expect(decide(named, bob, 's3:GetObject', 'k').allowed).to.equal(true);
  });

  it('reads object actions from the version\'s ACL, and says when only that ACL could decide', () => {
    const b = bucket('public-read');
    const bobReads = { owner: 'alice', grants: [{ grantee: { user: 'alice' }, permission: 'FULL_CONTROL' as const }, { grantee: { user: 'bob' }, permission: 'READ' as const }] };
    const unread = (action: S3Action) => decideAccess({ bucket: b, requester: bob, action, key: 'k', context: conditionContext({}) });
    expect(unread('s3:GetObject')).to.deep.equal({ allowed: false, reason: "the object's ACL may grant s3:GetObject", objectAclMayGrant: true });
    expect(decide(b, bob, 's3:GetObject', 'k', {}, bobReads)).to.deep.equal({ allowed: true, reason: "the object's ACL grants READ" });
    expect(decide(b, undefined, 's3:GetObject', 'k', {}, bobReads).allowed).to.equal(false);
    expect(decide(b, bob, 's3:GetObjectAcl', 'k', {}, bobReads).allowed).to.equal(false);
    expect(unread('s3:PutObject')).to.deep.equal({ allowed: false, reason: 'nothing grants s3:PutObject to bob' });
    const explicit = { ...bucket('private'), grants: [{ grantee: { group: 'AuthenticatedUsers' as const }, permission: 'WRITE' as const }] };
    expect(decide(explicit, bob, 's3:PutObject', 'k').allowed).to.equal(true);
    expect(decide(explicit, undefined, 's3:PutObject', 'k').allowed).to.equal(false);
  });

  it('keeps the bucket policy and the public access block to the owner, whatever a policy allows', () => {
    const open = bucket('private', [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'] }]);
    for (const action of ['s3:PutBucketPolicy', 's3:DeleteBucketPolicy', 's3:GetBucketPolicy', 's3:PutBucketPublicAccessBlock', 's3:PutBucketOwnershipControls'] as const) {
      expect(decide(open, bob, action).allowed, action).to.equal(false);
      expect(decide(open, undefined, action).allowed, action).to.equal(false);
      expect(decide(open, alice, action).allowed, action).to.equal(true);
    }
    expect(decide(open, bob, 's3:PutObject', 'k').allowed).to.equal(true);
  });
});
