/**
 * Addresses of actors. A ref is plain data ({node, path}) so it crosses the wire unchanged and means the
 * same thing in every process; the message type is a compile-time phantom only.
 */
declare const messageType: unique symbol;
declare const replyType: unique symbol;

/** Anything an actor accepts: a readonly record tagged by `type`. */
export interface Message {
  readonly type: string;
}

export interface ActorRef<M extends Message> {
  readonly node: string;
  readonly path: string;
  /** Phantom: never present at run time. */
  readonly [messageType]?: (message: M) => void;
}

/** Where an ask's answer goes: the asking node and its correlation id. Travels inside the request message. */
export interface ReplyTo<R> {
  readonly node: string;
  readonly ask: number;
  readonly [replyType]?: (reply: R) => void;
}

export function actorRef<M extends Message>(node: string, path: string): ActorRef<M> {
  return { node, path };
}

export function isActorRef(value: unknown): value is ActorRef<Message> {
  return (
    typeof value === 'object' && value !== null &&
    typeof (value as { node?: unknown }).node === 'string' &&
    typeof (value as { path?: unknown }).path === 'string'
  );
}

export function isReplyTo(value: unknown): value is ReplyTo<unknown> {
  return (
    typeof value === 'object' && value !== null &&
    typeof (value as { node?: unknown }).node === 'string' &&
    Number.isSafeInteger((value as { ask?: unknown }).ask)
  );
}

/** The reply address inside a message, when the message is a request. */
export function replyToOf(message: unknown): ReplyTo<unknown> | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const replyTo = (message as { replyTo?: unknown }).replyTo;
  return isReplyTo(replyTo) ? replyTo : undefined;
}

export function formatRef(ref: { node: string; path: string }): string {
  return `${ref.path}@${ref.node}`;
}
