/**
 * Data frames of the cluster transport. One WebSocket message carries one frame; a frame batches every
 * envelope queued for a peer during one turn of the event loop, so a burst of small messages costs one
 * encode and one write. Layout, flat for speed:
 *
 *   [version, kind, target, body, kind, target, body, ...]
 *
 *   kind MESSAGE: target is the path of the receiving actor, body the message (its `type` inside);
 *   kind REPLY:   target is the ask's correlation id, body the answer.
 *
 * The sending node is the authenticated peer of the connection, so it is not repeated per envelope.
 */
import { decodeCbor, encodeCbor } from './cbor.js';
import { PROTOCOL_VERSION } from './version.js';

export const MESSAGE = 0;
export const REPLY = 1;

export class FrameBuilder {
  private items: unknown[] = [PROTOCOL_VERSION];

  get envelopeCount(): number {
    return (this.items.length - 1) / 3;
  }

  addMessage(path: string, body: unknown): void {
    this.items.push(MESSAGE, path, body);
  }

  addReply(ask: number, body: unknown): void {
    this.items.push(REPLY, ask, body);
  }

  /** The bodies queued so far, so a caller can fail requests that could not be sent. */
  bodies(): unknown[] {
    const bodies: unknown[] = [];
    for (let i = 3; i < this.items.length; i += 3) bodies.push(this.items[i]);
    return bodies;
  }

  /** Moves the queued envelopes into a new builder and leaves this one empty. */
  take(): FrameBuilder {
    const taken = new FrameBuilder();
    taken.items = this.items;
    this.items = [PROTOCOL_VERSION];
    return taken;
  }

  encode(): Buffer {
    return encodeCbor(this.items);
  }

  /** Halves a frame that turned out too large. */
  split(): [FrameBuilder, FrameBuilder] {
    const half = Math.floor(this.envelopeCount / 2) * 3 + 1;
    const first = new FrameBuilder();
    const second = new FrameBuilder();
    first.items.push(...this.items.slice(1, half));
    second.items.push(...this.items.slice(half));
    return [first, second];
  }
}

export interface FrameHandler {
  message(path: string, body: unknown): void;
  reply(ask: number, body: unknown): void;
}

export type FrameResult = { ok: true; envelopes: number } | { ok: false; reason: string };

/**
 * Decodes and validates a whole frame before handing any envelope on, so a frame that is malformed
 * anywhere is refused as a unit.
 */
export function readFrame(bytes: Uint8Array, handler: FrameHandler): FrameResult {
  let items: unknown;
  try {
    items = decodeCbor(bytes);
  } catch (error) {
    return { ok: false, reason: `undecodable frame: ${(error as Error).message}` };
  }
  if (!Array.isArray(items) || items.length === 0) return { ok: false, reason: 'frame is not a non-empty array' };
  if (items[0] !== PROTOCOL_VERSION) return { ok: false, reason: `protocol version ${String(items[0])}, expected ${PROTOCOL_VERSION}` };
  if ((items.length - 1) % 3 !== 0) return { ok: false, reason: 'truncated envelope' };
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
  }
  for (let i = 1; i < items.length; i += 3) {
    if (items[i] === MESSAGE) handler.message(items[i + 1] as string, items[i + 2]);
    else handler.reply(items[i + 1] as number, items[i + 2]);
  }
  return { ok: true, envelopes: (items.length - 1) / 3 };
}
