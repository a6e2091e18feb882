/**
 * Reading a byte array four bytes at a time. Table-driven CRCs that load 32-bit words through an
 * Int32Array run about three times the speed of ones that assemble each word from four byte loads;
 * the word order they expect is little-endian, so on a big-endian machine they keep to bytes.
 */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Inputs shorter than this are hashed a byte at a time: a word view costs more than it saves. */
export const MIN_WORD_BYTES = 64;

/** Bytes from the start of `data` to its first 4-byte-aligned byte (at most its length). */
export function bytesToAlignment(data: Uint8Array): number {
  return Math.min(data.length, (4 - (data.byteOffset & 3)) & 3);
}

/** `words` 32-bit words of `data` from byte `from`, which must be 4-byte aligned in its buffer. */
export function wordsOf(data: Uint8Array, from: number, words: number): Int32Array {
  return new Int32Array(data.buffer, data.byteOffset + from, words);
}
