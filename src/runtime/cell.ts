/**
 * An actor cell: the stable identity behind a path, across the incarnations a supervisor restarts.
 * Each incarnation is one nact actor; the cell holds messages while no incarnation can take them, so a
 * restart loses nothing that was queued, and it answers a request whose handler crashed.
 *
 * This file and system.ts are the only places that touch nact.
 */
import { dispatch as nactDispatch, spawn as nactSpawn, stop as nactStop } from 'nact';
import type { Ref } from 'nact';
import type { ActorApi, ActorContext, Behavior } from './actor.js';
import type { Clock, TimerHandle } from './clock.js';
import { deferred, type Deferred } from './deferred.js';
import type { RuntimeFailureCode } from './failures.js';
import { GuardedMessage } from './guarded.js';
import type { Logger } from './logger.js';
import type { ActorRef, Message } from './refs.js';

/**
 * What one incarnation holds outside its state: timers set through its context's clock and cleanups
 * registered with onEnd. All end with the incarnation, so a crashed actor leaves nothing firing.
 */
class IncarnationScope {
  private readonly timers = new Set<TimerHandle>();
  private readonly cleanups: Array<() => void> = [];
  private ended = false;
  readonly clock: Clock;

  constructor(base: Clock, private readonly log: Logger) {
    const track = (schedule: (callback: () => void) => TimerHandle, repeating: boolean): TimerHandle => {
      const handle: TimerHandle = {
        cancel: () => {
          inner.cancel();
          this.timers.delete(handle);
        },
      };
      const inner = schedule(() => {
        if (!repeating) this.timers.delete(handle);
      });
      if (this.ended) inner.cancel();
      else this.timers.add(handle);
      return handle;
    };
    this.clock = {
      now: () => base.now(),
      elapsed: () => base.elapsed(),
      setTimeout: (callback, delayMs) => track((done) => base.setTimeout(() => (done(), callback()), delayMs), false),
      setInterval: (callback, periodMs) => track(() => base.setInterval(callback, periodMs), true),
    };
  }

  onEnd(cleanup: () => void): void {
    if (this.ended) this.run(cleanup);
    else this.cleanups.push(cleanup);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const timer of [...this.timers]) timer.cancel();
    for (const cleanup of this.cleanups.splice(0)) this.run(cleanup);
  }

  private run(cleanup: () => void): void {
    try {
      cleanup();
    } catch (error) {
      this.log.warn('cleanup failed', { error });
    }
  }
}

/** Delivered first to every incarnation: waits out the restart backoff, then runs `init`. */
class InitSignal {
  constructor(readonly delayMs: number) {}
}

/** Queued behind the messages already in the mailbox: an orderly stop. */
class TerminateSignal {}

/**
 * Handed to nact while messages wait in the cell's queue. nact runs one mailbox item per turn of the
 * event loop, so the cell lets one item handle a batch of messages in order: a busy actor then answers
 * a burst in one turn, and the transport sends those answers in one frame instead of one each.
 */
class DrainSignal {}
const DRAIN = new DrainSignal();
/** Messages handled in one turn before the actor lets the rest of the node run. */
const MAX_BATCH = 256;

const isSignal = (message: unknown): boolean => message instanceof InitSignal || message instanceof TerminateSignal || message instanceof DrainSignal;

export type CellStatus = 'running' | 'stopping' | 'restarting' | 'stopped';

export interface CellHost {
  readonly api: ActorApi;
  readonly clock: Clock;
  readonly maxHeldMessages: number;
  readonly maxMailboxMessages: number;
  /** Answers a request message with a runtime failure (a no-op for messages that expect no answer). */
  failRequest(message: unknown, code: RuntimeFailureCode, text: string): void;
  /** An incarnation crashed; its supervisor decides what happens next. */
  cellCrashed(cell: ActorCell, incarnation: number, reason: unknown): void;
}

export type AnyBehavior = Behavior<unknown, Message>;

/** The last crash of a cell: when, and why, as the error said. */
export interface CrashRecord {
  readonly atMs: number;
  readonly reason: string;
}

/** What an operator sees of one actor: its path, state, queue and crash history. */
export interface ActorStats {
  readonly path: string;
  readonly status: CellStatus;
  readonly incarnation: number;
  /** Messages waiting: in the running incarnation's queue, or held for the next one. */
  readonly mailbox: number;
  /** Incarnations that crashed. */
  readonly crashes: number;
  readonly lastCrash: CrashRecord | null;
}

interface NactMailboxEntry {
  readonly message: unknown;
}

export class ActorCell {
  status: CellStatus = 'stopped';
  incarnation = 0;
  readonly ref: ActorRef<Message>;
  readonly log: Logger;
  private current: Ref<unknown> | undefined;
  private held: unknown[] = [];
  /** Messages for the running incarnation, handled by drain signals; `queueHead` is the next one. */
  private queue: unknown[] = [];
  private queueHead = 0;
  /** A drain signal is in nact's mailbox or being handled. */
  private draining = false;
  private lastOverflowLogMs = 0;
  /** The message being handled, so that a crash can answer it. */
  private inFlight: { readonly message: unknown } | undefined;
  private started: Deferred<void> | undefined;
  private scope: IncarnationScope | undefined;
  private stopping: { readonly done: Deferred<void>; readonly then: 'stopped' | 'restarting' } | undefined;
  private crashes = 0;
  private lastCrash: CrashRecord | null = null;
  /** The running incarnation's restart backoff, while it waits one out. */
  private backoff: { readonly cancel: () => void } | undefined;

  constructor(
    private readonly host: CellHost,
    readonly path: string,
    readonly name: string,
    readonly behavior: AnyBehavior,
    readonly parent: ActorCell | undefined,
    logger: Logger,
  ) {
    this.ref = { node: host.api.node, path };
    this.log = logger.child({ actor: path });
  }

  stats(): ActorStats {
    return {
      path: this.path,
      status: this.status,
      incarnation: this.incarnation,
      mailbox: this.queue.length - this.queueHead + this.held.length,
      crashes: this.crashes,
      lastCrash: this.lastCrash,
    };
  }

  /** The nact actor of the running incarnation, to spawn children under. */
  get nactRef(): Ref<unknown> | undefined {
    return this.current;
  }

  /**
   * Spawns a new incarnation under `parent`. Messages held since the last one are delivered after its
   * init. Resolves when init has finished or the incarnation crashed, whichever comes first.
   */
  start(parent: Ref<unknown>, delayMs: number): Promise<void> {
    const incarnation = ++this.incarnation;
    this.scope?.end();
    const scope = new IncarnationScope(this.host.clock, this.log);
    this.scope = scope;
    const ctx: ActorContext<Message> = { self: this.ref, system: this.host.api, log: this.log, clock: scope.clock, onEnd: (cleanup) => scope.onEnd(cleanup) };
    this.started = deferred<void>();
    this.current = nactSpawn(
      parent,
      (state: unknown, message: unknown) => this.handle(incarnation, ctx, state, message),
      this.name,
      { onCrash: (message, error, sctx) => this.crashed(incarnation, message, error, sctx.mailbox as unknown[], sctx.stop as symbol) },
    );
    this.status = 'running';
    nactDispatch(this.current, new InitSignal(delayMs));
    this.queue = this.held;
    this.queueHead = 0;
    this.held = [];
    this.draining = false;
    this.scheduleDrain();
    return this.started.promise;
  }

  deliver(message: unknown): void {
    switch (this.status) {
      case 'running':
        if (this.queue.length - this.queueHead >= this.host.maxMailboxMessages) {
          this.refuseOverflow(message);
          return;
        }
        this.queue.push(message);
        this.scheduleDrain();
        return;
      case 'stopping':
      case 'restarting':
        if (this.held.length < this.host.maxHeldMessages) this.held.push(message);
        else this.host.failRequest(message, 'Overloaded', `${this.path} is restarting and its queue is full`);
        return;
      case 'stopped':
        this.host.failRequest(message, 'NoProc', `${this.path} is not running`);
        return;
    }
  }

  /**
   * Orderly stop: the messages already queued are handled, then `terminate` runs. Messages that arrive
   * meanwhile are kept for the next incarnation (`then: 'restarting'`) or refused (`then: 'stopped'`).
   * An actor that does not stop within `timeoutMs` is stopped where it stands.
   */
  async terminate(then: 'stopped' | 'restarting', timeoutMs: number): Promise<void> {
    if (this.status === 'running' && this.current) {
      const done = deferred<void>();
      this.stopping = { done, then };
      this.status = 'stopping';
      nactDispatch(this.current, new TerminateSignal());
      // Still waiting out its restart backoff, it never started: it stops at once.
      if (this.backoff !== undefined) this.haltUnstarted();
      const timer = this.host.clock.setTimeout(() => done.resolve(), timeoutMs);
      await done.promise;
      timer.cancel();
      if (this.stopping?.done === done) {
        this.log.warn('actor did not stop in time; stopped where it stood', { timeoutMs });
        this.halt();
      }
    }
    this.stopping = undefined;
    this.status = then;
    if (then === 'stopped') this.refuseHeld('NoProc');
  }

  private async handle(incarnation: number, ctx: ActorContext<Message>, state: unknown, message: unknown): Promise<unknown> {
    if (message instanceof InitSignal) {
      if (message.delayMs > 0) {
        if (this.stopping !== undefined) {
          // Stopped before its backoff began: it never starts.
          this.haltUnstarted();
          return state;
        }
        await this.waitOutBackoff(message.delayMs);
      }
      const initial = await this.behavior.init(ctx);
      if (incarnation === this.incarnation) this.started?.resolve();
      return initial;
    }
    if (message instanceof DrainSignal) return this.drain(ctx, state);
    if (message instanceof TerminateSignal) {
      try {
        await this.behavior.terminate?.(state, ctx);
      } catch (error) {
        this.log.warn('terminate failed', { error });
      }
      this.halt();
      return state;
    }
    return this.behavior.receive(state, message as Message, ctx);
  }

  /** Resolves once `delayMs` have passed; never, when the incarnation is halted first (see halt). */
  private waitOutBackoff(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const backoff = {
        cancel: (): void => {
          timer.cancel();
          if (this.backoff === backoff) this.backoff = undefined;
        },
      };
      const timer = this.host.clock.setTimeout(() => {
        backoff.cancel();
        resolve();
      }, delayMs);
      this.backoff = backoff;
    });
  }

  /** A full mailbox refuses: a request is answered Overloaded, a one-way message is dropped (and said so, now and then). */
  private refuseOverflow(message: unknown): void {
    this.host.failRequest(message, 'Overloaded', `${this.path} has ${this.host.maxMailboxMessages} messages waiting`);
    const nowMs = this.host.clock.now();
    if (nowMs - this.lastOverflowLogMs >= 1_000) {
      this.lastOverflowLogMs = nowMs;
      this.log.warn('mailbox full; refusing messages', { waiting: this.queue.length - this.queueHead });
    }
  }

  private scheduleDrain(): void {
    if (this.draining || !this.current || this.queueHead >= this.queue.length) return;
    this.draining = true;
    nactDispatch(this.current, DRAIN);
  }

  private async drain(ctx: ActorContext<Message>, state: unknown): Promise<unknown> {
    let next = state;
    for (let handled = 0; handled < MAX_BATCH && this.queueHead < this.queue.length; handled++) {
      const message = this.queue[this.queueHead];
      this.queue[this.queueHead++] = undefined;
      if (message instanceof GuardedMessage) {
        next = await this.receiveGuarded(next, message.message, ctx);
        continue;
      }
      this.inFlight = { message };
      next = await this.behavior.receive(next, message as Message, ctx);
      this.inFlight = undefined;
    }
    if (this.queueHead >= this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    }
    this.draining = false;
    this.scheduleDrain();
    return next;
  }

  /** A guarded message that fails is answered and logged; the actor keeps the state it had before it. */
  private async receiveGuarded(state: unknown, message: Message, ctx: ActorContext<Message>): Promise<unknown> {
    try {
      return await this.behavior.receive(state, message, ctx);
    } catch (error) {
      const reason = describeError(error);
      this.log.warn('a delivered message failed; the actor keeps running', { messageType: messageTypeOf(message), error });
      this.host.failRequest(message, 'BadMessage', `${this.path} failed on ${String(messageTypeOf(message))}: ${reason}`);
      return state;
    }
  }

  /** Takes the messages not yet handled out of the queue (to hold them, or to refuse them). */
  private takeQueued(): unknown[] {
    const rest = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    this.draining = false;
    return rest;
  }

  /** Halts an incarnation that never ran init, so runs no terminate either. */
  private haltUnstarted(): void {
    this.started?.resolve();
    this.halt();
  }

  private halt(): void {
    // A halted incarnation never ends its backoff: its init must not run.
    this.backoff?.cancel();
    this.held = [...this.takeQueued(), ...this.held];
    this.scope?.end();
    const current = this.current;
    this.current = undefined;
    if (current) nactStop(current);
    this.stopping?.done.resolve();
    this.stopping = undefined;
  }

  private crashed(incarnation: number, message: unknown, error: unknown, mailbox: unknown[], stop: symbol): symbol {
    if (incarnation !== this.incarnation) return stop;
    const phase = message instanceof InitSignal ? 'init' : message instanceof TerminateSignal ? 'terminate' : 'receive';
    const failing = message instanceof DrainSignal ? this.inFlight?.message : message;
    this.inFlight = undefined;
    this.log.error('actor crashed', { phase, messageType: messageTypeOf(failing), error });
    this.crashes++;
    this.lastCrash = { atMs: this.host.clock.now(), reason: describeError(error) };
    this.host.failRequest(failing, 'Crashed', `${this.path} crashed while handling the request`);
    const pending = (mailbox as NactMailboxEntry[]).map((entry) => entry.message).filter((queued) => !isSignal(queued));
    this.held = [...pending, ...this.takeQueued(), ...this.held];
    this.scope?.end();
    this.current = undefined;
    this.started?.resolve();
    if (this.stopping) {
      // A crash while being stopped on purpose completes the stop; the supervisor asked for it.
      this.stopping.done.resolve();
      this.stopping = undefined;
      return stop;
    }
    this.status = 'restarting';
    this.host.cellCrashed(this, incarnation, error);
    return stop;
  }

  private refuseHeld(code: RuntimeFailureCode): void {
    const held = this.held;
    this.held = [];
    for (const message of held) this.host.failRequest(message, code, `${this.path} is not running`);
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function messageTypeOf(message: unknown): string | undefined {
  if (typeof message === 'object' && message !== null && typeof (message as Message).type === 'string') return (message as Message).type;
  return undefined;
}
