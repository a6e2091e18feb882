import { expect } from 'chai';
import { seededRandom } from '../../core/seeded-random.js';
import {
  extractStoredHeaders, extractUserMetadata, formatAmzDate, formatHttpDate, formatIsoDate, getHeader, hasAwsChunkedEncoding,
  parseBodyLength, parseCannedAcl, parseHttpDate, parseMetadataDirective, parseQueryPairs, parseQueryString,
  parseResponseOverrides, parseStorageClass, responseOverrideHeaders, stripAwsChunked, userMetadataHeaders,
} from '../../../../src/protocol/s3/headers.js';

describe('protocol/s3/headers', () => {
  it('reads headers, joining repeats with a comma', () => {
    expect(getHeader({ a: 'x' }, 'a')).to.equal('x');
    expect(getHeader({ a: ['x', 'y'] }, 'a')).to.equal('x,y');
    expect(getHeader({}, 'a')).to.equal(undefined);
    expect(getHeader({}, 'constructor')).to.equal(undefined);
  });

  it('parses raw query strings', () => {
    expect(parseQueryPairs('a=1&b=x%20y+z&c&d=&a=2')).to.deep.equal([['a', '1'], ['b', 'x y z'], ['c', ''], ['d', ''], ['a', '2']]);
    expect(parseQueryString('a=1&a=2')).to.deep.equal(new Map([['a', '1']]));
    expect(parseQueryString('a=%E2%82')).to.equal(undefined);
  });

  describe('user metadata', () => {
    it('lower-cases names, drops the prefix and keeps values', () => {
      const result = extractUserMetadata({ 'x-amz-meta-Color': ' blue ', 'x-amz-meta-tags': ['a', 'b'], 'content-type': 'x' });
      expect(result).to.deep.equal({ ok: true, metadata: Object.assign(Object.create(null), { color: 'blue', tags: 'a,b' }) });
      expect(userMetadataHeaders({ color: 'blue' })).to.deep.equal({ 'x-amz-meta-color': 'blue' });
    });

    it('allows exactly 2 KiB of names and values, counted in UTF-8 bytes', () => {
      const name = 'n'.repeat(48);
      expect(extractUserMetadata({ [`x-amz-meta-${name}`]: 'v'.repeat(2000) }).ok).to.equal(true);
      const over = extractUserMetadata({ [`x-amz-meta-${name}`]: 'v'.repeat(2001) });
      expect(over.ok).to.equal(false);
      if (!over.ok) {
        expect(over.error.code).to.equal('MetadataTooLarge');
        expect(over.error.fields).to.deep.equal({ Size: '2049', MaxSizeAllowed: '2048' });
      }
      // node hands header bytes over as latin1: 1024 UTF-8 'é' arrive as 2048 one-byte characters.
      expect(extractUserMetadata({ 'x-amz-meta-k': Buffer.from('é'.repeat(1023)).toString('latin1') }).ok).to.equal(true);
      expect(extractUserMetadata({ 'x-amz-meta-k': Buffer.from('é'.repeat(1024)).toString('latin1') }).ok).to.equal(false);
      // A string built in JavaScript with wider characters is counted in UTF-8.
      expect(extractUserMetadata({ 'x-amz-meta-k': '€'.repeat(682) }).ok).to.equal(true);
      expect(extractUserMetadata({ 'x-amz-meta-k': '€'.repeat(683) }).ok).to.equal(false);
      const empty = extractUserMetadata({ 'x-amz-meta-': 'v' });
      expect(empty.ok ? 'ok' : empty.error.code).to.equal('InvalidArgument');
    });
  });

  it('extracts the stored headers with S3 defaults', () => {
    expect(extractStoredHeaders({})).to.deep.equal({
      contentType: 'binary/octet-stream', contentEncoding: undefined, contentDisposition: undefined, contentLanguage: undefined,
      cacheControl: undefined, expires: undefined,
    });
    expect(extractStoredHeaders({
      'content-type': 'text/plain', 'content-encoding': 'aws-chunked,gzip', 'content-disposition': 'inline',
      'content-language': 'en', 'cache-control': 'max-age=60', expires: 'Thu, 01 Dec 1994 16:00:00 GMT',
    })).to.deep.equal({
      contentType: 'text/plain', contentEncoding: 'gzip', contentDisposition: 'inline', contentLanguage: 'en',
      cacheControl: 'max-age=60', expires: 'Thu, 01 Dec 1994 16:00:00 GMT',
    });
    expect(stripAwsChunked('aws-chunked')).to.equal(undefined);
    expect(stripAwsChunked('gzip, AWS-Chunked, br')).to.equal('gzip, br');
    expect(stripAwsChunked('deflate, gzip')).to.equal('deflate, gzip');
    expect(stripAwsChunked('aws-chunked, gzip')).to.equal('gzip');
    expect(stripAwsChunked('aws-chunked, aws-chunked')).to.equal(undefined);
    expect(hasAwsChunkedEncoding({ 'content-encoding': 'gzip, aws-chunked' })).to.equal(true);
    expect(hasAwsChunkedEncoding({ 'content-encoding': 'gzip' })).to.equal(false);
  });

  it('reads response-* overrides', () => {
    const query = new Map([['response-content-type', 'text/csv'], ['response-expires', 'never'], ['other', 'x']]);
    const overrides = parseResponseOverrides(query);
    expect(overrides).to.deep.equal({ contentType: 'text/csv', expires: 'never' });
    expect(responseOverrideHeaders(overrides)).to.deep.equal({ 'Content-Type': 'text/csv', Expires: 'never' });
    expect(parseResponseOverrides({ 'response-content-encoding': 'gzip', 'response-cache-control': 'no-store', 'response-content-language': 'fr', 'response-content-disposition': 'attachment' }))
      .to.deep.equal({ contentEncoding: 'gzip', cacheControl: 'no-store', contentLanguage: 'fr', contentDisposition: 'attachment' });
  });

  it('validates storage class, canned ACL, metadata directive and lengths', () => {
    expect(parseStorageClass({})).to.deep.equal({ ok: true, value: 'STANDARD' });
    expect(parseStorageClass({ 'x-amz-storage-class': 'REDUCED_REDUNDANCY' })).to.deep.equal({ ok: true, value: 'REDUCED_REDUNDANCY' });
    const badClass = parseStorageClass({ 'x-amz-storage-class': 'CHEAP' });
    expect(badClass.ok ? 'ok' : badClass.error.code).to.equal('InvalidStorageClass');
    expect(parseCannedAcl({ 'x-amz-acl': 'public-read' })).to.deep.equal({ ok: true, value: 'public-read' });
    const badAcl = parseCannedAcl({ 'x-amz-acl': 'everyone' });
    expect(badAcl.ok ? 'ok' : badAcl.error.code).to.equal('InvalidArgument');
    expect(parseMetadataDirective({})).to.deep.equal({ ok: true, value: 'COPY' });
    expect(parseBodyLength({ 'content-length': '10' }, true)).to.deep.equal({ ok: true, value: { contentLength: 10, decodedContentLength: undefined } });
    const missing = parseBodyLength({}, true);
    expect(missing.ok ? 'ok' : `${missing.error.code} ${missing.error.status}`).to.equal('MissingContentLength 411');
    const bad = parseBodyLength({ 'content-length': '-1' }, true);
    expect(bad.ok ? 'ok' : bad.error.code).to.equal('InvalidArgument');
    expect(parseBodyLength({ 'x-amz-decoded-content-length': '66560' }, true)).to.deep.equal({ ok: true, value: { contentLength: undefined, decodedContentLength: 66560 } });
  });

  describe('dates', () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37);

    it('formats IMF-fixdate, ISO 8601 with milliseconds and x-amz-date', () => {
      expect(formatHttpDate(t)).to.equal('Sun, 06 Nov 1994 08:49:37 GMT');
      expect(formatHttpDate(new Date(t + 999))).to.equal('Sun, 06 Nov 1994 08:49:37 GMT');
      expect(formatIsoDate(Date.UTC(2009, 9, 12, 17, 50, 30))).to.equal('2009-10-12T17:50:30.000Z');
      expect(formatAmzDate(Date.UTC(2013, 4, 24))).to.equal('20130524T000000Z');
    });

    it('formats ISO 8601 dates as Date does, leap days, year ends and the years past 9999 included', () => {
      const next = seededRandom(7);
      const edges = [0, 1, 999, 86_399_999, 86_400_000, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 2, 1), Date.UTC(2024, 11, 31, 23, 59, 59, 999),
        Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), -1, Date.UTC(1969, 11, 31), 1.5];
      const random = Array.from({ length: 20_000 }, () => Math.floor(next() * Date.UTC(10000, 0, 1)));
      for (const ms of [...edges, ...random]) expect(formatIsoDate(ms), String(ms)).to.equal(new Date(ms).toISOString());
      expect(formatIsoDate(new Date(Date.UTC(2009, 9, 12)))).to.equal('2009-10-12T00:00:00.000Z');
    });

    it('formats IMF-fixdates as Date does, leap days, year ends and the years past 9999 included', () => {
      const next = seededRandom(11);
      const edges = [0, 1, 999, 1000, 86_399_999, 86_400_000, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 2, 1), Date.UTC(2024, 11, 31, 23, 59, 59, 999),
        Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), -1, Date.UTC(1969, 11, 31), 1.5, 1999.9];
      const random = Array.from({ length: 20_000 }, () => Math.floor(next() * Date.UTC(10000, 0, 1)));
      for (const ms of [...edges, ...random]) expect(formatHttpDate(ms), String(ms)).to.equal(new Date(ms).toUTCString());
      expect(formatHttpDate(new Date(Date.UTC(2026, 11, 7, 19, 5, 9)))).to.equal('Mon, 07 Dec 2026 19:05:09 GMT');
    });

    it('parses the three HTTP forms, numeric offsets and ISO 8601', () => {
      expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).to.equal(t);
      expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).to.equal(t);
      expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).to.equal(t);
      expect(parseHttpDate('Sun, 06 Nov 1994 10:49:37 +0200')).to.equal(t);
      expect(parseHttpDate('Tue, 27 Mar 2007 19:36:42 +0000')).to.equal(Date.UTC(2007, 2, 27, 19, 36, 42));
      expect(parseHttpDate('1994-11-06T08:49:37Z')).to.equal(t);
      expect(parseHttpDate('1994-11-06T08:49:37.250Z')).to.equal(t + 250);
    });

    it('refuses everything else', () => {
      for (const bad of ['', '1', 'yesterday', 'Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Foo 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 25:49:37 GMT', '06 Nov 1994']) {
        expect(parseHttpDate(bad), bad).to.equal(undefined);
      }
    });
  });
});
