/**
 * Coordinating one read: ask R replicas (this node first when it is one), return the newest version,
 * and repair the replicas that answered with an older one or none. During a rebalance the replicas of
 * the previous ring are asked too, R of them at least. A miss is confirmed with every replica before it is reported, so a
 * replica that missed a write while it was down never hides an acknowledged object.
 */
import type { BodyFileRef } from '../../core/body-file-ref.js';
import { compareHlc, type Hlc } from '../../core/hlc.js';
import { carriesBody, type ObjectMeta } from '../../core/object-meta.js';
import { isPastGrace } from '../../core/purge-rules.js';
import { preferenceList, readPreferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import { hidesNoWrite, judgeUnsettled, type ReplicaView } from '../../core/unsettled-rules.js';
import type { ActorApi } from '../../runtime/actor.js';
import type { Logger } from '../../runtime/logger.js';
import type { ReadRequest } from '../../protocol/cluster/reader.js';
import { type GetResult, type StorageFailure, storageFailure } from '../../protocol/cluster/storage-api.js';
import { routerOf, type ReplicaGetReply, type UnsettledWrite } from '../../protocol/cluster/storage.js';
import { repairItemKey, type StorageContext } from './storage-context.js';
import { askReplicaViews } from './unsettled-judge.js';
import { ask } from '../../runtime/typed-ask.js';

/**
 * How long a read whose newest version is undecided keeps asking the replicas that could tell (pauses
 * and asks together, by the clock that is never stepped), and how long it pauses between rounds.
 */
const UNDECIDED_WAIT_MS = 2_000;
const UNDECIDED_PAUSE_MS = 200;

interface Answer {
  readonly replica: string;
  readonly meta: ObjectMeta | null;
  readonly body?: Uint8Array;
  readonly bodyFile?: BodyFileRef;
  /** Present while the write of `meta` may still be undone on this replica. */
  readonly unsettled?: UnsettledWrite;
  /** `meta` is what an unsettled write replaced here: that write was found never acknowledged. */
  readonly beneath?: true;
}

export async function coordinateRead(system: ActorApi, context: StorageContext, log: Logger, request: ReadRequest): Promise<GetResult> {
  const snapshot = context.ringView.current;
  if (!snapshot) return storageFailure('Unavailable', 'this node has no ring yet');
  const { n, r, w, d } = snapshot.doc.settings;
  const position = keyPosition(request.bucket, request.key);
  const replicas = readPreferenceList(snapshot.current, snapshot.previous, position, n);
  // This node is asked first, unless it does not serve its data now (it then counts itself down).
  let candidates = [...replicas.filter((node) => node === context.node && !context.isKnownDown(node)), ...replicas.filter((node) => node !== context.node && !context.isKnownDown(node))];
  if (candidates.length === 0) return storageFailure('Unavailable', `no replica of ${request.bucket}/${request.key} is reachable`);

  // With R = 1 the first replica is asked for the body at once: one round trip for the common case.
  const bodyFirst = request.withBody && r === 1;
  let answers: Answer[] = [];
  let next = 0;
  const askSome = async (count: number, withBody: boolean, timeoutMs = context.options.readTimeoutMs): Promise<void> => {
    const batch = candidates.slice(next, next + count);
    next += batch.length;
    const replies = await Promise.all(batch.map((replica) => askReplica(system, context, replica, request, withBody, timeoutMs)));
    for (let i = 0; i < batch.length; i++) {
      const reply = replies[i]!;
      if (reply.ok) answers.push({ replica: batch[i]!, meta: reply.meta, ...bodyOf(reply), ...(reply.unsettled ? { unsettled: reply.unsettled } : {}) });
    }
  };

  await askSome(Math.min(r, candidates.length), bodyFirst);
  while (answers.length < r && next < candidates.length) await askSome(r - answers.length, bodyFirst);
  if (answers.length < r) return storageFailure('Unavailable', `${answers.length} of ${r} replicas answered for ${request.bucket}/${request.key}`);
  // While a rebalance moves data, a new holder may not have received the key yet: R of the previous
  // holders (which took every write acknowledged before the rebalance) are asked as well.
  const previousHolders = snapshot.previous ? preferenceList(snapshot.previous, position, n) : [];
  const fromPrevious = (): number => answers.filter((answer) => previousHolders.includes(answer.replica)).length;
  while (fromPrevious() < Math.min(r, previousHolders.length) && next < candidates.length) await askSome(1, false);
  while (!answers.some((answer) => answer.meta) && next < candidates.length) await askSome(candidates.length - next, false);

  // The newest version answered may be one whose write is unsettled on every replica that answered
  // with it. Unless it may have been acknowledged (core/unsettled-rules.ts), it is not the object's
  // version: a write still on its way to its quorum, or one whose coordinator died short of it. While
  // the replicas that could tell do not answer, neither it nor the version before it can be returned:
  // the read asks them again for a moment (a node restarting comes back), then gives up.
  let newest: Answer | undefined;
  let undecidedUntilMs: number | undefined;
  for (;;) {
    newest = newestOf(answers);
    if (!newest?.meta || !newest.unsettled) break;
    const clock = newest.meta.clock;
    const holders = answers.filter((answer) => answer.meta && compareHlc(answer.meta.clock, clock) === 0);
    const required = newest.meta.deleted ? d : w;
    if (holders.length >= required || holders.some((holder) => !holder.unsettled)) break;
    if (next < candidates.length) {
      await askSome(candidates.length - next, false);
      continue;
    }
    const views = replicas.map((replica): ReplicaView => {
      const answer = answers.find((candidate) => candidate.replica === replica);
      return answer ? { clock: answer.meta?.clock ?? null, unsettled: answer.unsettled !== undefined } : 'unknown';
    });
    // The replicas its write went to are asked too, as the sweep asks them: a node of today's ring that has
    // replaced one of them (under its alias, say) lacks the version without telling whether its write was
    // acknowledged, and the one it replaced may hold it.
    const writeRing = context.ringView.ringOf(newest.meta.ringChecksum);
    const gone = writeRing ? preferenceList(writeRing, position, n).filter((replica) => !replicas.includes(replica)) : [];
    if (gone.length > 0) views.push(...(await askReplicaViews(system, context, { kind: request.objectKind, bucket: request.bucket, key: request.key }, gone, context.options.readTimeoutMs)));
    const verdict = judgeUnsettled(clock, required, views);
    if (verdict === 'settle') break;
    if (verdict === 'wait') {
      const replaced = holders.filter((holder) => replicas.includes(holder.replica)).map((holder) => ({ previous: holder.unsettled!.previous?.clock ?? null, vouches: holder.unsettled!.previousUnsettled !== true && holder.unsettled!.replacedUnknown !== true }));
      const others = answers.filter((answer) => replicas.includes(answer.replica) && !holders.includes(answer)).map((answer) => answer.meta?.clock ?? null);
      // A write still in flight is shown once it settles, or not at all: see core/unsettled-rules.ts.
      const inFlight = holders.some((holder) => holder.unsettled!.inFlight === true);
      if (!inFlight && hidesNoWrite(replaced, others, snapshot.doc.settings)) break;
      undecidedUntilMs ??= context.clock.elapsed() + UNDECIDED_WAIT_MS;
      const leftMs = undecidedUntilMs - context.clock.elapsed() - UNDECIDED_PAUSE_MS;
      if (leftMs <= 0) {
        return storageFailure('Unavailable', `the newest version of ${request.bucket}/${request.key} is unsettled and the replicas that could tell whether it was acknowledged did not answer; retry`);
      }
      await new Promise((resolve) => context.clock.setTimeout(() => resolve(undefined), UNDECIDED_PAUSE_MS));
      answers = [];
      next = 0;
      candidates = replicas.filter((replica) => !context.isKnownDown(replica));
      await askSome(candidates.length, false, Math.min(context.options.readTimeoutMs, leftMs));
      if (answers.length < r) return storageFailure('Unavailable', `${answers.length} of ${r} replicas answered for ${request.bucket}/${request.key}`);
      continue;
    }
    answers = answers.map((answer) => (holders.includes(answer) ? beneath(answer) : answer));
  }

  if (newest?.meta && !newest.unsettled && !answers.some((answer) => answer.beneath)) repairStale(system, context, log, request, answers, newest);
  if (!newest?.meta || newest.meta.deleted) return storageFailure('NotFound', `${request.bucket}/${request.key} does not exist`);
  if (!request.withBody || !carriesBody(newest.meta) || newest.body || newest.bodyFile) return { ok: true, meta: newest.meta, ...bodyOf(newest) };

  const holder = newest.replica;
  const withBody = await askReplica(system, context, holder, { ...request, clock: newest.meta.clock }, true);
  if (!withBody.ok) return storageFailure('Unavailable', `${holder} did not return the body: ${withBody.message}`);
  if (!withBody.meta || compareHlc(withBody.meta.clock, newest.meta.clock) !== 0 || !(withBody.body || withBody.bodyFile)) {
    return storageFailure('Unavailable', `${holder} changed while it was read; retry`);
  }
  return { ok: true, meta: withBody.meta, ...bodyOf(withBody) };
}

/** The body a replica answered with: its bytes, or where they lie for a reader on its machine. */
function bodyOf(reply: { readonly body?: Uint8Array; readonly bodyFile?: BodyFileRef }): { body?: Uint8Array; bodyFile?: BodyFileRef } {
  if (reply.body) return { body: reply.body };
  return reply.bodyFile ? { bodyFile: reply.bodyFile } : {};
}

/** What a replica holds once its unsettled newest version is set aside: the version that write replaced. */
function beneath(answer: Answer): Answer {
  const { previous, previousUnsettled } = answer.unsettled!;
  // Unsettled in its turn, over a version that is not known: judged again, and taken as nothing if undone.
  return { replica: answer.replica, meta: previous, beneath: true, ...(previous && previousUnsettled ? { unsettled: { previous: null, previousUnsettled: true } } : {}) };
}

function newestOf(answers: readonly Answer[]): Answer | undefined {
  return answers.reduce<Answer | undefined>((best, answer) => (answer.meta && (!best?.meta || compareHlc(answer.meta.clock, best.meta.clock) > 0) ? answer : best), undefined);
}

/** `clock`: the version at this clock rather than the replica's newest. */
async function askReplica(
  system: ActorApi,
  context: StorageContext,
  replica: string,
  request: ReadRequest & { readonly clock?: Hlc },
  withBody: boolean,
  timeoutMs = context.options.readTimeoutMs,
): Promise<ReplicaGetReply | StorageFailure> {
  const slice = withBody && request.bodySlice ? { bodySlice: request.bodySlice } : {};
  const fileOnMachine = withBody && request.fileOnMachine !== undefined ? { fileOnMachine: request.fileOnMachine } : {};
  const { objectKind, bucket, key } = request;
  const clock = request.clock ? { clock: request.clock } : {};
  // This node counted the read when it took it.
  const forClient = replica === context.node ? {} : { forClient: true };
  const reply = await ask(system, routerOf(replica), { type: 'replica_get', objectKind, bucket, key, withBody, ...slice, ...fileOnMachine, ...clock, ...forClient }, timeoutMs);
  return reply.ok ? reply : storageFailure('Unavailable', `${replica}: ${reply.code} ${reply.message}`);
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
    context.counters.readRepairQueued();
    if (newest.replica === context.node) queueHere(stale.replica); // we hold the newest: push it
    else if (stale.replica === context.node) queueHere(newest.replica); // we are stale: pull it
    else system.dispatch(routerOf(newest.replica), { type: 'queue_repair', ...address, peer: stale.replica });
  }
}
