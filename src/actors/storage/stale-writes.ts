/**
 * Ends the writes left unsettled on this replica past the grace period: their coordinator crashed, or
 * its settle was lost. Each is put to the key's other replicas and judged by core/unsettled-rules.ts:
 * settled where it may have been acknowledged, reverted where it never was (so a version stamped by a
 * coordinator that died before its quorum never surfaces, however far its clock ran ahead), and left
 * for a later sweep while replicas that could tell do not answer. Settling or reverting blind could
 * resurrect a delete or lose a write, so that waits for `settleGiveUpMs` (an hour): reads of the key
 * answer 503 meanwhile, and after it the write is settled as it stands.
 */
import { keyPosition } from '../../core/ring/position.js';
import { preferenceList, readPreferenceList } from '../../core/ring/ring.js';
import { judgeUnsettled, type ReplicaView, type UnsettledVerdict } from '../../core/unsettled-rules.js';
import type { ActorApi } from '../../runtime/actor.js';
import { ask } from '../../runtime/typed-ask.js';
import type { StaleWrite } from '../../store/object-store.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import { routerOf } from '../../protocol/cluster/storage.js';
import { revertReplicaWrite } from './replica-ops.js';
import type { StorageContext } from './storage-context.js';

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
      const verdict = await judge(system, context, write);
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

async function judge(system: ActorApi, context: StorageContext, write: StaleWrite): Promise<UnsettledVerdict> {
  const snapshot = context.ringView.current;
  if (!snapshot) return 'wait';
  const { address, clock } = write;
  const { n, w, d } = snapshot.doc.settings;
  // Made under another ring, the write went to that ring's replicas; they are asked along with today's
  // (which a rebalance gave whatever those held). A ring this node no longer knows (it restarted since)
  // leaves the replicas unknown: their silence proves nothing, and the write waits.
  const position = keyPosition(address.bucket, address.key);
  const writeRing = context.ringView.ringOf(write.ringChecksum);
  const knownRing = writeRing !== undefined;
  const replicas = writeRing
    ? [...new Set([...preferenceList(writeRing, position, n), ...preferenceList(snapshot.current, position, n)])]
    : readPreferenceList(snapshot.current, snapshot.previous, position, n);
  const peers = replicas.filter((replica) => replica !== context.node);
  const views = await Promise.all(
    peers.map(async (peer): Promise<ReplicaView> => {
      if (context.isKnownDown(peer)) return 'unknown';
      const reply = await ask(system, routerOf(peer), { type: 'head_local', objectKind: address.kind, bucket: address.bucket, key: address.key }, context.options.replicaTimeoutMs);
      return reply.ok ? { clock: reply.meta?.clock ?? null, unsettled: reply.unsettled !== undefined } : 'unknown';
    }),
  );
  const verdict = judgeUnsettled(clock, write.deleted ? d : w, [{ clock, unsettled: true }, ...views]);
  return verdict === 'revert' && !knownRing ? 'wait' : verdict;
}
