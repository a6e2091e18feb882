/**
 * Whether a transfer keeps to a minimum rate. Only time spent waiting on the other side counts: while
 * the gateway itself holds a transfer back (waiting for memory, for storage, for its own writes), the
 * client cannot send or take anything, and that is not its fault.
 *
 * The rate is measured over a sliding window of that waiting time, kept as a few slots so that a fast
 * transfer costs a counter update per piece. The first window is grace: nothing is judged before a
 * whole window has been waited.
 */
export interface PaceFloor {
  /** 0: no floor. */
  readonly minBytesPerSec: number;
  readonly windowMs: number;
}

const SLOTS = 10;

/**
 * Bytes a transfer must move within one window to keep to `floor`. The window judged covers between
 * nine and ten slots of waiting time, so the requirement is that of nine: generous, never too strict.
 */
export function windowFloorBytes(floor: PaceFloor): number {
  return (floor.minBytesPerSec * floor.windowMs * (SLOTS - 1)) / SLOTS / 1000;
}

export class TransferPace {
  private readonly slotMs: number;
  /** Bytes moved, by slot of waiting time; only the last SLOTS slots are kept. */
  private readonly slots: Array<{ index: number; bytes: number }> = [];
  private waitedMs = 0;
  private waitingSinceMs: number | undefined;

  constructor(private readonly floor: PaceFloor) {
    this.slotMs = Math.max(1, floor.windowMs / SLOTS);
  }

  /** The transfer now waits on the other side. */
  waiting(nowMs: number): void {
    this.waitingSinceMs ??= nowMs;
  }

  /** The transfer no longer waits on the other side (it has something to do of its own). */
  resumed(nowMs: number): void {
    if (this.waitingSinceMs === undefined) return;
    this.waitedMs += Math.max(0, nowMs - this.waitingSinceMs);
    this.waitingSinceMs = undefined;
  }

  /** The other side moved `bytes`. */
  progressed(nowMs: number, bytes: number): void {
    const index = Math.floor(this.waitedAt(nowMs) / this.slotMs);
    const last = this.slots[this.slots.length - 1];
    if (last !== undefined && last.index === index) last.bytes += bytes;
    else this.slots.push({ index, bytes });
    this.forget(index);
  }

  /** Whether the transfer, waiting now, has fallen below the floor over the last window. */
  tooSlow(nowMs: number): boolean {
    if (this.floor.minBytesPerSec <= 0 || this.waitingSinceMs === undefined) return false;
    const waited = this.waitedAt(nowMs);
    if (waited < this.floor.windowMs) return false;
    this.forget(Math.floor(waited / this.slotMs));
    let moved = 0;
    for (const slot of this.slots) moved += slot.bytes;
    return moved < windowFloorBytes(this.floor);
  }

  private waitedAt(nowMs: number): number {
    return this.waitedMs + (this.waitingSinceMs === undefined ? 0 : Math.max(0, nowMs - this.waitingSinceMs));
  }

  private forget(currentIndex: number): void {
    while (this.slots.length > 0 && this.slots[0]!.index <= currentIndex - SLOTS) this.slots.shift();
  }
}
