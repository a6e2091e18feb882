/**
 * One pending wake-up that an actor sends itself: scheduling again replaces the pending one, so a
 * periodic worker never ends up with two chains of ticks. Its clock is the incarnation's, so the
 * wake-up dies with the incarnation.
 */
import type { ActorContext } from './actor.js';
import type { TimerHandle } from './clock.js';
import type { Message } from './refs.js';

export class SelfTimer<M extends Message> {
  private handle: TimerHandle | undefined;

  constructor(
    private readonly ctx: ActorContext<M>,
    private readonly message: M,
  ) {}

  schedule(delayMs: number): void {
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
