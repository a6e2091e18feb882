/**
 * How long each peer has been unreachable, as this node has seen it: from the link going down, or
 * from this node's start for a peer not reached since. Kept in memory only: after a restart every
 * absence counts from the restart, which only delays purges that go ahead without a peer.
 */
import type { Clock } from '../../runtime/clock.js';
import type { NodeEvent } from '../../runtime/system.js';

export interface PeerAbsenceDeps {
  readonly self: string;
  readonly clock: Clock;
  /** A link to the peer is open now. */
  readonly isUp: (peer: string) => boolean;
}

export class PeerAbsence {
  private readonly downSinceMs = new Map<string, number>();
  private readonly startedAtMs: number;

  constructor(private readonly deps: PeerAbsenceDeps) {
    this.startedAtMs = deps.clock.now();
  }

  observe(event: NodeEvent): void {
    if (event.type === 'nodeup') this.downSinceMs.delete(event.node);
    else if (!this.downSinceMs.has(event.node)) this.downSinceMs.set(event.node, this.deps.clock.now());
  }

  isUp(peer: string): boolean {
    return peer === this.deps.self || this.deps.isUp(peer);
  }

  /** 0 while the peer is reachable. */
  downForMs(peer: string): number {
    if (this.isUp(peer)) return 0;
    return Math.max(0, this.deps.clock.now() - (this.downSinceMs.get(peer) ?? this.startedAtMs));
  }
}
