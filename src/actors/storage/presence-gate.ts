/**
 * Whether this storage node serves and hands on its data: only while it was present in the cluster
 * recently enough (presence-keeper.ts). The gate closes by itself once the last record of presence is
 * older than the horizon allows, whatever the reason (the node was stopped, its process or machine was
 * paused, it was cut off from most of the ring), so no actor can hand on old data in the moment before
 * the keeper notices; it opens again when the keeper records the node present after rejoining.
 * Meanwhile the router refuses object requests, the node counts itself down as a replica when it
 * coordinates, and its repair, anti-entropy and reaper loops wait.
 */
import { wasAway, type PresenceTiming } from '../../core/purge-rules.js';
import type { Clock } from '../../runtime/clock.js';

export class PresenceGate {
  constructor(
    private readonly clock: Clock,
    private readonly timing: PresenceTiming,
    /** As durably recorded; undefined for a new store, which has nothing old to hand on. */
    private lastPresentMs: number | undefined,
  ) {}

  get serving(): boolean {
    return !wasAway(this.lastPresentMs, this.clock.now(), this.timing);
  }

  /** The keeper recorded (durably) that this node was present at `atMs`. */
  recorded(atMs: number): void {
    this.lastPresentMs = atMs;
  }
}
