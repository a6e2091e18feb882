/**
 * Bytes laid out by hand as RFC 4506 describes them, independent of the XDR code under test, and the
 * fuzzing both decoders' tests share.
 */
import { expect } from 'chai';
import { XdrError } from '../../../../src/protocol/nfs/xdr.js';
import { randomInt, seededRandom } from '../../core/seeded-random.js';

/** Big-endian 4-byte words. */
export function u32(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((value, i) => out.writeUInt32BE(value >>> 0, 4 * i));
  return out;
}

export function u64(value: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(value);
  return out;
}

/** Fixed-length opaque: the bytes, then zeroes to a multiple of four. */
export function fixed(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);
}

/** Variable-length opaque or string: the length word, then as `fixed`. */
export function opaque(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([u32(bytes.length), fixed(bytes)]);
}

export function bytes(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts);
}

export function joined(buffers: readonly Buffer[]): Buffer {
  return Buffer.concat(buffers);
}

export const FUZZ_SEED = 20_240_611;

/** Random byte strings up to `maxLength` long, some made of small words so that lengths and enums look plausible. */
export function randomInputs(seed: number, count: number, maxLength: number): Buffer[] {
  const next = seededRandom(seed);
  const inputs: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const length = randomInt(next, maxLength + 1);
    const input = Buffer.alloc(length);
    const smallWords = next() < 0.5;
    for (let j = 0; j < length; j++) input[j] = smallWords && j % 4 !== 3 ? 0 : randomInt(next, 256);
    if (smallWords) for (let j = 3; j < length; j += 4) input[j] = randomInt(next, 8);
    inputs.push(input);
  }
  return inputs;
}

/** Every proper prefix of a valid message, and the message with one byte changed at each position. */
export function damagedCopies(valid: Buffer, seed: number): Buffer[] {
  const next = seededRandom(seed);
  const copies: Buffer[] = [];
  for (let length = 0; length < valid.length; length++) copies.push(valid.subarray(0, length));
  for (let at = 0; at < valid.length; at++) {
    const copy = Buffer.from(valid);
    copy[at] = randomInt(next, 256);
    copies.push(copy);
  }
  return copies;
}

/** Runs a reader over inputs: whatever it returns, it may throw nothing but an XdrError. */
export function expectOnlyXdrErrors(inputs: readonly Buffer[], decode: (input: Buffer) => unknown, seed: number): void {
  inputs.forEach((input, i) => {
    try {
      decode(input);
    } catch (error) {
      if (!(error instanceof XdrError)) expect.fail(`seed ${seed}, input ${i} (${input.toString('hex')}): threw ${String(error)}`);
    }
  });
}

/** Runs a decoder that reports malformed input as data: it may throw nothing at all. */
export function expectNoThrow<T>(inputs: readonly Buffer[], decode: (input: Buffer) => T, seed: number): T[] {
  return inputs.map((input, i) => {
    try {
      return decode(input);
    } catch (error) {
      return expect.fail(`seed ${seed}, input ${i} (${input.toString('hex')}): threw ${String(error)}`);
    }
  });
}
