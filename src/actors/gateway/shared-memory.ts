/**
 * Buffers in shared memory, which the gateway's digest threads read where they lie (digest-pool.ts),
 * and the copy into them.
 */

/** A buffer of `sizeBytes` in shared memory; its contents start zeroed. */
export function sharedBuffer(sizeBytes: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(sizeBytes));
}

/**
 * Copies `bytes` into `target` at `at`. V8 copies into a SharedArrayBuffer with relaxed atomic moves,
 * which cost a large upload's request thread more than a fifth of its time; `fill` with a buffer of
 * exactly the range's length is one plain memcpy in Node's native code.
 */
export function copyIntoShared(target: Buffer, at: number, bytes: Buffer): void {
  target.fill(bytes, at, at + bytes.length);
}
