/**
 * A message delivered on an operator's behalf (`leofs shell`'s send). If the actor's handler throws or
 * rejects on it, the actor does not crash: the asker is answered BadMessage with the error, a warning
 * is logged, and the actor goes on with the state it had before the message. Whatever the handler
 * changed in place before it threw stays changed; the guard keeps a typo from restarting an actor
 * (and losing what it holds in memory), it cannot undo half a handler.
 */
import type { Message } from './refs.js';

export class GuardedMessage {
  constructor(readonly message: Message) {}
}

/** The message itself, whether or not it travels guarded. */
export function unguarded(message: unknown): unknown {
  return message instanceof GuardedMessage ? message.message : message;
}
