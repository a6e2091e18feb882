/**
 * Time as a collaborator: production code gets the system clock, tests a manual one they advance by hand.
 * Every wait in the runtime goes through this interface so that timeouts are testable without sleeping.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch: wall time, which may be stepped forward or back. */
  now(): number;
  /** Milliseconds on a clock that is never stepped, from an arbitrary origin: for durations. */
  elapsed(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  setInterval(callback: () => void, periodMs: number): TimerHandle;
}

class NodeTimer implements TimerHandle {
  constructor(private readonly timer: NodeJS.Timeout, private readonly repeating: boolean) {}

  cancel(): void {
    if (this.repeating) clearInterval(this.timer);
    else clearTimeout(this.timer);
  }

  /** Lets the process exit while this timer is pending. */
  unref(): this {
    this.timer.unref();
    return this;
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  elapsed: () => performance.now(),
  setTimeout: (callback, delayMs) => new NodeTimer(setTimeout(callback, delayMs), false),
  setInterval: (callback, periodMs) => new NodeTimer(setInterval(callback, periodMs), true),
};

interface ManualTimer {
  readonly id: number;
  dueMs: number;
  readonly periodMs: number | undefined;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to; timers fire in due order during `advance`. Its wall time can
 * also `jump` (as a system clock stepped by hand or by NTP), which moves what `now` reads but, as with
 * real timers, not when timers fall due.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  /** How far the wall time has been stepped away from the time timers run by. */
  private steppedMs = 0;
  private nextId = 1;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs + this.steppedMs;
  }

  elapsed(): number {
    return this.nowMs;
  }

  /** Steps the wall time forward (or back, for a negative `ms`); timers keep their schedule. */
  jump(ms: number): void {
    this.steppedMs += ms;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    return this.schedule(callback, delayMs, undefined);
  }

  setInterval(callback: () => void, periodMs: number): TimerHandle {
    return this.schedule(callback, periodMs, Math.max(1, periodMs));
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      if (next.periodMs === undefined) this.timers.delete(next.id);
      else next.dueMs += next.periodMs;
      next.callback();
    }
    this.nowMs = target;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  private schedule(callback: () => void, delayMs: number, periodMs: number | undefined): TimerHandle {
    const timer: ManualTimer = { id: this.nextId++, dueMs: this.nowMs + Math.max(0, delayMs), periodMs, callback, cancelled: false };
    this.timers.set(timer.id, timer);
    return { cancel: () => { timer.cancelled = true; this.timers.delete(timer.id); } };
  }

  private nextDue(limitMs: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.timers.values()) {
      if (timer.dueMs > limitMs) continue;
      if (!best || timer.dueMs < best.dueMs || (timer.dueMs === best.dueMs && timer.id < best.id)) best = timer;
    }
    return best;
  }
}

/**
 * Whether something `ageMs` old by the wall clock is still within `maxAgeMs`. A negative age means the
 * wall clock was stepped back since: the age is unknown, and the thing is taken as expired, so that a
 * clock stepped back by minutes does not keep a cache or a pause alive for those minutes.
 */
export function isFresh(ageMs: number, maxAgeMs: number): boolean {
  return ageMs >= 0 && ageMs < maxAgeMs;
}
