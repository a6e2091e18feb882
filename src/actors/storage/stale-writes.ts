/**
 * Ends the writes left unsettled on this replica past the grace period: their coordinator crashed, or
 * its settle was lost. Each is put to the key's other replicas and judged by core/unsettled-rules.ts:
 * settled where it may have been acknowledged, reverted where it never was (so a version stamped by a
 * coordinator that died before its quorum never surfaces, however far its clock ran ahead), and left
 * for a later sweep while replicas that could tell do not answer. Settling or reverting blind could
 * resurrect a delete or lose a write, so that waits for `settleGiveUpMs` (an hour): reads of the key
 * answer 503 meanwhile, and after it the write is settled as it stands.
 */
import type { ActorApi } from '../../runtime/actor.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import { revertReplicaWrite } from './replica-ops.js';
import type { StorageContext } from './storage-context.js';
import { judgeByReplicas } from './unsettled-judge.js';

/** Stale writes judged per sweep, so a large backlog never floods the peers. */
const SWEEP_BATCH = 256;

export interface SweepOutcome {
  readonly settled: number;
  readonly reverted: number;
  readonly waiting: number;
  /** Where the next sweep goes on; none when this one reached the end. */
  readonly last?: ObjectAddress;
}

/** Judges a batch of the stale writes after `after`. */
export async function resolveStaleWrites(system: ActorApi, context: StorageContext, after?: ObjectAddress): Promise<SweepOutcome> {
  const stale = context.store.staleWrites(context.options.settleGraceMs, SWEEP_BATCH, after);
  const verdicts = await Promise.all(
    stale.map(async (write) => {
      const { verdict } = await judgeByReplicas(system, context, write, { clock: write.clock, unsettled: true });
      return { write, verdict: verdict === 'wait' && write.ageMs > context.options.settleGiveUpMs ? 'settle' : verdict };
    }),
  );
  const settle = verdicts.filter(({ verdict }) => verdict === 'settle').map(({ write }) => ({ address: write.address, clock: write.clock }));
  if (settle.length > 0) await context.store.settleMany(settle);
  let reverted = 0;
  for (const { write, verdict } of verdicts) {
    if (verdict !== 'revert') continue;
    const outcome = await revertReplicaWrite(context, write.address, write.clock);
    if (outcome.ok && outcome.reverted) reverted++;
  }
  if (stale.length < SWEEP_BATCH) await context.store.removeOrphanedUndo(SWEEP_BATCH);
  const last = stale.length === SWEEP_BATCH ? { last: stale[stale.length - 1]!.address } : {};
  return { settled: settle.length, reverted, waiting: verdicts.length - settle.length - reverted, ...last };
}
