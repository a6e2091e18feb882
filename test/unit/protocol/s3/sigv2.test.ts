import { expect } from 'chai';
import { parseHttpDate } from '../../../../src/protocol/s3/headers.js';
import {
  canonicalizedAmzHeaders, canonicalizedResource, canonicalizedResources, signV2, stringToSignV2, verifySigV2Header, verifySigV2Presigned,
  type SigV2Options, type SigV2Request,
} from '../../../../src/protocol/s3/sigv2.js';
import { DOC_ACCESS_KEY, DOC_SECRET, lookupDocSecret } from './signing-helpers.js';

type Headers = Record<string, string | string[]>;

/** One of the S3 documentation's SigV2 examples, verified at the moment it was signed. */
async function verifyExample(request: SigV2Request, signature: string, nowText?: string): Promise<{ ok: boolean; code?: string }> {
  const authorization = `AWS ${DOC_ACCESS_KEY}:${signature}`;
  const headers: Headers = { ...(request.headers as Headers), authorization };
  const dateText = nowText ?? (headers['x-amz-date'] ?? headers['date']) as string;
  const options: SigV2Options = { lookupSecret: lookupDocSecret, nowMs: parseHttpDate(dateText)! };
  const result = await verifySigV2Header({ ...request, headers }, options);
  return result.ok ? { ok: true } : { ok: false, code: result.error.code };
}

function johnsmith(method: string, path: string, query: string, headers: Headers): SigV2Request {
  return { method, path, query, headers: { host: 'johnsmith.s3.amazonaws.com', ...headers }, virtualHostBucket: 'johnsmith' };
}

describe('protocol/s3/sigv2', () => {
  describe('the AWS documentation examples', () => {
    it('Object GET', async () => {
      const request = johnsmith('GET', '/photos/puppy.jpg', '', { date: 'Tue, 27 Mar 2007 19:36:42 +0000' });
      expect(stringToSignV2(request, 'Tue, 27 Mar 2007 19:36:42 +0000', '', canonicalizedResource(request)!)).to.equal(
        'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg',
      );
      expect(await verifyExample(request, 'bWq2s1WEIj+Ydj0vQ697zp+IXMU=')).to.deep.equal({ ok: true });
      expect(await verifyExample(request, 'bWq2s1WEIj+Ydj0vQ697zp+IXMV=')).to.deep.equal({ ok: false, code: 'SignatureDoesNotMatch' });
    });

    it('Object PUT', async () => {
      const request = johnsmith('PUT', '/photos/puppy.jpg', '', {
        'content-type': 'image/jpeg', 'content-length': '94328', date: 'Tue, 27 Mar 2007 21:15:45 +0000',
      });
      expect(await verifyExample(request, 'MyyxeRY7whkBe+bq8fHCL/2kKUg=')).to.deep.equal({ ok: true });
      const otherType = { ...request, headers: { ...request.headers, 'content-type': 'image/png' } };
      expect(await verifyExample(otherType, 'MyyxeRY7whkBe+bq8fHCL/2kKUg=')).to.deep.equal({ ok: false, code: 'SignatureDoesNotMatch' });
    });

    it('List (query parameters that are not sub-resources are not signed)', async () => {
      const request = johnsmith('GET', '/', 'prefix=photos&max-keys=50&marker=puppy', {
        'user-agent': 'Mozilla/5.0', date: 'Tue, 27 Mar 2007 19:42:41 +0000',
      });
      expect(canonicalizedResource(request)).to.equal('/johnsmith/');
      expect(await verifyExample(request, 'htDYFYduRNen8P9ZfE/s9SuKy0U=')).to.deep.equal({ ok: true });
    });

    it('Fetch (the acl sub-resource is signed)', async () => {
      const request = johnsmith('GET', '/', 'acl', { date: 'Tue, 27 Mar 2007 19:44:46 +0000' });
      expect(canonicalizedResource(request)).to.equal('/johnsmith/?acl');
      expect(await verifyExample(request, 'c2WLPFtWHVgbEmeEG93a4cG37dM=')).to.deep.equal({ ok: true });
    });

    it('Delete (path style, x-amz-date taking precedence over Date)', async () => {
      const request: SigV2Request = {
        method: 'DELETE', path: '/johnsmith/photos/puppy.jpg', query: '', virtualHostBucket: undefined,
        headers: { host: 's3.amazonaws.com', 'user-agent': 'dotnet', date: 'Tue, 27 Mar 2007 21:20:27 +0000', 'x-amz-date': 'Tue, 27 Mar 2007 21:20:26 +0000' },
      };
      expect(await verifyExample(request, 'lx3byBScXR6KzyMaifNkardMwNk=')).to.deep.equal({ ok: true });
    });

    it('Upload (CNAME bucket, Content-MD5, repeated and mixed-case amz headers)', async () => {
      const request: SigV2Request = {
        method: 'PUT', path: '/db-backup.dat.gz', query: '', virtualHostBucket: 'static.johnsmith.net',
        headers: {
          'user-agent': 'curl/7.15.5', host: 'static.johnsmith.net:8080', date: 'Tue, 27 Mar 2007 21:06:08 +0000',
          'x-amz-acl': 'public-read', 'content-type': 'application/x-download', 'content-md5': '4gJE4saaMU4BqNR0kLY+lw==',
          'X-Amz-Meta-ReviewedBy': ['joe@johnsmith.net', 'jane@johnsmith.net'], 'X-Amz-Meta-FileChecksum': '0x02661779',
          'X-Amz-Meta-ChecksumAlgorithm': 'crc32', 'content-disposition': 'attachment; filename=database.dat',
          'content-encoding': 'gzip', 'content-length': '5913339',
        },
      };
      expect(canonicalizedAmzHeaders(request.headers)).to.equal(
        'x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n' +
          'x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n',
      );
      expect(await verifyExample(request, 'ilyl83RwaSoYIEdixDQcA4OnAnc=')).to.deep.equal({ ok: true });
    });

    it('List All My Buckets', async () => {
      const request: SigV2Request = {
        method: 'GET', path: '/', query: '', virtualHostBucket: undefined,
        headers: { host: 's3.amazonaws.com', date: 'Wed, 28 Mar 2007 01:29:59 +0000' },
      };
      expect(await verifyExample(request, 'qGdzdERIC03wnaRNKh6OqZehG9s=')).to.deep.equal({ ok: true });
    });

    it('Unicode Keys (the path is signed exactly as sent)', async () => {
      const request: SigV2Request = {
        method: 'GET', path: '/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re', query: '', virtualHostBucket: undefined,
        headers: { host: 's3.amazonaws.com', date: 'Wed, 28 Mar 2007 01:49:49 +0000' },
      };
      expect(await verifyExample(request, 'DNEZGsoieTZ92F3bUfSPQcbGmlM=')).to.deep.equal({ ok: true });
      const normalised = { ...request, path: '/dictionary/fran%C3%A7ais/pr%C3%A9f%C3%A8re' };
      expect(await verifyExample(normalised, 'DNEZGsoieTZ92F3bUfSPQcbGmlM=')).to.deep.equal({ ok: false, code: 'SignatureDoesNotMatch' });
    });

    it('Query string authentication, until it expires', async () => {
      const request = johnsmith('GET', '/photos/puppy.jpg', 'AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D', {});
      const before = await verifySigV2Presigned(request, { lookupSecret: lookupDocSecret, nowMs: 1175139620_000 });
      expect(before).to.deep.equal({ ok: true, identity: { accessKeyId: DOC_ACCESS_KEY, presigned: true } });
      const after = await verifySigV2Presigned(request, { lookupSecret: lookupDocSecret, nowMs: 1175139621_000 });
      expect(after.ok).to.equal(false);
      if (!after.ok) {
        expect(after.error.code).to.equal('AccessDenied');
        expect(after.error.message).to.equal('Request has expired');
      }
      const tampered = johnsmith('GET', '/photos/puppy.jpG', request.query, {});
      const result = await verifySigV2Presigned(tampered, { lookupSecret: lookupDocSecret, nowMs: 1175139600_000 });
      expect(result.ok ? 'ok' : result.error.code).to.equal('SignatureDoesNotMatch');
    });
  });

  it('signs sub-resources and response overrides sorted, with decoded values', () => {
    const request: SigV2Request = {
      method: 'GET', path: '/bucket/key', virtualHostBucket: undefined, headers: {},
      query: 'versionId=null&response-content-type=text%2Fplain&uploadId=u%2B1&partNumber=2&prefix=ignored&x-id=GetObject',
    };
    expect(canonicalizedResource(request)).to.equal('/bucket/key?partNumber=2&response-content-type=text/plain&uploadId=u+1&versionId=null');
    expect(canonicalizedResource({ ...request, query: 'uploads&delete' })).to.equal('/bucket/key?delete&uploads');
  });

  it('accepts a path-style bucket request signed with the bucket resource /bucket/', async () => {
    const date = 'Tue, 27 Mar 2007 19:36:42 +0000';
    const request: SigV2Request = { method: 'PUT', path: '/johnsmith', query: '', virtualHostBucket: undefined, headers: { date } };
    expect(canonicalizedResources(request)).to.deep.equal(['/johnsmith/', '/johnsmith']);
    expect(canonicalizedResources({ ...request, path: '/johnsmith/key' })).to.deep.equal(['/johnsmith/key']);
    expect(canonicalizedResources({ ...request, path: '/', virtualHostBucket: 'johnsmith' })).to.deep.equal(['/johnsmith/']);
    const withSlash = signV2(DOC_SECRET, `PUT\n\n\n${date}\n/johnsmith/`);
    expect(await verifyExample(request, withSlash)).to.deep.equal({ ok: true });
    expect(await verifyExample(request, signV2(DOC_SECRET, `PUT\n\n\n${date}\n/johnsmith`))).to.deep.equal({ ok: true });
    expect(await verifyExample(request, signV2(DOC_SECRET, `PUT\n\n\n${date}\n/other/`))).to.deep.equal({ ok: false, code: 'SignatureDoesNotMatch' });
    const presigned = { ...request, query: `AWSAccessKeyId=${DOC_ACCESS_KEY}&Expires=1175139620&Signature=${encodeURIComponent(signV2(DOC_SECRET, 'PUT\n\n\n1175139620\n/johnsmith/'))}` };
    const result = await verifySigV2Presigned(presigned, { lookupSecret: lookupDocSecret, nowMs: 1175139600_000 });
    expect(result.ok).to.equal(true);
  });

  it('refuses a date before the epoch as no valid date, not as clock skew', async () => {
    const date = 'Tue, 07 Jul 1950 21:53:04 GMT';
    const request = johnsmith('GET', '/photos/puppy.jpg', '', { 'x-amz-date': date, authorization: `AWS ${DOC_ACCESS_KEY}:abc=` });
    const result = await verifySigV2Header(request, { lookupSecret: lookupDocSecret, nowMs: Date.UTC(2024, 0, 1) });
    expect(result.ok ? 'ok' : result.error.code).to.equal('AccessDenied');
  });

  it('computes HMAC-SHA1 in base64', () => {
    expect(signV2(DOC_SECRET, 'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg')).to.equal('bWq2s1WEIj+Ydj0vQ697zp+IXMU=');
  });

  it('refuses skewed clocks, unknown keys and malformed headers', async () => {
    const request = johnsmith('GET', '/photos/puppy.jpg', '', {
      date: 'Tue, 27 Mar 2007 19:36:42 +0000', authorization: `AWS ${DOC_ACCESS_KEY}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=`,
    });
    const at = parseHttpDate('Tue, 27 Mar 2007 19:36:42 +0000')!;
    const skewed = await verifySigV2Header(request, { lookupSecret: lookupDocSecret, nowMs: at + 16 * 60_000 });
    expect(skewed.ok ? 'ok' : skewed.error.code).to.equal('RequestTimeTooSkewed');
    const unknown = await verifySigV2Header(request, { lookupSecret: () => undefined, nowMs: at });
    expect(unknown.ok ? 'ok' : unknown.error.code).to.equal('InvalidAccessKeyId');
    const noDate = await verifySigV2Header(johnsmith('GET', '/x', '', { authorization: `AWS ${DOC_ACCESS_KEY}:abc=` }), { lookupSecret: lookupDocSecret, nowMs: at });
    expect(noDate.ok ? 'ok' : noDate.error.code).to.equal('AccessDenied');
    const malformed = await verifySigV2Header(johnsmith('GET', '/x', '', { date: 'Tue, 27 Mar 2007 19:36:42 +0000', authorization: 'AWS nocolon' }), { lookupSecret: lookupDocSecret, nowMs: at });
    expect(malformed.ok ? 'ok' : malformed.error.code).to.equal('InvalidArgument');
    const missing = await verifySigV2Presigned(johnsmith('GET', '/x', 'AWSAccessKeyId=A&Signature=s', {}), { lookupSecret: lookupDocSecret, nowMs: at });
    expect(missing.ok ? 'ok' : missing.error.code).to.equal('AuthorizationQueryParametersError');
  });
});
