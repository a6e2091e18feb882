/**
 * CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones), for S3's
 * x-amz-checksum-crc64nvme. The 64-bit register is kept as two 32-bit halves and the tables are
 * slice-by-8, so a body is hashed with plain integer arithmetic, four bytes at a time where the
 * machine's byte order allows (see word-view.ts); BigInt appears only at the API.
 */
import { bytesToAlignment, LITTLE_ENDIAN, MIN_WORD_BYTES, wordsOf } from './word-view.js';

const POLY_HI = 0x9a6c9329;
const POLY_LO = 0xac4bc9b5;

/**
 * Table t, entry n: high halves at HI[t * 256 + n], low halves at LO[t * 256 + n]. Signed, as the
 * halves are kept while hashing (XOR and shifts give signed 32-bit values; `>>> 0` only at the end).
 */
const HI = new Int32Array(8 * 256);
const LO = new Int32Array(8 * 256);

for (let n = 0; n < 256; n++) {
  let hi = 0;
  let lo = n;
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (lsb) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  HI[n] = hi;
  LO[n] = lo;
}
for (let t = 1; t < 8; t++) {
  for (let n = 0; n < 256; n++) {
    const prevHi = HI[(t - 1) * 256 + n]!;
    const prevLo = LO[(t - 1) * 256 + n]!;
    const idx = prevLo & 0xff;
    HI[t * 256 + n] = ((prevHi >>> 8) ^ HI[idx]!) >>> 0;
    LO[t * 256 + n] = (((prevLo >>> 8) | (prevHi << 24)) ^ LO[idx]!) >>> 0;
  }
}

/** An incremental CRC-64/NVME; `digest()` is the 8-byte big-endian value S3 base64-encodes. */
export class Crc64Nvme {
  // All ones, as signed 32-bit halves.
  private hi = -1;
  private lo = -1;

  update(data: Uint8Array): this {
    if (!LITTLE_ENDIAN || data.length < MIN_WORD_BYTES) {
      this.bytes(data, 0, data.length);
      return this;
    }
    const head = bytesToAlignment(data);
    this.bytes(data, 0, head);
    let hi = this.hi;
    let lo = this.lo;
    const count = ((data.length - head) >>> 3) << 1;
    const words = wordsOf(data, head, count);
    for (let k = 0; k < count; k += 2) {
      const a = lo ^ words[k]!;
      const b = hi ^ words[k + 1]!;
      const i7 = 7 * 256 + (a & 0xff);
      const i6 = 6 * 256 + ((a >>> 8) & 0xff);
      const i5 = 5 * 256 + ((a >>> 16) & 0xff);
      const i4 = 4 * 256 + (a >>> 24);
      const i3 = 3 * 256 + (b & 0xff);
      const i2 = 2 * 256 + ((b >>> 8) & 0xff);
      const i1 = 256 + ((b >>> 16) & 0xff);
      const i0 = b >>> 24;
      lo = LO[i7]! ^ LO[i6]! ^ LO[i5]! ^ LO[i4]! ^ LO[i3]! ^ LO[i2]! ^ LO[i1]! ^ LO[i0]!;
      hi = HI[i7]! ^ HI[i6]! ^ HI[i5]! ^ HI[i4]! ^ HI[i3]! ^ HI[i2]! ^ HI[i1]! ^ HI[i0]!;
    }
    this.hi = hi;
    this.lo = lo;
    this.bytes(data, head + count * 4, data.length);
    return this;
  }

  /** Hashes `data[from, to)` a byte at a time. */
  private bytes(data: Uint8Array, from: number, to: number): void {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = from; i < to; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ LO[idx]!;
      hi = (hi >>> 8) ^ HI[idx]!;
    }
    this.hi = hi;
    this.lo = lo;
  }

  /** The CRC of everything passed to update so far, as a 64-bit unsigned value. */
  value(): bigint {
    return (BigInt((this.hi ^ 0xffffffff) >>> 0) << 32n) | BigInt((this.lo ^ 0xffffffff) >>> 0);
  }

  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return out;
  }
}

/** CRC-64/NVME of `data` in one call. */
export function crc64nvme(data: Uint8Array): bigint {
  return new Crc64Nvme().update(data).value();
}
