import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { crc32c } from '../../../../src/core/checksums/crc32c.js';

/** The definition, one bit at a time, to check the table-driven code against. */
function reference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('core/checksums/crc32c', () => {
  it('matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).to.equal(0xe3069283);
  });

  it('matches the RFC 3720 (iSCSI) test patterns', () => {
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const descending = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i));
    expect(crc32c(Buffer.alloc(32, 0))).to.equal(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).to.equal(0x62a8ab43);
    expect(crc32c(ascending)).to.equal(0x46dd794e);
    expect(crc32c(descending)).to.equal(0x113fdb5c);
  });

  it("matches the trailer checksum of the AWS documentation's 66560-byte example body", () => {
    const value = crc32c(Buffer.alloc(66560, 'a'));
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value, 0);
    expect(bytes.toString('base64')).to.equal('sOO8/Q==');
  });

  it('is zero for no bytes and continues across split input', () => {
    expect(crc32c(new Uint8Array(0))).to.equal(0);
    const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice over the lazy dog');
    const whole = crc32c(data);
    for (let cut = 0; cut <= data.length; cut++) {
      expect(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut)))).to.equal(whole);
    }
  });

  it('agrees with the bitwise definition at every alignment, four bytes at a time and one at a time', () => {
    const data = randomBytes(4200);
    for (let offset = 0; offset < 4; offset++) {
      for (const length of [0, 1, 63, 64, 65, 71, 72, 73, 150, 4096]) {
        const part = data.subarray(offset, offset + length);
        expect(crc32c(part), `offset ${offset}, length ${length}`).to.equal(reference(part));
        const cut = Math.floor(length / 3) + 1;
        if (cut < length) expect(crc32c(part.subarray(cut), crc32c(part.subarray(0, cut))), `split at ${cut}`).to.equal(reference(part));
      }
    }
  });
});
