import { expect } from 'chai';
import { etagListMatches, isWriteCondition, judgeWriteCondition } from '../../../src/core/write-condition.js';

const ETAG = '"9b2cf535f27731c974343645a3985328"';
const OTHER = '"00000000000000000000000000000000"';
const CURRENT = { etag: '9b2cf535f27731c974343645a3985328' };

describe('core/write-condition', () => {
  it('compares ETags with or without quotes, in lists, and with *', () => {
    expect(etagListMatches(ETAG, CURRENT.etag)).to.equal(true);
    expect(etagListMatches('9b2cf535f27731c974343645a3985328', ETAG)).to.equal(true);
    expect(etagListMatches(`W/${ETAG}`, CURRENT.etag)).to.equal(true);
    expect(etagListMatches(`${OTHER}, ${ETAG}`, CURRENT.etag)).to.equal(true);
    expect(etagListMatches('*', CURRENT.etag)).to.equal(true);
    expect(etagListMatches(OTHER, CURRENT.etag)).to.equal(false);
    expect(etagListMatches('', CURRENT.etag)).to.equal(false);
  });

  it('honours If-None-Match: * and If-Match', () => {
    expect(judgeWriteCondition({ ifNoneMatch: '*' }, undefined)).to.deep.equal({ pass: true });
    expect(judgeWriteCondition({ ifNoneMatch: '*' }, CURRENT)).to.deep.equal({ pass: false, failed: 'If-None-Match' });
    expect(judgeWriteCondition({ ifMatch: ETAG }, CURRENT)).to.deep.equal({ pass: true });
    expect(judgeWriteCondition({ ifMatch: '*' }, CURRENT)).to.deep.equal({ pass: true });
    expect(judgeWriteCondition({ ifMatch: OTHER }, CURRENT)).to.deep.equal({ pass: false, failed: 'If-Match' });
    expect(judgeWriteCondition({ ifMatch: ETAG }, undefined)).to.deep.equal({ pass: false, failed: 'absent' });
    expect(judgeWriteCondition({ ifMatch: '*' }, undefined)).to.deep.equal({ pass: false, failed: 'absent' });
  });

  it('refuses to overwrite the version an If-None-Match ETag names, and only that one', () => {
    expect(judgeWriteCondition({ ifNoneMatch: ETAG }, CURRENT)).to.deep.equal({ pass: false, failed: 'If-None-Match' });
    expect(judgeWriteCondition({ ifNoneMatch: OTHER }, CURRENT)).to.deep.equal({ pass: true });
    expect(judgeWriteCondition({ ifNoneMatch: ETAG }, undefined)).to.deep.equal({ pass: true });
  });

  it('checks conditions that come from another node', () => {
    expect(isWriteCondition({ ifNoneMatch: '*' })).to.equal(true);
    expect(isWriteCondition({ ifMatch: ETAG, ifNoneMatch: OTHER })).to.equal(true);
    expect(isWriteCondition({})).to.equal(false);
    expect(isWriteCondition({ ifMatch: 7 })).to.equal(false);
    expect(isWriteCondition({ ifMatch: 'x'.repeat(5000) })).to.equal(false);
    expect(isWriteCondition(null)).to.equal(false);
  });
});
