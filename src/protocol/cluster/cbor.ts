/**
 * The one CBOR configuration of the cluster protocol: plain maps (no cbor-x record extension, so any
 * CBOR implementation can read our frames), byte strings decoded as views into the frame (no copy).
 */
import { Decoder, Encoder } from 'cbor-x';

const encoder = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false });

export function encodeCbor(value: unknown): Buffer {
  return encoder.encode(value);
}

/**
 * Throws on malformed input; callers at the edge catch and close the connection.
 *
 * Short text strings of a frame may come out as slices of one string that holds a whole run of the
 * frame's bytes (cbor-x's native string extraction), about 1.3 KiB: a string kept long after the
 * frame keeps that run alive with it. Keep `ownCopy` of such a string, or `ownRecord` of such a record.
 */
export function decodeCbor(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

/** A string equal to `text` (unit for unit, lone surrogates too) that shares no memory with the frame it was decoded from. */
export function ownCopy(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}

/** A deep copy of a decoded record (plain objects, arrays, strings, numbers) whose texts share no memory with its frame. */
export function ownRecord<T>(record: T): T {
  return structuredClone(record);
}
