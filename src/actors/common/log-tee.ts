/**
 * The followers of a node's log (`leofs shell`'s follow). Each gets the lines written while its lease
 * runs, in batches, under a bound on lines per second and on bytes queued for it, so a follower that is
 * slow or gone costs the node a fixed amount of memory and little time; what does not fit is counted
 * and reported with the next batch. A follower renews its lease by following again; one that stops
 * (a shell killed, a link cut) is dropped once its lease lapses.
 */
import type { LogLinesMessage } from '../../protocol/cluster/node-info.js';
import type { ActorRef } from '../../runtime/refs.js';

export interface LogTeeLimits {
  readonly maxFollowers: number;
  /** Lines per second sent to one follower; a burst of one second's worth is let through. */
  readonly linesPerSecond: number;
  /** Bytes of lines waiting for one follower's next batch. */
  readonly maxQueuedBytes: number;
  readonly minLeaseMs: number;
  readonly maxLeaseMs: number;
}

export const DEFAULT_LOG_TEE_LIMITS: LogTeeLimits = {
  maxFollowers: 8,
  linesPerSecond: 200,
  maxQueuedBytes: 256 * 1024,
  minLeaseMs: 1_000,
  maxLeaseMs: 60_000,
};

export type FollowOutcome =
  | { readonly ok: true; readonly leaseMs: number; readonly renewed: boolean }
  | { readonly ok: false; readonly code: 'TooManyFollowers'; readonly message: string };

export interface LogBatch {
  readonly follower: ActorRef<LogLinesMessage>;
  readonly lines: readonly string[];
  readonly dropped: number;
}

interface Follower {
  readonly ref: ActorRef<LogLinesMessage>;
  expiresAtMs: number;
  lines: string[];
  queuedBytes: number;
  dropped: number;
  tokens: number;
  refilledAtMs: number;
}

const keyOf = (ref: ActorRef<LogLinesMessage>): string => `${ref.path}@${ref.node}`;

export class LogTee {
  private readonly followers = new Map<string, Follower>();

  constructor(
    private readonly limits: LogTeeLimits,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.followers.size;
  }

  /** Starts or renews a follower's lease (clamped to the limits). */
  follow(ref: ActorRef<LogLinesMessage>, leaseMs: number): FollowOutcome {
    const granted = Math.min(this.limits.maxLeaseMs, Math.max(this.limits.minLeaseMs, Number.isFinite(leaseMs) ? leaseMs : 0));
    const nowMs = this.now();
    const existing = this.followers.get(keyOf(ref));
    if (existing) {
      existing.expiresAtMs = nowMs + granted;
      return { ok: true, leaseMs: granted, renewed: true };
    }
    if (this.followers.size >= this.limits.maxFollowers) {
      return { ok: false, code: 'TooManyFollowers', message: `${this.followers.size} followers already; at most ${this.limits.maxFollowers}` };
    }
    // Only the address is kept: the ref came off the wire and may carry anything else.
    const address = { node: ref.node, path: ref.path };
    this.followers.set(keyOf(ref), { ref: address, expiresAtMs: nowMs + granted, lines: [], queuedBytes: 0, dropped: 0, tokens: this.limits.linesPerSecond, refilledAtMs: nowMs });
    return { ok: true, leaseMs: granted, renewed: false };
  }

  /** Whether it was following. */
  unfollow(ref: ActorRef<LogLinesMessage>): boolean {
    return this.followers.delete(keyOf(ref));
  }

  /** A line the node wrote: queued for every follower with room for it, counted as dropped for the others. */
  offer(line: string): void {
    if (this.followers.size === 0) return;
    const nowMs = this.now();
    const bytes = Buffer.byteLength(line);
    for (const follower of this.followers.values()) {
      const elapsedMs = Math.max(0, nowMs - follower.refilledAtMs);
      follower.tokens = Math.min(this.limits.linesPerSecond, follower.tokens + (elapsedMs * this.limits.linesPerSecond) / 1000);
      follower.refilledAtMs = nowMs;
      if (follower.tokens < 1 || follower.queuedBytes + bytes > this.limits.maxQueuedBytes) {
        follower.dropped++;
        continue;
      }
      follower.tokens--;
      follower.lines.push(line);
      follower.queuedBytes += bytes;
    }
  }

  /**
   * The batches to send now, and the followers whose lease lapsed (removed). A follower whose link is
   * backed up keeps its lines for a later batch; its queue bound then turns new lines into drops.
   */
  take(backedUp: (node: string) => boolean): { readonly batches: LogBatch[]; readonly lapsed: Array<ActorRef<LogLinesMessage>> } {
    const nowMs = this.now();
    const batches: LogBatch[] = [];
    const lapsed: Array<ActorRef<LogLinesMessage>> = [];
    for (const [key, follower] of this.followers) {
      if (follower.expiresAtMs <= nowMs) {
        this.followers.delete(key);
        lapsed.push(follower.ref);
        continue;
      }
      if ((follower.lines.length === 0 && follower.dropped === 0) || backedUp(follower.ref.node)) continue;
      batches.push({ follower: follower.ref, lines: follower.lines, dropped: follower.dropped });
      follower.lines = [];
      follower.queuedBytes = 0;
      follower.dropped = 0;
    }
    return { batches, lapsed };
  }
}
