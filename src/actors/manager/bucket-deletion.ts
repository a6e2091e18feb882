/**
 * The manager's bucket deletions, the one place a bucket's incarnation ends (see
 * core/bucket-namespace.ts for why nothing of it can reappear afterwards).
 *
 * S3 DeleteBucket must refuse a bucket that holds objects, atomically with respect to writes through
 * every gateway (uploads in progress do not count: S3 deletes them with the bucket). It does so in
 * three steps:
 *   1. seal: every storage node of the ring refuses writes to the bucket's namespace from now on;
 *      enough of them must answer that no write can still reach its quorum (core/ring/write-fence.ts);
 *   2. check: a listing merged from the sealed nodes finds no object, nor a write still in flight
 *      (a delete just acknowledged is waited for while it settles);
 *   3. decide: in one transaction, if this attempt's intent is still stored, the deleted record
 *      replaces it; then the bucket record goes and every storage node is told (and purges the data).
 *      Otherwise the seals are lifted.
 * A write acknowledged before the seal is found by the check; one after it is refused. The intent is
 * stored before sealing: a manager (or this actor) that restarts midway removes the intents it finds
 * undecided before lifting their seals, so an attempt still running from before the restart can no
 * longer decide.
 *
 * `leofs-adm delete-bucket` deletes a bucket with its content: no seal and no check, the namespace
 * simply ends; writes that race it land in the dead namespace and are purged with it.
 *
 * Deletions run beside the mailbox (one at a time per bucket), so a slow storage node holds up nothing
 * else. Every few seconds, and whenever a storage node joins or comes back, the actor makes sure each
 * storage node has been told every deleted namespace and knows which seals are still wanted, and that
 * the bucket records of decided deletions are gone: a message lost on the way is sent again.
 */
import { randomBytes } from 'node:crypto';
import type { ActorContext, Behavior } from '../../runtime/actor.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import { assertNever } from '../../core/assert-never.js';
import { namespaceOf } from '../../core/bucket-namespace.js';
import type { DeletedBucketRecord, DeletionIntent } from '../../core/bucket-deletion.js';
import { snapshotOf, type RingSnapshot } from '../../core/ring/ring-document.js';
import { unfencedRange } from '../../core/ring/write-fence.js';
import type { StateTable } from '../../store/node-state.js';
import { authRef, ringKeeperRef } from '../../protocol/cluster/paths.js';
import type { AuthError } from '../../protocol/cluster/auth.js';
import type { BucketDeletionMessage, DeleteBucketReply, DeletedBucketStats, PurgeOnNode } from '../../protocol/cluster/bucket-deletion.js';
import { announceDeleted, checkEmpty, purgeStats, sealNamespace, sendSealsInForce, unsealNamespace, type FenceDeps } from './namespace-fence.js';
import { ask } from '../../runtime/typed-ask.js';

const DEFAULT_NODE_TIMEOUT_MS = 5_000;
/** A gateway waits 30 s for a deletion: the check gives up before, lifting its seals. */
const DEFAULT_CHECK_TIMEOUT_MS = 20_000;
const DEFAULT_RECONCILE_INTERVAL_MS = 10_000;
const LOCAL_TIMEOUT_MS = 10_000;

export interface BucketDeletionDeps {
  readonly deleted: StateTable<DeletedBucketRecord>;
  readonly intents: StateTable<DeletionIntent>;
  /** One transaction over both tables (NodeState.transaction). */
  readonly transaction: <R>(action: () => R) => Promise<R>;
  readonly isKnownDown: (node: string) => boolean;
  /** Deadline of each call to one storage node. */
  readonly nodeTimeoutMs?: number;
  /** How long sealing and checking a bucket may take before the deletion gives up. */
  readonly checkTimeoutMs?: number;
  readonly reconcileIntervalMs?: number;
  /** Where seal ids come from; cryptographic random bytes unless a test owns them. */
  readonly randomBytes?: (size: number) => Uint8Array;
}

interface DeletionState {
  /** By namespace. */
  readonly deleted: Map<string, DeletedBucketRecord>;
  /** Names of buckets being deleted now, with the intent when a seal is involved. */
  readonly inProgress: Map<string, DeletionIntent | undefined>;
  /** Namespaces each storage node has stored as deleted, as far as this incarnation has seen. */
  readonly told: Map<string, Set<string>>;
  /** Decided deletions whose bucket record is not known to be gone. */
  readonly recordsToRemove: Set<string>;
  readonly timer: SelfTimer<BucketDeletionMessage>;
  reconciling: boolean;
}

type Outcome = DeleteBucketReply;

export function bucketDeletionBehavior(deps: BucketDeletionDeps): Behavior<DeletionState, BucketDeletionMessage> {
  const nodeTimeoutMs = deps.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
  const checkTimeoutMs = deps.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const reconcileIntervalMs = deps.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
  const random = deps.randomBytes ?? ((size: number) => randomBytes(size));

  return {
    accepts: ['delete_bucket', 'stats'],

    init(ctx) {
      const state: DeletionState = {
        deleted: new Map(deps.deleted.entries()),
        inProgress: new Map(),
        told: new Map(),
        recordsToRemove: new Set(),
        timer: new SelfTimer<BucketDeletionMessage>(ctx, { type: 'reconcile' }),
        reconciling: false,
      };
      for (const record of state.deleted.values()) state.recordsToRemove.add(record.namespace);
      for (const [, intent] of deps.intents.entries()) state.inProgress.set(intent.name, intent);
      ctx.system.dispatch(ctx.self, { type: 'recover' });
      return state;
    },

    async receive(state, message, ctx) {
      switch (message.type) {
        case 'delete_bucket': {
          const problem = deleteProblem(message);
          if (problem) {
            ctx.log.warn('refused a malformed bucket deletion', { problem });
            if (typeof message.replyTo === 'object' && message.replyTo !== null) ctx.system.reply(message.replyTo, error('InvalidArgument', problem));
            return state;
          }
          const started = await start(state, message, ctx);
          if (started) {
            void started.running.then((reply) => {
              ctx.system.reply(message.replyTo, reply);
              ctx.system.dispatch(ctx.self, { type: 'finished', name: message.name });
            });
          }
          return state;
        }
        case 'finished':
          state.inProgress.delete(message.name);
          return state;
        case 'recorded':
          state.deleted.set(message.record.namespace, message.record);
          state.recordsToRemove.add(message.record.namespace);
          return state;
        case 'record_removed':
          state.recordsToRemove.delete(message.namespace);
          return state;
        case 'told':
          for (const node of message.nodes) {
            const known = state.told.get(node) ?? new Set<string>();
            for (const namespace of message.namespaces) known.add(namespace);
            state.told.set(node, known);
          }
          return state;
        case 'storage_up':
          // A node that comes back may have lost what it was told while it was away: it is told again.
          state.told.delete(message.node);
          updateNode(state, message.node, ctx);
          return state;
        case 'stats':
          void stats(state, message.name, ctx).then(
            (buckets) => ctx.system.reply(message.replyTo, { ok: true, buckets }),
            (thrown: unknown) => ctx.system.reply(message.replyTo, error('Unavailable', `cannot gather the statistics: ${messageOf(thrown)}`)),
          );
          return state;
        case 'recover':
          await recover(state, ctx);
          state.timer.schedule(0);
          return state;
        case 'reconcile':
          if (!state.reconciling) {
            state.reconciling = true;
            void reconcile(state, ctx).finally(() => ctx.system.dispatch(ctx.self, { type: 'reconciled' }));
          }
          return state;
        case 'reconciled':
          state.reconciling = false;
          state.timer.schedule(reconcileIntervalMs);
          return state;
        default:
          return assertNever(message);
      }
    },
  };

  function fenceDeps(ctx: ActorContext<BucketDeletionMessage>): FenceDeps {
    return { system: ctx.system, isKnownDown: deps.isKnownDown, timeoutMs: nodeTimeoutMs };
  }

  /** Checks the request; refuses it at once, or returns the deletion running beside the mailbox. */
  async function start(
    state: DeletionState,
    message: Extract<BucketDeletionMessage, { type: 'delete_bucket' }>,
    ctx: ActorContext<BucketDeletionMessage>,
  ): Promise<{ readonly running: Promise<Outcome> } | undefined> {
    const refuse = (reply: DeleteBucketReply): undefined => {
      ctx.system.reply(message.replyTo, reply);
      return undefined;
    };
    const { name } = message;
    const found = await ask(ctx.system, authRef(ctx.system.node), { type: 'get_bucket', name }, LOCAL_TIMEOUT_MS);
    if (isRuntimeFailure(found)) return refuse(error('Unavailable', `the manager's bucket records did not answer: ${found.message}`));
    if (!found.ok) return refuse(error('NoSuchBucket', `no bucket ${name}`));
    const bucket = found.bucket;
    if (bucket.owner !== message.requester) return refuse(error('AccessDenied', `only the owner of ${name} may delete it`));
    if (state.inProgress.has(name)) return refuse(error('OperationAborted', `the bucket ${name} is already being deleted`));
    const namespace = namespaceOf(bucket);
    // Purging would remove versions whose retention or legal hold forbids it: such a bucket is deleted
    // only once it is empty, its versions removed through S3 as their locks allow.
    if (message.withContent && bucket.objectLock !== undefined) {
      return refuse(error('InvalidArgument', `${name} has object lock enabled, so its content cannot be purged; delete its versions through S3 (locked ones once their retention ends) and then the empty bucket`));
    }
    if (message.withContent) {
      state.inProgress.set(name, undefined);
      return { running: guarded(name, () => decide({ namespace, name, owner: bucket.owner, deletedAtMs: ctx.clock.now(), withContent: true }, undefined, ctx), ctx) };
    }
    const intent: DeletionIntent = { name, namespace, sealId: Buffer.from(random(8)).toString('hex'), startedAtMs: ctx.clock.now() };
    try {
      await deps.intents.put(name, intent);
    } catch (thrown) {
      return refuse(error('Unavailable', `cannot record the deletion of ${name}: ${messageOf(thrown)}`));
    }
    state.inProgress.set(name, intent);
    return { running: guarded(name, () => deleteIfEmpty(intent, bucket.owner, ctx), ctx) };
  }

  /** A deletion that fails unexpectedly answers Unavailable; whatever it left is finished or undone later. */
  async function guarded(name: string, run: () => Promise<Outcome>, ctx: ActorContext<BucketDeletionMessage>): Promise<Outcome> {
    try {
      return await run();
    } catch (thrown) {
      ctx.log.error('bucket deletion failed', { bucket: name, error: thrown });
      return error('Unavailable', `deleting ${name} failed: ${messageOf(thrown)}`);
    }
  }

  async function deleteIfEmpty(intent: DeletionIntent, owner: string, ctx: ActorContext<BucketDeletionMessage>): Promise<Outcome> {
    const { name, namespace, sealId } = intent;
    let nodes: readonly string[] = [];
    const giveUp = async (reply: DeleteBucketReply): Promise<Outcome> => {
      await unsealNamespace(fenceDeps(ctx), nodes, namespace, sealId);
      await deps.transaction(() => {
        if (deps.intents.get(name)?.sealId === sealId) deps.intents.removeInTransaction(name);
      });
      return reply;
    };
    const ring = await currentRing(ctx);
    if (ring !== undefined) {
      nodes = ringNodes(ring);
      const deadlineMs = ctx.clock.now() + checkTimeoutMs;
      const sealed = await sealNamespace(fenceDeps(ctx), nodes, namespace, sealId);
      const sealGap = unfencedRange(ring, sealed);
      if (sealGap) {
        ctx.log.warn('bucket not deleted: too few storage nodes sealed it', { bucket: name, replicas: sealGap.replicas, needed: sealGap.needed, sealed: [...sealed] });
        return await giveUp(error('Unavailable', `too few storage nodes answered to delete ${name} safely (a range held by ${sealGap.replicas.join(', ')} needs ${sealGap.needed}); try again later`));
      }
      const check = await checkEmpty(fenceDeps(ctx), [...sealed], namespace, deadlineMs, ctx.clock);
      if (check.outcome === 'not-empty') return await giveUp(error('BucketNotEmpty', `the bucket ${name} holds objects`));
      if (check.outcome === 'timed-out') return await giveUp(error('Unavailable', `checking that ${name} is empty took longer than ${checkTimeoutMs} ms; try again`));
      if (unfencedRange(ring, check.answered)) return await giveUp(error('Unavailable', `too few storage nodes answered to find ${name} empty; try again later`));
      // Members that joined or left meanwhile may hold replicas that were never sealed.
      const now = await currentRing(ctx);
      if (now?.checksum !== ring.checksum || now.doc.epoch !== ring.doc.epoch) return await giveUp(error('Unavailable', `the ring changed while ${name} was being deleted; try again`));
    }
    return decide({ namespace, name, owner, deletedAtMs: ctx.clock.now(), withContent: false }, intent, ctx);
  }

  /**
   * The decision: once the deleted record is stored the namespace is dead, whatever happens next.
   * With an intent, only if that intent is still stored: a restart that gave it up meanwhile has
   * already lifted its seals. Then the bucket record goes (gateways stop addressing the namespace)
   * and storage nodes are told (they refuse its writes, hide its keys and purge them); what fails
   * here is done again by the next reconciliation.
   */
  async function decide(record: DeletedBucketRecord, intent: DeletionIntent | undefined, ctx: ActorContext<BucketDeletionMessage>): Promise<Outcome> {
    const decided = await deps.transaction(() => {
      if (intent !== undefined) {
        if (deps.intents.get(intent.name)?.sealId !== intent.sealId) return false;
        deps.intents.removeInTransaction(intent.name);
      }
      deps.deleted.putInTransaction(record.namespace, record);
      return true;
    });
    if (!decided) return error('Unavailable', `the deletion of ${record.name} was interrupted by a restart of the manager; try again`);
    ctx.system.dispatch(ctx.self, { type: 'recorded', record });
    await removeRecord(record, ctx);
    const storageNodes = await storageMembers(ctx);
    const told = await announceDeleted(fenceDeps(ctx), storageNodes, [record]);
    ctx.system.dispatch(ctx.self, { type: 'told', nodes: [...told], namespaces: [record.namespace] });
    ctx.log.info('bucket deleted; storage nodes purge its data', {
      bucket: record.name,
      namespace: record.namespace,
      withContent: record.withContent,
      notified: told.size,
      storageNodes: storageNodes.length,
    });
    return { ok: true, notified: told.size, storageNodes: storageNodes.length };
  }

  async function removeRecord(record: DeletedBucketRecord, ctx: ActorContext<BucketDeletionMessage>): Promise<void> {
    const removed = await ask(ctx.system, authRef(ctx.system.node), { type: 'remove_bucket', name: record.name, namespace: record.namespace }, LOCAL_TIMEOUT_MS);
    if (isRuntimeFailure(removed)) ctx.log.warn('the bucket record is not removed yet; trying again', { bucket: record.name, error: removed.message });
    else ctx.system.dispatch(ctx.self, { type: 'record_removed', namespace: record.namespace });
  }

  /**
   * After a restart: deletions decided before it are finished by the reconciliation; the others are
   * given up, their intents removed first (so that an attempt still running cannot decide), then
   * their seals lifted.
   */
  async function recover(state: DeletionState, ctx: ActorContext<BucketDeletionMessage>): Promise<void> {
    const intents = [...state.inProgress.values()].filter((intent): intent is DeletionIntent => intent !== undefined);
    if (intents.length === 0) return;
    try {
      const ring = await currentRing(ctx);
      for (const intent of intents) {
        const decided = state.deleted.has(intent.namespace);
        await deps.transaction(() => {
          if (deps.intents.get(intent.name)?.sealId === intent.sealId) deps.intents.removeInTransaction(intent.name);
        });
        if (!decided && ring !== undefined) await unsealNamespace(fenceDeps(ctx), ringNodes(ring), intent.namespace, intent.sealId);
        state.inProgress.delete(intent.name);
        ctx.log.info(decided ? 'finished a bucket deletion decided before a restart' : 'gave up a bucket deletion interrupted by a restart', { bucket: intent.name });
      }
    } catch (thrown) {
      // The seals still held are lifted by the next reconciliation (`seals_in_force`).
      ctx.log.warn('could not finish recovering bucket deletions', { error: thrown });
      for (const intent of intents) state.inProgress.delete(intent.name);
    }
  }

  /** Makes every storage node, and the bucket records, agree with the decided deletions. */
  async function reconcile(state: DeletionState, ctx: ActorContext<BucketDeletionMessage>): Promise<void> {
    try {
      for (const namespace of [...state.recordsToRemove]) {
        const record = state.deleted.get(namespace);
        if (record) await removeRecord(record, ctx);
      }
      for (const node of await storageMembers(ctx)) if (!deps.isKnownDown(node)) updateNode(state, node, ctx);
    } catch (thrown) {
      ctx.log.warn('bucket deletions not reconciled this time', { error: thrown });
    }
  }

  /** Tells one storage node the deleted namespaces it has not stored yet, then the seals in force. */
  function updateNode(state: DeletionState, node: string, ctx: ActorContext<BucketDeletionMessage>): void {
    const known = state.told.get(node);
    const missing = [...state.deleted.values()].filter((record) => !known?.has(record.namespace));
    // Sent first: a seal lifted below never opens a namespace that is already dead.
    if (missing.length > 0) {
      void announceDeleted(fenceDeps(ctx), [node], missing).then((told) => {
        if (told.has(node)) ctx.system.dispatch(ctx.self, { type: 'told', nodes: [node], namespaces: missing.map((record) => record.namespace) });
      });
    }
    const seals = [...state.inProgress.values()].flatMap((intent) => (intent ? [{ namespace: intent.namespace, sealId: intent.sealId }] : []));
    sendSealsInForce(fenceDeps(ctx), node, seals);
  }

  async function stats(state: DeletionState, name: string | undefined, ctx: ActorContext<BucketDeletionMessage>): Promise<DeletedBucketStats[]> {
    const records = [...state.deleted.values()].filter((record) => name === undefined || record.name === name).sort((a, b) => a.deletedAtMs - b.deletedAtMs);
    if (records.length === 0) return [];
    const nodes = await storageMembers(ctx);
    const perNode = await purgeStats(fenceDeps(ctx), nodes, records.map((record) => record.namespace));
    return records.map((record) => ({
      name: record.name,
      namespace: record.namespace,
      owner: record.owner,
      deletedAtMs: record.deletedAtMs,
      withContent: record.withContent,
      nodes: nodes.map((node): PurgeOnNode => {
        const answer = perNode.get(node);
        if (answer === undefined || typeof answer === 'string') return { node, state: 'unreachable' };
        const status = answer.get(record.namespace);
        if (status === undefined) return { node, state: 'not-notified' };
        return {
          node,
          state: status.purge,
          removedKeys: status.removedKeys,
          removedBytes: status.removedBytes,
          ...(status.startedAtMs === undefined ? {} : { startedAtMs: status.startedAtMs }),
          ...(status.finishedAtMs === undefined ? {} : { finishedAtMs: status.finishedAtMs }),
        };
      }),
    }));
  }

  async function currentRing(ctx: ActorContext<BucketDeletionMessage>): Promise<RingSnapshot | undefined> {
    const reply = await ask(ctx.system, ringKeeperRef(ctx.system.node), { type: 'get_ring' }, LOCAL_TIMEOUT_MS);
    if (isRuntimeFailure(reply)) throw new Error(`the ring keeper did not answer: ${reply.message}`);
    return reply.doc ? snapshotOf(reply.doc) : undefined;
  }

  async function storageMembers(ctx: ActorContext<BucketDeletionMessage>): Promise<string[]> {
    const reply = await ask(ctx.system, ringKeeperRef(ctx.system.node), { type: 'list' }, LOCAL_TIMEOUT_MS);
    if (isRuntimeFailure(reply)) throw new Error(`the ring keeper did not answer: ${reply.message}`);
    return reply.members.filter((member) => member.role === 'storage').map((member) => member.node);
  }
}

/** A deletion request arrives from the wire: every field is checked before anything runs. */
function deleteProblem(message: Extract<BucketDeletionMessage, { type: 'delete_bucket' }>): string | undefined {
  if (typeof message.name !== 'string' || message.name.length === 0) return 'name must be a bucket name';
  if (typeof message.requester !== 'string' || message.requester.length === 0) return 'requester must be a user id';
  if (typeof message.withContent !== 'boolean') return 'withContent must be true or false';
  return undefined;
}

/** Every node of the current and the previous ring. */
function ringNodes(ring: RingSnapshot): string[] {
  return [...new Set([...ring.current.members, ...(ring.previous?.members ?? [])].map((member) => member.node))];
}

function error<C extends string>(code: C, message: string): AuthError<C> {
  return { ok: false, code, message };
}

function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
