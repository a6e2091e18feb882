import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { crc32, crc32ByTables } from '../../../../src/core/checksums/crc32.js';

describe('core/checksums/crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).to.equal(0xcbf43926);
    expect(crc32ByTables(Buffer.from('123456789'))).to.equal(0xcbf43926);
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

  it('agrees with the table-driven CRC-32 at every length and split', () => {
    const data = randomBytes(4096 + 13);
    for (const length of [0, 1, 7, 8, 9, 63, 64, 65, 1000, data.length]) {
      const part = data.subarray(0, length);
      const whole = crc32ByTables(part);
      expect(crc32(part)).to.equal(whole);
      const cut = Math.floor(length / 3);
      expect(crc32ByTables(part.subarray(cut), crc32ByTables(part.subarray(0, cut)))).to.equal(whole);
      expect(crc32(part.subarray(cut), crc32ByTables(part.subarray(0, cut)))).to.equal(whole);
    }
  });
});
