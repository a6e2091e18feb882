import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash, createHmac } from 'node:crypto';
import { deriveSigningKey } from '../../../src/protocol/s3/sigv4.js';
import { bodyOf, failure, pattern, rawRequest, startHarness, USERS, xmlValue, type Harness, type UserName } from '../../support/gateway-harness.js';

const BUCKET = 'uploads';
const BOUNDARY = 'formboundaryQx7';

type Field = readonly [string, string];

function form(fields: readonly Field[], file: Buffer | undefined, filename = 'local.bin'): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  if (file !== undefined) {
    parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`), file, Buffer.from('\r\n'));
    parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="after"\r\n\r\nignored\r\n`));
  }
  parts.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(parts);
}

function policyDocument(conditions: unknown[], expiresInMs = 600_000): string {
  return Buffer.from(JSON.stringify({ expiration: new Date(Date.now() + expiresInMs).toISOString(), conditions })).toString('base64');
}

/** A form signed with SigV2, as older SDKs and form builders sign it. */
function signedV2(user: UserName, policy: string, fields: readonly Field[]): Field[] {
  const signature = createHmac('sha1', USERS[user].secretAccessKey).update(policy).digest('base64');
  return [...fields, ['AWSAccessKeyId', USERS[user].accessKeyId], ['policy', policy], ['signature', signature]];
}

describe('actors/gateway POST object (browser form uploads)', function () {
  this.timeout(60_000);
  let h: Harness;
  let alice: S3Client;

  const post = (body: Buffer, contentType = `multipart/form-data; boundary=${BOUNDARY}`) =>
    rawRequest(h.endpoint, { method: 'POST', path: `/${BUCKET}`, headers: { 'content-type': contentType, 'content-length': String(body.length) }, body });

  beforeEach(async () => {
    h = await startHarness();
    h.admin.addBucket(BUCKET, 'alice');
    h.admin.addBucket('dropbox', 'alice', 'public-read-write');
    alice = h.client('alice');
  });

  afterEach(async () => {
    await h.close();
  });

  it('stores an anonymous upload to a bucket anyone may write, and refuses it elsewhere', async () => {
    const body = form([['key', 'hello.txt'], ['Content-Type', 'text/plain']], Buffer.from('hi there'));
    const open = await rawRequest(h.endpoint, { method: 'POST', path: '/dropbox', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body });
    expect(open.status).to.equal(204);
    const got = await alice.send(new GetObjectCommand({ Bucket: 'dropbox', Key: 'hello.txt' }));
    expect([(await bodyOf(got)).toString(), got.ContentType]).to.deep.equal(['hi there', 'text/plain']);
    expect((await post(body)).status).to.equal(403);
  });

  it('stores a signed upload streamed in chunks, with its metadata, tags and key from the file name', async () => {
    const file = pattern(3 * 1024 * 1024 + 17, 5);
    const policy = policyDocument([
      { bucket: BUCKET }, ['starts-with', '$key', 'user/'], ['starts-with', '$Content-Type', 'image/'], ['eq', '$x-amz-meta-album', 'summer'],
      ['starts-with', '$tagging', ''], ['eq', '$success_action_status', '201'], ['content-length-range', 1, 10 * 1024 * 1024],
    ]);
    const tagging = '<Tagging><TagSet><Tag><Key>kind</Key><Value>photo</Value></Tag></TagSet></Tagging>';
    const answer = await post(form(signedV2('alice', policy, [
      ['key', 'user/${filename}'], ['Content-Type', 'image/png'], ['x-amz-meta-album', 'summer'], ['tagging', tagging], ['success_action_status', '201'],
    ]), file, 'beach.png'));
    expect(answer.status, answer.text).to.equal(201);
    expect(xmlValue(answer.text, 'Key')).to.equal('user/beach.png');
    const md5 = createHash('md5').update(file).digest('hex');
    expect(xmlValue(answer.text, 'ETag')?.replaceAll('&quot;', '"')).to.equal(`"${md5}"`);
    const got = await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'user/beach.png' }));
    expect((await bodyOf(got)).equals(file)).to.equal(true);
    expect([got.ContentType, got.Metadata?.album, got.ETag]).to.deep.equal(['image/png', 'summer', `"${md5}"`]);
    expect((await alice.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'user/beach.png' }))).TagSet).to.deep.equal([{ Key: 'kind', Value: 'photo' }]);
  });

  it('accepts a form signed with SigV4 and redirects where the form asks', async () => {
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    const credential = `${USERS.alice.accessKeyId}/${date.slice(0, 8)}/us-east-1/s3/aws4_request`;
    const redirect = 'https://app.example.com/done?from=form';
    const policy = policyDocument([
      { bucket: BUCKET }, { key: 'v4.txt' }, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': date },
      { success_action_redirect: redirect },
    ]);
    const signature = createHmac('sha256', deriveSigningKey(USERS.alice.secretAccessKey, date.slice(0, 8), 'us-east-1', 's3')).update(policy).digest('hex');
    const answer = await post(form([
      ['key', 'v4.txt'], ['x-amz-algorithm', 'AWS4-HMAC-SHA256'], ['x-amz-credential', credential], ['x-amz-date', date],
      ['success_action_redirect', redirect], ['policy', policy], ['x-amz-signature', signature],
    ], Buffer.from('four')));
    expect(answer.status).to.equal(303);
    const etag = (await alice.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'v4.txt' }))).ETag!;
    expect(answer.headers.location).to.equal(`${redirect}&bucket=${BUCKET}&key=v4.txt&etag=${encodeURIComponent(etag)}`);
  });

  it('refuses what the policy or the signature does not allow, storing nothing', async () => {
    const base = (extra: unknown[] = []) => [{ bucket: BUCKET }, ['starts-with', '$key', 'in/'], ['content-length-range', 2, 10], ...extra];
    const cases: Array<[string, Buffer, number, string]> = [
      ['expired', form(signedV2('alice', policyDocument(base(), -1000), [['key', 'in/a']]), Buffer.from('abc')), 403, 'AccessDenied'],
      ['key outside the policy', form(signedV2('alice', policyDocument(base()), [['key', 'out/a']]), Buffer.from('abc')), 403, 'AccessDenied'],
      ['a field the policy does not cover', form(signedV2('alice', policyDocument(base()), [['key', 'in/a'], ['x-amz-meta-extra', '1']]), Buffer.from('abc')), 403, 'AccessDenied'],
      ['too large', form(signedV2('alice', policyDocument(base()), [['key', 'in/a']]), Buffer.alloc(11)), 400, 'EntityTooLarge'],
      ['too small', form(signedV2('alice', policyDocument(base()), [['key', 'in/a']]), Buffer.alloc(1)), 400, 'EntityTooSmall'],
      ['a wrong signature', form([['key', 'in/a'], ['AWSAccessKeyId', USERS.alice.accessKeyId], ['policy', policyDocument(base())], ['signature', 'bm90IGl0']], Buffer.from('abc')), 403, 'SignatureDoesNotMatch'],
      ['an unknown key', form([['key', 'in/a'], ['AWSAccessKeyId', 'NOSUCHKEY0000000'], ['policy', policyDocument(base())], ['signature', 'bm90IGl0']], Buffer.from('abc')), 403, 'InvalidAccessKeyId'],
      ['a policy without signature', form([['key', 'in/a'], ['AWSAccessKeyId', USERS.alice.accessKeyId], ['policy', policyDocument(base())]], Buffer.from('abc')), 400, 'InvalidArgument'],
      ['a policy that is not JSON', form(signedV2('alice', Buffer.from('{nope').toString('base64'), [['key', 'in/a']]), Buffer.from('abc')), 400, 'InvalidPolicyDocument'],
      ['a policy without expiration', form(signedV2('alice', Buffer.from('{"conditions":[]}').toString('base64'), [['key', 'in/a']]), Buffer.from('abc')), 400, 'InvalidPolicyDocument'],
      ['no file', form(signedV2('alice', policyDocument(base()), [['key', 'in/a']]), undefined), 400, 'IncorrectNumberOfFilesInPostRequest'],
      ['no key', form(signedV2('alice', policyDocument(base()), []), Buffer.from('abc')), 400, 'InvalidArgument'],
      ['a policy of bob\'s, who may not write here', form(signedV2('bob', policyDocument(base()), [['key', 'in/a']]), Buffer.from('abc')), 403, 'AccessDenied'],
      ['a broken body', Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="key"\r\n\r\nin/a`), 400, 'MalformedPOSTRequest'],
    ];
    for (const [what, body, status, code] of cases) {
      const answer = await post(body);
      expect([answer.status, xmlValue(answer.text, 'Code')], what).to.deep.equal([status, code]);
    }
    const notAForm = await post(Buffer.from('key=in/a'), 'application/x-www-form-urlencoded');
    expect([notAForm.status, xmlValue(notAForm.text, 'Code')]).to.deep.equal([412, 'PreconditionFailed']);
    expect(await failure(alice.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'in/a' })))).to.deep.equal({ name: 'NotFound', status: 404 });
  });
});
