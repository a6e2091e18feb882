import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BodyDigester, checksumAlgorithmFromHeaderName, checksumBase64, checksumHeaderName, compositeChecksum, createHasher,
  decodeBase64Digest, digestingStream, multipartEtag, parseBodyExpectations, parseChecksumAlgorithm, quoteEtag, unquoteEtag,
  type BodyExpectations,
} from '../../../../src/protocol/s3/checksums.js';
import type { HeaderBag } from '../../../../src/protocol/s3/headers.js';

function expectations(headers: HeaderBag, sha256?: string): BodyExpectations {
  const result = parseBodyExpectations(headers, sha256);
  if (!result.ok) throw new Error(`unexpected ${result.error.code}: ${result.error.message}`);
  return result.value;
}

function refusal(headers: HeaderBag, sha256?: string): string {
  const result = parseBodyExpectations(headers, sha256);
  return result.ok ? 'ok' : result.error.code;
}

describe('protocol/s3/checksums', () => {
  it('computes every algorithm in base64 with the standard values', () => {
    expect(checksumBase64('CRC32', Buffer.from('123456789'))).to.equal(Buffer.from('cbf43926', 'hex').toString('base64'));
    expect(checksumBase64('CRC32C', Buffer.from('123456789'))).to.equal(Buffer.from('e3069283', 'hex').toString('base64'));
    expect(checksumBase64('CRC64NVME', Buffer.from('123456789'))).to.equal('rosUhgp5mIg=');
    expect(checksumBase64('SHA1', Buffer.alloc(0))).to.equal('2jmj7l5rSw0yVb/vlWAYkK/YBwk=');
    expect(checksumBase64('SHA256', Buffer.alloc(0))).to.equal('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    expect(checksumBase64('CRC32', Buffer.alloc(0))).to.equal('AAAAAA==');
    const md5 = createHasher('MD5');
    md5.update(Buffer.alloc(0));
    expect(md5.digest().toString('hex')).to.equal('d41d8cd98f00b204e9800998ecf8427e');
  });

  it('matches checksums the AWS SDK for JavaScript sent', () => {
    expect(checksumBase64('CRC32', Buffer.from('hello'))).to.equal('NhCmhg==');
    expect(checksumBase64('CRC32', Buffer.alloc(100, 1))).to.equal('4FgxXw==');
    expect(checksumBase64('CRC64NVME', Buffer.concat([Buffer.alloc(70000, 1), Buffer.alloc(10, 2)]))).to.equal('Z4ecIZzqMVM=');
    expect(checksumBase64('CRC32C', Buffer.alloc(66560, 'a'))).to.equal('sOO8/Q==');
  });

  it('hashes incrementally to the same value as in one go', () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
    for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256', 'MD5'] as const) {
      const h = createHasher(algorithm);
      for (let at = 0; at < data.length; at += 33) h.update(data.subarray(at, at + 33));
      expect(h.digest().toString('base64'), algorithm).to.equal(checksumBase64(algorithm, data));
    }
  });

  it('maps header names and algorithm names both ways', () => {
    expect(checksumHeaderName('CRC64NVME')).to.equal('x-amz-checksum-crc64nvme');
    expect(checksumHeaderName('SHA256')).to.equal('x-amz-checksum-sha256');
    expect(checksumAlgorithmFromHeaderName('X-Amz-Checksum-CRC32C')).to.equal('CRC32C');
    expect(checksumAlgorithmFromHeaderName('x-amz-checksum-md5')).to.equal(undefined);
    expect(checksumAlgorithmFromHeaderName('x-amz-meta-crc32')).to.equal(undefined);
    expect(parseChecksumAlgorithm('crc64nvme')).to.equal('CRC64NVME');
    expect(parseChecksumAlgorithm('sha512')).to.equal(undefined);
  });

  it('decodes base64 digests strictly', () => {
    expect(decodeBase64Digest('NhCmhg==', 4)?.toString('hex')).to.equal('3610a686');
    expect(decodeBase64Digest('NhCmhg=', 4)).to.equal(undefined);
    expect(decodeBase64Digest('NhCmhh==', 4)).to.equal(undefined);
    expect(decodeBase64Digest('NhCmhg==', 8)).to.equal(undefined);
    expect(decodeBase64Digest('Nh Cmhg=', 4)).to.equal(undefined);
  });

  describe('parseBodyExpectations', () => {
    it('reads Content-MD5, one checksum header or trailer, and the signed hash', () => {
      const e = expectations({ 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==', 'x-amz-checksum-crc32': 'AAAAAA==', 'x-amz-sdk-checksum-algorithm': 'crc32' }, 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855');
      expect(e.contentMd5?.toString('hex')).to.equal('d41d8cd98f00b204e9800998ecf8427e');
      expect(e.checksum).to.deep.equal({ algorithm: 'CRC32', source: 'header', value: Buffer.alloc(4) });
      expect(e.contentSha256).to.equal('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
      expect(expectations({ 'x-amz-trailer': 'x-amz-checksum-sha1' }).checksum).to.deep.equal({ algorithm: 'SHA1', source: 'trailer' });
      expect(expectations({})).to.deep.equal({ contentMd5: undefined, contentSha256: undefined, checksum: undefined });
    });

    it('refuses what S3 refuses', () => {
      expect(refusal({ 'content-md5': 'not base64' })).to.equal('InvalidDigest');
      expect(refusal({ 'content-md5': 'AAAA' })).to.equal('InvalidDigest');
      expect(refusal({ 'x-amz-checksum-crc32': 'AAAAAA==', 'x-amz-checksum-sha1': '2jmj7l5rSw0yVb/vlWAYkK/YBwk=' })).to.equal('InvalidRequest');
      expect(refusal({ 'x-amz-checksum-sha256': 'AAAAAA==' })).to.equal('InvalidRequest');
      expect(refusal({ 'x-amz-trailer': 'x-amz-checksum-md5' })).to.equal('InvalidRequest');
      expect(refusal({ 'x-amz-trailer': 'x-amz-checksum-crc32,x-amz-checksum-sha1' })).to.equal('InvalidRequest');
      expect(refusal({ 'x-amz-checksum-crc32': 'AAAAAA==', 'x-amz-trailer': 'x-amz-checksum-crc32' })).to.equal('InvalidRequest');
      expect(refusal({ 'x-amz-sdk-checksum-algorithm': 'MD5' })).to.equal('InvalidRequest');
      expect(refusal({ 'x-amz-sdk-checksum-algorithm': 'SHA1', 'x-amz-checksum-crc32': 'AAAAAA==' })).to.equal('InvalidRequest');
      expect(refusal({}, 'xyz')).to.equal('InvalidArgument');
    });
  });

  describe('BodyDigester', () => {
    const body = Buffer.from('Welcome to Amazon S3.');

    it('passes a body that matches everything declared and reports its digests', () => {
      const digester = new BodyDigester(expectations({
        'content-md5': createHash('md5').update(body).digest('base64'),
        'x-amz-checksum-sha256': createHash('sha256').update(body).digest('base64'),
      }, '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072'));
      digester.update(body.subarray(0, 5));
      digester.update(body.subarray(5));
      const result = digester.finish();
      expect(result.ok).to.equal(true);
      if (result.ok) {
        expect(result.value.size).to.equal(21);
        expect(result.value.md5Hex).to.equal(createHash('md5').update(body).digest('hex'));
        expect(result.value.checksum).to.deep.equal({ algorithm: 'SHA256', base64: 'RM591nyVng01JP+sF3Hfu6h9K2tLTpnkIDSouAP4sHI=' });
      }
    });

    it('answers each kind of mismatch with its own error', () => {
      const check = (headers: HeaderBag, sha256?: string, trailers?: Map<string, string>): string => {
        const digester = new BodyDigester(expectations(headers, sha256));
        digester.update(body);
        const result = digester.finish(trailers);
        return result.ok ? 'ok' : `${result.error.code}:${result.error.status}`;
      };
      expect(check({}, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')).to.equal('XAmzContentSHA256Mismatch:400');
      expect(check({ 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==' })).to.equal('BadDigest:400');
      expect(check({ 'x-amz-checksum-crc32': 'AAAAAA==' })).to.equal('BadDigest:400');
      expect(check({ 'x-amz-trailer': 'x-amz-checksum-crc32' }, undefined, new Map([['x-amz-checksum-crc32', 'AAAAAA==']]))).to.equal('BadDigest:400');
      expect(check({ 'x-amz-trailer': 'x-amz-checksum-crc32' }, undefined, new Map())).to.equal('MalformedTrailerError:400');
      expect(check({ 'x-amz-trailer': 'x-amz-checksum-crc32' }, undefined, new Map([['x-amz-checksum-crc32', '!!']]))).to.equal('InvalidRequest:400');
      expect(check({ 'x-amz-trailer': 'x-amz-checksum-crc32' }, undefined, new Map([['x-amz-checksum-crc32', checksumBase64('CRC32', body)]]))).to.equal('ok');
    });

    it('hashes a stream passing through', async () => {
      const digester = new BodyDigester(expectations({ 'x-amz-checksum-crc64nvme': 'rosUhgp5mIg=' }));
      const seen: Buffer[] = [];
      await pipeline(Readable.from([Buffer.from('1234'), Buffer.from('56789')]), digestingStream(digester), new Writable({
        write(chunk: Buffer, _encoding, callback): void {
          seen.push(chunk);
          callback();
        },
      }));
      expect(Buffer.concat(seen).toString()).to.equal('123456789');
      const result = digester.finish();
      expect(result.ok && result.value.checksum?.base64).to.equal('rosUhgp5mIg=');
    });
  });

  describe('ETags', () => {
    it('quotes and unquotes', () => {
      expect(quoteEtag('abc')).to.equal('"abc"');
      expect(quoteEtag('"abc"')).to.equal('"abc"');
      expect(unquoteEtag('"abc"')).to.equal('abc');
      expect(unquoteEtag('W/"abc"')).to.equal('abc');
      expect(unquoteEtag(' abc ')).to.equal('abc');
    });

    it('computes the multipart ETag from part MD5s', () => {
      const a = createHash('md5').update('a').digest();
      const b = createHash('md5').update('b').digest();
      expect(multipartEtag([a, b])).to.equal('96e024ba2074fe77e8e965ba43a704be-2');
      expect(multipartEtag(['"0cc175b9c0f1b6a831c399e269772661"', '92eb5ffee6ae2fec3ad71c777531578f'])).to.equal('96e024ba2074fe77e8e965ba43a704be-2');
      expect(multipartEtag([a])).to.equal(`${createHash('md5').update(a).digest('hex')}-1`);
      expect(() => multipartEtag(['zz'])).to.throw(RangeError);
    });

    it('computes a composite checksum from part checksums', () => {
      const parts = [checksumBase64('CRC32', Buffer.from('a')), checksumBase64('CRC32', Buffer.from('b'))];
      const joined = Buffer.concat(parts.map((p) => Buffer.from(p, 'base64')));
      expect(compositeChecksum('CRC32', parts)).to.equal(`${checksumBase64('CRC32', joined)}-2`);
      expect(compositeChecksum('SHA256', [checksumBase64('SHA256', Buffer.from('x'))])).to.equal(
        `${createHash('sha256').update(createHash('sha256').update('x').digest()).digest('base64')}-1`,
      );
      expect(() => compositeChecksum('CRC32', ['2jmj7l5rSw0yVb/vlWAYkK/YBwk='])).to.throw(RangeError);
    });
  });
});
