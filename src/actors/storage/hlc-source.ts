/**
 * The node's hybrid logical clock: coordinators stamp writes with it, and every version a replica
 * receives moves it forward, so a later write coordinated here is ordered after what this node has seen
 * even when physical clocks disagree.
 */
import { observe, tick, type Hlc } from '../../core/hlc.js';
import type { Clock } from '../../runtime/clock.js';

/** Keeps a durable wall time above the clock (store/clock-floor.ts). */
export interface ClockReservation {
  /** Above every clock stamped before this node started. */
  readonly wallMs: number;
  reserveAbove(wallMs: number): void;
}

export class HlcSource {
  private last: Hlc | undefined;

  /** With `floor`, every stamp comes after what was stamped before a restart. */
  constructor(
    private readonly node: string,
    private readonly clock: Clock,
    private readonly floor?: ClockReservation,
  ) {
    if (floor && floor.wallMs > 0) this.last = { wallMs: floor.wallMs, counter: 0, node };
  }

  stamp(): Hlc {
    this.last = tick(this.last, this.clock.now(), this.node);
    this.floor?.reserveAbove(this.last.wallMs);
    return this.last;
  }

  observe(remote: Hlc): void {
    this.last = observe(this.last, remote, this.clock.now(), this.node);
    this.floor?.reserveAbove(this.last.wallMs);
  }
}
