/**
 * A log for events that outsiders can cause at will (connections refused, bad requests): the first
 * `maxLines` of each interval are written, the rest are only counted, and one summary line at the end of
 * the interval says how many were left out. A flood of connections must not become a flood of log lines
 * that fills the disk.
 */
import type { Clock, TimerHandle } from './clock.js';
import type { LogFields, Logger } from './logger.js';

export interface ThrottledLogOptions {
  /** Lines written per interval; the rest are counted. */
  readonly maxLines: number;
  readonly intervalMs: number;
  /** The message of the line that reports how many lines were left out. */
  readonly summary: string;
}

export class ThrottledLog {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private writtenInWindow = 0;
  private suppressed = 0;
  private summaryTimer: TimerHandle | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly options: ThrottledLogOptions,
  ) {}

  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }

  /** Reports what was left out so far now rather than at the end of the interval (on shutdown). */
  flush(): void {
    this.summaryTimer?.cancel();
    this.summaryTimer = undefined;
    this.writeSummary();
  }

  private write(level: 'warn' | 'info', message: string, fields: LogFields | undefined): void {
    const nowMs = this.clock.now();
    if (nowMs - this.windowStartMs >= this.options.intervalMs) {
      this.windowStartMs = nowMs;
      this.writtenInWindow = 0;
    }
    if (this.writtenInWindow < this.options.maxLines) {
      this.writtenInWindow++;
      this.logger[level](message, fields);
      return;
    }
    this.suppressed++;
    this.summaryTimer ??= this.clock.setTimeout(() => {
      this.summaryTimer = undefined;
      this.writeSummary();
    }, this.windowStartMs + this.options.intervalMs - nowMs);
  }

  private writeSummary(): void {
    if (this.suppressed === 0) return;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.logger.warn(this.options.summary, { suppressed, intervalMs: this.options.intervalMs });
  }
}
