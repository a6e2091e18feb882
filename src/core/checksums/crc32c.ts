/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), for S3's x-amz-checksum-crc32c. Slice-by-8,
 * taking the body four bytes at a time where the machine's byte order allows (see word-view.ts).
 */
import { buildCrc32Tables } from './crc32.js';
import { bytesToAlignment, LITTLE_ENDIAN, MIN_WORD_BYTES, wordsOf } from './word-view.js';

const TABLES = buildCrc32Tables(0x82f63b78);

function bytes(crc: number, data: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) crc = TABLES[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

/** CRC-32C of `data`, continuing from `previous` (the CRC of the bytes before it) when given. */
export function crc32c(data: Uint8Array, previous = 0): number {
  if (!LITTLE_ENDIAN || data.length < MIN_WORD_BYTES) return ~bytes(~previous, data, 0, data.length) >>> 0;
  const head = bytesToAlignment(data);
  let crc = bytes(~previous, data, 0, head);
  const count = ((data.length - head) >>> 3) << 1;
  const words = wordsOf(data, head, count);
  for (let k = 0; k < count; k += 2) {
    const a = crc ^ words[k]!;
    const b = words[k + 1]!;
    crc =
      TABLES[7 * 256 + (a & 0xff)]! ^ TABLES[6 * 256 + ((a >>> 8) & 0xff)]! ^ TABLES[5 * 256 + ((a >>> 16) & 0xff)]! ^ TABLES[4 * 256 + (a >>> 24)]! ^
      TABLES[3 * 256 + (b & 0xff)]! ^ TABLES[2 * 256 + ((b >>> 8) & 0xff)]! ^ TABLES[256 + ((b >>> 16) & 0xff)]! ^ TABLES[b >>> 24]!;
  }
  return ~bytes(crc, data, head + count * 4, data.length) >>> 0;
}
