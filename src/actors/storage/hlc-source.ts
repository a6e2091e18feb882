/**
 * The node's hybrid logical clock: coordinators stamp writes with it, and every version a replica
 * receives moves it forward, so a later write coordinated here is ordered after what this node has seen
 * even when physical clocks disagree.
 */
import { observe, tick, type Hlc } from '../../core/hlc.js';
import type { Clock } from '../../runtime/clock.js';

export class HlcSource {
  private last: Hlc | undefined;

  /** `floorMs`: every stamp comes after this wall time (see store/clock-floor.ts). */
  constructor(
    private readonly node: string,
    private readonly clock: Clock,
    floorMs = 0,
  ) {
    if (floorMs > 0) this.last = { wallMs: floorMs, counter: 0, node };
  }

  stamp(): Hlc {
    this.last = tick(this.last, this.clock.now(), this.node);
    return this.last;
  }

  observe(remote: Hlc): void {
    this.last = observe(this.last, remote, this.clock.now(), this.node);
  }
}
