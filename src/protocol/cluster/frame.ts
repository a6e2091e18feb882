/**
 * Data frames of the cluster transport. One frame batches every envelope queued for a peer during one
 * turn of the event loop, so a burst of small messages costs one encode and one write. Layout, flat
 * for speed:
 *
 *   [version, kind, target, body, kind, target, body, ...]
 *
 *   kind MESSAGE: target is the path of the receiving actor, body the message (its `type` inside);
 *   kind REPLY:   target is the ask's correlation id, body the answer.
 *
 * Large byte strings (an object body, a chunk) do not go through the CBOR encoder: a top-level field
 * of a body holding one is sent as a CBOR tag SIDE_PAYLOAD_TAG whose value is an index, and the bytes
 * follow the frame as that many WebSocket messages of their own, in index order. The sender never
 * copies them and the receiver patches them back in before the frame is delivered.
 *
 * The sending node is the authenticated peer of the connection, so it is not repeated per envelope.
 */
import { Tag } from 'cbor-x';
import { decodeCbor, encodeCbor } from './cbor.js';
import { PROTOCOL_VERSION } from './version.js';

export const MESSAGE = 0;
export const REPLY = 1;

/** A tag number from the first-come-first-served range, unused by any registered CBOR extension. */
export const SIDE_PAYLOAD_TAG = 40_100;
/** Byte strings at least this large travel beside the frame. */
export const SIDE_PAYLOAD_MIN_BYTES = 64 * 1024;
/** Side payloads one frame may announce. */
export const MAX_SIDE_PAYLOADS = 4096;

export interface EncodedFrame {
  readonly frame: Buffer;
  /** Sent right after the frame, each as its own message, in this order. */
  readonly sidePayloads: readonly Uint8Array[];
}

export class FrameBuilder {
  private items: unknown[] = [PROTOCOL_VERSION];
  private sidePayloads: Uint8Array[] = [];

  get envelopeCount(): number {
    return (this.items.length - 1) / 3;
  }

  addMessage(path: string, body: unknown): void {
    this.items.push(MESSAGE, path, this.detach(body));
  }

  addReply(ask: number, body: unknown): void {
    this.items.push(REPLY, ask, this.detach(body));
  }

  /** The bodies queued so far (with their payloads), so a caller can fail requests that could not be sent. */
  bodies(): unknown[] {
    const bodies: unknown[] = [];
    for (let i = 3; i < this.items.length; i += 3) bodies.push(attach(this.items[i], this.sidePayloads));
    return bodies;
  }

  /** Moves the queued envelopes into a new builder and leaves this one empty. */
  take(): FrameBuilder {
    const taken = new FrameBuilder();
    taken.items = this.items;
    taken.sidePayloads = this.sidePayloads;
    this.items = [PROTOCOL_VERSION];
    this.sidePayloads = [];
    return taken;
  }

  encode(): EncodedFrame {
    return { frame: encodeCbor(this.items), sidePayloads: this.sidePayloads };
  }

  /** Halves a frame that turned out too large; each half keeps the side payloads it refers to. */
  split(): [FrameBuilder, FrameBuilder] {
    const half = Math.floor(this.envelopeCount / 2) * 3 + 1;
    const first = new FrameBuilder();
    const second = new FrameBuilder();
    for (let i = 1; i < this.items.length; i += 3) {
      const target = i < half ? first : second;
      if (this.items[i] === MESSAGE) target.addMessage(this.items[i + 1] as string, attach(this.items[i + 2], this.sidePayloads));
      else target.addReply(this.items[i + 1] as number, attach(this.items[i + 2], this.sidePayloads));
    }
    return [first, second];
  }

  /** Replaces the large byte strings at the top level of a body by side-payload tags. */
  private detach(body: unknown): unknown {
    return replaceFields(body, (value) => {
      if (!(value instanceof Uint8Array) || value.length < SIDE_PAYLOAD_MIN_BYTES) return undefined;
      this.sidePayloads.push(value);
      return new Tag(this.sidePayloads.length - 1, SIDE_PAYLOAD_TAG);
    });
  }
}

/** The body with its side-payload tags replaced by the bytes they stand for. */
function attach(body: unknown, sidePayloads: readonly Uint8Array[]): unknown {
  return replaceFields(body, (value) => (isSidePayloadTag(value) ? sidePayloads[value.value as number] : undefined));
}

/** Only the top-level fields of a plain object body can be side payloads (never a byte string's indices). */
function fieldsOf(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || body instanceof Uint8Array) return undefined;
  return body as Record<string, unknown>;
}

function isSidePayloadTag(value: unknown): value is Tag {
  return value instanceof Tag && value.tag === SIDE_PAYLOAD_TAG;
}

/** A copy of the body with the fields `replacement` gives a value for replaced; the body itself when none. */
function replaceFields(body: unknown, replacement: (value: unknown) => unknown): unknown {
  const fields = fieldsOf(body);
  if (!fields) return body;
  let replaced: Record<string, unknown> | undefined;
  for (const key in fields) {
    const value = replacement(fields[key]);
    if (value === undefined) continue;
    replaced ??= { ...fields };
    replaced[key] = value;
  }
  return replaced ?? body;
}

export interface FrameHandler {
  message(path: string, body: unknown): void;
  reply(ask: number, body: unknown): void;
}

/** A frame that has been read and checked, waiting for its side payloads before delivery. */
export interface ReadFrame {
  readonly items: readonly unknown[];
  /** How many side payloads must follow. */
  readonly sidePayloads: number;
}

export type FrameResult = { ok: true; frame: ReadFrame } | { ok: false; reason: string };

/**
 * Decodes and validates a whole frame, so that a frame malformed anywhere is refused as a unit before
 * any envelope is delivered.
 */
export function readFrame(bytes: Uint8Array): FrameResult {
  let items: unknown;
  try {
    items = decodeCbor(bytes);
  } catch (error) {
    return { ok: false, reason: `undecodable frame: ${(error as Error).message}` };
  }
  if (!Array.isArray(items) || items.length === 0) return { ok: false, reason: 'frame is not a non-empty array' };
  if (items[0] !== PROTOCOL_VERSION) return { ok: false, reason: `protocol version ${String(items[0])}, expected ${PROTOCOL_VERSION}` };
  if ((items.length - 1) % 3 !== 0) return { ok: false, reason: 'truncated envelope' };
  let sidePayloads = 0;
  for (let i = 1; i < items.length; i += 3) {
    const kind = items[i];
    const target = items[i + 1];
    if (kind === MESSAGE) {
      if (typeof target !== 'string' || !target.startsWith('/')) return { ok: false, reason: 'message envelope without a path' };
    } else if (kind === REPLY) {
      if (!Number.isSafeInteger(target)) return { ok: false, reason: 'reply envelope without an ask id' };
    } else {
      return { ok: false, reason: `unknown envelope kind ${String(kind)}` };
    }
    const fields = fieldsOf(items[i + 2]);
    for (const key in fields) {
      const value = fields[key];
      if (!isSidePayloadTag(value)) continue;
      if (value.value !== sidePayloads) return { ok: false, reason: 'side payloads out of order' };
      sidePayloads++;
    }
  }
  if (sidePayloads > MAX_SIDE_PAYLOADS) return { ok: false, reason: `${sidePayloads} side payloads announced` };
  return { ok: true, frame: { items, sidePayloads } };
}

/** Hands every envelope of a read frame, its side payloads in place, to `handler`. */
export function deliverFrame(frame: ReadFrame, sidePayloads: readonly Uint8Array[], handler: FrameHandler): void {
  const { items } = frame;
  for (let i = 1; i < items.length; i += 3) {
    const body = frame.sidePayloads > 0 ? attach(items[i + 2], sidePayloads) : items[i + 2];
    if (items[i] === MESSAGE) handler.message(items[i + 1] as string, body);
    else handler.reply(items[i + 1] as number, body);
  }
}
