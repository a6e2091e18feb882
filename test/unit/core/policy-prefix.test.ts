import { expect } from 'chai';
import { parseBucketPolicy, type BucketPolicy } from '../../../src/core/bucket-policy.js';
import { policyUnderPrefix } from '../../../src/core/policy-prefix.js';

const BUCKET = 'dropbox';

function policy(statements: unknown): BucketPolicy {
  const parsed = parseBucketPolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), BUCKET);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.policy;
}

const allowDelete = (resource: string) => ({ Effect: 'Allow', Principal: { AWS: 'alice' }, Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${BUCKET}/${resource}` });
const under = (prefix: string, userId = 'alice') => ({ bucketName: BUCKET, prefix, action: 's3:DeleteObject' as const, userId });

describe('core/policy-prefix', () => {
  it('finds an Allow for some names below a prefix, and none for a prefix beside it', () => {
    const perName = policy([allowDelete('uploads/alice-*')]);
    expect(policyUnderPrefix(perName, under('uploads/'))).to.equal('mayAllow');
    expect(policyUnderPrefix(perName, under(''))).to.equal('mayAllow');
    expect(policyUnderPrefix(perName, under('uploads/alice-1/'))).to.equal('mayAllow');
    expect(policyUnderPrefix(perName, under('other/'))).to.equal('allowsNone');
    expect(policyUnderPrefix(perName, under('uploads/', 'bob'))).to.equal('allowsNone');
    expect(policyUnderPrefix(policy([allowDelete('uploads/one')]), under('uploads/'))).to.equal('mayAllow');
    expect(policyUnderPrefix(policy([allowDelete('uploads/one')]), under('up/'))).to.equal('allowsNone');
  });

  it('sees another action as granting nothing', () => {
    const reads = policy([{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject', 's3:ListBucket'], Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`] }]);
    expect(policyUnderPrefix(reads, under(''))).to.equal('allowsNone');
  });

  it('is denied for all only by a plain Deny covering the whole prefix', () => {
    const whole = policy([allowDelete('*'), { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: `arn:aws:s3:::${BUCKET}/locked/*` }]);
    expect(policyUnderPrefix(whole, under('locked/'))).to.equal('deniedForAll');
    expect(policyUnderPrefix(whole, under('locked/deeper/'))).to.equal('deniedForAll');
    expect(policyUnderPrefix(whole, under(''))).to.equal('mayAllow');
    const conditional = policy([allowDelete('*'), {
      Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${BUCKET}/locked/*`,
      Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
    }]);
    expect(policyUnderPrefix(conditional, under('locked/'))).to.equal('mayAllow');
  });

  it('leans to mayAllow where a statement is too loose to judge', () => {
    const notResource = policy([{ Effect: 'Allow', Principal: { AWS: 'alice' }, Action: 's3:DeleteObject', NotResource: `arn:aws:s3:::${BUCKET}/keep/*` }]);
    expect(policyUnderPrefix(notResource, under('uploads/'))).to.equal('mayAllow');
    const variable = policy([allowDelete('home/${aws:username}/*')]);
    expect(policyUnderPrefix(variable, under('other/'))).to.equal('mayAllow');
  });
});
