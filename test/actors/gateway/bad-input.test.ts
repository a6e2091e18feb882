import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { expect } from 'chai';
import { createHash, createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { crc32 } from '../../../src/core/checksums/crc32.js';
import {
  failure, type Harness, NodeSha256, presignedPath, rawRequest, signedHeaders, signedRequest, startHarness, USERS, xmlValue,
} from '../../support/gateway-harness.js';

const BUCKET = 'inputs';


function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0, 0);
  return out.toString('base64');
}

/** Sends raw bytes on one connection and returns everything the server answers until it closes or goes quiet. */
function exchange(port: number, bytes: string, quietMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    });
    socket.on('error', () => undefined);
    socket.on('close', done);
    socket.write(bytes);
  });
}

describe('actors/gateway bad input', function () {
  this.timeout(60_000);
  let h: Harness;
  let s3: S3Client;

  beforeEach(async () => {
    h = await startHarness({ config: { storageTimeoutMs: 300 } });
    h.admin.addBucket(BUCKET, 'alice');
    s3 = h.client('alice');
  });

  afterEach(async () => {
    await h.close();
  });

  async function expectError(response: { status: number; text: string; headers: Record<string, unknown> }, status: number, code: string): Promise<void> {
    expect(response.status, response.text).to.equal(status);
    expect(xmlValue(response.text, 'Code')).to.equal(code);
    expect(xmlValue(response.text, 'RequestId')).to.equal(response.headers['x-amz-request-id']);
    expect(response.headers['x-amz-id-2']).to.be.a('string');
    expect(response.text).not.to.match(/at .*\.js:\d+/);
  }

  it('refuses invalid bucket names', async () => {
    for (const name of ['AB', 'Upper', 'under_score', '192.168.1.1', 'a..b', '-dash']) {
      await expectError(await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${name}/key` }), 400, 'InvalidBucketName');
    }
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'Not_Valid', Key: 'k', Body: 'x' })))).to.deep.include({ status: 400 });
  });

  it('refuses keys over 1024 bytes', async () => {
    await expectError(await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/${'k'.repeat(1025)}`, body: 'x' }), 400, 'KeyTooLongError');
    await expectError(await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/${'%C3%BC'.repeat(513)}` }), 400, 'KeyTooLongError');
    const fits = await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/${'k'.repeat(1024)}`, body: 'x' });
    expect(fits.status).to.equal(200);
  });

  it('refuses malformed XML bodies', async () => {
    await expectError(await signedRequest(h.endpoint, 'alice', { method: 'POST', path: `/${BUCKET}?delete`, body: '<Delete><Object><Key>a</Key></Object>' }), 400, 'MalformedXML');
    await expectError(await signedRequest(h.endpoint, 'alice', { method: 'POST', path: `/${BUCKET}?delete`, body: '<Delete></Delete>' }), 400, 'MalformedXML');
    await expectError(await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: '/new-bucket', body: '<CreateBucketConfiguration><Nope/>' }), 400, 'MalformedXML');
    await expectError(await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}?acl`, body: 'not xml at all' }), 400, 'MalformedACLError');
    await expectError(await signedRequest(h.endpoint, 'alice', {
      method: 'POST', path: `/${BUCKET}?delete`, body: '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><Delete><Object><Key>&x;</Key></Object></Delete>',
    }), 400, 'MalformedXML');
  });

  it('refuses wrong signatures, unknown keys, expired presigned URLs and skewed clocks', async () => {
    const wrong = h.client('alice', { credentials: { accessKeyId: USERS.alice.accessKeyId, secretAccessKey: 'not-the-secret-0000' } });
    expect(await failure(wrong.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' })))).to.deep.equal({ name: 'SignatureDoesNotMatch', status: 403 });
    const unknown = h.client('alice', { credentials: { accessKeyId: 'UNKNOWNKEY000000', secretAccessKey: 'whatever-secret' } });
    expect(await failure(unknown.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' })))).to.deep.equal({ name: 'InvalidAccessKeyId', status: 403 });

    const skewed = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}?list-type=2` }, { signingDate: new Date(Date.now() - 16 * 60_000) });
    await expectError(skewed, 403, 'RequestTimeTooSkewed');
    const slightly = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}?list-type=2` }, { signingDate: new Date(Date.now() - 14 * 60_000) });
    expect(slightly.status).to.equal(200);

    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'shared.txt', Body: 'presigned' }));
    const url = new URL(h.endpoint);
    const signer = new SignatureV4({
      service: 's3', region: 'us-east-1', uriEscapePath: false, sha256: NodeSha256,
      credentials: { accessKeyId: USERS.alice.accessKeyId, secretAccessKey: USERS.alice.secretAccessKey },
    });
    const presign = async (signingDate: Date): Promise<string> => {
      const signed = await signer.presign(
        { method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: `/${BUCKET}/shared.txt`, query: {}, headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
        { signingDate, expiresIn: 60 },
      );
      const query = Object.entries(signed.query as Record<string, string>).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      return `/${BUCKET}/shared.txt?${query}`;
    };
    const fresh = await rawRequest(h.endpoint, { method: 'GET', path: await presign(new Date()) });
    expect(fresh.status, fresh.text).to.equal(200);
    expect(fresh.text).to.equal('presigned');
    const expired = await rawRequest(h.endpoint, { method: 'GET', path: await presign(new Date(Date.now() - 120_000)) });
    await expectError(expired, 403, 'AccessDenied');
  });

  it('answers any SigV4 signature that does not match with 403 SignatureDoesNotMatch, malformed or not', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'signed.txt', Body: 'x' }));
    const presigned = await presignedPath(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/signed.txt` });
    expect((await rawRequest(h.endpoint, { method: 'GET', path: presigned })).status).to.equal(200);
    const headers = await signedHeaders(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/signed.txt` });
    for (const tampered of ['not-hex-at-all', '0'.repeat(63), 'Z'.repeat(64), `${'0'.repeat(64)}00`, '']) {
      const url = presigned.replace(/X-Amz-Signature=[0-9a-f]{64}/, `X-Amz-Signature=${tampered}`);
      await expectError(await rawRequest(h.endpoint, { method: 'GET', path: url }), 403, 'SignatureDoesNotMatch');
      const authorization = headers.authorization!.replace(/Signature=[0-9a-f]{64}$/, `Signature=${tampered}`);
      await expectError(await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/signed.txt`, headers: { ...headers, authorization } }), 403, 'SignatureDoesNotMatch');
    }
  });

  it('accepts Signature Version 2 requests', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'v2.txt', Body: 'old client' }));
    const date = new Date().toUTCString();
    const signature = createHmac('sha1', USERS.alice.secretAccessKey).update(`GET\n\n\n${date}\n/${BUCKET}/v2.txt`).digest('base64');
    const response = await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/v2.txt`, headers: { date, authorization: `AWS ${USERS.alice.accessKeyId}:${signature}` } });
    expect(response.status).to.equal(200);
    expect(response.text).to.equal('old client');
    const bad = await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/v2.txt`, headers: { date, authorization: `AWS ${USERS.alice.accessKeyId}:${signature.slice(1)}x` } });
    await expectError(bad, 403, 'SignatureDoesNotMatch');
  });

  it('refuses an x-amz-content-sha256 that is neither a SHA-256 nor a known value, however the request is signed, and stores nothing', async () => {
    h.admin.addBucket('open-inputs', 'alice', 'public-read-write');
    const body = 'unchecked?';
    const badHash = async (response: Awaited<ReturnType<typeof rawRequest>>, what: string): Promise<void> => {
      await expectError(response, 400, 'InvalidArgument');
      expect(xmlValue(response.text, 'ArgumentName'), what).to.equal('x-amz-content-sha256');
      expect(xmlValue(response.text, 'Message'), what).to.match(/^x-amz-content-sha256 must be UNSIGNED-PAYLOAD, .* or a valid sha256 value\.$/);
    };
    for (const declared of ['not-a-sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85', 'UNSIGNED-PAYLOAD-PLEASE']) {
      await badHash(await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/header`, body }, { payloadHash: declared }), `header ${declared}`);
      const presigned = await presignedPath(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/presigned` });
      await badHash(await rawRequest(h.endpoint, { method: 'PUT', path: presigned, headers: { 'x-amz-content-sha256': declared }, body }), `presigned ${declared}`);
      const date = new Date().toUTCString();
      const v2 = createHmac('sha1', USERS.alice.secretAccessKey).update(`PUT\n\n\n${date}\nx-amz-content-sha256:${declared}\n/${BUCKET}/v2`).digest('base64');
      await badHash(await rawRequest(h.endpoint, {
        method: 'PUT', path: `/${BUCKET}/v2`, headers: { date, authorization: `AWS ${USERS.alice.accessKeyId}:${v2}`, 'x-amz-content-sha256': declared }, body,
      }), `SigV2 ${declared}`);
      await badHash(await rawRequest(h.endpoint, { method: 'PUT', path: '/open-inputs/anonymous', headers: { 'x-amz-content-sha256': declared }, body }), `anonymous ${declared}`);
    }
    // A hash the request declares is checked even where it is not signed.
    const presigned = await presignedPath(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/presigned` });
    const otherHash = createHash('sha256').update('another body').digest('hex');
    await expectError(await rawRequest(h.endpoint, { method: 'PUT', path: presigned, headers: { 'x-amz-content-sha256': otherHash }, body }), 400, 'XAmzContentSHA256Mismatch');
    // Signature Version 4A values are known, but not offered.
    await expectError(await rawRequest(h.endpoint, {
      method: 'PUT', path: '/open-inputs/anonymous', headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD' }, body,
    }), 501, 'NotImplemented');
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);
    expect(h.storage.liveKeys('object', 'open-inputs')).to.deep.equal([]);
    const fine = await rawRequest(h.endpoint, { method: 'PUT', path: presigned, headers: { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') }, body });
    expect(fine.status, fine.text).to.equal(200);
  });

  it('refuses an aws-chunked body longer than its declared decoded length, and stores nothing', async () => {
    const data = Buffer.from('0123456789abcdef');
    const body = `${data.length.toString(16)}\r\n${data.toString()}\r\n0\r\nx-amz-checksum-crc32:${crc32Base64(data)}\r\n\r\n`;
    const headers = {
      'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '10', 'x-amz-trailer': 'x-amz-checksum-crc32',
      'content-length': String(Buffer.byteLength(body)),
    };
    const request = { method: 'PUT', path: `/${BUCKET}/long`, headers, body };
    const response = await rawRequest(h.endpoint, { ...request, headers: await signedHeaders(h.endpoint, 'alice', request, { payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' }) });
    await expectError(response, 400, 'InvalidRequest');
    const shorter = { ...request, headers: { ...headers, 'x-amz-decoded-content-length': '20' } };
    const short = await rawRequest(h.endpoint, { ...shorter, headers: await signedHeaders(h.endpoint, 'alice', shorter, { payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' }) });
    await expectError(short, 400, 'IncompleteBody');
    const exact = { ...request, headers: { ...headers, 'x-amz-decoded-content-length': '16' } };
    const ok = await rawRequest(h.endpoint, { ...exact, headers: await signedHeaders(h.endpoint, 'alice', exact, { payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' }) });
    expect(ok.status, ok.text).to.equal(200);
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal(['long']);
  });

  it('answers bytes past a plain body\'s Content-Length as a bad request, and keeps serving', async () => {
    const headers = await signedHeaders(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/plain`, headers: { 'content-length': '5' } }, { payloadHash: 'UNSIGNED-PAYLOAD' });
    const head = [`PUT /${BUCKET}/plain HTTP/1.1`, ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`), '', ''].join('\r\n');
    const answer = await exchange(h.server.port, `${head}12345 and then some garbage`);
    expect(answer).to.match(/^HTTP\/1\.1 200 /);
    expect(answer).to.match(/HTTP\/1\.1 400 [\s\S]*<Code>InvalidRequest<\/Code>/);
    expect((await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'plain' }))).ContentLength).to.equal(5);
  });

  it('refuses write headers of features it does not have or that are malformed, storing nothing, and takes the ACLs it keeps', async () => {
    const refused: ReadonlyArray<readonly [Record<string, string>, number, string]> = [
      // This gateway has no master keys: SSE-S3 is not available here.
      [{ 'x-amz-server-side-encryption': 'AES256' }, 501, 'NotImplemented'],
      [{ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'k' }, 501, 'NotImplemented'],
      [{ 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }, 400, 'InvalidArgument'],
      [{ 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00Z' }, 400, 'InvalidRequest'],
      [{ 'x-amz-object-lock-legal-hold': 'ON' }, 400, 'InvalidRequest'],
      [{ 'x-amz-tagging': 'project=%zz' }, 400, 'InvalidArgument'],
      [{ 'x-amz-tagging': 'aws:reserved=1' }, 400, 'InvalidTag'],
      [{ 'x-amz-grant-read': 'emailAddress="someone@example.com"' }, 400, 'UnresolvableGrantByEmailAddress'],
      [{ 'x-amz-grant-read': 'uri="http://example.com/not-a-group"' }, 400, 'InvalidArgument'],
      [{ 'x-amz-acl': 'aws-exec-read' }, 501, 'NotImplemented'],
      [{ 'x-amz-acl': 'everyone' }, 400, 'InvalidArgument'],
      [{ 'x-amz-website-redirect-location': '/elsewhere' }, 501, 'NotImplemented'],
    ];
    for (const [headers, status, code] of refused) {
      await expectError(await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/refused`, headers, body: Buffer.from('data') }), status, code);
      await expectError(await signedRequest(h.endpoint, 'alice', { method: 'POST', path: `/${BUCKET}/refused?uploads`, headers }), status, code);
    }
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);
    for (const acl of ['private', 'bucket-owner-full-control', 'public-read']) {
      const taken = await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/acl-${acl}`, headers: { 'x-amz-acl': acl }, body: Buffer.from('data') });
      expect(taken.status, taken.text).to.equal(200);
    }
  });

  it('refuses a PUT that declares no length and no chunked framing', async () => {
    const headers = await signedHeaders(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/nolength` }, { payloadHash: 'UNSIGNED-PAYLOAD' });
    const head = [`PUT /${BUCKET}/nolength HTTP/1.1`, ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`), '', ''].join('\r\n');
    const answer = await exchange(h.server.port, head);
    expect(answer).to.match(/^HTTP\/1\.1 411 /);
    expect(xmlValue(answer, 'Code')).to.equal('MissingContentLength');
  });

  it('refuses a header section over the limit', async () => {
    const answer = await exchange(h.server.port, `GET /${BUCKET}/k HTTP/1.1\r\nHost: x\r\nx-big: ${'v'.repeat(20_000)}\r\n\r\n`);
    expect(answer).to.match(/^HTTP\/1\.1 400 /);
    expect(xmlValue(answer, 'Code')).to.equal('RequestHeaderSectionTooLarge');
    expect(answer).to.match(new RegExp(`x-amz-request-id: ${xmlValue(answer, 'RequestId')}\r\n`));
  });

  it('answers unknown sub-resources and methods with NotImplemented and MethodNotAllowed', async () => {
    for (const path of [`/${BUCKET}?website`, `/${BUCKET}?metrics`, `/${BUCKET}/k?torrent`, `/${BUCKET}?analytics`]) {
      await expectError(await signedRequest(h.endpoint, 'alice', { method: 'GET', path }), 501, 'NotImplemented');
    }
    await expectError(await signedRequest(h.endpoint, 'alice', { method: 'PATCH', path: `/${BUCKET}/k` }), 405, 'MethodNotAllowed');
  });

  it('turns storage failures into 503, 507 and SlowDown, within the deadline', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' }));
    const cases: Array<[Parameters<Harness['storage']['inject']>[1], number, string]> = [
      ['QuorumFailed', 503, 'ServiceUnavailable'],
      ['Unavailable', 503, 'ServiceUnavailable'],
      ['Timeout', 503, 'ServiceUnavailable'],
      ['SlowDown', 503, 'SlowDown'],
      ['InsufficientStorage', 507, 'InsufficientStorage'],
      ['InternalError', 500, 'InternalError'],
      ['hang', 503, 'ServiceUnavailable'],
    ];
    for (const [fault, status, code] of cases) {
      h.storage.inject((call) => call.op === 'put' && call.kind === 'object', fault);
      const started = Date.now();
      const put = await signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/k`, body: 'y' });
      await expectError(put, status, code);
      expect(Date.now() - started, String(fault)).to.be.below(3_000);
    }
    h.storage.inject((call) => call.op === 'get', 'hang');
    const started = Date.now();
    await expectError(await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/k` }), 503, 'ServiceUnavailable');
    expect(Date.now() - started).to.be.below(3_000);
    h.storage.inject((call) => call.op === 'list', 'Unavailable');
    await expectError(await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}?list-type=2` }), 503, 'ServiceUnavailable');
    expect((await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/k` })).text).to.equal('x');
  });

  it('gives a crash inside a handler a 500 for that request only, without details', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'fine', Body: 'still here' }));
    const damaged = h.storage.record('object', BUCKET, 'fine')!;
    h.storage.plant('object', { ...damaged, key: 'damaged', sizeBytes: 10 * 1024 * 1024, chunks: { chunkSizesBytes: [5 * 1024 * 1024, 5 * 1024 * 1024], runs: [{ versionId: 'not-a-version', chunkCount: 2 }] } }, new Uint8Array(0));
    const [crashed, fine] = await Promise.all([
      signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/damaged` }),
      signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/fine` }),
    ]);
    await expectError(crashed, 500, 'InternalError');
    expect(xmlValue(crashed.text, 'Message')).to.equal('We encountered an internal error. Please try again.');
    expect(fine.text).to.equal('still here');
    expect(h.logs.some((line) => line.msg === 'request failed' && line.requestId === crashed.headers['x-amz-request-id'])).to.equal(true);

    h.storage.inject((call) => call.op === 'get', 'throw');
    await expectError(await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/fine` }), 500, 'InternalError');
    expect((await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/fine` })).text).to.equal('still here');
  });

  it('sends a request id with every response', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' }));
    const ok = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/k` });
    const etag = ok.headers.etag as string;
    const notModified = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/k`, headers: { 'if-none-match': etag } });
    const head = await signedRequest(h.endpoint, 'alice', { method: 'HEAD', path: `/${BUCKET}/missing` });
    for (const response of [ok, notModified, head]) {
      expect(response.headers['x-amz-request-id']).to.match(/^[0-9A-F]{16}$/);
      expect(response.headers['x-amz-id-2']).to.be.a('string');
    }
    expect(notModified.status).to.equal(304);
    expect(head.status).to.equal(404);
    expect(head.body.length).to.equal(0);
    const ids = new Set([ok, notModified, head].map((r) => r.headers['x-amz-request-id']));
    expect(ids.size).to.equal(3);
  });
});

