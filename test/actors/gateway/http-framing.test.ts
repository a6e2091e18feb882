import { CreateMultipartUploadCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { bodyOf, type Harness, pattern, type RawResponse, signedHeaders, startHarness, xmlValue } from '../../support/gateway-harness.js';

const BUCKET = 'framing';
const CHUNK_BYTES = 4096;


/** A raw connection that collects what the server sends, to look at the response as it arrives. */
class Wire {
  private text = '';
  private readonly socket: Socket;
  closed = false;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.text += d;
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
    });
  }

  send(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Everything received once `done` holds for it (or after a second). */
  async received(done: (text: string) => boolean): Promise<string> {
    const deadline = Date.now() + 1_000;
    while (!done(this.text) && !this.closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return this.text;
  }

  close(): void {
    this.socket.destroy();
  }
}

function head(method: string, path: string, headers: Record<string, string>): string {
  return [`${method} ${path} HTTP/1.1`, ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`), '', ''].join('\r\n');
}

/** A signed request whose body goes out in HTTP chunked framing, without a Content-Length. */
async function chunkedPut(h: Harness, path: string, pieces: readonly Buffer[]): Promise<RawResponse> {
  const body = Buffer.concat(pieces);
  const headers = await signedHeaders(h.endpoint, 'alice', { method: 'PUT', path, body });
  const url = new URL(h.endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path, headers: { ...headers, 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const all = Buffer.concat(parts);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, text: all.toString('utf8') });
      });
    });
    req.on('error', reject);
    for (const piece of pieces) req.write(piece);
    req.end();
  });
}

describe('actors/gateway HTTP framing: Expect and chunked transfer', function () {
  this.timeout(60_000);
  let h: Harness;
  let s3: S3Client;

  beforeEach(async () => {
    h = await startHarness({ config: { chunkSizeBytes: CHUNK_BYTES } });
    h.admin.addBucket(BUCKET, 'alice');
    s3 = h.client('alice');
  });

  afterEach(async () => {
    await h.close();
  });

  it('invites the body of an authorized upload with 100 Continue, then stores it', async () => {
    const body = 'hello, continue';
    const headers = await signedHeaders(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/k`, body });
    const wire = new Wire(h.server.port);
    try {
      wire.send(head('PUT', `/${BUCKET}/k`, { ...headers, 'content-length': String(body.length), expect: '100-continue' }));
      const invited = await wire.received((t) => t.includes('\r\n\r\n'));
      expect(invited).to.match(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
      wire.send(body);
      const answer = await wire.received((t) => /HTTP\/1\.1 200 /.test(t));
      expect(answer).to.match(/HTTP\/1\.1 200 OK/);
    } finally {
      wire.close();
    }
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }));
    expect((await bodyOf(got)).toString()).to.equal(body);
  });

  it('answers a refused upload that waits for 100 Continue with its error, and closes the connection', async () => {
    const wire = new Wire(h.server.port);
    try {
      wire.send(head('PUT', `/${BUCKET}/anonymous`, { host: 'x', 'content-length': '123', expect: '100-continue' }));
      const answer = await wire.received((t) => t.includes('</Error>'));
      expect(answer).to.match(/^HTTP\/1\.1 403 /);
      expect(answer).to.not.include('100 Continue');
      expect(answer.toLowerCase()).to.include('connection: close');
      expect(xmlValue(answer, 'Code')).to.equal('AccessDenied');
    } finally {
      wire.close();
    }
  });

  it('ignores an expectation other than 100-continue instead of answering 417', async () => {
    for (const expectation of ['200', '']) {
      const body = `expect ${expectation}`;
      const headers = await signedHeaders(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/e`, body });
      const wire = new Wire(h.server.port);
      try {
        wire.send(head('PUT', `/${BUCKET}/e`, { ...headers, 'content-length': String(body.length), expect: expectation }) + body);
        expect(await wire.received((t) => t.includes('\r\n\r\n'))).to.match(/^HTTP\/1\.1 200 /);
      } finally {
        wire.close();
      }
    }
  });

  it('stores a PutObject body sent with chunked transfer encoding, small or larger than a chunk', async () => {
    const small = [Buffer.from('ba'), Buffer.from('r')];
    expect((await chunkedPut(h, `/${BUCKET}/small`, small)).status).to.equal(200);
    expect(h.storage.record('object', BUCKET, 'small')?.chunks).to.equal(undefined);
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small' })))).toString()).to.equal('bar');

    const data = pattern(3 * CHUNK_BYTES + 100, 7);
    const pieces = [data.subarray(0, 1000), data.subarray(1000, 5000), data.subarray(5000)];
    expect((await chunkedPut(h, `/${BUCKET}/large`, pieces)).status).to.equal(200);
    expect(h.storage.record('object', BUCKET, 'large')?.chunks?.chunkSizesBytes.length).to.equal(4);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'large' }));
    expect((await bodyOf(got)).equals(data)).to.equal(true);
  });

  it('answers a chunked body whose chunk size line is not hexadecimal with 400 at once, closes, and stores nothing', async () => {
    for (const reading of [true, false]) {
      // Signed for an empty body: the upload is authorized and its handler is reading when the bad line arrives;
      // without a signature it is refused before its body is read.
      const path = `/${BUCKET}/bad-chunk`;
      const headers = reading ? await signedHeaders(h.endpoint, 'alice', { method: 'PUT', path }, { payloadHash: 'UNSIGNED-PAYLOAD' }) : { host: 'x' };
      const wire = new Wire(h.server.port);
      try {
        wire.send(head('PUT', path, { ...headers, 'transfer-encoding': 'chunked' }));
        wire.send('3\r\nabc\r\n');
        wire.send('zz\r\n');
        const answer = await wire.received((t) => t.includes('</Error>'));
        expect(answer, String(reading)).to.match(reading ? /^HTTP\/1\.1 400 / : /^HTTP\/1\.1 403 /);
        expect(xmlValue(answer, 'Code')).to.equal(reading ? 'InvalidRequest' : 'AccessDenied');
        expect(answer.toLowerCase()).to.include('connection: close');
        expect(answer.match(/HTTP\/1\.1 /g), 'one answer').to.have.length(1);
        await wire.received(() => false);
        expect(wire.closed, 'the connection is closed').to.equal(true);
      } finally {
        wire.close();
      }
    }
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);
  });

  it('answers a transfer encoding other than chunked with 501 NotImplemented naming the header, and stores nothing', async () => {
    for (const encoding of ['gzip, chunked', 'gzip', 'identity']) {
      const path = `/${BUCKET}/encoded`;
      const headers = await signedHeaders(h.endpoint, 'alice', { method: 'PUT', path }, { payloadHash: 'UNSIGNED-PAYLOAD' });
      const wire = new Wire(h.server.port);
      try {
        wire.send(head('PUT', path, { ...headers, 'transfer-encoding': encoding }) + '3\r\nabc\r\n0\r\n\r\n');
        const answer = await wire.received((t) => t.includes('</Error>'));
        expect(answer, encoding).to.match(/^HTTP\/1\.1 501 /);
        expect(xmlValue(answer, 'Code')).to.equal('NotImplemented');
        expect(xmlValue(answer, 'Header')).to.equal('Transfer-Encoding');
        expect(answer.toLowerCase()).to.include('connection: close');
      } finally {
        wire.close();
      }
    }
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);
    expect((await chunkedPut(h, `/${BUCKET}/plain-chunked`, [Buffer.from('still fine')])).status).to.equal(200);
  });

  it('stores an UploadPart body sent with chunked transfer encoding', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp' }));
    const data = pattern(CHUNK_BYTES + 10, 3);
    const res = await chunkedPut(h, `/${BUCKET}/mp?partNumber=1&uploadId=${UploadId!}`, [data.subarray(0, 10), data.subarray(10)]);
    expect(res.status).to.equal(200);
    expect(res.headers.etag).to.be.a('string');
  });
});
