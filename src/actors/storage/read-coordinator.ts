/**
 * Coordinating one read: ask R replicas (this node first when it is one), return the newest version,
 * and repair the replicas that answered with an older one or none. During a rebalance the replicas of
 * the previous ring are asked too. A miss is confirmed with every replica before it is reported, so a
 * replica that missed a write while it was down never hides an acknowledged object.
 */
import type { BodySlice } from '../../core/body-slice.js';
import { compareHlc } from '../../core/hlc.js';
import { carriesBody, type ObjectKind, type ObjectMeta } from '../../core/object-meta.js';
import { isPastGrace } from '../../core/purge-rules.js';
import { readPreferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import type { ActorApi } from '../../runtime/actor.js';
import type { Logger } from '../../runtime/logger.js';
import type { GetResult, StorageFailure } from '../../protocol/cluster/storage-api.js';
import { routerOf, type ReplicaGetReply } from '../../protocol/cluster/storage.js';
import { repairItemKey, type StorageContext } from './storage-context.js';
import { ask } from '../../runtime/typed-ask.js';

export interface ReadRequest {
  readonly objectKind: ObjectKind;
  readonly bucket: string;
  readonly key: string;
  readonly withBody: boolean;
  /** With `withBody`: only these bytes of the body. */
  readonly bodySlice?: BodySlice;
}

interface Answer {
  readonly replica: string;
  readonly meta: ObjectMeta | null;
  readonly body?: Uint8Array;
}

export async function coordinateRead(system: ActorApi, context: StorageContext, log: Logger, request: ReadRequest): Promise<GetResult> {
  const snapshot = context.ringView.current;
  if (!snapshot) return failure('Unavailable', 'this node has no ring yet');
  const { n, r } = snapshot.doc.settings;
  const position = keyPosition(request.bucket, request.key);
  const replicas = readPreferenceList(snapshot.current, snapshot.previous, position, n);
  // This node is asked first, unless it does not serve its data now (it then counts itself down).
  const candidates = [...replicas.filter((node) => node === context.node && !context.isKnownDown(node)), ...replicas.filter((node) => node !== context.node && !context.isKnownDown(node))];
  if (candidates.length === 0) return failure('Unavailable', `no replica of ${request.bucket}/${request.key} is reachable`);

  // With R = 1 the first replica is asked for the body at once: one round trip for the common case.
  const bodyFirst = request.withBody && r === 1;
  const answers: Answer[] = [];
  let next = 0;
  const askSome = async (count: number, withBody: boolean): Promise<void> => {
    const batch = candidates.slice(next, next + count);
    next += batch.length;
    const replies = await Promise.all(batch.map((replica) => askReplica(system, context, replica, request, withBody)));
    for (let i = 0; i < batch.length; i++) {
      const reply = replies[i]!;
      if (reply.ok) answers.push({ replica: batch[i]!, meta: reply.meta, ...(reply.body ? { body: reply.body } : {}) });
    }
  };

  await askSome(Math.min(r, candidates.length), bodyFirst);
  while (answers.length < r && next < candidates.length) await askSome(r - answers.length, bodyFirst);
  if (answers.length < r) return failure('Unavailable', `${answers.length} of ${r} replicas answered for ${request.bucket}/${request.key}`);
  while (!answers.some((answer) => answer.meta) && next < candidates.length) await askSome(candidates.length - next, false);

  const newest = answers.reduce<Answer | undefined>((best, answer) => (answer.meta && (!best?.meta || compareHlc(answer.meta.clock, best.meta.clock) > 0) ? answer : best), undefined);
  if (newest?.meta) repairStale(system, context, log, request, answers, newest);
  if (!newest?.meta || newest.meta.deleted) return failure('NotFound', `${request.bucket}/${request.key} does not exist`);
  if (!request.withBody || !carriesBody(newest.meta) || newest.body) return { ok: true, meta: newest.meta, ...(newest.body ? { body: newest.body } : {}) };

  const holder = newest.replica;
  const withBody = await askReplica(system, context, holder, request, true);
  if (!withBody.ok) return failure('Unavailable', `${holder} did not return the body: ${withBody.message}`);
  if (!withBody.meta || compareHlc(withBody.meta.clock, newest.meta.clock) !== 0 || !withBody.body) {
    return failure('Unavailable', `${holder} changed while it was read; retry`);
  }
  return { ok: true, meta: withBody.meta, body: withBody.body };
}

async function askReplica(system: ActorApi, context: StorageContext, replica: string, request: ReadRequest, withBody: boolean): Promise<ReplicaGetReply | StorageFailure> {
  const slice = withBody && request.bodySlice ? { bodySlice: request.bodySlice } : {};
  const { objectKind, bucket, key } = request;
  const reply = await ask(system, routerOf(replica), { type: 'replica_get', objectKind, bucket, key, withBody, ...slice }, context.options.readTimeoutMs);
  return reply.ok ? reply : failure('Unavailable', `${replica}: ${reply.code} ${reply.message}`);
}

/** Read repair: every replica that answered with an older version (or none) gets the newest. */
function repairStale(system: ActorApi, context: StorageContext, log: Logger, request: ReadRequest, answers: readonly Answer[], newest: Answer): void {
  const newestMeta = newest.meta!;
  const address = { objectKind: request.objectKind, bucket: request.bucket, key: request.key };
  const queueHere = (peer: string): void => {
    const item = { peer, ...address };
    void context.repairs.enqueue(repairItemKey(item), item, context.clock.now()).catch((error: unknown) => log.error('cannot queue a read repair', { error }));
  };
  for (const stale of answers) {
    if (stale.meta && compareHlc(stale.meta.clock, newestMeta.clock) >= 0) continue;
    // A replica with nothing needs no tombstone past the grace period (see key-sync.ts).
    if (!stale.meta && newestMeta.deleted && isPastGrace(newestMeta.clock, context.clock.now(), context.options.tombstoneGraceMs)) continue;
    if (newest.replica === context.node) queueHere(stale.replica); // we hold the newest: push it
    else if (stale.replica === context.node) queueHere(newest.replica); // we are stale: pull it
    else system.dispatch(routerOf(newest.replica), { type: 'queue_repair', ...address, peer: stale.replica });
  }
}

function failure(code: StorageFailure['code'], message: string): StorageFailure {
  return { ok: false, code, message };
}
