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
}

const STEADY: Pace = { stretch: (delayMs) => delayMs };

export class SelfTimer<M extends Message> {
  private handle: TimerHandle | undefined;

  constructor(
    private readonly ctx: ActorContext<M>,
    private readonly message: M,
    private readonly pace: Pace = STEADY,
  ) {}

  schedule(requestedMs: number): void {
    const delayMs = this.pace.stretch(requestedMs);
    this.handle?.cancel();
    this.handle = this.ctx.clock.setTimeout(() => {
      this.handle = undefined;
      this.ctx.system.dispatch(this.ctx.self, this.message);
    }, delayMs);
  }

  cancel(): void {
    this.handle?.cancel();
    this.handle = undefined;
  }
}
