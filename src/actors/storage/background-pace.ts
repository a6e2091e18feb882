/**
 * How fast a storage node's background work runs: repair queues, anti-entropy, rebalance hand-off,
 * compaction, purges and sweeps. Full speed normally; while the watchdog holds a throttling alarm, every
 * wait between two steps is stretched, even a step that would follow at once, and the hand-off's byte
 * rate is cut, so that clients get the node back.
 */
import type { Pace } from '../../runtime/self-timer.js';

/** Under throttling a step waits at least this long, however eager its worker: at most five a second. */
const THROTTLED_STEP_MS = 200;
/**
 * Work with no byte-rate limit (a rebalance, link shipping) is held to this times the factor while
 * throttled: what the default rebalance limit (20 MB/s) gives throttled, so lifting the default limit
 * never makes a throttled rebalance slower than keeping it.
 */
const THROTTLED_UNLIMITED_BYTES_PER_SEC = 20_000_000;

export class BackgroundPace implements Pace {
  private current = 1;
  private readonly listeners = new Set<() => void>();

  /** 1: full speed; below 1, the share of it (set by the watchdog). */
  get factor(): number {
    return this.current;
  }

  set(factor: number): void {
    const next = Math.min(1, Math.max(0.01, factor));
    if (next === this.current) return;
    this.current = next;
    for (const listener of [...this.listeners]) listener();
  }

  /** Paced timers re-arm when the pace changes, so a throttle takes effect, and lifts, at once. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get throttled(): boolean {
    return this.current < 1;
  }

  stretch(delayMs: number): number {
    return this.throttled ? Math.max(THROTTLED_STEP_MS, delayMs / this.current) : delayMs;
  }

  /** A byte rate (0: no limit) as it applies now. */
  rate(bytesPerSec: number): number {
    if (!this.throttled) return bytesPerSec;
    return (bytesPerSec > 0 ? bytesPerSec : THROTTLED_UNLIMITED_BYTES_PER_SEC) * this.current;
  }
}
