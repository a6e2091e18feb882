/**
 * Coordinating one write (LeoFS's leo_storage_replicator): send the version to the N replicas of its
 * key in parallel and answer once W have acknowledged (D for a delete), or fail as soon as more than
 * N-W have failed. Nothing is written when fewer than W replicas are reachable to begin with.
 *
 * What happens after the answer, replica by replica:
 *   quorum met:    acknowledged replicas settle the write; failed ones become durable repair items.
 *   quorum failed: replicas that took the write revert it, so it never surfaces later as the newest
 *                  version; a revert that cannot be delivered becomes a durable revert item. The
 *                  failure is answered once the reverts are done.
 */
import { compareHlc, type Hlc } from '../../core/hlc.js';
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import { recordAck, recordFailure, startQuorum, type Quorum } from '../../core/quorum.js';
import { preferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import type { ActorApi } from '../../runtime/actor.js';
import type { RuntimeFailure } from '../../runtime/failures.js';
import type { Logger } from '../../runtime/logger.js';
import { type PutResult, type StorageFailure, storageFailure } from '../../protocol/cluster/storage-api.js';
import { routerOf, stagedBodyRefusal, type ReplicaPutReply, type RouterMessage } from '../../protocol/cluster/storage.js';
import { StagedBody } from '../../store/staged-bodies.js';
import { newestOnPreviousReplicas } from './previous-replicas.js';
import { applyReplicaWrite, newestReplaced } from './replica-ops.js';
import { repairItemKey, type StorageContext } from './storage-context.js';
import { ask, askWhenWritable } from '../../runtime/typed-ask.js';

export interface WriteRequest {
  readonly objectKind: ObjectKind;
  readonly meta: ObjectMeta;
  /** In memory, or staged on this machine by the writer: the replicas here read it there, the others get the bytes. */
  readonly body?: Uint8Array | StagedBody;
  /** W for writes, D for deletes. */
  readonly required: number;
  /**
   * A version from a linked cluster: the whole record as that cluster holds it, versions included, so
   * it may replace a record that keeps versions (a client's plain write may not).
   */
  readonly received?: boolean;
}

type ReplicaOutcome = ReplicaPutReply | RuntimeFailure | { readonly ok: false; readonly code: 'KnownDown'; readonly message: string };

/**
 * Rounds of one write at most: its first stamp and two more above versions its replicas held. A third
 * round still outdated is acknowledged: every round was stamped above what the one before met, so what
 * outdates the last one was written while this write ran, and the two are concurrent.
 */
const MAX_ROUNDS = 3;

/**
 * Replicates `request` and makes sure that what is acknowledged is the newest version of its key on
 * the replicas that acknowledged it. A replica that already holds a version with a later clock (stamped
 * by a coordinator whose clock runs ahead, or by one that saw such a version) keeps it over this one;
 * acknowledging such a write would let a write that came after another lose to it. So the version is
 * stamped again above the later clock and written again. Should a later round fail, the write fails:
 * the round before was taken by its replicas but loses to the version they held, so acknowledging it
 * would acknowledge a write that readers never see. While a rebalance moves the key, its replicas may
 * not hold the versions it had on the previous ring yet: those are asked first (previous-replicas.ts).
 */
export async function coordinateNewestWrite(system: ActorApi, context: StorageContext, log: Logger, request: WriteRequest): Promise<PutResult> {
  let attempt = request;
  const earlier = await newestOnPreviousReplicas(system, context, { kind: request.objectKind, bucket: request.meta.bucket, key: request.meta.key }, request.required);
  if (!earlier.ok) return earlier;
  if (earlier.newest && compareHlc(earlier.newest.clock, attempt.meta.clock) > 0) attempt = stampedAbove(context, attempt, earlier.newest.clock);
  for (let round = 1; ; round++) {
    const { result, outdatedBy } = await coordinateWrite(system, context, log, attempt);
    if (!result.ok && round > 1) return { ...result, message: `the write was stamped again above a version its replicas held, and that round failed (an earlier round stays behind that version): ${result.message}` };
    if (!result.ok || outdatedBy === undefined || round >= MAX_ROUNDS) return result;
    log.debug('a write was stamped behind a version its replicas held; writing it again above that version', {
      bucket: attempt.meta.bucket, key: attempt.meta.key, stampedMs: attempt.meta.clock.wallMs, heldMs: outdatedBy.wallMs,
    });
    attempt = stampedAbove(context, attempt, outdatedBy);
  }
}

/** `request` stamped anew, above `held`. */
function stampedAbove(context: StorageContext, request: WriteRequest, held: Hlc): WriteRequest {
  context.hlc.observe(held);
  const clock = context.hlc.stamp();
  return { ...request, meta: { ...request.meta, clock, lastModifiedMs: clock.wallMs } };
}

/**
 * Stores a version shipped by a linked cluster as it is: with the clock it was stamped with there, never
 * stamped again, so every cluster orders it alike. A replica that holds a newer version keeps it.
 */
export async function coordinateReceivedWrite(system: ActorApi, context: StorageContext, log: Logger, request: WriteRequest): Promise<PutResult> {
  const { result } = await coordinateWrite(system, context, log, { ...request, received: true });
  return result;
}

/** The outcome of one round of replication; `outdatedBy`: a later clock an acknowledging replica held. */
interface WriteRound {
  readonly result: PutResult;
  readonly outdatedBy?: Hlc;
}

function coordinateWrite(system: ActorApi, context: StorageContext, log: Logger, request: WriteRequest): Promise<WriteRound> {
  const snapshot = context.ringView.current;
  if (!snapshot) return Promise.resolve({ result: storageFailure('Unavailable', 'this node has no ring yet') });
  const { meta, objectKind, required } = request;
  const replicas = preferenceList(snapshot.current, keyPosition(meta.bucket, meta.key), snapshot.doc.settings.n);
  const reachable = replicas.filter((replica) => !context.isKnownDown(replica));
  if (reachable.length < required) {
    return Promise.resolve({ result: storageFailure('QuorumFailed', `${reachable.length} of ${replicas.length} replicas are reachable and ${required} must acknowledge; nothing was written`) });
  }

  return new Promise<WriteRound>((resolve) => {
    let quorum: Quorum = startQuorum(replicas, required);
    const outcomes = new Map<string, ReplicaOutcome>();
    const reverts: Array<Promise<void>> = [];
    let decided = false;
    const address = { objectKind, bucket: meta.bucket, key: meta.key };
    // With a quorum of one, this node's own copy decides the write once taken: nothing can undo it, so
    // it keeps no undo record and is not settled.
    const ownCopyDecides = required === 1;

    const followUp = (replica: string, outcome: ReplicaOutcome): void => {
      if (quorum.state === 'met') {
        if (outcome.ok) {
          if (!(replica === context.node && ownCopyDecides)) context.settles.add(replica, objectKind, meta.bucket, meta.key, meta.clock);
        }
        // This node itself, when it did not take the write, gets it back from anti-entropy.
        else if (replica !== context.node && replicas.includes(context.node)) {
          const item = { peer: replica, ...address };
          void context.repairs.enqueue(repairItemKey(item), item, context.clock.now()).catch((error: unknown) => log.error('cannot queue a repair', { error }));
        }
        return;
      }
      // Failed quorum: undo the write wherever it may have landed. A replica never sent to has nothing.
      if (!outcome.ok && outcome.code === 'KnownDown') return;
      reverts.push(revert(replica));
    };

    const revert = async (replica: string): Promise<void> => {
      const reply = await ask(system, routerOf(replica), { type: 'replica_revert', ...address, clock: meta.clock }, context.options.replicaTimeoutMs);
      if (reply.ok) return;
      const item = { peer: replica, ...address, clock: meta.clock };
      await context.reverts.enqueue(repairItemKey(item), item, context.clock.now()).catch((error: unknown) => log.error('cannot queue a revert', { error }));
    };

    const settle = (replica: string, outcome: ReplicaOutcome): void => {
      outcomes.set(replica, outcome);
      if (!outcome.ok) context.counters.replicaWriteFailed(outcome.code);
      quorum = outcome.ok ? recordAck(quorum, replica) : recordFailure(quorum, replica);
      if (!decided && quorum.state === 'met') {
        decided = true;
        const replaced = newestReplaced(outcomes.values());
        const outdatedBy = newestHeld(outcomes, meta.clock);
        resolve({ result: { ok: true, meta, ...(replaced ? { replaced } : {}) }, ...(outdatedBy ? { outdatedBy } : {}) });
        if (meta.deleted) tombstoneOnPreviousHolders(system, context, objectKind, meta, replicas);
        for (const [done, doneOutcome] of outcomes) followUp(done, doneOutcome);
        return;
      }
      if (!decided && quorum.state === 'failed') {
        decided = true;
        context.counters.quorumFailed();
        for (const [done, doneOutcome] of outcomes) followUp(done, doneOutcome);
      } else if (decided) {
        followUp(replica, outcome);
      }
      // A failed write is answered only once every replica has answered and those that took it have
      // undone it: after the error, readers see what was there before.
      if (quorum.state === 'failed' && outcomes.size === replicas.length) {
        void Promise.all(reverts).then(() => resolve({ result: quorumFailure(outcomes, replicas.length, required) }));
      }
    };

    for (const replica of replicas) {
      if (context.isKnownDown(replica)) {
        settle(replica, { ok: false, code: 'KnownDown', message: `${replica} is down` });
        continue;
      }
      // This node's own copy is written in place: the store compares clocks inside its transaction,
      // so it needs no message.
      const written =
        replica === context.node
          ? applyReplicaWrite(context, { objectKind, meta, keepPrevious: !ownCopyDecides, ...(request.body ? { body: request.body } : {}) })
          : sendCopy(system, context, replica, { objectKind, meta, keepPrevious: true, plain: request.received !== true, forClient: request.received !== true }, request.body);
      if (request.body instanceof StagedBody) request.body.track(written);
      void written.then((outcome) => settle(replica, outcome));
    }
  });
}

type ReplicaPut = Omit<Extract<RouterMessage, { type: 'replica_put' }>, 'type' | 'body' | 'replyTo'>;

/**
 * Sends a replica its copy of a write. A staged body goes as where it lies, unless the replica has
 * refused staged bodies from this node before; one that refuses it (another machine, a file it may not
 * read, the file gone meanwhile) is sent the bytes.
 */
async function sendCopy(system: ActorApi, context: StorageContext, replica: string, put: ReplicaPut, body: Uint8Array | StagedBody | undefined): Promise<ReplicaOutcome> {
  const timeoutMs = context.options.replicaTimeoutMs;
  if (body instanceof StagedBody) {
    if (!context.bytesOnlyPeers.has(replica)) {
      const reply = await ask(system, routerOf(replica), { type: 'replica_put_staged', ...put, stagedBody: body.ref }, timeoutMs);
      const refusal = stagedBodyRefusal(reply);
      if (refusal === undefined) return reply;
      if (refusal === 'every-body') context.bytesOnlyPeers.refused(replica);
    }
    let bytes: Uint8Array;
    try {
      bytes = await body.bytes();
    } catch (error) {
      return { ok: false, code: 'StoreError', message: `cannot read the staged body: ${error instanceof Error ? error.message : String(error)}` };
    }
    return askWhenWritable(system, routerOf(replica), { type: 'replica_put', ...put, body: bytes }, timeoutMs, bytes.length);
  }
  return askWhenWritable(system, routerOf(replica), { type: 'replica_put', ...put, ...(body ? { body } : {}) }, timeoutMs, body?.length ?? 0);
}

/**
 * While a rebalance moves data, a delete also goes to the key's holders of the previous ring that no
 * longer hold it: whatever they keep of the key until they drop it is then a tombstone, which no
 * listing or later copy can take for a live object. Best effort, outside the quorum.
 */
function tombstoneOnPreviousHolders(system: ActorApi, context: StorageContext, objectKind: ObjectKind, meta: ObjectMeta, replicas: readonly string[]): void {
  const snapshot = context.ringView.current;
  if (!snapshot?.previous) return;
  const previous = preferenceList(snapshot.previous, keyPosition(meta.bucket, meta.key), snapshot.doc.settings.n);
  for (const holder of previous) {
    if (replicas.includes(holder) || context.isKnownDown(holder)) continue;
    void ask(system, routerOf(holder), { type: 'replica_put', objectKind, meta, keepPrevious: true, plain: true, forClient: true }, context.options.replicaTimeoutMs).then((reply) => {
      if (reply.ok && reply.applied) context.settles.add(holder, objectKind, meta.bucket, meta.key, meta.clock);
    });
  }
}

/** The latest clock that a replica kept over `clock`, if any did. */
function newestHeld(outcomes: Map<string, ReplicaOutcome>, clock: Hlc): Hlc | undefined {
  let newest: Hlc | undefined;
  for (const outcome of outcomes.values()) {
    if (!outcome.ok || outcome.applied || compareHlc(outcome.clock, clock) <= 0) continue;
    if (!newest || compareHlc(outcome.clock, newest) > 0) newest = outcome.clock;
  }
  return newest;
}

function quorumFailure(outcomes: Map<string, ReplicaOutcome>, n: number, required: number): StorageFailure {
  const failures = [...outcomes.entries()].filter(([, outcome]) => !outcome.ok) as Array<[string, Exclude<ReplicaOutcome, { ok: true }>]>;
  const detail = failures.map(([replica, outcome]) => `${replica}: ${outcome.code}`).join(', ');
  if (failures.length > 0 && failures.every(([, outcome]) => outcome.code === 'InsufficientStorage')) {
    return storageFailure('InsufficientStorage', `replicas are out of space (${detail})`);
  }
  // A replica that refused for the bucket's sake speaks for the bucket, whatever the others said.
  if (failures.some(([, outcome]) => outcome.code === 'BucketDeleted')) return storageFailure('NoSuchBucket', `the bucket was deleted (${detail})`);
  if (failures.some(([, outcome]) => outcome.code === 'BucketSealed')) return storageFailure('BucketBusy', `the bucket is being deleted (${detail})`);
  // The writer's view of the bucket is behind (versioning was just enabled): a retry is a versioned write.
  if (failures.some(([, outcome]) => outcome.code === 'KeyVersioned')) return storageFailure('Unavailable', `the key keeps versions; this gateway had not yet learnt that its bucket is versioned (${detail})`);
  return storageFailure('QuorumFailed', `${n - failures.length} of ${n} replicas acknowledged, ${required} required (${detail})`);
}
