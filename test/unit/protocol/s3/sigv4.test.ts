import { SignatureV4 } from '@smithy/signature-v4';
import { expect } from 'chai';
import {
  EMPTY_SHA256, SigningKeyCache, canonicalQueryString, canonicalRequest, canonicalUri, deriveSigningKey, verifySigV4Header,
  verifySigV4Presigned, type SigV4Options, type SignedRequest,
} from '../../../../src/protocol/s3/sigv4.js';
import { DOC_ACCESS_KEY, DOC_SECRET, DOC_TIME, NodeSha256, lookupDocSecret, sdkEncode } from './signing-helpers.js';

const options: SigV4Options = { lookupSecret: lookupDocSecret, nowMs: DOC_TIME };

function docAuthorization(signedHeaders: string, signature: string): string {
  return `AWS4-HMAC-SHA256 Credential=${DOC_ACCESS_KEY}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${signature}`;
}

/** The S3 documentation's "GET Object" example (first ten bytes of test.txt). */
function docGetObject(): SignedRequest {
  return {
    method: 'GET',
    path: '/test.txt',
    query: '',
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-date': '20130524T000000Z',
      authorization: docAuthorization('host;range;x-amz-content-sha256;x-amz-date', 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41'),
    },
  };
}

/** The S3 documentation's "PUT Object" example (test$file.text, "Welcome to Amazon S3."). */
function docPutObject(): SignedRequest {
  return {
    method: 'PUT',
    path: '/test%24file.text',
    query: '',
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      date: 'Fri, 24 May 2013 00:00:00 GMT',
      'x-amz-date': '20130524T000000Z',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
      authorization: docAuthorization(
        'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
        '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
      ),
    },
  };
}

function docBucketGet(query: string, signature: string): SignedRequest {
  return {
    method: 'GET',
    path: '/',
    query,
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      'x-amz-date': '20130524T000000Z',
      'x-amz-content-sha256': EMPTY_SHA256,
      authorization: docAuthorization('host;x-amz-content-sha256;x-amz-date', signature),
    },
  };
}

const DOC_PRESIGNED_QUERY =
  'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
  '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
  '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';

function docPresigned(query = DOC_PRESIGNED_QUERY): SignedRequest {
  return { method: 'GET', path: '/test.txt', query, headers: { host: 'examplebucket.s3.amazonaws.com' } };
}

function withHeaders(request: SignedRequest, headers: Record<string, string | undefined>): SignedRequest {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...request.headers, ...headers })) if (typeof v === 'string') merged[k] = v;
  return { ...request, headers: merged };
}

async function expectError(promise: Promise<{ ok: boolean; error?: { code: string; message: string } }>, code: string, message?: string): Promise<void> {
  const result = await promise;
  expect(result.ok, 'expected a refusal').to.equal(false);
  expect(result.error?.code).to.equal(code);
  if (message !== undefined) expect(result.error?.message).to.equal(message);
}

describe('protocol/s3/sigv4', () => {
  describe('the AWS documentation examples', () => {
    it('accepts the GET Object example', async () => {
      const result = await verifySigV4Header(docGetObject(), options);
      expect(result).to.deep.equal({
        ok: true,
        identity: {
          accessKeyId: DOC_ACCESS_KEY, presigned: false, region: 'us-east-1',
          signedHeaders: ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'],
          payload: { type: 'sha256', sha256: EMPTY_SHA256 },
        },
      });
    });

    it('accepts the PUT Object example, whose key needs encoding', async () => {
      const result = await verifySigV4Header(docPutObject(), options);
      expect(result.ok).to.equal(true);
      if (result.ok) expect(result.identity.payload).to.deep.equal({ type: 'sha256', sha256: '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072' });
      // A client may send `$` unencoded; the canonical form is the same.
      expect((await verifySigV4Header({ ...docPutObject(), path: '/test$file.text' }, options)).ok).to.equal(true);
    });

    it('accepts the GET Bucket Lifecycle and GET Bucket (list objects) examples', async () => {
      expect((await verifySigV4Header(docBucketGet('lifecycle', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543'), options)).ok).to.equal(true);
      expect((await verifySigV4Header(docBucketGet('max-keys=2&prefix=J', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'), options)).ok).to.equal(true);
      // Parameter order on the wire does not matter; values do.
      expect((await verifySigV4Header(docBucketGet('prefix=J&max-keys=2', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'), options)).ok).to.equal(true);
      await expectError(verifySigV4Header(docBucketGet('max-keys=3&prefix=J', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'), options), 'SignatureDoesNotMatch');
    });

    it('accepts the presigned URL example within its day and refuses it after', async () => {
      const ok = await verifySigV4Presigned(docPresigned(), options);
      expect(ok).to.deep.equal({
        ok: true,
        identity: { accessKeyId: DOC_ACCESS_KEY, presigned: true, region: 'us-east-1', signedHeaders: ['host'], payload: { type: 'unsigned' } },
      });
      expect((await verifySigV4Presigned(docPresigned(), { ...options, nowMs: DOC_TIME + 86_400_000 })).ok).to.equal(true);
      const expired = await verifySigV4Presigned(docPresigned(), { ...options, nowMs: DOC_TIME + 86_400_001 });
      expect(expired.ok).to.equal(false);
      if (!expired.ok) {
        expect(expired.error.code).to.equal('AccessDenied');
        expect(expired.error.status).to.equal(403);
        expect(expired.error.message).to.equal('Request has expired');
        expect(expired.error.fields).to.deep.include({ 'X-Amz-Expires': '86400', Expires: '2013-05-25T00:00:00.000Z' });
      }
    });

    it('accepts the chunked upload example seed signature and returns the streaming context', async () => {
      const request: SignedRequest = {
        method: 'PUT',
        path: '/examplebucket/chunkObject.txt',
        query: '',
        headers: {
          host: 's3.amazonaws.com',
          'x-amz-date': '20130524T000000Z',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
          'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': '66560',
          'content-length': '66824',
          authorization: docAuthorization(
            'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class',
            '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
          ),
        },
      };
      const result = await verifySigV4Header(request, options);
      expect(result.ok).to.equal(true);
      if (!result.ok) return;
      expect(result.identity.payload).to.deep.equal({
        type: 'streaming-signed',
        trailer: false,
        signing: {
          signingKey: deriveSigningKey(DOC_SECRET, '20130524', 'us-east-1', 's3'),
          scope: '20130524/us-east-1/s3/aws4_request',
          timestamp: '20130524T000000Z',
          seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
        },
      });
    });

    it('accepts the trailing-checksum upload example seed signature', async () => {
      const request: SignedRequest = {
        method: 'PUT',
        path: '/examplebucket/chunkObject.txt',
        query: '',
        headers: {
          host: 's3.amazonaws.com',
          'x-amz-date': '20130524T000000Z',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
          'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': '66560',
          'x-amz-trailer': 'x-amz-checksum-crc32c',
          authorization: docAuthorization(
            'content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer',
            '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
          ),
        },
      };
      const result = await verifySigV4Header(request, options);
      expect(result.ok).to.equal(true);
      if (result.ok && result.identity.payload.type === 'streaming-signed') {
        expect(result.identity.payload.trailer).to.equal(true);
      } else {
        expect.fail('expected a signed streaming payload');
      }
    });

    it('derives the documented signing key', () => {
      // The SigV4 documentation's key derivation example (iam, us-east-1, 20150830), whose secret has a '+'.
      expect(deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20150830', 'us-east-1', 'iam').toString('hex')).to.equal(
        'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9',
      );
    });
  });

  describe('tampering', () => {
    it('refuses any changed byte of the signed request', async () => {
      const cases: Array<[string, SignedRequest]> = [
        ['method', { ...docGetObject(), method: 'HEAD' }],
        ['path', { ...docGetObject(), path: '/test.txu' }],
        ['query', { ...docGetObject(), query: 'x=1' }],
        ['range', withHeaders(docGetObject(), { range: 'bytes=0-8' })],
        ['host', withHeaders(docGetObject(), { host: 'examplebucket.s3.amazonaws.co' })],
        ['payload hash', withHeaders(docGetObject(), { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' })],
        ['signature', withHeaders(docGetObject(), {
          authorization: docAuthorization('host;range;x-amz-content-sha256;x-amz-date', 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb40'),
        })],
      ];
      for (const [what, request] of cases) {
        const result = await verifySigV4Header(request, options);
        expect(result.ok, what).to.equal(false);
        if (!result.ok) expect(result.error.code, what).to.equal('SignatureDoesNotMatch');
      }
      const wrongSecret = await verifySigV4Header(docGetObject(), { ...options, lookupSecret: () => 'not-the-secret' });
      expect(wrongSecret.ok).to.equal(false);
      if (!wrongSecret.ok) {
        expect(wrongSecret.error.status).to.equal(403);
        expect(wrongSecret.error.fields['AWSAccessKeyId']).to.equal(DOC_ACCESS_KEY);
        expect(wrongSecret.error.fields['StringToSign']).to.equal(
          'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972',
        );
      }
    });

    it('refuses an extra unsigned x-amz header', async () => {
      const result = await verifySigV4Header(withHeaders(docGetObject(), { 'x-amz-acl': 'public-read' }), options);
      expect(result.ok).to.equal(false);
      if (!result.ok) {
        expect(result.error.code).to.equal('AccessDenied');
        expect(result.error.fields['HeadersNotSigned']).to.equal('x-amz-acl');
      }
      const presigned = await verifySigV4Presigned(withHeaders(docPresigned(), { 'x-amz-acl': 'public-read' }), options);
      expect(presigned.ok).to.equal(false);
      // Headers outside x-amz-* may be added freely.
      expect((await verifySigV4Header(withHeaders(docGetObject(), { 'user-agent': 'curl' }), options)).ok).to.equal(true);
    });
  });

  describe('refusals', () => {
    it('refuses an unknown access key', async () => {
      await expectError(verifySigV4Header(docGetObject(), { ...options, lookupSecret: async () => undefined }), 'InvalidAccessKeyId');
      await expectError(verifySigV4Presigned(docPresigned(), { ...options, lookupSecret: () => undefined }), 'InvalidAccessKeyId');
    });

    it('refuses a clock more than 15 minutes off', async () => {
      expect((await verifySigV4Header(docGetObject(), { ...options, nowMs: DOC_TIME + 15 * 60_000 })).ok).to.equal(true);
      expect((await verifySigV4Header(docGetObject(), { ...options, nowMs: DOC_TIME - 15 * 60_000 })).ok).to.equal(true);
      const late = await verifySigV4Header(docGetObject(), { ...options, nowMs: DOC_TIME + 15 * 60_000 + 1000 });
      expect(late.ok).to.equal(false);
      if (!late.ok) {
        expect(late.error.code).to.equal('RequestTimeTooSkewed');
        expect(late.error.status).to.equal(403);
        expect(late.error.fields).to.deep.equal({
          RequestTime: '20130524T000000Z', ServerTime: '2013-05-24T00:15:01.000Z', MaxAllowedSkewMilliseconds: '900000',
        });
      }
      await expectError(verifySigV4Header(docGetObject(), { ...options, nowMs: DOC_TIME - 16 * 60_000 }), 'RequestTimeTooSkewed');
    });

    it('checks the credential scope', async () => {
      const scoped = (credential: string): SignedRequest =>
        withHeaders(docGetObject(), {
          authorization: `AWS4-HMAC-SHA256 Credential=${credential},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=${'0'.repeat(64)}`,
        });
      await expectError(verifySigV4Header(scoped('AKIAIOSFODNN7EXAMPLE/20130525/us-east-1/s3/aws4_request'), options),
        'AuthorizationHeaderMalformed', 'The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.');
      await expectError(verifySigV4Header(scoped('AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/iam/aws4_request'), options),
        'AuthorizationHeaderMalformed', 'The authorization header is malformed; incorrect service "iam". This endpoint belongs to "s3".');
      await expectError(verifySigV4Header(scoped('AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws5_request'), options), 'AuthorizationHeaderMalformed');
      await expectError(verifySigV4Header(scoped('AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3'), options), 'AuthorizationHeaderMalformed');
      await expectError(verifySigV4Header(docGetObject(), { ...options, region: 'eu-west-1' }),
        'AuthorizationHeaderMalformed', "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'");
      expect((await verifySigV4Header(docGetObject(), { ...options, region: 'us-east-1' })).ok).to.equal(true);
      expect((await verifySigV4Header(docGetObject(), { ...options, region: 'eu-west-1', alsoAcceptedRegions: ['us-east-1'] })).ok).to.equal(true);
      await expectError(verifySigV4Presigned(docPresigned(), { ...options, region: 'eu-west-1', alsoAcceptedRegions: ['ap-south-1'] }),
        'AuthorizationQueryParametersError', "Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; expecting 'eu-west-1'");
    });

    it('refuses malformed Authorization headers', async () => {
      const bad = async (authorization: string, code: string): Promise<void> =>
        expectError(verifySigV4Header(withHeaders(docGetObject(), { authorization }), options), code);
      await bad('AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,Signature=' + '0'.repeat(64), 'AuthorizationHeaderMalformed');
      await bad('AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host', 'AuthorizationHeaderMalformed');
      await bad('AWS4-HMAC-SHA256 SignedHeaders=host,Signature=' + '0'.repeat(64), 'AuthorizationHeaderMalformed');
      // A signature that is not 64 hex digits is a wrong signature like any other.
      await bad('AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=xyz', 'SignatureDoesNotMatch');
      await bad('AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=range;x-amz-date,Signature=' + '0'.repeat(64), 'AuthorizationHeaderMalformed');
      // A component named twice, even with the same value.
      await bad(docAuthorization('host;range;x-amz-content-sha256;x-amz-date', '0'.repeat(64)) + ',Signature=' + '0'.repeat(64), 'AuthorizationHeaderMalformed');
      await bad('AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;;x-amz-date,Signature=' + '0'.repeat(64), 'AuthorizationHeaderMalformed');
      await bad('AWS4-HMAC-SHA512 Credential=x', 'InvalidArgument');
      await bad('AWS4-ECDSA-P256-SHA256 Credential=x', 'NotImplemented');
    });

    it('needs a valid date and x-amz-content-sha256', async () => {
      await expectError(verifySigV4Header(withHeaders(docGetObject(), { 'x-amz-date': undefined }), options), 'AccessDenied',
        'AWS authentication requires a valid Date or x-amz-date header');
      await expectError(verifySigV4Header(withHeaders(docGetObject(), { 'x-amz-date': '2013-05-24T00:00:00Z' }), options), 'AccessDenied');
      await expectError(verifySigV4Header(withHeaders(docGetObject(), { 'x-amz-date': '20130532T000000Z' }), options), 'AccessDenied');
      await expectError(verifySigV4Header(withHeaders(docGetObject(), { 'x-amz-content-sha256': undefined }), options), 'InvalidRequest');
      await expectError(verifySigV4Header(withHeaders(docGetObject(), { 'x-amz-content-sha256': 'abc' }), options), 'InvalidArgument');
      await expectError(verifySigV4Header(withHeaders(docGetObject(), { 'x-amz-content-sha256': 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD' }), options), 'NotImplemented');
    });

    it('validates presigned parameters as S3 does', async () => {
      const replace = (from: string, to: string): SignedRequest => docPresigned(DOC_PRESIGNED_QUERY.replace(from, to));
      await expectError(verifySigV4Presigned(replace('X-Amz-Expires=86400', 'X-Amz-Expires=604801'), options),
        'AuthorizationQueryParametersError', 'X-Amz-Expires must be less than a week (in seconds) that is 604800');
      await expectError(verifySigV4Presigned(replace('X-Amz-Expires=86400', 'X-Amz-Expires=soon'), options),
        'AuthorizationQueryParametersError', 'X-Amz-Expires should be a number');
      await expectError(verifySigV4Presigned(replace('X-Amz-Expires=86400', 'X-Amz-Expires=-7'), options),
        'AuthorizationQueryParametersError', 'X-Amz-Expires must be non-negative');
      await expectError(verifySigV4Presigned(replace('&X-Amz-SignedHeaders=host', ''), options), 'AuthorizationQueryParametersError');
      await expectError(verifySigV4Presigned(replace('20130524%2Fus-east-1', '20130523%2Fus-east-1'), options), 'AuthorizationQueryParametersError');
      await expectError(verifySigV4Presigned(replace('%2Fs3%2F', '%2Fs4%2F'), options), 'AuthorizationQueryParametersError');
      await expectError(verifySigV4Presigned(replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-HMAC-SHA1'), options), 'AuthorizationQueryParametersError');
      await expectError(verifySigV4Presigned(replace('X-Amz-Expires=86400', 'X-Amz-Expires=86401'), options), 'SignatureDoesNotMatch');
      await expectError(verifySigV4Presigned(docPresigned(), { ...options, nowMs: DOC_TIME - 20 * 60_000 }), 'AccessDenied', 'Request is not valid yet');
      await expectError(verifySigV4Presigned({ ...docPresigned(), path: '/test.txT' }, options), 'SignatureDoesNotMatch');
      await expectError(verifySigV4Presigned(replace('X-Amz-Signature=aeeed9bb', 'X-Amz-Signature=xyzeed9bb'), options), 'SignatureDoesNotMatch');
    });
  });

  describe('canonical forms', () => {
    it('re-encodes the raw path per segment without normalising it', () => {
      expect(canonicalUri('/test%24file.text')).to.equal('/test%24file.text');
      expect(canonicalUri('/test$file.text')).to.equal('/test%24file.text');
      expect(canonicalUri('/a%20b/%c3%a9//x%2Fy/./../~_-.')).to.equal('/a%20b/%C3%A9//x%2Fy/./../~_-.');
      expect(canonicalUri('/a+b')).to.equal('/a%2Bb');
      expect(canonicalUri('')).to.equal('/');
      expect(canonicalUri('/%E2%82')).to.equal(undefined);
      expect(canonicalUri('/bucket/dir.v2/file_1~x-y')).to.equal('/bucket/dir.v2/file_1~x-y');
    });

    it('trims header values and folds their runs of spaces and tabs into one space', () => {
      const headerLines = (value: string): string =>
        canonicalRequest({ method: 'get', canonicalUri: '/', canonicalQuery: '', headers: { host: 'h', 'x-amz-meta-a': value }, signedHeaders: ['host', 'x-amz-meta-a'], payloadHash: 'p' }).split('\n')[4]!;
      expect(headerLines('plain value')).to.equal('x-amz-meta-a:plain value');
      expect(headerLines('  a\t\tb   c ')).to.equal('x-amz-meta-a:a b c');
      expect(headerLines('a \tb')).to.equal('x-amz-meta-a:a b');
      expect(headerLines('\t')).to.equal('x-amz-meta-a:');
      expect(headerLines('')).to.equal('x-amz-meta-a:');
    });

    it('sorts and encodes the query', () => {
      expect(canonicalQueryString('prefix=J&max-keys=2')).to.equal('max-keys=2&prefix=J');
      expect(canonicalQueryString('lifecycle')).to.equal('lifecycle=');
      expect(canonicalQueryString('b=2&a=z&a=y&c=%7e%21&d=a%20b&e=a+b')).to.equal('a=y&a=z&b=2&c=~%21&d=a%20b&e=a%20b');
      expect(canonicalQueryString('X-Amz-Signature=x&a=1', 'X-Amz-Signature')).to.equal('a=1');
      expect(canonicalQueryString('')).to.equal('');
    });
  });

  describe('requests signed by @smithy/signature-v4', () => {
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    const signer = new SignatureV4({ service: 's3', region: 'eu-central-1', credentials, sha256: NodeSha256, uriEscapePath: false, applyChecksum: true });
    const now = Date.UTC(2024, 0, 15, 12, 30, 45);
    const smithyOptions: SigV4Options = {
      lookupSecret: (id) => (id === credentials.accessKeyId ? credentials.secretAccessKey : undefined),
      nowMs: now,
      keyCache: new SigningKeyCache(4),
    };

    function rawQueryOf(query: Record<string, string | string[]>): string {
      const parts: string[] = [];
      for (const [name, value] of Object.entries(query)) {
        const values = Array.isArray(value) ? value : [value];
        for (const v of values) parts.push(`${sdkEncode(name)}=${sdkEncode(v)}`);
      }
      return parts.join('&');
    }

    function lowerHeaders(headers: Record<string, string>): Record<string, string> {
      return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    }

    const keys = [
      'plain.txt', 'a b/c+d', 'ü/ñ/€', 'emoji/😀', 'dir/', 'a//b', '!\'()*', 'x=y&z', '~tilde_-.', '%2F-literal', 'semi;colon,comma', 'tab\tctl\u0001',
    ];

    it('accepts header-signed requests for awkward keys and queries', async () => {
      for (const key of keys) {
        const path = `/bucket/${key.split('/').map(sdkEncode).join('/')}`;
        const query = { 'x-id': 'PutObject', prefix: 'a b+c', 'response-content-type': 'text/plain; charset=utf-8', uploads: '' };
        const signed = await signer.sign(
          {
            method: 'PUT', protocol: 'https:', hostname: 's3.example.com', path, query,
            headers: {
              host: 's3.example.com', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-note': '  spaced   value  ',
              'content-type': 'text/plain',
            },
          },
          { signingDate: new Date(now) },
        );
        const request: SignedRequest = { method: 'PUT', path, query: rawQueryOf(query), headers: lowerHeaders(signed.headers) };
        const result = await verifySigV4Header(request, smithyOptions);
        expect(result.ok, key).to.equal(true);
        if (result.ok) expect(result.identity.payload).to.deep.equal({ type: 'unsigned' });
        const tampered = await verifySigV4Header({ ...request, path: path + 'x' }, smithyOptions);
        expect(tampered.ok, `${key} tampered`).to.equal(false);
      }
      expect(smithyOptions.keyCache!.size).to.equal(1);
    });

    it('accepts presigned URLs and refuses them once expired or changed', async () => {
      for (const key of keys) {
        const path = `/bucket/${key.split('/').map(sdkEncode).join('/')}`;
        const presigned = await signer.presign(
          {
            method: 'GET', protocol: 'https:', hostname: 'bucket.s3.example.com', path,
            query: { 'response-content-disposition': 'attachment; filename="ü.txt"' },
            headers: { host: 'bucket.s3.example.com', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
          },
          { signingDate: new Date(now), expiresIn: 3600 },
        );
        const rawQuery = rawQueryOf(presigned.query as Record<string, string>);
        const headers = { host: 'bucket.s3.example.com' };
        const request: SignedRequest = { method: 'GET', path, query: rawQuery, headers };
        const result = await verifySigV4Presigned(request, smithyOptions);
        expect(result.ok, key).to.equal(true);
        expect((await verifySigV4Presigned(request, { ...smithyOptions, nowMs: now + 3600_000 + 1 })).ok).to.equal(false);
        const changed = rawQuery.replace('attachment', 'attachmenT');
        expect((await verifySigV4Presigned({ ...request, query: changed }, smithyOptions)).ok).to.equal(false);
      }
    });

    it('verifies non-ASCII header values by the bytes that were sent', async () => {
      const value = 'café € \u00a0 x';
      const signed = await signer.sign(
        { method: 'GET', protocol: 'https:', hostname: 's3.example.com', path: '/bucket/k', query: {},
          headers: { host: 's3.example.com', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-note': value } },
        { signingDate: new Date(now) },
      );
      const headers = lowerHeaders(signed.headers);
      // What node's http parser hands over: each byte of the UTF-8 value as one character.
      headers['x-amz-meta-note'] = Buffer.from(value, 'utf8').toString('latin1');
      expect((await verifySigV4Header({ method: 'GET', path: '/bucket/k', query: '', headers }, smithyOptions)).ok).to.equal(true);
      headers['x-amz-meta-note'] = Buffer.from(value.replace('€', '£'), 'utf8').toString('latin1');
      expect((await verifySigV4Header({ method: 'GET', path: '/bucket/k', query: '', headers }, smithyOptions)).ok).to.equal(false);
    });

    it('accepts a signed body hash and exposes it for the body check', async () => {
      const body = 'hello world';
      const signed = await signer.sign(
        { method: 'PUT', protocol: 'https:', hostname: 's3.example.com', path: '/bucket/k', query: {}, headers: { host: 's3.example.com' }, body },
        { signingDate: new Date(now) },
      );
      const result = await verifySigV4Header({ method: 'PUT', path: '/bucket/k', query: '', headers: lowerHeaders(signed.headers) }, smithyOptions);
      expect(result.ok).to.equal(true);
      if (result.ok) {
        expect(result.identity.payload).to.deep.equal({ type: 'sha256', sha256: 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9' });
      }
    });
  });

  it('bounds the signing key cache', () => {
    const cache = new SigningKeyCache(2);
    const a = cache.get('s', '20240101', 'r', 's3');
    cache.get('s', '20240102', 'r', 's3');
    expect(cache.get('s', '20240101', 'r', 's3')).to.equal(a);
    cache.get('s', '20240103', 'r', 's3');
    expect(cache.size).to.equal(2);
    expect(cache.get('s', '20240101', 'r', 's3')).to.equal(a);
    expect(cache.get('other', '20240101', 'r', 's3').equals(a)).to.equal(false);
    expect(a.equals(deriveSigningKey('s', '20240101', 'r', 's3'))).to.equal(true);
  });
});
