/**
 * A wall time above every version this replica has stored, kept in the store's `presence` table (what
 * a node remembers of itself) and raised in the transaction of each write that passes it. A node's
 * hybrid logical clock starts above it after a restart, so that a node whose physical clock went back
 * (or did not move) while it was down never stamps a write with a clock it stamped before: two
 * versions of one clock would be taken for the same version, and the later one lost.
 */
import type { Database } from 'lmdb';

const CLOCK_FLOOR = 'clock-floor';
/** The floor moves in steps this long, so that it is written at most once per step, not per write. */
const STEP_MS = 1_000;

export class ClockFloor {
  private floorMs: number;

  constructor(private readonly table: () => Database<unknown, string>) {
    const stored = table().get(CLOCK_FLOOR);
    this.floorMs = typeof stored === 'number' && Number.isFinite(stored) ? stored : 0;
  }

  /** Above every wall time noted so far (0 when none was). */
  get wallMs(): number {
    return this.floorMs;
  }

  /** Inside a write transaction storing a version stamped at `wallMs`. */
  note(wallMs: number): void {
    if (wallMs < this.floorMs) return;
    this.floorMs = (Math.floor(wallMs / STEP_MS) + 1) * STEP_MS;
    void this.table().put(CLOCK_FLOOR, this.floorMs);
  }
}
