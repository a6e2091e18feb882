/**
 * What a version whose write never settled may be taken for. A replica keeps a written version
 * unsettled (with the version it replaced) until the write's coordinator says the write met its
 * quorum. A coordinator that crashes, or a client retry that another coordinator stamped again, can
 * leave such a version on fewer replicas than the write needed: it was never acknowledged, and if its
 * clock runs ahead of later writes it must not win over them.
 *
 * A write is acknowledged only once `required` replicas (W, or D for a delete) hold its version, and a
 * replica gives a version up only for a newer one (or on a revert, which only follows a failed quorum).
 * So from what the replicas of a key hold now, the version is
 *   'settle'  possibly acknowledged: `required` replicas hold it, or one holds it settled; or moot: a
 *             settled newer version overrides it anyway;
 *   'revert'  never acknowledged: fewer than `required` replicas hold it or may have held it;
 *   'wait'    not known yet: replicas that did not answer, or unsettled newer versions over it, may
 *             hide holders.
 * 'revert' speaks of now: a write still in flight (its coordinator may still be sending it) may yet be
 * acknowledged. A reader may show what it replaced meanwhile, but never the write itself before it
 * settles: a later reader that all the replicas answer would take it back (see hidesNoWrite).
 */
import { compareHlc, type Hlc } from './hlc.js';

/** What one replica of the key told: its current version's clock (null: none), and whether unsettled. */
export type ReplicaView = { readonly clock: Hlc | null; readonly unsettled: boolean } | 'unknown';

export type UnsettledVerdict = 'settle' | 'revert' | 'wait';

/** `views`: one per replica of the key, the one holding the version included. */
export function judgeUnsettled(clock: Hlc, required: number, views: readonly ReplicaView[]): UnsettledVerdict {
  let holders = 0;
  let possible = 0;
  for (const view of views) {
    if (view === 'unknown') {
      possible++;
      continue;
    }
    if (view.clock === null) continue;
    const order = compareHlc(view.clock, clock);
    if (order < 0) continue;
    if (!view.unsettled) return 'settle';
    if (order === 0) holders++;
    // An unsettled newer version may have replaced this one there; it is undone if its own write failed.
    else possible++;
  }
  if (holders >= required) return 'settle';
  return holders + possible < required ? 'revert' : 'wait';
}

/** What a replica holding an undecided version told of the version beneath it there. */
export interface Replaced {
  readonly previous: Hlc | null;
  /**
   * `previous` is known to be what the write replaced: false when it was unsettled itself (what it had
   * replaced is gone), arrived after the write (an older version kept beneath it, which may have been
   * acknowledged after the write began), or an undo left the write over nothing known.
   */
  readonly vouches: boolean;
}

/**
 * Whether a reader may show an undecided version as it stands: every replica that answered without it
 * holds just the version its write replaced on the replicas that hold it, and enough replicas answered
 * that every write's quorum (W or D) includes one of them. A write acknowledged after it would then
 * show on an answering replica (as its version, or kept beneath the undecided one), so showing it hides
 * no acknowledged write; at worst it shows a write whose outcome its client does not know. Only for a
 * write no longer in flight: while its coordinator may still send it, a later reader that all the
 * replicas answer judges it 'revert' for now and shows what it replaced, and a write shown and then
 * taken back may yet be acknowledged. A reader waits for such a write to settle instead.
 */
export function hidesNoWrite(holders: readonly Replaced[], others: ReadonlyArray<Hlc | null>, settings: { readonly n: number; readonly w: number; readonly d: number }): boolean {
  if (holders.length === 0 || holders.length + others.length < settings.n - Math.min(settings.w, settings.d) + 1) return false;
  if (holders.some((holder) => !holder.vouches)) return false;
  const replaced = holders[0]!.previous;
  const same = (clock: Hlc | null): boolean => (clock === null ? replaced === null : replaced !== null && compareHlc(clock, replaced) === 0);
  return holders.every((holder) => same(holder.previous)) && others.every(same);
}

/** A replica's version of a key as a reader holds it: unsettled ones carry what their write replaced. */
export interface HeldVersion<E> {
  readonly clock: Hlc;
  readonly deleted: boolean;
  readonly unsettled?: true;
  readonly previous?: E | null;
  /** `previous` is not known to be what the write of this version replaced. */
  readonly replacedUnknown?: true;
  /** The write of this unsettled version may still be sent to other replicas. */
  readonly inFlight?: true;
}

/**
 * The version of a key a reader may return, from what the nodes that answered hold of it (null: they
 * hold none; a node not in `held` did not answer): the newest, unless it is unsettled and cannot have
 * been acknowledged, in which case the versions its write replaced take its place. Undefined when no
 * version remains; 'undecided' while replicas that could tell did not answer.
 */
export function acknowledgedNewest<E extends HeldVersion<E>>(
  held: ReadonlyMap<string, E | null>,
  replicas: readonly string[],
  settings: { readonly n: number; readonly w: number; readonly d: number },
): E | undefined | 'undecided' {
  let versions = new Map(held);
  for (;;) {
    let newest: E | undefined;
    for (const entry of versions.values()) if (entry && (!newest || compareHlc(entry.clock, newest.clock) > 0)) newest = entry;
    if (!newest?.unsettled) return newest;
    const clock = newest.clock;
    const views = replicas.map((replica): ReplicaView => {
      if (!versions.has(replica)) return 'unknown';
      const entry = versions.get(replica);
      return { clock: entry?.clock ?? null, unsettled: entry?.unsettled === true };
    });
    const holdsIt = (entry: E | null | undefined): boolean => entry !== null && entry !== undefined && compareHlc(entry.clock, clock) === 0;
    if ([...versions.values()].some((entry) => holdsIt(entry) && !entry!.unsettled)) return newest;
    const verdict = judgeUnsettled(clock, newest.deleted ? settings.d : settings.w, views);
    if (verdict === 'settle') return newest;
    if (verdict === 'wait') {
      const answering = replicas.filter((replica) => versions.has(replica));
      const holders = answering.map((replica) => versions.get(replica)).filter((entry): entry is E => holdsIt(entry));
      const others = answering.map((replica) => versions.get(replica)).filter((entry) => !holdsIt(entry)).map((entry) => entry?.clock ?? null);
      // A holder that does not tell what its version replaced might hide anything beneath it.
      const replaced = holders.map((entry) => ({ previous: entry.previous?.clock ?? null, vouches: entry.previous !== undefined && entry.previous?.unsettled !== true && entry.replacedUnknown !== true }));
      const inFlight = holders.some((entry) => entry.inFlight === true);
      return !inFlight && hidesNoWrite(replaced, others, settings) ? newest : 'undecided';
    }
    versions = new Map([...versions].map(([node, entry]) => [node, holdsIt(entry) ? (entry!.previous ?? null) : entry]));
  }
}
