/**
 * Asks whose reply type comes from the message contract itself: a request names its message type and
 * fields, the helper adds `replyTo`, and the answer is typed as that message's `replyTo` says. An asker
 * can no longer pair a request with the wrong reply type.
 */
import type { ActorApi } from './actor.js';
import type { RuntimeFailure } from './failures.js';
import type { ActorRef, Message, ReplyTo } from './refs.js';

/** The message of type `T` in the union `M`. */
type MessageOf<M extends Message, T extends M['type']> = Extract<M, { readonly type: T }>;

/** What the message of type `T` is answered with. */
export type ReplyOf<M extends Message, T extends M['type']> = MessageOf<M, T> extends { readonly replyTo?: ReplyTo<infer R> } ? R : never;

/** The message of type `T` without its `replyTo`, which the ask fills in. */
export type RequestOf<M extends Message, T extends M['type']> = MessageOf<M, T> extends infer Each ? (Each extends unknown ? Omit<Each, 'replyTo'> : never) : never;

/** Asks `ref` with `request`; the answer or a runtime failure (NodeDown, Timeout, ...). */
export function ask<M extends Message, T extends M['type']>(
  system: ActorApi,
  ref: ActorRef<M>,
  body: RequestOf<M, T> & { readonly type: T },
  timeoutMs: number,
): Promise<ReplyOf<M, T> | RuntimeFailure> {
  return system.ask<M, ReplyOf<M, T>>(ref, (replyTo) => ({ ...body, replyTo }) as unknown as M, timeoutMs);
}

/** `ask` for a large message (about `sizeBytes`): waits until the link to the target has room. */
export function askWhenWritable<M extends Message, T extends M['type']>(
  system: ActorApi,
  ref: ActorRef<M>,
  body: RequestOf<M, T> & { readonly type: T },
  timeoutMs: number,
  sizeBytes: number,
): Promise<ReplyOf<M, T> | RuntimeFailure> {
  return system.askWhenWritable<M, ReplyOf<M, T>>(ref, (replyTo) => ({ ...body, replyTo }) as unknown as M, timeoutMs, sizeBytes);
}
