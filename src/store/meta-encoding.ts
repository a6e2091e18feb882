/**
 * How the `meta` table's records are encoded (store-format.ts says which formats a store holds).
 *
 * Format 1 is msgpackr's default, lmdb-js's own: every record carries its own record definition, the
 * names of all its fields, so a record of an empty object takes about 300 bytes, and decoding one means
 * reading those names and building a reader for them (about 1.5 µs, half of a listing's time on a node).
 * Format 2 takes about 180 bytes and a third of the time.
 *
 * Format 2 writes the fields every record has by position, in a msgpack array led by the format number,
 * and the others (rarer: headers, checksums, versions, ACLs, ...) after them as a plain map, present
 * only when there are any:
 *
 *   [2, bucket, key, sizeBytes, etag, contentType, userMeta, clock.wallMs, clock.counter, clock.node,
 *    lastModifiedMs, ringChecksum, deleted, rest?]
 *
 * Format 3 is format 2 without what the record's LMDB key already says, and with the commonest values
 * in fewer bytes: a record of an empty object in a listing benchmark's bucket takes 78 bytes instead of
 * 144, and decodes as fast. (An MD5 etag written as its 16 bytes would save 16 more, but turning them
 * back into hex took longer than decoding the rest of the record.)
 *
 *   [3, sizeBytes, etag, contentType, userMeta, clock.wallMs, clock.counter, clock.node,
 *    lastModifiedMs, ringChecksum, deleted, rest?]
 *
 * - bucket and key are not written: a record is only ever stored under its own address (store-keys.ts),
 *   and its reader fills them in from that key (`fillAddress`). Until then they hold ADDRESS_FROM_KEY.
 * - contentType: 0 for `application/octet-stream`, S3's default; any other as its text.
 * - lastModifiedMs: nil when it equals clock.wallMs, as it does for most writes.
 *
 * Format 1 records never are arrays (a metadata record is an object), so a record says which format
 * it is in by its first byte and, for an array, its first element; a store may hold all three. Values
 * that are not metadata records are written in format 1 whatever the format chosen.
 */
import { Packr } from 'msgpackr';
import type { ObjectMeta } from '../core/object-meta.js';

/** The formats a meta record may be written in. */
export type MetaFormat = 1 | 2 | 3;

/** What a store writes unless told otherwise. */
export const DEFAULT_META_FORMAT: MetaFormat = 3;

/** What a format 3 record's bucket and key hold until its reader fills them in from the record's key. */
export const ADDRESS_FROM_KEY: unique symbol = Symbol('address from the record key');

/**
 * What lmdb-js takes as a table's encoder. With `copyBuffers` set it passes msgpackr's buffer modes to
 * `encode`, and may keep pointing into msgpackr's buffer until its transaction commits: an encoding
 * must leave earlier ones in place (msgpackr's reuse mode moves on past them; only a reset, which
 * lmdb-js asks for inside a synchronous transaction once it copied the bytes, starts over).
 */
export interface TableEncoder {
  readonly copyBuffers: true;
  encode(value: unknown, mode?: number): Buffer;
  /** `end`: lmdb-js may hand over a larger buffer and the length of the value in it (or options). */
  decode(bytes: Uint8Array, end?: number | object): unknown;
}

/** Format 1: what lmdb-js configures for a table of its own accord. */
const recordPackr = new Packr({ copyBuffers: true });
/** Format 2: arrays and plain maps, no record definitions. */
const positionalPackr = new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true });

const FORMAT_2 = 2;
const FORMAT_3 = 3;
/** Fields written by position; the rest go in the trailing map. */
const POSITIONAL_FIELDS: ReadonlySet<string> = new Set(['bucket', 'key', 'sizeBytes', 'etag', 'contentType', 'userMeta', 'clock', 'lastModifiedMs', 'ringChecksum', 'deleted']);
const FIXED_LENGTH = 13;
const FIXED_LENGTH_3 = 11;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export function metaEncoder(writeFormat: MetaFormat): TableEncoder {
  const encodeRecord = writeFormat === 3 ? encodeFormat3 : encodeFormat2;
  return {
    copyBuffers: true,
    encode: (value, mode) => (writeFormat !== 1 && isPositional(value) ? encodeRecord(value, mode) : recordPackr.pack(value, mode)),
    decode: (bytes, end) => (isArrayHead(bytes[0]) ? decodePositional(positionalPackr.unpack(bytes, end)) : recordPackr.unpack(bytes, end)),
  };
}

/**
 * Gives a record read from the `meta` table the bucket and key its LMDB key says, where its format
 * left them out; any other value is left as it is. `address` is asked only when they are needed.
 */
export function fillAddress(value: unknown, address: () => { readonly bucket: string; readonly key: string } | undefined): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const record = value as { bucket: unknown; key: unknown };
  if (record.bucket !== ADDRESS_FROM_KEY) return value;
  const found = address();
  // A key that names no address cannot complete the record: it stays one no reader takes.
  if (found === undefined) return value;
  record.bucket = found.bucket;
  record.key = found.key;
  return value;
}

/** A msgpack fixarray, array 16 or array 32. */
function isArrayHead(byte: number | undefined): boolean {
  return byte !== undefined && ((byte & 0xf0) === 0x90 || byte === 0xdc || byte === 0xdd);
}

/** A metadata record whose positional fields have the types that position keeps. */
function isPositional(value: unknown): value is ObjectMeta {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const meta = value as Partial<ObjectMeta>;
  const clock = meta.clock;
  return (
    typeof meta.bucket === 'string' && typeof meta.key === 'string' && typeof meta.sizeBytes === 'number' &&
    typeof meta.etag === 'string' && typeof meta.contentType === 'string' &&
    typeof meta.userMeta === 'object' && meta.userMeta !== null && !Array.isArray(meta.userMeta) &&
    typeof clock === 'object' && clock !== null && Object.keys(clock).length === 3 &&
    typeof clock.wallMs === 'number' && typeof clock.counter === 'number' && typeof clock.node === 'string' &&
    typeof meta.lastModifiedMs === 'number' && typeof meta.ringChecksum === 'number' && typeof meta.deleted === 'boolean'
  );
}

function encodeFormat2(meta: ObjectMeta, mode: number | undefined): Buffer {
  const row: unknown[] = [
    FORMAT_2, meta.bucket, meta.key, meta.sizeBytes, meta.etag, meta.contentType, meta.userMeta,
    meta.clock.wallMs, meta.clock.counter, meta.clock.node, meta.lastModifiedMs, meta.ringChecksum, meta.deleted,
  ];
  return packWithRest(row, meta, mode);
}

function encodeFormat3(meta: ObjectMeta, mode: number | undefined): Buffer {
  const row: unknown[] = [
    FORMAT_3, meta.sizeBytes, meta.etag,
    meta.contentType === DEFAULT_CONTENT_TYPE ? 0 : meta.contentType, meta.userMeta,
    meta.clock.wallMs, meta.clock.counter, meta.clock.node,
    meta.lastModifiedMs === meta.clock.wallMs ? null : meta.lastModifiedMs, meta.ringChecksum, meta.deleted,
  ];
  return packWithRest(row, meta, mode);
}

/** The positional `row`, and after it the fields of `meta` it has no position for, if there are any. */
function packWithRest(row: unknown[], meta: ObjectMeta, mode: number | undefined): Buffer {
  // Built from entries, so that every name is a field of its own, `__proto__` too.
  const rest = Object.entries(meta).filter(([name]) => !POSITIONAL_FIELDS.has(name));
  if (rest.length > 0) row.push(Object.fromEntries(rest));
  return positionalPackr.pack(row, mode);
}

function decodePositional(row: unknown): unknown {
  if (!Array.isArray(row)) return row;
  if (row[0] === FORMAT_3 && (row.length === FIXED_LENGTH_3 || row.length === FIXED_LENGTH_3 + 1)) return decodeFormat3(row);
  // Anything else is not a record these formats write: handed on as it is, for the reader's check to refuse.
  if (row[0] !== FORMAT_2 || (row.length !== FIXED_LENGTH && row.length !== FIXED_LENGTH + 1)) return row;
  const meta = {
    bucket: row[1],
    key: row[2],
    sizeBytes: row[3],
    etag: row[4],
    contentType: row[5],
    userMeta: row[6],
    clock: { wallMs: row[7], counter: row[8], node: row[9] },
    lastModifiedMs: row[10],
    ringChecksum: row[11],
    deleted: row[12],
  };
  return withRest(meta, row[FIXED_LENGTH]);
}

function decodeFormat3(row: unknown[]): unknown {
  const wallMs: unknown = row[5];
  const meta = {
    bucket: ADDRESS_FROM_KEY as unknown,
    key: ADDRESS_FROM_KEY as unknown,
    sizeBytes: row[1],
    etag: row[2],
    contentType: row[3] === 0 ? DEFAULT_CONTENT_TYPE : row[3],
    userMeta: row[4],
    clock: { wallMs, counter: row[6], node: row[7] },
    lastModifiedMs: row[8] === null ? wallMs : row[8],
    ringChecksum: row[9],
    deleted: row[10],
  };
  return withRest(meta, row[FIXED_LENGTH_3]);
}

function withRest(meta: object, rest: unknown): object {
  // Assigned onto the record rather than spread into a new one: spreading took twice the whole decode.
  if (typeof rest === 'object' && rest !== null && !Array.isArray(rest)) Object.assign(meta, rest);
  return meta;
}
