import { DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { failure, rawRequest, signedRequest, startHarness, xmlValue, type Harness } from '../../support/gateway-harness.js';

const BUCKET = 'site';
const ORIGIN = 'https://app.example.com';

const RULES = [
  { ID: 'app', AllowedOrigins: [ORIGIN], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['content-type', 'x-amz-*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 },
  { AllowedOrigins: ['*'], AllowedMethods: ['GET'] },
];

describe('actors/gateway CORS', function () {
  this.timeout(60_000);
  let h: Harness;
  let alice: S3Client;

  beforeEach(async () => {
    h = await startHarness();
    h.admin.addBucket(BUCKET, 'alice', 'public-read');
    alice = h.client('alice');
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'index.html', Body: '<p>hi</p>', ACL: 'public-read' }));
  });

  afterEach(async () => {
    await h.close();
  });

  it('keeps, gives back and removes a bucket\'s rules; only the owner may change them', async () => {
    expect(await failure(alice.send(new GetBucketCorsCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'NoSuchCORSConfiguration', status: 404 });
    expect(await failure(h.client('bob').send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: RULES } })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    await alice.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: RULES } }));
    expect((await alice.send(new GetBucketCorsCommand({ Bucket: BUCKET }))).CORSRules).to.deep.equal(RULES);
    await alice.send(new DeleteBucketCorsCommand({ Bucket: BUCKET }));
    expect(await failure(alice.send(new GetBucketCorsCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'NoSuchCORSConfiguration', status: 404 });
  });

  it('refuses rules S3 refuses, changing nothing', async () => {
    const put = (rule: string) => signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}?cors`, body: `<CORSConfiguration><CORSRule>${rule}</CORSRule></CORSConfiguration>` });
    const patch = await put('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>');
    expect([patch.status, xmlValue(patch.text, 'Code')]).to.deep.equal([400, 'InvalidRequest']);
    expect(xmlValue(patch.text, 'Message')).to.match(/Unsupported method is PATCH/);
    const noOrigin = await put('<AllowedMethod>GET</AllowedMethod>');
    expect([noOrigin.status, xmlValue(noOrigin.text, 'Code')]).to.deep.equal([400, 'MalformedXML']);
    expect(h.view.bucket(BUCKET)?.cors).to.equal(undefined);
  });

  it('answers preflights from the first rule that allows origin, method and headers', async () => {
    await alice.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: RULES } }));
    const ask = (origin: string, method: string, requestHeaders?: string) => rawRequest(h.endpoint, {
      method: 'OPTIONS', path: `/${BUCKET}/index.html`,
      headers: { origin, 'access-control-request-method': method, ...(requestHeaders === undefined ? {} : { 'access-control-request-headers': requestHeaders }) },
    });
    const put = await ask(ORIGIN, 'PUT', 'Content-Type, X-Amz-Date');
    expect(put.status).to.equal(200);
    expect(put.headers).to.include({
      'access-control-allow-origin': ORIGIN, 'access-control-allow-methods': 'GET, PUT', 'access-control-allow-headers': 'content-type, x-amz-date',
      'access-control-expose-headers': 'ETag', 'access-control-max-age': '600', 'access-control-allow-credentials': 'true',
    });
    const anyoneGet = await ask('https://elsewhere.example', 'GET');
    expect([anyoneGet.status, anyoneGet.headers['access-control-allow-origin']]).to.deep.equal([200, '*']);
    const anyonePut = await ask('https://elsewhere.example', 'PUT');
    expect([anyonePut.status, xmlValue(anyonePut.text, 'Code')]).to.deep.equal([403, 'AccessForbidden']);
    const unlistedHeader = await ask(ORIGIN, 'PUT', 'x-custom');
    expect(unlistedHeader.status).to.equal(403);
  });

  it('adds CORS headers to ordinary answers, errors included, only for a matching origin', async () => {
    await alice.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: RULES } }));
    const get = await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/index.html`, headers: { origin: ORIGIN } });
    expect([get.status, get.headers['access-control-allow-origin'], get.headers['access-control-expose-headers']]).to.deep.equal([200, ORIGIN, 'ETag']);
    const missing = await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/nothing`, headers: { origin: ORIGIN } });
    expect([missing.status, missing.headers['access-control-allow-origin']]).to.deep.equal([404, ORIGIN]);
    const refused = await rawRequest(h.endpoint, { method: 'PUT', path: `/${BUCKET}/new`, headers: { origin: ORIGIN }, body: 'x' });
    expect([refused.status, refused.headers['access-control-allow-origin']]).to.deep.equal([403, ORIGIN]);
    const noOrigin = await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/index.html` });
    expect(noOrigin.headers).to.not.have.property('access-control-allow-origin');
    const otherDelete = await rawRequest(h.endpoint, { method: 'DELETE', path: `/${BUCKET}/index.html`, headers: { origin: 'https://elsewhere.example' } });
    expect(otherDelete.headers).to.not.have.property('access-control-allow-origin');
  });
});
