/**
 * Work a request starts but does not wait for (deleting the chunks of a replaced version, the records
 * of a completed upload). It is tracked so a stopping gateway can let it finish, bounded in number so
 * a burst of overwrites cannot pile up clean-ups without limit: past the bound, new work waits.
 */
import type { Clock, TimerHandle } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/logger.js';

export class BackgroundWork {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly maxRunning = 256,
  ) {}

  get size(): number {
    return this.running.size;
  }

  /** Starts `work` once there is room; resolves when it has started, never rejects. */
  async start(label: string, work: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.maxRunning) await Promise.race(this.running);
    const run: Promise<void> = Promise.resolve()
      .then(work)
      .catch((error: unknown) => this.log.error('background work failed', { work: label, error }))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Resolves when everything started so far has finished, or after `timeoutMs`. */
  async settle(timeoutMs: number): Promise<void> {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = this.clock.setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([Promise.allSettled([...this.running]).then(() => undefined), timeout]);
    } finally {
      timer?.cancel();
    }
  }
}
