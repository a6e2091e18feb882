import { expect } from 'chai';
import { evaluatePolicy, isBucketPolicy, parseBucketPolicy, policyIsPublic, principalMatches, type BucketPolicy } from '../../../src/core/bucket-policy.js';
import { conditionContext, conditionHolds } from '../../../src/core/policy-conditions.js';
import { globMatches } from '../../../src/core/glob.js';

const BUCKET = 'examplebucket';

function policy(statements: unknown, version = '2012-10-17'): BucketPolicy {
  const parsed = parseBucketPolicy(JSON.stringify({ Version: version, Statement: statements }), BUCKET);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.policy;
}

function problemOf(document: unknown): string {
  const parsed = parseBucketPolicy(typeof document === 'string' ? document : JSON.stringify(document), BUCKET);
  if (parsed.ok) throw new Error('expected the policy to be refused');
  return parsed.problem;
}

const ctx = (entries: Record<string, string | string[]> = {}) => conditionContext(entries);

describe('core/bucket-policy', () => {
  describe('checking a policy as PutBucketPolicy does', () => {
    it('keeps the text as given and normalizes single values into lists', () => {
      const text = JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` } });
      const parsed = parseBucketPolicy(text, BUCKET);
      expect(parsed.ok).to.equal(true);
      if (!parsed.ok) return;
      expect(parsed.policy.text).to.equal(text);
      expect(parsed.policy.statements[0]).to.deep.include({ effect: 'Allow', principals: ['*'], actions: ['s3:GetObject'], resources: [`arn:aws:s3:::${BUCKET}/*`] });
      expect(isBucketPolicy(parsed.policy)).to.equal(true);
      expect(isBucketPolicy({ ...parsed.policy, statements: [{ effect: 'Maybe', conditions: [] }] })).to.equal(false);
    });

    it('refuses what S3 refuses, naming the reason', () => {
      const ok = { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` };
      expect(problemOf('not json')).to.match(/valid JSON/);
      expect(problemOf('[1]')).to.match(/valid JSON/);
      expect(problemOf({ Version: '2012-10-17' })).to.match(/Missing required field Statement/);
      expect(problemOf({ Version: '2020-01-01', Statement: [ok] })).to.match(/version/);
      expect(problemOf({ Statement: [{ ...ok, Effect: 'Perhaps' }] })).to.match(/Invalid effect/);
      expect(problemOf({ Statement: [{ ...ok, Principal: undefined }] })).to.match(/Missing required field Principal/);
      expect(problemOf({ Statement: [{ ...ok, Principal: { Nobody: 'x' } }] })).to.match(/Invalid principal/);
      expect(problemOf({ Statement: [{ ...ok, Principal: undefined, NotPrincipal: { AWS: 'bob' } }] })).to.match(/NotPrincipal/);
      expect(problemOf({ Statement: [{ ...ok, Action: 's3:FlyToTheMoon' }] })).to.match(/invalid action/);
      expect(problemOf({ Statement: [{ ...ok, Action: 'ec2:RunInstances' }] })).to.match(/invalid action/);
      expect(problemOf({ Statement: [{ ...ok, Resource: 'arn:aws:s3:::otherbucket/*' }] })).to.match(/invalid resource/);
      expect(problemOf({ Statement: [{ ...ok, Resource: `arn:aws:s3:::${BUCKET}` }] })).to.match(/does not apply/);
      expect(problemOf({ Statement: [{ ...ok, Sid: 'a' }, { ...ok, Sid: 'a' }] })).to.match(/unique/);
      expect(problemOf({ Statement: [{ ...ok, Condition: { StringEquals: { 'aws:NoSuchKey': 'x' } } }] })).to.match(/invalid condition key/);
      expect(problemOf({ Statement: [{ ...ok, Condition: { StringFuzzy: { 'aws:Referer': 'x' } } }] })).to.match(/Invalid Condition type/);
      expect(problemOf({ Statement: [{ ...ok, Condition: { IpAddress: { 'aws:SourceIp': '300.1.1.1/8' } } }] })).to.match(/Invalid value/);
      expect(problemOf({ Statement: [{ ...ok, Condition: { NumericLessThan: { 's3:max-keys': 'ten' } } }] })).to.match(/Invalid value/);
      expect(problemOf({ Statement: [{ ...ok, Extra: 1 }] })).to.match(/Unknown field Extra/);
      expect(problemOf({ Statement: [{ ...ok, Action: 's3:GetObject' }], Padding: 'x'.repeat(21 * 1024) })).to.match(/at most/);
    });

    it('refuses condition keys it cannot judge as unsupported rather than malformed', () => {
      const parsed = parseBucketPolicy(JSON.stringify({ Statement: [{
        Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`,
        Condition: { NumericLessThan: { 's3:signatureAge': '600000' } },
      }] }), BUCKET);
      expect(parsed).to.deep.include({ ok: false, unsupported: true });
    });

    it('accepts wildcards in the bucket of a resource, and keys nothing here ever carries', () => {
      expect(parseBucketPolicy(JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::example*/*', Condition: { StringEquals: { 'aws:SourceAccount': '123' } } }] }), BUCKET).ok).to.equal(true);
    });
  });

  describe('evaluating', () => {
    const request = (action: 's3:GetObject' | 's3:ListBucket' | 's3:PutObject', resource: string, userId: string | undefined, context = ctx()) =>
      ({ action, resource, userId, context });

    it('grants anonymous read of every object (AWS example: public read)', () => {
      const p = policy([{ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: [`arn:aws:s3:::${BUCKET}/*`] }]);
      expect(evaluatePolicy(p, request('s3:GetObject', `arn:aws:s3:::${BUCKET}/a/b.txt`, undefined))).to.deep.equal({ allowedBy: { statement: 'PublicRead' } });
      expect(evaluatePolicy(p, request('s3:PutObject', `arn:aws:s3:::${BUCKET}/a/b.txt`, undefined))).to.deep.equal({});
      expect(evaluatePolicy(p, request('s3:ListBucket', `arn:aws:s3:::${BUCKET}`, undefined))).to.deep.equal({});
      expect(policyIsPublic(p)).to.equal(true);
    });

    it('lets an explicit deny win over an allow (AWS example: restrict to an IP range)', () => {
      const p = policy([
        { Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`] },
        { Sid: 'OutsideOffice', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
          Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '2001:db8::/32'] } } },
      ]);
      const from = (ip: string) => request('s3:GetObject', `arn:aws:s3:::${BUCKET}/k`, 'bob', ctx({ 'aws:SourceIp': ip }));
      expect(evaluatePolicy(p, from('192.0.2.7'))).to.deep.equal({ allowedBy: { statement: '#1' } });
      expect(evaluatePolicy(p, from('2001:db8::1'))).to.deep.equal({ allowedBy: { statement: '#1' } });
      expect(evaluatePolicy(p, from('198.51.100.1'))).to.deep.equal({ deniedBy: { statement: 'OutsideOffice' } });
    });

    it('denies plain HTTP (AWS example: aws:SecureTransport)', () => {
      const p = policy([{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }]);
      expect(evaluatePolicy(p, request('s3:GetObject', `arn:aws:s3:::${BUCKET}/k`, 'bob', ctx({ 'aws:SecureTransport': 'false' })))).to.have.property('deniedBy');
      expect(evaluatePolicy(p, request('s3:GetObject', `arn:aws:s3:::${BUCKET}/k`, 'bob', ctx({ 'aws:SecureTransport': 'true' })))).to.deep.equal({});
    });

    it('requires encryption headers with StringNotEquals and Null, as the AWS example does', () => {
      const p = policy([
        { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } } },
        { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } } },
      ]);
      const put = (entries: Record<string, string>) => evaluatePolicy(p, request('s3:PutObject', `arn:aws:s3:::${BUCKET}/k`, 'bob', ctx(entries)));
      expect(put({})).to.have.property('deniedBy');
      expect(put({ 's3:x-amz-server-side-encryption': 'aws:kms' })).to.have.property('deniedBy');
      expect(put({ 's3:x-amz-server-side-encryption': 'AES256' })).to.deep.equal({});
    });

    it('substitutes policy variables in 2012-10-17 policies only (AWS example: home folders)', () => {
      const statement = { Effect: 'Allow', Principal: '*', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}`, Condition: { StringLike: { 's3:prefix': ['home/${aws:username}/*'] } } };
      const list = (user: string, prefix: string) => request('s3:ListBucket', `arn:aws:s3:::${BUCKET}`, user, ctx({ 'aws:username': user, 's3:prefix': prefix }));
      expect(evaluatePolicy(policy([statement]), list('bob', 'home/bob/photos/'))).to.have.property('allowedBy');
      expect(evaluatePolicy(policy([statement]), list('bob', 'home/alice/'))).to.deep.equal({});
      expect(evaluatePolicy(policy([statement], '2008-10-17'), list('bob', 'home/bob/photos/'))).to.deep.equal({});
      const anonymous = request('s3:ListBucket', `arn:aws:s3:::${BUCKET}`, undefined, ctx({ 's3:prefix': 'home//x' }));
      expect(evaluatePolicy(policy([statement]), anonymous)).to.deep.equal({});
    });

    it('matches principals by user id and IAM ARNs, NotPrincipal by exclusion, actions without regard to case', () => {
      expect(principalMatches('*', undefined)).to.equal(true);
      expect(principalMatches('bob', undefined)).to.equal(false);
      expect(principalMatches('bob', 'bob')).to.equal(true);
      expect(principalMatches('arn:aws:iam::123456789012:user/bob', 'bob')).to.equal(true);
      expect(principalMatches('arn:aws:iam::123456789012:user/team/bob', 'bob')).to.equal(true);
      expect(principalMatches('arn:aws:iam::bob:root', 'bob')).to.equal(true);
      expect(principalMatches('arn:aws:iam::bob:root', 'alice')).to.equal(false);
      const p = policy([{ Effect: 'Deny', NotPrincipal: { AWS: ['arn:aws:iam::1:user/alice'] }, Action: 'S3:getobject', Resource: `arn:aws:s3:::${BUCKET}/*` }]);
      expect(evaluatePolicy(p, request('s3:GetObject', `arn:aws:s3:::${BUCKET}/k`, 'bob'))).to.have.property('deniedBy');
      expect(evaluatePolicy(p, request('s3:GetObject', `arn:aws:s3:::${BUCKET}/k`, 'alice'))).to.deep.equal({});
      expect(evaluatePolicy(p, request('s3:GetObject', `arn:aws:s3:::${BUCKET}/k`, undefined))).to.have.property('deniedBy');
    });

    it('judges NotAction and NotResource by exclusion', () => {
      const p = policy([{ Effect: 'Allow', Principal: '*', NotAction: 's3:Delete*', NotResource: `arn:aws:s3:::${BUCKET}/private/*` }]);
      expect(evaluatePolicy(p, request('s3:GetObject', `arn:aws:s3:::${BUCKET}/public/a`, 'bob'))).to.have.property('allowedBy');
      expect(evaluatePolicy(p, request('s3:GetObject', `arn:aws:s3:::${BUCKET}/private/a`, 'bob'))).to.deep.equal({});
    });

    it('is not public when a condition narrows who may ask', () => {
      const narrowed = policy([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/32' } } }]);
      expect(policyIsPublic(narrowed)).to.equal(false);
      const named = policy([{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::s3tenant1:root' }, Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}` }]);
      expect(policyIsPublic(named)).to.equal(false);
      const wide = policy([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { IpAddress: { 'aws:SourceIp': ['0.0.0.0/1', '128.0.0.0/1'] } } }]);
      expect(policyIsPublic(wide)).to.equal(true);
      const notFrom = policy([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }]);
      expect(policyIsPublic(notFrom)).to.equal(true);
    });
  });

  describe('conditions', () => {
    const holds = (operator: string, key: string, values: string[], entries: Record<string, string | string[]> = {}) =>
      conditionHolds({ operator, key: key.toLowerCase(), values }, ctx(entries));

    it('treats an absent key as AWS does: positive fails, negated holds, IfExists holds', () => {
      expect(holds('StringEquals', 'aws:Referer', ['x'])).to.equal(false);
      expect(holds('StringNotEquals', 'aws:Referer', ['x'])).to.equal(true);
      expect(holds('StringLikeIfExists', 'aws:Referer', ['http://www.example.com/*'])).to.equal(true);
      expect(holds('StringLikeIfExists', 'aws:Referer', ['http://www.example.com/*'], { 'aws:Referer': 'http://example.com' })).to.equal(false);
      expect(holds('Null', 'aws:Referer', ['true'])).to.equal(true);
      expect(holds('Null', 'aws:Referer', ['false'], { 'aws:Referer': 'x' })).to.equal(true);
    });

    it('compares numbers, dates, case-insensitive strings and multi-valued keys', () => {
      expect(holds('NumericLessThanEquals', 's3:max-keys', ['10'], { 's3:max-keys': '7' })).to.equal(true);
      expect(holds('NumericLessThanEquals', 's3:max-keys', ['10'], { 's3:max-keys': '70' })).to.equal(false);
      expect(holds('DateLessThan', 'aws:CurrentTime', ['2030-01-01T00:00:00Z'], { 'aws:CurrentTime': '2026-12-04T00:00:00.000Z' })).to.equal(true);
      expect(holds('DateGreaterThan', 'aws:EpochTime', ['2030-01-01T00:00:00Z'], { 'aws:EpochTime': '1796256000' })).to.equal(false);
      expect(holds('StringEqualsIgnoreCase', 's3:x-amz-acl', ['PUBLIC-READ'], { 's3:x-amz-acl': 'public-read' })).to.equal(true);
      expect(holds('ForAllValues:StringEquals', 's3:RequestObjectTagKeys', ['a', 'b'], { 's3:RequestObjectTagKeys': ['a', 'b'] })).to.equal(true);
      expect(holds('ForAllValues:StringEquals', 's3:RequestObjectTagKeys', ['a'], { 's3:RequestObjectTagKeys': ['a', 'c'] })).to.equal(false);
      expect(holds('ForAllValues:StringEquals', 's3:RequestObjectTagKeys', ['a'])).to.equal(true);
      expect(holds('ForAnyValue:StringEquals', 's3:RequestObjectTagKeys', ['c'], { 's3:RequestObjectTagKeys': ['a', 'c'] })).to.equal(true);
      expect(holds('ForAnyValue:StringEquals', 's3:RequestObjectTagKeys', ['c'])).to.equal(false);
    });
  });

  it('matches IAM wildcards without backtracking blow-up', () => {
    expect(globMatches('home/*/x?z', 'home/a/b/xyz')).to.equal(true);
    expect(globMatches('home/*/x?z', 'home/a/b/xz')).to.equal(false);
    expect(globMatches('*', '')).to.equal(true);
    expect(globMatches('S3:GET*', 's3:GetObject', true)).to.equal(true);
    expect(globMatches('S3:GET*', 's3:GetObject')).to.equal(false);
    expect(globMatches(`${'*a'.repeat(50)}b`, 'a'.repeat(5000))).to.equal(false);
  });
});
