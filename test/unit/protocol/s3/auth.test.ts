import { expect } from 'chai';
import { authenticate, detectAuthScheme } from '../../../../src/protocol/s3/auth.js';
import { EMPTY_SHA256 } from '../../../../src/protocol/s3/sigv4.js';
import { DOC_ACCESS_KEY, DOC_TIME, lookupDocSecret } from './signing-helpers.js';

const options = { lookupSecret: lookupDocSecret, nowMs: DOC_TIME };

function request(headers: Record<string, string>, query = '', path = '/test.txt') {
  return { method: 'GET', path, query, headers: { host: 'examplebucket.s3.amazonaws.com', ...headers }, virtualHostBucket: 'examplebucket' };
}

describe('protocol/s3/auth', () => {
  it('detects the scheme a request claims', () => {
    expect(detectAuthScheme(request({}))).to.equal('anonymous');
    expect(detectAuthScheme(request({ authorization: 'AWS4-HMAC-SHA256 Credential=x' }))).to.equal('sigv4-header');
    expect(detectAuthScheme(request({ authorization: 'AWS AK:sig' }))).to.equal('sigv2-header');
    expect(detectAuthScheme(request({}, 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x'))).to.equal('sigv4-query');
    expect(detectAuthScheme(request({}, 'AWSAccessKeyId=a&Signature=s&Expires=1'))).to.equal('sigv2-query');
    const both = detectAuthScheme(request({ authorization: 'AWS AK:sig' }, 'X-Amz-Algorithm=AWS4-HMAC-SHA256'));
    expect(typeof both === 'string' ? both : both.code).to.equal('InvalidArgument');
    const unknown = detectAuthScheme(request({ authorization: 'Bearer token' }));
    expect(typeof unknown === 'string' ? unknown : unknown.message).to.equal('Unsupported Authorization Type');
  });

  it('verifies the SigV4 documentation example through the one entry point', async () => {
    const result = await authenticate(request({
      range: 'bytes=0-9',
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 Credential=${DOC_ACCESS_KEY}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
    }), options);
    expect(result.ok && result.auth.scheme).to.equal('sigv4-header');
    expect(result.ok && 'accessKeyId' in result.auth && result.auth.accessKeyId).to.equal(DOC_ACCESS_KEY);
  });

  it('verifies the SigV2 documentation examples through the one entry point', async () => {
    const header = await authenticate({
      method: 'GET', path: '/photos/puppy.jpg', query: '', virtualHostBucket: 'johnsmith',
      headers: { host: 'johnsmith.s3.amazonaws.com', date: 'Tue, 27 Mar 2007 19:36:42 +0000', authorization: `AWS ${DOC_ACCESS_KEY}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=` },
    }, { ...options, nowMs: Date.UTC(2007, 2, 27, 19, 36, 42) });
    expect(header).to.deep.equal({ ok: true, auth: { scheme: 'sigv2-header', accessKeyId: DOC_ACCESS_KEY, presigned: false, payload: { type: 'unsigned' } } });
    const query = await authenticate({
      method: 'GET', path: '/photos/puppy.jpg', virtualHostBucket: 'johnsmith', headers: { host: 'johnsmith.s3.amazonaws.com' },
      query: 'AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D',
    }, { ...options, nowMs: 1175139000_000 });
    expect(query.ok && query.auth.scheme).to.equal('sigv2-query');
  });

  it('lets anonymous requests through with the payload they declare', async () => {
    expect(await authenticate(request({}), options)).to.deep.equal({ ok: true, auth: { scheme: 'anonymous', payload: { type: 'unsigned' } } });
    expect(await authenticate(request({ 'x-amz-content-sha256': EMPTY_SHA256.toUpperCase() }), options)).to.deep.equal({
      ok: true, auth: { scheme: 'anonymous', payload: { type: 'sha256', sha256: EMPTY_SHA256 } },
    });
    expect(await authenticate(request({ 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' }), options)).to.deep.equal({
      ok: true, auth: { scheme: 'anonymous', payload: { type: 'streaming-unsigned-trailer' } },
    });
    const signedStreaming = await authenticate(request({ 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' }), options);
    expect(signedStreaming.ok ? 'ok' : signedStreaming.error.code).to.equal('InvalidRequest');
  });

  it('passes verification failures through', async () => {
    const result = await authenticate(request({ authorization: 'AWS4-HMAC-SHA256 Credential=x' }), options);
    expect(result.ok ? 'ok' : result.error.code).to.equal('AuthorizationHeaderMalformed');
  });
});
