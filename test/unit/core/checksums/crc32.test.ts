import { expect } from 'chai';
import { crc32 } from '../../../../src/core/checksums/crc32.js';

describe('core/checksums/crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).to.equal(0xcbf43926);
  });

  it('is zero for no bytes', () => {
    expect(crc32(new Uint8Array(0))).to.equal(0);
  });

  it('continues across split input', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice over the lazy dog');
    const whole = crc32(data);
    for (let cut = 0; cut <= data.length; cut++) {
      expect(crc32(data.subarray(cut), crc32(data.subarray(0, cut)))).to.equal(whole);
    }
    expect(whole).to.not.equal(crc32(Buffer.from(data.toString().toUpperCase())));
  });
});
