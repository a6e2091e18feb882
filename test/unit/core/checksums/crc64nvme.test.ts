import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Crc64Nvme, crc64nvme } from '../../../../src/core/checksums/crc64nvme.js';

/** The definition, one bit at a time, to check the table-driven code against. */
function reference(data: Uint8Array): bigint {
  const poly = 0x9a6c9329ac4bc9b5n;
  const mask = (1n << 64n) - 1n;
  let crc = mask;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ mask;
}

describe('core/checksums/crc64nvme', () => {
  it('matches the standard check value', () => {
    expect(crc64nvme(Buffer.from('123456789'))).to.equal(0xae8b14860a799888n);
  });

  it('is zero for no bytes', () => {
    expect(crc64nvme(new Uint8Array(0))).to.equal(0n);
  });

  it('gives the digest as 8 big-endian bytes', () => {
    const digest = new Crc64Nvme().update(Buffer.from('123456789')).digest();
    expect(digest.toString('hex')).to.equal('ae8b14860a799888');
  });

  it('agrees with the bitwise definition for every length up to 64 and for a large buffer', () => {
    const data = randomBytes(4096);
    for (let n = 0; n <= 64; n++) {
      expect(crc64nvme(data.subarray(0, n)), `length ${n}`).to.equal(reference(data.subarray(0, n)));
    }
    expect(crc64nvme(data)).to.equal(reference(data));
  });

  it('continues across arbitrary splits', () => {
    const data = randomBytes(301);
    const whole = crc64nvme(data);
    for (let cut = 0; cut <= data.length; cut += 7) {
      const h = new Crc64Nvme();
      h.update(data.subarray(0, cut)).update(data.subarray(cut));
      expect(h.value()).to.equal(whole);
    }
    expect(whole).to.not.equal(crc64nvme(data.subarray(1)));
  });

  it('agrees with the bitwise definition at every alignment, four bytes at a time and one at a time', () => {
    const data = randomBytes(200);
    for (let offset = 0; offset < 4; offset++) {
      for (const length of [63, 64, 65, 71, 72, 73, 150, 196]) {
        const part = data.subarray(offset, offset + length);
        expect(crc64nvme(part), `offset ${offset}, length ${length}`).to.equal(reference(part));
      }
    }
  });
});
