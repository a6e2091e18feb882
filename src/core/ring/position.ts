/**
 * Positions on the 128-bit ring are MD5 digests as 32 lowercase hex characters: fixed width, so
 * plain string comparison is numeric comparison, and they read well in logs and `whereis`.
 */
import { hash } from 'node:crypto';

export type RingPosition = string;

export const RING_SIZE = 1n << 128n;

export function md5Position(text: string): RingPosition {
  // The one-shot form: every request hashes its key, and it costs a third of a Hash object.
  return hash('md5', text, 'hex');
}

/** Where an object lives on the ring; chunk objects hash their own chunk key. */
export function keyPosition(bucket: string, key: string): RingPosition {
  return md5Position(`${bucket}/${key}`);
}

/** Point `index` of the storage node known by `alias`; a replacement node reusing the alias inherits its points. */
export function vnodePosition(alias: string, index: number): RingPosition {
  return md5Position(`${alias}_${index}`);
}

export function isRingPosition(value: unknown): value is RingPosition {
  return typeof value === 'string' && /^[0-9a-f]{32}$/.test(value);
}

export function positionToBigInt(position: RingPosition): bigint {
  return BigInt(`0x${position}`);
}

export function bigIntToPosition(value: bigint): RingPosition {
  const wrapped = ((value % RING_SIZE) + RING_SIZE) % RING_SIZE;
  return wrapped.toString(16).padStart(32, '0');
}

/** Number of positions in the range (start, end]; a range that starts where it ends is the whole ring. */
export function rangeWidth(start: RingPosition, end: RingPosition): bigint {
  const width = (positionToBigInt(end) - positionToBigInt(start) + RING_SIZE) % RING_SIZE;
  return width === 0n ? RING_SIZE : width;
}

/** Whether `position` falls in (start, end], wrapping past the top of the ring. */
export function rangeContains(start: RingPosition, end: RingPosition, position: RingPosition): boolean {
  if (start < end) return start < position && position <= end;
  if (start > end) return position > start || position <= end;
  return true;
}
