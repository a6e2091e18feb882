/**
 * Drops the data of ranges this node no longer holds, once a rebalance has moved them to their new
 * holders. The manager ends a rebalance only when every receiver has copied and verified its segments;
 * from then on, after a grace period (`releaseGraceMs`, at most half the tombstone grace period), the
 * ranges the settled ring does not give this node are walked and their records removed, a batch at a
 * time at the purge rate. A write still unsettled here is left for a later pass. A node detached from
 * the ring drops everything it held this way. Until it is done, the manager starts no other rebalance:
 * one that gave such a range back to this node would find its stale copies there.
 */
import { listRanges } from '../../core/ring/ranges.js';
import type { Behavior } from '../../runtime/actor.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import type { StorageContext } from './storage-context.js';

/** How often the sweeper looks at the ring while it has nothing to drop. */
const CHECK_INTERVAL_MS = 10_000;

type ReleaseSweeperMessage = { readonly type: 'tick' };

interface SweeperState {
  readonly timer: SelfTimer<ReleaseSweeperMessage>;
}

export function releaseSweeperBehavior(context: StorageContext): Behavior<SweeperState, ReleaseSweeperMessage> {
  const graceMs = Math.min(context.options.releaseGraceMs, context.options.tombstoneGraceMs / 2);
  return {
    accepts: [],
    init(ctx) {
      const state: SweeperState = { timer: new SelfTimer<ReleaseSweeperMessage>(ctx, { type: 'tick' }) };
      ctx.onEnd(context.ringView.subscribe(() => state.timer.schedule(0)));
      state.timer.schedule(0);
      return state;
    },
    async receive(state, _message, ctx) {
      const next = Math.min(CHECK_INTERVAL_MS, Math.max(100, graceMs));
      const snapshot = context.ringView.current;
      if (!snapshot || snapshot.previous || !context.presence.serving) {
        state.timer.schedule(next);
        return state;
      }
      const nowMs = ctx.clock.now();
      let mark = context.store.release.load();
      if (!mark || mark.checksum !== snapshot.checksum) {
        mark = { checksum: snapshot.checksum, sinceMs: nowMs, swept: false };
        await context.store.release.save(mark);
      }
      if (mark.swept) {
        state.timer.schedule(next);
        return state;
      }
      const released = listRanges(snapshot.current, snapshot.doc.settings.n).filter((range) => !range.nodes.includes(context.node));
      if (nowMs - mark.sinceMs < graceMs) {
        // Nothing to drop at all (the common case): done at once, so a next rebalance need not wait.
        if (!released.some((range) => !context.store.scanRange(range.start, range.end).next().done)) await context.store.release.save({ ...mark, swept: true });
        state.timer.schedule(next);
        return state;
      }
      let dropped = 0;
      let bytes = 0;
      let kept = 0;
      for (const range of released) {
        let after: { position: string; address: ObjectAddress } | undefined;
        for (;;) {
          // A ring that changes meanwhile starts the wait over.
          if (context.ringView.current?.checksum !== snapshot.checksum) {
            state.timer.schedule(next);
            return state;
          }
          const batch = [...take(context.store.scanRange(range.start, range.end, after), context.options.purgeBatchKeys)];
          if (batch.length === 0) break;
          const last = batch[batch.length - 1]!;
          after = { position: last.position, address: last.address };
          const outcome = await context.store.dropRecords(batch.map((entry) => entry.address));
          dropped += outcome.dropped;
          bytes += outcome.bytes;
          kept += batch.length - outcome.dropped;
          await new Promise<void>((resolve) => ctx.clock.setTimeout(resolve, context.options.purgeIntervalMs));
        }
      }
      // Records left (unsettled writes) are looked at again on the next pass.
      await context.store.release.save({ ...mark, swept: kept === 0 });
      if (dropped > 0 || kept > 0) ctx.log.info('dropped the data of ranges this node no longer holds', { records: dropped, bytes, kept, ranges: released.length });
      state.timer.schedule(next);
      return state;
    },
  };
}

/** Whether this node still holds data of ranges the settled ring does not give it (or has not looked yet). */
export function releasePending(context: StorageContext): boolean {
  const snapshot = context.ringView.current;
  if (!snapshot || snapshot.previous) return false;
  const mark = context.store.release.load();
  return !(mark && mark.checksum === snapshot.checksum && mark.swept);
}

function* take<T>(items: Iterable<T>, count: number): Generator<T> {
  if (count <= 0) return;
  let taken = 0;
  for (const item of items) {
    yield item;
    if (++taken >= count) return;
  }
}
