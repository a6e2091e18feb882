/**
 * Drops the data of ranges this node no longer holds, once a rebalance has moved them to their new
 * holders. The manager ends a rebalance only when every receiver has copied and verified its segments;
 * from then on, after a grace period (`releaseGraceMs`, at most half the tombstone grace period), the
 * ranges the settled ring does not give this node are walked and their records removed, a batch per
 * tick at the purge rate. A write still unsettled here is left for a later pass. A node detached from
 * the ring drops everything it held this way. Until it is done, the manager starts no other rebalance:
 * one that gave such a range back to this node would find its stale copies there.
 */
import { listRanges, type RingRange } from '../../core/ring/ranges.js';
import type { Behavior } from '../../runtime/actor.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import type { RangeCursor } from '../../store/object-store.js';
import type { ReleaseRecord } from '../../store/release-mark.js';
import type { StorageContext } from './storage-context.js';

/** How often the sweeper looks at the ring while it has nothing to drop. */
const CHECK_INTERVAL_MS = 10_000;

type ReleaseSweeperMessage = { readonly type: 'tick' };

/** A pass over the released ranges of one settled ring, a batch per tick. */
interface Pass {
  readonly checksum: number;
  readonly mark: ReleaseRecord;
  readonly ranges: readonly RingRange[];
  rangeIndex: number;
  after: RangeCursor | undefined;
  dropped: number;
  bytes: number;
  kept: number;
}

interface SweeperState {
  readonly timer: SelfTimer<ReleaseSweeperMessage>;
  pass: Pass | undefined;
}

export function releaseSweeperBehavior(context: StorageContext): Behavior<SweeperState, ReleaseSweeperMessage> {
  const graceMs = Math.min(context.options.releaseGraceMs, context.options.tombstoneGraceMs / 2);
  const idleMs = Math.min(CHECK_INTERVAL_MS, Math.max(100, graceMs));
  return {
    accepts: [],
    init(ctx) {
      const state: SweeperState = { timer: new SelfTimer<ReleaseSweeperMessage>(ctx, { type: 'tick' }, context.pace), pass: undefined };
      ctx.onEnd(context.ringView.subscribe(() => state.timer.schedule(0)));
      state.timer.schedule(0);
      return state;
    },
    async receive(state, _message, ctx) {
      const snapshot = context.ringView.current;
      if (!snapshot || snapshot.previous || !context.presence.serving) {
        state.pass = undefined;
        state.timer.schedule(idleMs);
        return state;
      }
      if (state.pass && state.pass.checksum !== snapshot.checksum) state.pass = undefined;
      if (!state.pass) {
        const nowMs = ctx.clock.now();
        let mark = context.store.release.load();
        if (!mark || mark.checksum !== snapshot.checksum) {
          mark = { checksum: snapshot.checksum, sinceMs: nowMs, swept: false };
          await context.store.release.save(mark);
        }
        if (mark.swept) {
          state.timer.schedule(idleMs);
          return state;
        }
        const ranges = listRanges(snapshot.current, snapshot.doc.settings.n).filter((range) => !range.nodes.includes(context.node));
        if (!ranges.some((range) => !context.store.scanRange(range.start, range.end).next().done)) {
          // Nothing to drop (the common case): done at once, so a next rebalance need not wait.
          await context.store.release.save({ ...mark, swept: true });
          state.timer.schedule(idleMs);
          return state;
        }
        if (nowMs - mark.sinceMs < graceMs) {
          state.timer.schedule(idleMs);
          return state;
        }
        state.pass = { checksum: snapshot.checksum, mark, ranges, rangeIndex: 0, after: undefined, dropped: 0, bytes: 0, kept: 0 };
      }
      await sweepBatch(state.pass);
      if (state.pass.rangeIndex < state.pass.ranges.length) {
        state.timer.schedule(context.options.purgeIntervalMs);
        return state;
      }
      const { mark, dropped, bytes, kept, ranges } = state.pass;
      state.pass = undefined;
      // Records left (unsettled writes) are looked at again on the next pass.
      await context.store.release.save({ ...mark, swept: kept === 0 });
      if (dropped > 0 || kept > 0) ctx.log.info('dropped the data of ranges this node no longer holds', { records: dropped, bytes, kept, ranges: ranges.length });
      state.timer.schedule(idleMs);
      return state;
    },
  };

  /** Drops the next batch of the pass; moves on to the next range when this one is through. */
  async function sweepBatch(pass: Pass): Promise<void> {
    const range = pass.ranges[pass.rangeIndex]!;
    const batch = [...take(context.store.scanRange(range.start, range.end, pass.after), context.options.purgeBatchKeys)];
    if (batch.length === 0) {
      pass.rangeIndex++;
      pass.after = undefined;
      return;
    }
    const last = batch[batch.length - 1]!;
    pass.after = { position: last.position, address: last.address };
    const outcome = await context.store.dropRecords(batch.map((entry) => ({ address: entry.address, clock: entry.clock })));
    pass.dropped += outcome.dropped;
    pass.bytes += outcome.bytes;
    pass.kept += batch.length - outcome.dropped;
  }
}

/** Whether this node still holds data of ranges the settled ring does not give it (or has not looked yet). */
export function releasePending(context: StorageContext): boolean {
  const snapshot = context.ringView.current;
  if (!snapshot) return false;
  // While a rebalance runs, what this node will give away is not dropped yet.
  if (snapshot.previous) return true;
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
