import { expect } from 'chai';
import { contentRange, parseCopySourceRange, parseRange, rangeLength } from '../../../../src/protocol/s3/range.js';

function r(header: string | undefined, size: number): string {
  const result = parseRange(header, size);
  switch (result.type) {
    case 'whole':
      return 'whole';
    case 'range':
      return `${result.range.start}-${result.range.end}`;
    case 'unsatisfiable':
      return `416 ${result.error.code}`;
  }
}

describe('protocol/s3/range', () => {
  it('parses the three single-range forms', () => {
    expect(r('bytes=0-9', 100)).to.equal('0-9');
    expect(r('bytes=10-', 100)).to.equal('10-99');
    expect(r('bytes=-10', 100)).to.equal('90-99');
    expect(r('bytes=99-99', 100)).to.equal('99-99');
    expect(r('bytes=0-0', 1)).to.equal('0-0');
  });

  it('clamps ranges that run past the end', () => {
    expect(r('bytes=50-1000', 100)).to.equal('50-99');
    expect(r('bytes=-1000', 100)).to.equal('0-99');
    expect(r('bytes=0-99999999999999999999', 100)).to.equal('0-99');
  });

  it('ignores what S3 ignores', () => {
    expect(r(undefined, 100)).to.equal('whole');
    expect(r('bytes=0-1,5-6', 100)).to.equal('whole');
    expect(r('items=0-9', 100)).to.equal('whole');
    expect(r('bytes=9-0', 100)).to.equal('whole');
    expect(r('bytes=-', 100)).to.equal('whole');
    expect(r('bytes=a-b', 100)).to.equal('whole');
    expect(r('garbage', 100)).to.equal('whole');
    expect(r('Bytes = 1 - 2', 100)).to.equal('1-2');
  });

  it('refuses ranges that start past the end with InvalidRange and the object size', () => {
    expect(r('bytes=100-', 100)).to.equal('416 InvalidRange');
    expect(r('bytes=100-200', 100)).to.equal('416 InvalidRange');
    expect(r('bytes=-0', 100)).to.equal('416 InvalidRange');
    expect(r('bytes=0-', 0)).to.equal('416 InvalidRange');
    expect(r('bytes=-5', 0)).to.equal('416 InvalidRange');
    const result = parseRange('bytes=200-300', 100);
    if (result.type !== 'unsatisfiable') throw new Error('expected unsatisfiable');
    expect(result.error.status).to.equal(416);
    expect(result.error.fields).to.deep.equal({ RangeRequested: 'bytes=200-300', ActualObjectSize: '100' });
    expect(result.error.headers).to.deep.equal({ 'Content-Range': 'bytes */100' });
  });

  it('formats Content-Range and lengths', () => {
    expect(contentRange({ start: 0, end: 9 }, 100)).to.equal('bytes 0-9/100');
    expect(rangeLength({ start: 5, end: 5 })).to.equal(1);
  });

  it('parses x-amz-copy-source-range strictly', () => {
    expect(parseCopySourceRange('bytes=0-9', 100)).to.deep.equal({ ok: true, range: { start: 0, end: 9 } });
    expect(parseCopySourceRange('bytes=99-99', 100)).to.deep.equal({ ok: true, range: { start: 99, end: 99 } });
    for (const bad of ['bytes=-1', 'bytes=0-', 'bytes=5-4', 'bytes=0-1,2-3', '0-9', 'bytes= 0-9', 'bytes=-']) {
      const result = parseCopySourceRange(bad, 100);
      expect(result.ok, bad).to.equal(false);
      if (!result.ok) expect(result.error.code, bad).to.equal('InvalidArgument');
    }
    const beyond = parseCopySourceRange('bytes=0-100', 100);
    expect(beyond.ok ? 'ok' : `${beyond.error.code} ${beyond.error.message}`).to.equal('InvalidArgument Range specified is not valid for source object of size: 100');
  });
});
