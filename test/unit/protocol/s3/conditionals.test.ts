import { expect } from 'chai';
import { conditionError, evaluateCopySourceConditions, evaluateReadConditions } from '../../../../src/protocol/s3/conditionals.js';

const OBJECT = { etag: '"9b2cf535f27731c974343645a3985328"', lastModified: Date.UTC(2024, 0, 10, 12, 0, 0, 750) };
const BEFORE = 'Tue, 09 Jan 2024 12:00:00 GMT';
const SAME = 'Wed, 10 Jan 2024 12:00:00 GMT';
const AFTER = 'Thu, 11 Jan 2024 12:00:00 GMT';
const ETAG = '"9b2cf535f27731c974343645a3985328"';
const OTHER = '"00000000000000000000000000000000"';

function read(headers: Record<string, string>): string {
  const outcome = evaluateReadConditions(headers, OBJECT);
  return outcome.type === 'precondition-failed' ? `412 ${outcome.condition}` : outcome.type;
}

function copy(headers: Record<string, string>): string {
  const outcome = evaluateCopySourceConditions(headers, OBJECT);
  return outcome.type === 'precondition-failed' ? `412 ${outcome.condition}` : outcome.type;
}

describe('protocol/s3/conditionals', () => {
  describe('GET and HEAD', () => {
    it('proceeds without conditions', () => {
      expect(read({})).to.equal('proceed');
    });

    it('evaluates each header alone', () => {
      expect(read({ 'if-match': ETAG })).to.equal('proceed');
      expect(read({ 'if-match': OTHER })).to.equal('412 If-Match');
      expect(read({ 'if-none-match': ETAG })).to.equal('not-modified');
      expect(read({ 'if-none-match': '*' })).to.equal('not-modified');
      expect(read({ 'if-none-match': OTHER })).to.equal('proceed');
      expect(read({ 'if-modified-since': BEFORE })).to.equal('proceed');
      expect(read({ 'if-modified-since': SAME })).to.equal('not-modified');
      expect(read({ 'if-modified-since': AFTER })).to.equal('not-modified');
      expect(read({ 'if-unmodified-since': BEFORE })).to.equal('412 If-Unmodified-Since');
      expect(read({ 'if-unmodified-since': SAME })).to.equal('proceed');
      expect(read({ 'if-unmodified-since': AFTER })).to.equal('proceed');
    });

    it('follows the precedence S3 documents', () => {
      // If-Match true and If-Unmodified-Since false: 200.
      expect(read({ 'if-match': ETAG, 'if-unmodified-since': BEFORE })).to.equal('proceed');
      // If-None-Match false and If-Modified-Since true: 304.
      expect(read({ 'if-none-match': ETAG, 'if-modified-since': BEFORE })).to.equal('not-modified');
      // If-None-Match true wins over If-Modified-Since false.
      expect(read({ 'if-none-match': OTHER, 'if-modified-since': AFTER })).to.equal('proceed');
      // 412 is decided before 304.
      expect(read({ 'if-match': OTHER, 'if-none-match': ETAG })).to.equal('412 If-Match');
      expect(read({ 'if-unmodified-since': BEFORE, 'if-modified-since': AFTER })).to.equal('412 If-Unmodified-Since');
    });

    it('ignores dates it cannot parse, as S3 does', () => {
      expect(read({ 'if-modified-since': 'yesterday' })).to.equal('proceed');
      expect(read({ 'if-unmodified-since': '1' })).to.equal('proceed');
      expect(read({ 'if-unmodified-since': 'Fri, 31 Feb 2023 00:00:00 GMT' })).to.equal('proceed');
      expect(read({ 'if-modified-since': 'Wednesday, 10-Jan-24 12:00:00 GMT' })).to.equal('not-modified');
      expect(read({ 'if-modified-since': 'Wed Jan 10 12:00:00 2024' })).to.equal('not-modified');
      expect(read({ 'if-modified-since': '2024-01-10T12:00:00.000Z' })).to.equal('not-modified');
    });
  });

  describe('copy source', () => {
    it('turns every failure into 412, naming the header', () => {
      expect(copy({ 'x-amz-copy-source-if-match': ETAG })).to.equal('proceed');
      expect(copy({ 'x-amz-copy-source-if-match': OTHER })).to.equal('412 x-amz-copy-source-If-Match');
      expect(copy({ 'x-amz-copy-source-if-none-match': ETAG })).to.equal('412 x-amz-copy-source-If-None-Match');
      expect(copy({ 'x-amz-copy-source-if-modified-since': AFTER })).to.equal('412 x-amz-copy-source-If-Modified-Since');
      expect(copy({ 'x-amz-copy-source-if-unmodified-since': BEFORE })).to.equal('412 x-amz-copy-source-If-Unmodified-Since');
      // S3: if-match true with if-unmodified-since false copies; if-none-match false with if-modified-since true fails.
      expect(copy({ 'x-amz-copy-source-if-match': ETAG, 'x-amz-copy-source-if-unmodified-since': BEFORE })).to.equal('proceed');
      expect(copy({ 'x-amz-copy-source-if-none-match': ETAG, 'x-amz-copy-source-if-modified-since': BEFORE })).to.equal('412 x-amz-copy-source-If-None-Match');
      // The GET headers do not apply to the source.
      expect(copy({ 'if-match': OTHER })).to.equal('proceed');
    });
  });

  it('maps outcomes to errors', () => {
    expect(conditionError({ type: 'not-modified' }).status).to.equal(304);
    const failed = conditionError({ type: 'precondition-failed', condition: 'If-Match' });
    expect(failed.status).to.equal(412);
    expect(failed.fields).to.deep.equal({ Condition: 'If-Match' });
  });
});
