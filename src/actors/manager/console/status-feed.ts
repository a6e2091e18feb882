/**
 * The Cluster page's live feed (server-sent events): while at least one page listens, the admin
 * command `status` runs every few seconds and each listener is sent the result. One poll serves every
 * listener; a listener whose session has ended is let go; no listener, no polling.
 */
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../../../runtime/clock.js';
import type { Logger } from '../../../runtime/logger.js';
import type { ClusterView } from './cluster-view.js';

export interface StatusFeedOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly intervalMs: number;
  /** The cluster now, or why it cannot be told. */
  readonly read: () => Promise<{ readonly ok: true; readonly view: ClusterView } | { readonly ok: false; readonly code: string; readonly message: string }>;
  /** Whether the listener's session still holds. */
  readonly isLive: (sessionToken: string) => boolean;
  readonly maxListeners: number;
}

interface Listener {
  readonly res: ServerResponse;
  readonly sessionToken: string;
}

export class StatusFeed {
  private readonly listeners = new Set<Listener>();
  private timer: TimerHandle | undefined;
  private polling = false;
  /** A refresh asked for while a poll ran: that poll may have read the cluster before the change, so one more follows. */
  private again = false;

  constructor(private readonly options: StatusFeedOptions) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Starts the stream on `res`; false when there are too many listeners already (nothing written). */
  listen(res: ServerResponse, sessionToken: string, headers: Record<string, string>): boolean {
    if (this.listeners.size >= this.options.maxListeners) return false;
    const listener: Listener = { res, sessionToken };
    this.listeners.add(listener);
    res.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(`retry: ${this.options.intervalMs}\n\n`);
    res.on('close', () => this.drop(listener));
    if (this.timer === undefined) this.timer = this.options.clock.setInterval(() => void this.poll(), this.options.intervalMs);
    void this.poll();
    return true;
  }

  /** Tells every listener now, not at the next tick (the cluster was just changed from the console). */
  refresh(): void {
    if (this.listeners.size === 0) return;
    if (this.polling) this.again = true;
    else void this.poll();
  }

  close(): void {
    for (const listener of [...this.listeners]) listener.res.end();
    this.listeners.clear();
    this.stopTimer();
  }

  private drop(listener: Listener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    this.again = false;
    try {
      const read = await this.options.read();
      const event = read.ok ? `event: cluster\ndata: ${JSON.stringify(read.view)}\n\n` : `event: problem\ndata: ${JSON.stringify({ code: read.code, message: read.message })}\n\n`;
      for (const listener of [...this.listeners]) {
        if (!this.options.isLive(listener.sessionToken)) {
          listener.res.end('event: ended\ndata: {}\n\n');
          this.drop(listener);
        } else {
          listener.res.write(event);
        }
      }
    } catch (error) {
      this.options.logger.warn('the console could not read the cluster status', { error });
    } finally {
      this.polling = false;
    }
    if (this.again && this.listeners.size > 0) await this.poll();
  }
}
