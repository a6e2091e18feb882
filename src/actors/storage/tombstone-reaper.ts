/**
 * Purges tombstones once it is safe (core/purge-rules.ts), so a deleted key stops costing a record on
 * every replica. It sweeps this node's tombstones older than the grace period, oldest first, from the
 * store's tombstone index (kept by every write, so the reaper reads tombstones only, never the whole
 * store), in batches at a bounded rate (`tombstonePurgeKeysPerSecond`), and waits between sweeps. Each
 * batch is checked with the other replicas; what passes is removed here, conditionally inside one
 * transaction (a write racing the purge wins), and the replicas that held the same tombstones are told
 * to remove theirs, so the replicas stop differing at once instead of copying it back and forth. A
 * replica holding an older version gets a queued repair: it needs the tombstone first.
 *
 * The sweep position lives in memory: after a restart the reaper starts over from the oldest, which
 * costs one extra look at tombstones still blocked. Tombstones written before the index existed are
 * indexed first, a bounded batch per tick.
 */
import type { Behavior } from '../../runtime/actor.js';
import { actorRef, type ReplyTo } from '../../runtime/refs.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import type { TombstoneRef } from '../../store/object-store.js';
import { purgeReplicaTombstones } from './replica-ops.js';
import { repairItemKey, type StorageContext } from './storage-context.js';
import { AbsenceVerdicts, checkTombstones } from './tombstone-check.js';
import { routerOf } from '../../protocol/cluster/storage.js';

export const TOMBSTONE_REAPER_PATH = '/node/storage/tombstone_reaper';
/** Records looked at per tick while indexing tombstones written before the index existed. */
const INDEX_BUILD_BATCH = 1_000;
/** How often a reaper with nothing to do (or one that failed) looks again. */
const IDLE_POLL_MS = 1_000;
/** How long the members' verdict on a replica that does not answer is reused. */
const ABSENCE_VERDICT_TTL_MS = 1_000;
/** Purges that went ahead without a replica are logged at most this often per replica. */
const PURGED_WITHOUT_LOG_MS = 60 * 60_000;

export interface TombstoneReaperStats {
  readonly ok: true;
  /** Sweeps completed over every tombstone past the grace period. */
  readonly sweeps: number;
  readonly purged: number;
  /** Tombstones looked at that could not go yet (counted once per sweep). */
  readonly blocked: number;
}

export type TombstoneReaperMessage = { readonly type: 'tick' } | { readonly type: 'stats'; readonly replyTo: ReplyTo<TombstoneReaperStats> };

export const tombstoneReaperRef = (node: string) => actorRef<TombstoneReaperMessage>(node, TOMBSTONE_REAPER_PATH);

interface ReaperState {
  readonly timer: SelfTimer<TombstoneReaperMessage>;
  indexBuilt: boolean;
  /** The last index entry of the batch before, within the current sweep. */
  cursor: Buffer | undefined;
  readonly verdicts: AbsenceVerdicts;
  /** When purging without each replica was last logged. */
  readonly loggedWithoutMs: Map<string, number>;
  sweeps: number;
  purged: number;
  blocked: number;
}

/** A rate as batches: at most 100 keys per batch, about ten batches a second at high rates. */
export function reaperPace(keysPerSecond: number): { readonly batchKeys: number; readonly intervalMs: number } {
  const rate = Math.max(1, keysPerSecond);
  const batchKeys = Math.max(1, Math.min(100, Math.ceil(rate / 10)));
  return { batchKeys, intervalMs: Math.max(1, Math.round((batchKeys * 1000) / rate)) };
}

/** The pause between two sweeps: a tenth of the grace period, within 100 ms and a minute. */
export function sweepPauseMs(graceMs: number): number {
  return Math.min(60_000, Math.max(100, Math.floor(graceMs / 10)));
}

export function tombstoneReaperBehavior(context: StorageContext): Behavior<ReaperState, TombstoneReaperMessage> {
  const { store, options } = context;
  const pace = reaperPace(options.tombstonePurgeKeysPerSecond);
  return {
    accepts: ['stats'],
    init(ctx) {
      const state: ReaperState = {
        timer: new SelfTimer<TombstoneReaperMessage>(ctx, { type: 'tick' }, context.pace),
        indexBuilt: false,
        cursor: undefined,
        verdicts: new AbsenceVerdicts(ABSENCE_VERDICT_TTL_MS, () => ctx.clock.now()),
        loggedWithoutMs: new Map(),
        sweeps: 0,
        purged: 0,
        blocked: 0,
      };
      state.timer.schedule(pace.intervalMs);
      return state;
    },
    async receive(state, message, ctx) {
      if (message.type === 'stats') {
        ctx.system.reply(message.replyTo, { ok: true, sweeps: state.sweeps, purged: state.purged, blocked: state.blocked });
        return state;
      }
      if (!context.presence.serving) {
        state.timer.schedule(IDLE_POLL_MS);
        return state;
      }
      try {
        if (!state.indexBuilt) {
          state.indexBuilt = await store.indexExistingTombstones(INDEX_BUILD_BATCH);
          if (state.indexBuilt) ctx.log.debug('tombstone index built');
          state.timer.schedule(pace.intervalMs);
          return state;
        }
        const entries = store.tombstonesBefore(ctx.clock.now() - options.tombstoneGraceMs, state.cursor, pace.batchKeys);
        if (entries.length === 0) {
          state.cursor = undefined;
          state.sweeps++;
          state.timer.schedule(sweepPauseMs(options.tombstoneGraceMs));
          return state;
        }
        state.cursor = entries[entries.length - 1]!.indexKey;
        const stale = entries.filter((entry) => !store.isCurrentTombstone(entry));
        if (stale.length > 0) await store.forgetStaleTombstoneEntries(stale);
        const candidates: TombstoneRef[] = [];
        for (const entry of entries) {
          if (!entry.address || !entry.clock || stale.includes(entry)) continue;
          if (!store.isUnsettled(entry.address, entry.clock)) candidates.push({ address: entry.address, clock: entry.clock });
        }
        if (candidates.length > 0) await reap(candidates);
      } catch (error) {
        ctx.log.warn('tombstone purge step failed; trying again', { error });
        state.timer.schedule(IDLE_POLL_MS);
        return state;
      }
      state.timer.schedule(pace.intervalMs);
      return state;

      async function reap(candidates: readonly TombstoneRef[]): Promise<void> {
        const checked = await checkTombstones(ctx.system, context, candidates, state.verdicts);
        state.blocked += checked.blocked;
        const purged = await purgeReplicaTombstones(context, checked.purgeable);
        state.purged += purged.length;
        const nowMs = ctx.clock.now();
        const unlogged = purged.length === 0 ? [] : checked.purgedWithout.filter((replica) => !(nowMs - (state.loggedWithoutMs.get(replica) ?? Number.NEGATIVE_INFINITY) < PURGED_WITHOUT_LOG_MS));
        if (unlogged.length > 0) {
          for (const replica of unlogged) state.loggedWithoutMs.set(replica, nowMs);
          ctx.log.warn('purging tombstones without replicas away longer than the purge horizon; they drop their old data when they return', { without: unlogged });
        }
        const ringChecksum = context.ringView.current?.checksum;
        const removedHere = new Set(purged);
        if (ringChecksum !== undefined) {
          for (const [replica, held] of checked.holders) {
            const items = held.filter((tombstone) => removedHere.has(tombstone)).map(({ address, clock }) => ({ objectKind: address.kind, bucket: address.bucket, key: address.key, clock }));
            if (items.length > 0) ctx.system.dispatch(routerOf(replica), { type: 'purge_tombstones', ringChecksum, items });
          }
        }
        for (const { tombstone, replica } of checked.older) {
          const item = { peer: replica, objectKind: tombstone.address.kind, bucket: tombstone.address.bucket, key: tombstone.address.key };
          await context.repairs.enqueue(repairItemKey(item), item, nowMs);
        }
      }
    },
  };
}
