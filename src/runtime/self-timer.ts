/**
 * One pending wake-up that an actor sends itself: scheduling again replaces the pending one, so a
 * periodic worker never ends up with two chains of ticks. Its clock is the incarnation's, so the
 * wake-up dies with the incarnation. A background worker's timer has a pace, which the node's
 * watchdog slows when the node is under strain: every background loop slows in this one place.
 */
import type { ActorContext } from './actor.js';
import type { TimerHandle } from './clock.js';
import type { Message } from './refs.js';

/** Turns the delay a worker asks for into the one it gets. */
export interface Pace {
  stretch(delayMs: number): number;
  /** Calls `listener` when the pace changes, until the returned function is called. */
  onChange?(listener: () => void): () => void;
}

const STEADY: Pace = { stretch: (delayMs) => delayMs };

export class SelfTimer<M extends Message> {
  private handle: TimerHandle | undefined;
  /** What the pending wake-up was asked for, and when: a change of pace re-arms it from there. */
  private requestedMs = 0;
  private scheduledAtMs = 0;

  constructor(
    private readonly ctx: ActorContext<M>,
    private readonly message: M,
    private readonly pace: Pace = STEADY,
  ) {
    if (pace.onChange) ctx.onEnd(pace.onChange(() => this.repace()));
  }

  schedule(requestedMs: number): void {
    this.requestedMs = requestedMs;
    this.scheduledAtMs = this.ctx.clock.now();
    this.arm(this.pace.stretch(requestedMs));
  }

  cancel(): void {
    this.handle?.cancel();
    this.handle = undefined;
  }

  /** The pace changed: a wait begun at the old pace goes on at the new one (a long rest does not outlive a throttle). */
  private repace(): void {
    if (!this.handle) return;
    const remainingMs = Math.max(0, this.requestedMs - (this.ctx.clock.now() - this.scheduledAtMs));
    this.schedule(remainingMs);
  }

  private arm(delayMs: number): void {
    this.handle?.cancel();
    this.handle = this.ctx.clock.setTimeout(() => {
      this.handle = undefined;
      this.ctx.system.dispatch(this.ctx.self, this.message);
    }, delayMs);
  }
}
