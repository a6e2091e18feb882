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
 *
 * Before all this, the dialling node sends a ticket with its WebSocket upgrade request (see `issueTicket`).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeCbor, encodeCbor } from './cbor.js';
import { PROTOCOL_VERSION } from './version.js';

export const NONCE_BYTES = 32;
const MAX_NODE_NAME_LENGTH = 255;
/**
 * The largest handshake message accepted: two names and two 32-byte values fit several times over. It is
 * also what bounds the bytes a connection may send before it has proved the cookie.
 */
export const MAX_HANDSHAKE_BYTES = 2048;

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
  if (bytes.length > MAX_HANDSHAKE_BYTES) return { ok: false, reason: `handshake message of ${bytes.length} bytes (at most ${MAX_HANDSHAKE_BYTES})` };
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

/** The upgrade request header that carries a ticket. */
export const TICKET_HEADER = 'x-leofs-ticket';
/** How far a ticket's date may be from the listener's clock (clock skew and transit). */
export const TICKET_MAX_AGE_MS = 5 * 60_000;
const TICKET_NONCE_BYTES = 16;
const TICKET = /^(\d{1,15})\.([0-9a-f]{32})\.([0-9a-f]{64})$/;

/**
 * A ticket proves the cookie in the WebSocket upgrade request, before the handshake can start, so that a
 * listener flooded with connections can tell peers from strangers as soon as it has read the request.
 * It only earns the connection a place that strangers cannot take while the handshake runs; the handshake
 * still authenticates. Dated and single-use (the listener remembers the nonces it has seen), so a
 * recorded ticket cannot be replayed: `<issuedAtMs>.<nonce hex>.<HMAC(cookie, issuedAtMs, nonce) hex>`.
 */
export function issueTicket(cookie: string, nowMs: number, nonce: Uint8Array = randomBytes(TICKET_NONCE_BYTES)): string {
  const issued = String(Math.floor(nowMs));
  const nonceHex = Buffer.from(nonce).toString('hex');
  return `${issued}.${nonceHex}.${ticketProof(cookie, issued, nonceHex).toString('hex')}`;
}

export type TicketCheck = { ok: true; nonce: string; issuedAtMs: number } | { ok: false; reason: string };

/** Checks a ticket's form, date and proof; whether its nonce was seen before is the listener's to check. */
export function checkTicket(cookie: string, ticket: string, nowMs: number): TicketCheck {
  const match = TICKET.exec(ticket);
  if (!match) return { ok: false, reason: 'malformed ticket' };
  const [, issued, nonce, proof] = match as unknown as [string, string, string, string];
  const issuedAtMs = Number(issued);
  if (Math.abs(nowMs - issuedAtMs) > TICKET_MAX_AGE_MS) return { ok: false, reason: 'ticket out of date' };
  if (!proofMatches(ticketProof(cookie, issued, nonce), Buffer.from(proof, 'hex'))) return { ok: false, reason: 'ticket not made with the cluster cookie' };
  return { ok: true, nonce, issuedAtMs };
}

function ticketProof(cookie: string, issued: string, nonceHex: string): Buffer {
  return createHmac('sha256', cookie).update(`ticket\0${issued}\0${nonceHex}`).digest();
}
