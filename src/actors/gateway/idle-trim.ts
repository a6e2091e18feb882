/**
 * When a keeper of idle buffers lets them all go: once none was taken for `idleMs`. Its timer runs only
 * while something is kept, so an idle gateway holds no timer.
 */
import type { Clock, TimerHandle } from '../../runtime/clock.js';

export class IdleTrim {
  private lastTakenMs = 0;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly idleMs: number,
    /** Lets go of everything kept. */
    private readonly letGoAll: () => void,
    /** Whether anything is kept now. */
    private readonly keepsAny: () => boolean,
  ) {}

  /** A buffer was taken: the idle time starts again. */
  taken(): void {
    this.lastTakenMs = this.clock.now();
  }

  /** A buffer was kept: the trim is due once the idle time has passed. */
  kept(): void {
    this.timer ??= this.clock.setTimeout(() => this.trim(), this.idleMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private trim(): void {
    this.timer = undefined;
    const idleForMs = this.clock.now() - this.lastTakenMs;
    if (idleForMs >= this.idleMs) this.letGoAll();
    else if (this.keepsAny()) this.timer = this.clock.setTimeout(() => this.trim(), this.idleMs - idleForMs);
  }
}
