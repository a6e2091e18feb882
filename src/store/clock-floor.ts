/**
 * A wall time above every clock this node has stamped or seen, kept in the store's `presence` table
 * (what a node remembers of itself). The node's hybrid logical clock reserves it ahead of itself,
 * RESERVE_AHEAD_MS at a time, and starts above it after a restart, so that a node whose physical clock
 * went back (or did not move) while it was down never stamps a clock it stamped before: two versions
 * (or two compare-and-set ballots) with one clock are taken for the same, and the later one is lost.
 * Only a jump of the clock past what is reserved, followed by a crash before the new reservation is on
 * disk, escapes it.
 */
import type { Database } from 'lmdb';

const CLOCK_FLOOR = 'clock-floor';
/** How far ahead of the clock the floor is reserved; it is renewed when half of that is left. */
const RESERVE_AHEAD_MS = 10_000;

type Write = (action: () => void) => Promise<void>;

export class ClockFloor {
  /** What is on disk: every clock stamped so far is below it. */
  private durableMs: number;
  /** What is on disk or on its way there. */
  private requestedMs: number;

  constructor(
    /** The table now: the store's tables may be replaced whole (as a compaction would). */
    private readonly table: () => Database<unknown, string>,
    /** One of the store's write transactions. */
    private readonly write: Write,
    private readonly onError: (error: unknown) => void,
  ) {
    const stored = table().get(CLOCK_FLOOR);
    this.durableMs = typeof stored === 'number' && Number.isFinite(stored) ? stored : 0;
    this.requestedMs = this.durableMs;
  }

  /** What is reserved on disk: above every clock stamped before it was written (0 when none was). */
  get wallMs(): number {
    return this.durableMs;
  }

  /** The clock reached `wallMs`: keeps the reservation ahead of it. */
  reserveAbove(wallMs: number): void {
    if (wallMs + RESERVE_AHEAD_MS / 2 < this.requestedMs) return;
    const reservedMs = wallMs + RESERVE_AHEAD_MS;
    this.requestedMs = reservedMs;
    this.write(() => {
      const stored = this.table().get(CLOCK_FLOOR);
      if (typeof stored !== 'number' || stored < reservedMs) void this.table().put(CLOCK_FLOOR, reservedMs);
    }).then(
      () => (this.durableMs = Math.max(this.durableMs, reservedMs)),
      (error: unknown) => {
        // Asked again at the next stamp.
        this.requestedMs = this.durableMs;
        this.onError(error);
      },
    );
  }
}
