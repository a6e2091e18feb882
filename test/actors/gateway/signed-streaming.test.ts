/**
 * aws-chunked uploads with a signature per chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD and its -TRAILER
 * variant), framed and signed here independently of the gateway's own code.
 */
import { expect } from 'chai';
import { createHash, createHmac } from 'node:crypto';
import { crc32 } from '../../../src/core/checksums/crc32.js';
import { eventually, MiB, pattern, rawRequest, signedHeaders, startHarness, USERS, xmlValue, type Harness } from '../../support/gateway-harness.js';

const BUCKET = 'streams';
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

interface Framing {
  readonly chunkBytes: number;
  readonly trailer: boolean;
  /** Index of a chunk whose signature is spoiled. */
  readonly spoil?: number;
}

/** The framed body of `data`, each chunk signed in the chain that starts at the request signature. */
function frame(data: Buffer, authorization: string, amzDate: string, framing: Framing): Buffer {
  const signature = /Signature=([0-9a-f]{64})/.exec(authorization)![1]!;
  const scope = /Credential=[^/]+\/([^,]+),/.exec(authorization)![1]!;
  const [date, region, service] = scope.split('/') as [string, string, string];
  const key = hmac(hmac(hmac(hmac(`AWS4${USERS.alice.secretAccessKey}`, date), region), service), 'aws4_request');
  const parts: Buffer[] = [];
  let previous = signature;
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += framing.chunkBytes) chunks.push(data.subarray(offset, offset + framing.chunkBytes));
  chunks.push(Buffer.alloc(0));
  chunks.forEach((chunk, index) => {
    const toSign = `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previous}\n${EMPTY_SHA256}\n${createHash('sha256').update(chunk).digest('hex')}`;
    let chunkSignature = hmac(key, toSign).toString('hex');
    previous = chunkSignature;
    if (index === framing.spoil) chunkSignature = chunkSignature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${chunkSignature}\r\n`), chunk, Buffer.from(chunk.length > 0 || !framing.trailer ? '\r\n' : ''));
  });
  if (framing.trailer) {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(data) >>> 0, 0);
    const line = `x-amz-checksum-crc32:${crc.toString('base64')}`;
    const toSign = `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${previous}\n${createHash('sha256').update(`${line}\n`).digest('hex')}`;
    parts.push(Buffer.from(`${line}\r\nx-amz-trailer-signature:${hmac(key, toSign).toString('hex')}\r\n\r\n`));
  }
  return Buffer.concat(parts);
}

async function streamingPut(h: Harness, key: string, data: Buffer, framing: Framing) {
  const path = `/${BUCKET}/${key}`;
  const mode = framing.trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
  const headers: Record<string, string> = {
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(data.length),
    ...(framing.trailer ? { 'x-amz-trailer': 'x-amz-checksum-crc32' } : {}),
  };
  const signed = await signedHeaders(h.endpoint, 'alice', { method: 'PUT', path, headers }, { payloadHash: mode });
  const body = frame(data, signed.authorization!, signed['x-amz-date']!, framing);
  return rawRequest(h.endpoint, { method: 'PUT', path, headers: { ...signed, 'content-length': String(body.length) }, body });
}

describe('actors/gateway signed streaming uploads', function () {
  this.timeout(60_000);
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
    h.admin.addBucket(BUCKET, 'alice');
  });

  afterEach(async () => {
    await h.close();
  });

  it('accepts chunk-signed bodies, with and without a signed trailer', async () => {
    const data = pattern(12 * MiB + 5, 31);
    const plain = await streamingPut(h, 'plain', data, { chunkBytes: 64 * 1024, trailer: false });
    expect(plain.status, plain.text).to.equal(200);
    const trailed = await streamingPut(h, 'trailed', data, { chunkBytes: 1024 * 1024, trailer: true });
    expect(trailed.status, trailed.text).to.equal(200);
    expect(h.storage.record('object', BUCKET, 'trailed')?.checksums?.crc32).to.be.a('string');
    const got = await rawRequest(h.endpoint, { method: 'GET', path: `/${BUCKET}/plain`, headers: await signedHeaders(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/plain` }) });
    expect(got.body.equals(data)).to.equal(true);
  });

  it('refuses a body with a bad chunk signature and leaves nothing behind', async () => {
    const data = pattern(12 * MiB, 32);
    const response = await streamingPut(h, 'spoiled', data, { chunkBytes: MiB, trailer: false, spoil: 9 });
    expect(response.status).to.equal(403);
    expect(xmlValue(response.text, 'Code')).to.equal('SignatureDoesNotMatch');
    await eventually(() => h.storage.liveKeys('chunk', BUCKET).length === 0);
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);
  });
});
