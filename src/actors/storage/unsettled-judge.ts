/**
 * Judges a version that some replica holds unsettled by what the key's replicas hold now
 * (core/unsettled-rules.ts). The write went to the replicas of the ring it was made under; they are
 * asked along with today's, which a rebalance gave whatever those held. A ring this node no longer
 * knows (it restarted since) leaves the write's replicas unknown: their silence proves nothing, so the
 * version is then never judged never-acknowledged, only left to wait.
 */
import { compareHlc, type Hlc } from '../../core/hlc.js';
import { keyPosition } from '../../core/ring/position.js';
import { preferenceList, readPreferenceList } from '../../core/ring/ring.js';
import { judgeUnsettled, type ReplicaView, type UnsettledVerdict } from '../../core/unsettled-rules.js';
import type { ActorApi } from '../../runtime/actor.js';
import { ask } from '../../runtime/typed-ask.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import { routerOf } from '../../protocol/cluster/storage.js';
import type { StorageContext } from './storage-context.js';

export interface UnsettledVersion {
  readonly address: ObjectAddress;
  readonly clock: Hlc;
  readonly deleted: boolean;
  /** The ring its write was made under. */
  readonly ringChecksum: number;
}

export interface Judgement {
  readonly verdict: UnsettledVerdict;
  /**
   * A replica holds a settled newer version: the verdict is 'settle' because the version is moot, which
   * says nothing of whether its own write was acknowledged.
   */
  readonly overridden: boolean;
}

/** `here`: what this node holds of the key, as the judgement counts it. */
export async function judgeByReplicas(system: ActorApi, context: StorageContext, version: UnsettledVersion, here: ReplicaView): Promise<Judgement> {
  const snapshot = context.ringView.current;
  if (!snapshot) return { verdict: 'wait', overridden: false };
  const { address, clock } = version;
  const { n, w, d } = snapshot.doc.settings;
  const position = keyPosition(address.bucket, address.key);
  const writeRing = context.ringView.ringOf(version.ringChecksum);
  const replicas = writeRing
    ? [...new Set([...preferenceList(writeRing, position, n), ...preferenceList(snapshot.current, position, n)])]
    : readPreferenceList(snapshot.current, snapshot.previous, position, n);
  const views = await askReplicaViews(system, context, address, replicas.filter((replica) => replica !== context.node));
  const all = [here, ...views];
  const verdict = judgeUnsettled(clock, version.deleted ? d : w, all);
  const overridden = all.some((view) => view !== 'unknown' && view.clock !== null && !view.unsettled && compareHlc(view.clock, clock) > 0);
  return { verdict: verdict === 'revert' && writeRing === undefined ? 'wait' : verdict, overridden };
}

/** What each of `peers` holds of a key now, as a judgement counts it: 'unknown' for one down or not answering. */
export function askReplicaViews(system: ActorApi, context: StorageContext, address: ObjectAddress, peers: readonly string[], timeoutMs = context.options.replicaTimeoutMs): Promise<ReplicaView[]> {
  return Promise.all(
    peers.map(async (peer): Promise<ReplicaView> => {
      if (context.isKnownDown(peer)) return 'unknown';
      const reply = await ask(system, routerOf(peer), { type: 'head_local', objectKind: address.kind, bucket: address.bucket, key: address.key }, timeoutMs);
      return reply.ok ? { clock: reply.meta?.clock ?? null, unsettled: reply.unsettled !== undefined } : 'unknown';
    }),
  );
}
