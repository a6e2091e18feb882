/**
 * When a tombstone may go, and when a node that was away must forget what it held. Pure rules; the
 * storage node's reaper and presence keeper sequence the I/O around them.
 *
 * A tombstone exists so that an older version of its key, still held by a replica that missed the
 * delete, loses to it. It may be removed once no replica can hold such a version any more:
 *
 *   (a) its wall time is older than the grace period (writes of that age are no longer in flight),
 *   (b) the delete is settled here (it can no longer be reverted), and
 *   (c) every replica of the key (current ring, and previous ring while one exists) answered with the
 *       same tombstone, a newer version, or nothing at all. Nothing is as good as the tombstone: a
 *       replica with no record holds no older version to bring back (it purged the tombstone already,
 *       dropped what it held after an absence, or never had the key). An older version blocks, and so
 *       does a replica that does not answer, unless it may be purged without (below).
 *
 * The purge horizon: a replica that has been unreachable for longer than the horizon would block every
 * purge of its ranges for as long as it is away. The others may then purge without it, but only when a
 * majority of the ring's members answer and every one of them has seen it unreachable for longer than
 * the horizon; each of them records that it said so. A node that was away (stopped, or cut off from a
 * majority) for longer than the horizon less a margin learns on its return, from a majority of the
 * members, whether anyone said so since it was last present; if so it drops every live version it
 * holds before it serves or syncs anything (anti-entropy copies back what is still live), so nothing it
 * kept from before can bring back a delete purged meanwhile. Two majorities always share a member,
 * which is why both sides count majorities: a member that reported it away is among those it asks.
 */
import { compareHlc, type Hlc } from './hlc.js';

/** What one replica said of a tombstone's key: the clock of its newest version, null for none, or no answer. */
export type ReplicaVersion = { readonly answered: true; readonly clock: Hlc | null } | { readonly answered: false };

export type PurgeVerdict =
  | { readonly purge: true }
  /** `older`: replicas that hold an older version (they need the tombstone); `silent`: replicas that did not answer. */
  | { readonly purge: false; readonly older: readonly string[]; readonly silent: readonly string[] };

export function isPastGrace(clock: Hlc, nowMs: number, graceMs: number): boolean {
  return nowMs - clock.wallMs > graceMs;
}

/**
 * Rule (c) for one tombstone: `versions` has an entry for every other replica of its key;
 * `mayPurgeWithout` says whether a replica that did not answer has been away past the horizon.
 */
export function purgeVerdict(tombstone: Hlc, versions: ReadonlyMap<string, ReplicaVersion>, mayPurgeWithout: (replica: string) => boolean): PurgeVerdict {
  const older: string[] = [];
  const silent: string[] = [];
  for (const [replica, version] of versions) {
    if (!version.answered) {
      if (!mayPurgeWithout(replica)) silent.push(replica);
      continue;
    }
    if (version.clock !== null && compareHlc(version.clock, tombstone) < 0) older.push(replica);
  }
  return older.length === 0 && silent.length === 0 ? { purge: true } : { purge: false, older, silent };
}

/** The smallest number of members that outnumbers the rest. */
export function majorityOf(members: number): number {
  return Math.floor(members / 2) + 1;
}

/**
 * Whether the others may purge without `replica`: `views` holds, for every member that answered (the
 * asker included), how long it has seen `replica` unreachable. A majority of `memberCount` must have
 * answered, and all of them must have seen it away for longer than the horizon.
 */
export function mayPurgeWithout(replica: string, memberCount: number, views: ReadonlyMap<string, ReadonlyMap<string, number>>, horizonMs: number): boolean {
  if (views.size < majorityOf(memberCount)) return false;
  for (const view of views.values()) {
    const downForMs = view.get(replica);
    if (downForMs === undefined || !(downForMs > horizonMs)) return false;
  }
  return true;
}

/**
 * Whether this node is in contact with the cluster: it and the members it reaches are a majority. Only
 * then may it count itself present; a node cut off from a majority may be purged without by the rest.
 */
export function inContact(members: readonly string[], self: string, isUp: (member: string) => boolean): boolean {
  const reached = members.filter((member) => member === self || isUp(member)).length;
  return reached >= majorityOf(members.length);
}

export interface PresenceTiming {
  /** How often a present node records that it is. */
  readonly refreshMs: number;
  /**
   * A node last present longer ago than this counts as away. It is shorter than the horizon by a margin
   * that covers the refresh period, the time a peer takes to notice a lost link, and clock skew, so a
   * node always knows it was away before anyone may have purged without it.
   */
  readonly awayAfterMs: number;
  /** A report of its absence made this long before it was last present still counts (clock skew). */
  readonly reportSlackMs: number;
}

export function presenceTiming(horizonMs: number, refreshMs: number): PresenceTiming {
  const refresh = Math.max(1, Math.min(refreshMs, Math.floor(horizonMs / 20)));
  const margin = Math.max(2 * refresh, Math.floor(horizonMs / 10));
  return { refreshMs: refresh, awayAfterMs: horizonMs - margin, reportSlackMs: margin };
}

/** Whether a node last present at `lastPresentMs` (undefined: never, a new store) was away. */
export function wasAway(lastPresentMs: number | undefined, nowMs: number, timing: PresenceTiming): boolean {
  return lastPresentMs !== undefined && nowMs - lastPresentMs > timing.awayAfterMs;
}
