/**
 * The protocol layer against the real AWS SDK for JavaScript: requests the SDK sends over loopback
 * are routed, authenticated, decoded and checksummed by this code, and the SDK parses the XML
 * this code builds.
 */
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectsCommand, GetBucketLocationCommand, GetObjectCommand,
  ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand, type ChecksumAlgorithm,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { authenticate, type Authentication } from '../../../../src/protocol/s3/auth.js';
import { createChunkedDecoder } from '../../../../src/protocol/s3/aws-chunked.js';
import { BodyDigester, parseBodyExpectations } from '../../../../src/protocol/s3/checksums.js';
import { evaluateReadConditions } from '../../../../src/protocol/s3/conditionals.js';
import { S3Error, errorXml, toS3Error } from '../../../../src/protocol/s3/errors.js';
import { parseQueryString } from '../../../../src/protocol/s3/headers.js';
import { parseRange } from '../../../../src/protocol/s3/range.js';
import { routeS3Request, type S3Operation } from '../../../../src/protocol/s3/router.js';
import {
  buildCompleteMultipartUploadResult, buildDeleteResult, buildInitiateMultipartUploadResult, buildListObjectsV2Result,
  buildLocationConstraint, parseCompleteMultipartUpload, parseDeleteRequest,
} from '../../../../src/protocol/s3/xml.js';

const ACCESS_KEY = 'AKIDLOOPBACK';
const SECRET = 'loopback/secret+key';

interface Handled {
  operation: S3Operation;
  auth: Authentication;
  body: Buffer;
  trailers: ReadonlyMap<string, string>;
  checksum: { algorithm: string; base64: string } | undefined;
  md5Hex: string;
}

type Responder = (handled: Handled, req: IncomingMessage) => { status: number; headers?: Record<string, string>; body?: string };

/** What a gateway does with a request, using only this layer; the test decides the response. */
async function handle(req: IncomingMessage): Promise<Handled> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  const query = parseQueryString(rawQuery);
  if (query === undefined) throw new S3Error('InvalidURI');
  const headers = req.headersDistinct;
  const routed = routeS3Request({ method: req.method ?? 'GET', path, query, headers, host: req.headers.host }, { virtualHostSuffixes: [] });
  if (!routed.ok) throw routed.error;
  const authenticated = await authenticate(
    { method: req.method ?? 'GET', path, query: rawQuery, headers, virtualHostBucket: undefined },
    { lookupSecret: (id) => (id === ACCESS_KEY ? SECRET : undefined), nowMs: Date.now() },
  );
  if (!authenticated.ok) throw authenticated.error;
  const payload = authenticated.auth.payload;
  const expectations = parseBodyExpectations(headers, payload.type === 'sha256' ? payload.sha256 : undefined);
  if (!expectations.ok) throw expectations.error;
  const decoder = createChunkedDecoder(payload, headers);
  if (!decoder.ok) throw decoder.error;
  const digester = new BodyDigester(expectations.value);
  const parts: Buffer[] = [];
  const chunked = decoder.decoder;
  for await (const piece of req as AsyncIterable<Buffer>) {
    const payload: Buffer[] = [];
    if (chunked === undefined) payload.push(piece);
    else chunked.decode(piece, payload);
    for (const bytes of payload) {
      digester.update(bytes);
      parts.push(bytes);
    }
  }
  chunked?.end();
  const trailers = decoder.decoder?.trailers ?? new Map<string, string>();
  const digests = digester.finish(trailers);
  if (!digests.ok) throw digests.error;
  return {
    operation: routed.operation, auth: authenticated.auth, body: Buffer.concat(parts), trailers,
    checksum: digests.value.checksum, md5Hex: digests.value.md5Hex,
  };
}

describe('protocol/s3 with the AWS SDK for JavaScript', function () {
  this.timeout(20000);
  let server: Server;
  let client: S3Client;
  let responder: Responder;
  const seen: Handled[] = [];
  const failures: S3Error[] = [];

  before(async () => {
    server = createServer((req, res) => {
      handle(req).then((handled) => {
        seen.push(handled);
        return responder(handled, req);
      }).then(
        (reply) => {
          res.writeHead(reply.status, { 'content-type': 'application/xml', ...(reply.headers ?? {}) });
          res.end(reply.body ?? '');
        },
        (error: unknown) => {
          const s3 = toS3Error(error);
          failures.push(s3);
          req.resume();
          res.writeHead(s3.status, { 'content-type': 'application/xml', ...s3.headers });
          res.end(errorXml(s3, { requestId: 'req-1' }));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new S3Client({
      region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, maxAttempts: 1,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    });
  });

  after(async () => {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    seen.length = 0;
    failures.length = 0;
    responder = () => ({ status: 200, headers: { etag: '"e"' } });
  });

  it('routes and verifies a PutObject with a signed body hash and a checksum header', async () => {
    const key = 'dir/ü ñ+x!(1)*~.txt';
    await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: key, Body: Buffer.from('hello, world') }));
    expect(failures).to.deep.equal([]);
    const [put] = seen;
    expect(put?.operation).to.deep.equal({ type: 'PutObject', bucket: 'bucket', key });
    expect(put?.auth.scheme).to.equal('sigv4-header');
    expect(put?.auth.payload.type).to.equal('sha256');
    expect(put?.body.toString()).to.equal('hello, world');
    expect(put?.checksum?.algorithm).to.equal('CRC32');
  });

  for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
    it(`decodes a streamed upload with a ${algorithm} trailer and verifies the checksum`, async () => {
      const data = Buffer.from(Array.from({ length: 200_003 }, (_, i) => (i * 131 + 7) & 0xff));
      const pieces = [data.subarray(0, 65_536), data.subarray(65_536, 65_600), data.subarray(65_600)];
      await client.send(new PutObjectCommand({
        Bucket: 'bucket', Key: `stream-${algorithm}`, Body: Readable.from(pieces), ContentLength: data.length,
        ChecksumAlgorithm: algorithm as ChecksumAlgorithm,
      }));
      expect(failures).to.deep.equal([]);
      const [put] = seen;
      expect(put?.auth.payload).to.deep.equal({ type: 'streaming-unsigned-trailer' });
      expect(put?.body.equals(data)).to.equal(true);
      expect(put?.checksum?.algorithm).to.equal(algorithm);
      expect(put?.trailers.get(`x-amz-checksum-${algorithm.toLowerCase()}`)).to.equal(put?.checksum?.base64);
    });
  }

  it('refuses an upload whose trailer checksum does not match', async () => {
    // The SDK computes the checksum of what it sends; a wrong one supplied by the caller goes as a header.
    const error = await client.send(new PutObjectCommand({
      Bucket: 'bucket', Key: 'k', Body: Buffer.from('data'), ChecksumCRC32: 'AAAAAA==',
    })).then(() => undefined, (e: unknown) => e as { name: string; $metadata: { httpStatusCode: number } });
    expect(error?.name).to.equal('BadDigest');
    expect(error?.$metadata.httpStatusCode).to.equal(400);
  });

  it('runs a multipart upload through the XML builders and parsers', async () => {
    responder = (handled) => {
      switch (handled.operation.type) {
        case 'CreateMultipartUpload':
          return { status: 200, body: buildInitiateMultipartUploadResult({ bucket: 'bucket', key: handled.operation.key, uploadId: 'up/1+2' }) };
        case 'UploadPart':
          return { status: 200, headers: { etag: `"${handled.md5Hex}"` } };
        case 'CompleteMultipartUpload': {
          const parsed = parseCompleteMultipartUpload(handled.body);
          if (!parsed.ok) throw parsed.error;
          return {
            status: 200,
            body: buildCompleteMultipartUploadResult({
              location: 'http://x/bucket/big', bucket: 'bucket', key: handled.operation.key, etag: `${parsed.value.parts.length}-parts`,
            }),
          };
        }
        default:
          return { status: 500 };
      }
    };
    const created = await client.send(new CreateMultipartUploadCommand({ Bucket: 'bucket', Key: 'big object' }));
    expect(created.UploadId).to.equal('up/1+2');
    const etags: string[] = [];
    for (const partNumber of [1, 2]) {
      const part = await client.send(new UploadPartCommand({
        Bucket: 'bucket', Key: 'big object', UploadId: 'up/1+2', PartNumber: partNumber, Body: Buffer.alloc(1000, partNumber),
      }));
      etags.push(part.ETag ?? '');
    }
    const done = await client.send(new CompleteMultipartUploadCommand({
      Bucket: 'bucket', Key: 'big object', UploadId: 'up/1+2',
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    expect(failures).to.deep.equal([]);
    expect(done.ETag).to.equal('"2-parts"');
    expect(seen.map((h) => h.operation.type)).to.deep.equal(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']);
    expect(seen[1]?.operation).to.deep.include({ uploadId: 'up/1+2', partNumber: 1 });
  });

  it('round-trips awkward keys through DeleteObjects', async () => {
    const keys = ['a&b', 'c<d>e', 'quote"s\'', 'space at end ', 'ü/😀', 'tab\there'];
    responder = (handled) => {
      const parsed = parseDeleteRequest(handled.body);
      if (!parsed.ok) throw parsed.error;
      return { status: 200, body: buildDeleteResult({ quiet: parsed.value.quiet, deleted: parsed.value.objects.map((o) => ({ key: o.key })), errors: [] }) };
    };
    const result = await client.send(new DeleteObjectsCommand({ Bucket: 'bucket', Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    expect(failures).to.deep.equal([]);
    expect(result.Deleted?.map((d) => d.Key)).to.deep.equal(keys);
  });

  it('lists awkward keys back to the SDK, plain and url-encoded', async () => {
    const keys = ['a&b', 'c<d>e', 'x y+z', 'ü/😀', 'cr\rkey'];
    responder = (handled) => {
      if (handled.operation.type !== 'ListObjectsV2') return { status: 500 };
      const op = handled.operation;
      return {
        status: 200,
        body: buildListObjectsV2Result({
          bucket: op.bucket, prefix: op.prefix, delimiter: op.delimiter, maxKeys: op.maxKeys, isTruncated: false,
          continuationToken: undefined, nextContinuationToken: undefined, startAfter: undefined, encodingType: op.encodingType,
          fetchOwner: false, commonPrefixes: [],
          contents: keys.map((key) => ({ key, lastModified: Date.UTC(2024, 1, 2, 3, 4, 5, 678), etag: 'abc', size: 3 })),
        }).toString(),
      };
    };
    const plain = await client.send(new ListObjectsV2Command({ Bucket: 'bucket', Prefix: 'p q' }));
    expect(failures).to.deep.equal([]);
    expect(seen[0]?.operation).to.deep.include({ prefix: 'p q', maxKeys: 1000 });
    expect(plain.Contents?.map((c) => c.Key)).to.deep.equal(keys);
    expect(plain.Contents?.[0]?.LastModified?.toISOString()).to.equal('2024-02-02T03:04:05.678Z');
    expect(plain.KeyCount).to.equal(5);
    const encoded = await client.send(new ListObjectsV2Command({ Bucket: 'bucket', EncodingType: 'url' }));
    expect(encoded.Contents?.map((c) => decodeURIComponent((c.Key ?? '').replace(/\+/g, ' ')))).to.deep.equal(keys);
  });

  it('answers conditional and ranged GETs, and errors the SDK understands', async () => {
    const object = { etag: '"0123456789abcdef0123456789abcdef"', lastModified: Date.UTC(2024, 0, 1) };
    responder = (handled, req) => {
      const outcome = evaluateReadConditions(req.headersDistinct, object);
      if (outcome.type === 'not-modified') return { status: 304 };
      const range = parseRange(req.headers.range, 10);
      if (range.type === 'unsatisfiable') throw range.error;
      if (handled.operation.type === 'GetObject' && handled.operation.key === 'missing') {
        throw new S3Error('NoSuchKey', undefined, { fields: { Key: 'missing' } });
      }
      return { status: 200, body: '' };
    };
    const notModified = await client.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'k', IfNoneMatch: object.etag }))
      .then(() => 200, (e: { $metadata: { httpStatusCode: number } }) => e.$metadata.httpStatusCode);
    expect(notModified).to.equal(304);
    const invalidRange = await client.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'k', Range: 'bytes=10-' }))
      .then(() => undefined, (e: { name: string; message: string }) => `${e.name}: ${e.message}`);
    expect(invalidRange).to.equal('InvalidRange: The requested range is not satisfiable');
    const missing = await client.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'missing' }))
      .then(() => undefined, (e: { name: string; Key?: string; $metadata: { requestId?: string } }) => [e.name, e.Key, e.$metadata.requestId]);
    expect(missing).to.deep.equal(['NoSuchKey', 'missing', 'req-1']);
  });

  it('parses the bucket location document', async () => {
    responder = () => ({ status: 200, body: buildLocationConstraint('eu-west-1') });
    const location = await client.send(new GetBucketLocationCommand({ Bucket: 'bucket' }));
    expect(location.LocationConstraint).to.equal('eu-west-1');
    expect(seen[0]?.operation).to.deep.equal({ type: 'GetBucketLocation', bucket: 'bucket' });
  });

  it('refuses a request signed with the wrong secret', async () => {
    const wrong = new S3Client({
      region: 'us-east-1', endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, forcePathStyle: true, maxAttempts: 1,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: 'not the secret' },
    });
    const error = await wrong.send(new GetBucketLocationCommand({ Bucket: 'bucket' }))
      .then(() => undefined, (e: { name: string; $metadata: { httpStatusCode: number } }) => `${e.name} ${e.$metadata.httpStatusCode}`);
    wrong.destroy();
    expect(error).to.equal('SignatureDoesNotMatch 403');
  });
});
