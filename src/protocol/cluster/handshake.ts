/**
 * The handshake that opens every cluster connection: mutual proof of the shared cookie by HMAC over
 * fresh nonces from both sides, so the cookie never crosses the wire and a recorded handshake cannot be
 * replayed. The server speaks first:
 *
 *   server -> challenge { v, node, nonce }
 *   client -> auth      { v, node, address, nonce, proof = HMAC(cookie, "client", serverNonce, clientNonce, clientNode) }
 *   server -> welcome   { v, node, address, proof = HMAC(cookie, "server", clientNonce, serverNonce, serverNode) }
 *
 * `address` is where the sender accepts connections (host:port), or null for a node that only dials out
 * (the admin CLI), so peers learn each other's addresses without a shared file.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeCbor, encodeCbor } from './cbor.js';
import { PROTOCOL_VERSION } from './version.js';

export const NONCE_BYTES = 32;
const MAX_NODE_NAME_LENGTH = 255;

export interface Challenge {
  readonly t: 'challenge';
  readonly v: number;
  readonly node: string;
  readonly nonce: Uint8Array;
}

export interface Auth {
  readonly t: 'auth';
  readonly v: number;
  readonly node: string;
  readonly address: string | null;
  readonly nonce: Uint8Array;
  readonly proof: Uint8Array;
}

export interface Welcome {
  readonly t: 'welcome';
  readonly v: number;
  readonly node: string;
  readonly address: string | null;
  readonly proof: Uint8Array;
}

export type HandshakeMessage = Challenge | Auth | Welcome;

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

export function proofOf(cookie: string, role: 'client' | 'server', theirNonce: Uint8Array, ourNonce: Uint8Array, ourNode: string): Buffer {
  return createHmac('sha256', cookie).update(role).update(theirNonce).update(ourNonce).update(ourNode).digest();
}

export function proofMatches(expected: Buffer, actual: Uint8Array): boolean {
  return actual.length === expected.length && timingSafeEqual(expected, actual);
}

export function encodeHandshake(message: HandshakeMessage): Buffer {
  return encodeCbor(message);
}

export type HandshakeDecodeResult<T> = { ok: true; message: T } | { ok: false; reason: string };

/** Decodes the handshake message expected at this step; anything else is a reason to close. */
export function decodeHandshake<K extends HandshakeMessage['t']>(bytes: Uint8Array, expected: K): HandshakeDecodeResult<Extract<HandshakeMessage, { t: K }>> {
  let value: unknown;
  try {
    value = decodeCbor(bytes);
  } catch (error) {
    return { ok: false, reason: `undecodable handshake: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null) return { ok: false, reason: 'handshake is not a map' };
  const record = value as Record<string, unknown>;
  if (record.t !== expected) return { ok: false, reason: `expected ${expected}, got ${String(record.t)}` };
  if (record.v !== PROTOCOL_VERSION) return { ok: false, reason: `protocol version ${String(record.v)}, expected ${PROTOCOL_VERSION}` };
  if (typeof record.node !== 'string' || record.node.length === 0 || record.node.length > MAX_NODE_NAME_LENGTH) {
    return { ok: false, reason: 'invalid node name' };
  }
  if (expected !== 'challenge' && record.address !== null && typeof record.address !== 'string') return { ok: false, reason: 'invalid address' };
  if (expected !== 'welcome' && !(record.nonce instanceof Uint8Array && record.nonce.length === NONCE_BYTES)) return { ok: false, reason: 'invalid nonce' };
  if (expected !== 'challenge' && !(record.proof instanceof Uint8Array)) return { ok: false, reason: 'missing proof' };
  return { ok: true, message: value as Extract<HandshakeMessage, { t: K }> };
}
