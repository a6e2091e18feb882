/**
 * Byte layouts of the object store's LMDB keys. Keys are raw bytes compared by memcmp, so UTF-8 byte
 * order (S3's listing order) is the index order.
 *
 *   meta:       kind(1) bucket 0x00 key                      -> one record per object or chunk
 *   data:       kind(1) bucket 0x00 key 0x00 clock           -> the body of one version
 *   ring index: position(16) kind(1) bucket 0x00 key         -> clock; lets a vnode walk its range
 *
 * Bucket names never contain 0x00, so the first 0x00 ends the bucket; keys may contain anything.
 */
import { encodeHlc, type Hlc } from '../core/hlc.js';
import type { RingPosition } from '../core/ring/position.js';
import type { ObjectKind } from '../core/object-meta.js';

const KIND_BYTE: Record<ObjectKind, number> = { object: 0x6f /* o */, chunk: 0x63 /* c */, upload: 0x75 /* u */ };
const KIND_OF_BYTE = new Map<number, ObjectKind>(Object.entries(KIND_BYTE).map(([kind, byte]) => [byte, kind as ObjectKind]));
const POSITION_BYTES = 16;

export interface ObjectAddress {
  readonly kind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
}

export function metaKey(address: ObjectAddress): Buffer {
  // One allocation, the strings encoded in place: every record read or written builds its key.
  const bucketBytes = Buffer.byteLength(address.bucket, 'utf8');
  const out = Buffer.allocUnsafe(2 + bucketBytes + Buffer.byteLength(address.key, 'utf8'));
  out[0] = KIND_BYTE[address.kind];
  out.write(address.bucket, 1, 'utf8');
  out[1 + bucketBytes] = 0;
  out.write(address.key, 2 + bucketBytes, 'utf8');
  return out;
}

export function parseMetaKey(bytes: Uint8Array): ObjectAddress | undefined {
  const kind = KIND_OF_BYTE.get(bytes[0] ?? -1);
  const separator = bytes.indexOf(0, 1);
  if (!kind || separator < 0) return undefined;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return { kind, bucket: buffer.toString('utf8', 1, separator), key: buffer.toString('utf8', separator + 1) };
}

export function dataKey(address: ObjectAddress, clock: Hlc): Buffer {
  return Buffer.concat([metaKey(address), Buffer.from([0]), Buffer.from(encodeHlc(clock), 'utf8')]);
}

export function positionBytes(position: RingPosition): Buffer {
  return Buffer.from(position, 'hex');
}

export function ringIndexKey(position: RingPosition, address: ObjectAddress): Buffer {
  return Buffer.concat([positionBytes(position), metaKey(address)]);
}

export function parseRingIndexKey(bytes: Uint8Array): { position: RingPosition; address: ObjectAddress } | undefined {
  if (bytes.length < POSITION_BYTES + 2) return undefined;
  const address = parseMetaKey(bytes.subarray(POSITION_BYTES));
  if (!address) return undefined;
  return { position: Buffer.from(bytes.buffer, bytes.byteOffset, POSITION_BYTES).toString('hex'), address };
}

/** The range of every record of `kind`, in every bucket: [start, end). */
export function kindScanRange(kind: ObjectKind): { readonly start: Buffer; readonly end: Buffer } {
  const byte = KIND_BYTE[kind];
  return { start: Buffer.from([byte]), end: Buffer.from([byte + 1]) };
}

/** The first key of `kind`/`bucket` at or after `key` (the start of a listing scan). */
export function bucketScanStart(kind: ObjectKind, bucket: string, key: string): Buffer {
  return metaKey({ kind, bucket, key });
}

/**
 * `bucketStart` (a `bucketScanStart` at '') followed by `key`: the same key as `bucketScanStart`, for
 * scans that start many times in one bucket (a delimiter listing starts anew at each common prefix).
 */
export function scanStartAt(bucketStart: Buffer, key: string): Buffer {
  const out = Buffer.allocUnsafe(bucketStart.length + Buffer.byteLength(key, 'utf8'));
  bucketStart.copy(out, 0);
  out.write(key, bucketStart.length, 'utf8');
  return out;
}

/** The key just past every key of `kind`/`bucket`. */
export function bucketScanEnd(kind: ObjectKind, bucket: string): Buffer {
  const start = metaKey({ kind, bucket, key: '' });
  start[start.length - 1] = 1;
  return start;
}

/** The smallest 16-byte position strictly greater than `position`, or undefined past the top. */
export function positionAfter(position: RingPosition): Buffer | undefined {
  const bytes = positionBytes(position);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      bytes[i]!++;
      return bytes;
    }
    bytes[i] = 0;
  }
  return undefined;
}
