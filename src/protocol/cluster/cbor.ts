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

/** Throws on malformed input; callers at the edge catch and close the connection. */
export function decodeCbor(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}
