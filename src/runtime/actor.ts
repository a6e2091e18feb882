/**
 * What an actor is, from the point of view of the code that implements one: a behaviour over a typed
 * message union, with its collaborators in a context. The runtime supplies mailbox, supervision and
 * addressing; behaviours never see nact.
 */
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { RuntimeFailure } from './failures.js';
import type { ActorRef, Message, ReplyTo } from './refs.js';

/** The operations an actor can perform on the actor system it lives in. */
export interface ActorApi {
  readonly node: string;
  dispatch<M extends Message>(ref: ActorRef<M>, message: M): void;
  ask<M extends Message, R>(ref: ActorRef<M>, build: (replyTo: ReplyTo<R>) => M, timeoutMs: number): Promise<R | RuntimeFailure>;
  /**
   * `ask` for a large message (about `sizeBytes`): first waits until the link to the target's node has
   * room for it below its high-water mark, so a slow peer makes the sender wait.
   */
  askWhenWritable<M extends Message, R>(ref: ActorRef<M>, build: (replyTo: ReplyTo<R>) => M, timeoutMs: number, sizeBytes: number): Promise<R | RuntimeFailure>;
  reply<R>(replyTo: ReplyTo<R>, value: R): void;
}

export interface ActorContext<M extends Message> {
  readonly self: ActorRef<M>;
  readonly system: ActorApi;
  readonly log: Logger;
  /** Timers set through this clock are cancelled when the incarnation ends (crash or stop). */
  readonly clock: Clock;
  /** Runs `cleanup` when this incarnation ends, crash or stop: for subscriptions made in init. */
  onEnd(cleanup: () => void): void;
}

export interface Behavior<S, M extends Message> {
  /**
   * The message tags this actor accepts from other nodes. A remote message with any other tag is
   * refused at the edge (and an ask gets BadMessage) instead of reaching `receive`.
   */
  readonly accepts: readonly M['type'][];
  /** Builds the state, from the actor's store when it has one; runs again on every restart. */
  init(ctx: ActorContext<M>): S | Promise<S>;
  /** Handles one message; the next message waits until the returned promise settles. */
  receive(state: S, message: M, ctx: ActorContext<M>): S | Promise<S>;
  /** Orderly shutdown (not called after a crash). */
  terminate?(state: S, ctx: ActorContext<M>): void | Promise<void>;
}
