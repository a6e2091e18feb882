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
