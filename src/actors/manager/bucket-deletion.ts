/**
 * The manager's bucket deletions, the one place a bucket's incarnation ends (see
 * core/bucket-namespace.ts for why nothing of it can reappear afterwards).
 *
 * S3 DeleteBucket must refuse a bucket that holds objects or uploads in progress, atomically with
 * respect to writes through every gateway. It does so in three steps:
 *   1. seal: every storage node of the ring refuses writes to the bucket's namespace from now on;
 *      enough of them must answer that no write can still reach its quorum (core/ring/write-fence.ts);
 *   2. check: a listing merged from the sealed nodes finds neither an object nor an upload;
 *   3. decide: the deleted record is written, the bucket record removed, the namespace announced
 *      deleted to every storage node (which purges it); or, if anything was found, the seals lifted.
 * A write acknowledged before the seal is found by the check; one after it is refused. An intent is
 * stored before sealing, so a manager that stops midway lifts the seals (or finishes) when it restarts.
 *
 * `leofs-adm delete-bucket` deletes a bucket with its content: no seal and no check, the namespace
 * simply ends; writes that race it land in the dead namespace and are purged with it.
 *
 * Every deletion runs beside the mailbox (one at a time per bucket), so a slow storage node holds up
 * nothing else. Storage nodes that were away learn the deleted namespaces when they come back.
 */
import { randomBytes } from 'node:crypto';
import type { ActorContext, Behavior } from '../../runtime/actor.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import { actorRef, type ReplyTo } from '../../runtime/refs.js';
import { assertNever } from '../../core/assert-never.js';
import { namespaceOf } from '../../core/bucket-namespace.js';
import type { DeletedBucketRecord, DeletionIntent } from '../../core/bucket-deletion.js';
import { snapshotOf, type RingDocument, type RingSnapshot } from '../../core/ring/ring-document.js';
import { unfencedRange } from '../../core/ring/write-fence.js';
import type { StateTable } from '../../store/node-state.js';
import type { PurgeState } from '../../store/namespace-records.js';
import type { PurgeStatus } from '../storage/router-messages.js';
import { authRef, ringKeeperRef } from '../common/paths.js';
import type { AuthError, AuthMessage, GetBucketReply, RemoveBucketReply } from './auth.js';
import { announceDeleted, checkEmpty, purgeStats, sealNamespace, sendSealsInForce, unsealNamespace, type FenceDeps } from './namespace-fence.js';
import type { MemberView, RingKeeperMessage } from './ring-keeper.js';

export const BUCKET_DELETION_PATH = '/node/manager/bucket_deletion';
export const bucketDeletionRef = (managerNode: string) => actorRef<BucketDeletionMessage>(managerNode, BUCKET_DELETION_PATH);

const DEFAULT_NODE_TIMEOUT_MS = 5_000;
const LOCAL_TIMEOUT_MS = 10_000;

export type DeleteBucketReply =
  | {
      readonly ok: true;
      /** Storage nodes told that the namespace is deleted, of all storage members. */
      readonly notified: number;
      readonly storageNodes: number;
    }
  | AuthError<'NoSuchBucket' | 'AccessDenied' | 'BucketNotEmpty' | 'OperationAborted' | 'Unavailable'>;

/** A storage node's part in removing one deleted bucket. */
export interface PurgeOnNode {
  readonly node: string;
  /** `not-notified`: the node does not know yet (it learns when it is back); `unreachable`: it did not answer. */
  readonly state: PurgeState | 'not-notified' | 'unreachable';
  readonly removedKeys?: number;
  readonly removedBytes?: number;
  readonly startedAtMs?: number;
  readonly finishedAtMs?: number;
}

export interface DeletedBucketStats {
  readonly name: string;
  readonly namespace: string;
  readonly owner: string;
  readonly deletedAtMs: number;
  readonly withContent: boolean;
  readonly nodes: readonly PurgeOnNode[];
}

export type DeleteBucketStatsReply = { readonly ok: true; readonly buckets: readonly DeletedBucketStats[] };

export type BucketDeletionMessage =
  | {
      readonly type: 'delete_bucket';
      readonly name: string;
      /** The owner's user id (an admin acts as the owner). */
      readonly requester: string;
      /** Delete whatever the bucket holds (leofs-adm) rather than refuse a bucket that is not empty (S3). */
      readonly withContent: boolean;
      readonly replyTo: ReplyTo<DeleteBucketReply>;
    }
  /** A storage node joined or came back: it learns the deleted namespaces and the seals in force. */
  | { readonly type: 'storage_up'; readonly node: string }
  | { readonly type: 'stats'; readonly name?: string; readonly replyTo: ReplyTo<DeleteBucketStatsReply> }
  | { readonly type: 'recover' }
  | { readonly type: 'decided'; readonly name: string; readonly deleted?: DeletedBucketRecord };

export interface BucketDeletionDeps {
  readonly deleted: StateTable<DeletedBucketRecord>;
  readonly intents: StateTable<DeletionIntent>;
  readonly isKnownDown: (node: string) => boolean;
  /** Deadline of each call to one storage node. */
  readonly nodeTimeoutMs?: number;
}

interface DeletionState {
  /** By namespace. */
  readonly deleted: Map<string, DeletedBucketRecord>;
  /** Names of buckets being deleted now, with the intent when a seal is involved. */
  readonly inProgress: Map<string, DeletionIntent | undefined>;
}

type Outcome = { readonly reply: DeleteBucketReply; readonly deleted?: DeletedBucketRecord };

export function bucketDeletionBehavior(deps: BucketDeletionDeps): Behavior<DeletionState, BucketDeletionMessage> {
  const nodeTimeoutMs = deps.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;

  return {
    accepts: ['delete_bucket', 'stats'],

    init(ctx) {
      const state: DeletionState = { deleted: new Map(deps.deleted.entries()), inProgress: new Map() };
      for (const [, intent] of deps.intents.entries()) state.inProgress.set(intent.name, intent);
      ctx.system.dispatch(ctx.self, { type: 'recover' });
      return state;
    },

    async receive(state, message, ctx) {
      switch (message.type) {
        case 'delete_bucket': {
          const started = await start(state, message, ctx);
          if (started) {
            void started.running.then((outcome) => {
              ctx.system.reply(message.replyTo, outcome.reply);
              ctx.system.dispatch(ctx.self, { type: 'decided', name: message.name, ...(outcome.deleted ? { deleted: outcome.deleted } : {}) });
            });
          }
          return state;
        }
        case 'decided':
          state.inProgress.delete(message.name);
          if (message.deleted) state.deleted.set(message.deleted.namespace, message.deleted);
          return state;
        case 'storage_up': {
          const fence = fenceDeps(ctx);
          sendSealsInForce(fence, message.node, [...state.inProgress.values()].flatMap((intent) => (intent ? [{ namespace: intent.namespace, sealId: intent.sealId }] : [])));
          if (state.deleted.size > 0) void announceDeleted(fence, [message.node], [...state.deleted.values()]);
          return state;
        }
        case 'stats':
          ctx.system.reply(message.replyTo, { ok: true, buckets: await stats(state, message.name, ctx) });
          return state;
        case 'recover':
          await recover(state, ctx);
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
    const name = String(message.name);
    const found = await ctx.system.ask<AuthMessage, GetBucketReply>(authRef(ctx.system.node), (replyTo) => ({ type: 'get_bucket', name, replyTo }), LOCAL_TIMEOUT_MS);
    if (isRuntimeFailure(found)) return refuse(error('Unavailable', `the manager's bucket records did not answer: ${found.message}`));
    if (!found.ok) return refuse(error('NoSuchBucket', `no bucket ${name}`));
    const bucket = found.bucket;
    if (bucket.owner !== message.requester) return refuse(error('AccessDenied', `only the owner of ${name} may delete it`));
    if (state.inProgress.has(name)) return refuse(error('OperationAborted', `the bucket ${name} is already being deleted`));
    const namespace = namespaceOf(bucket);
    if (message.withContent) {
      state.inProgress.set(name, undefined);
      return { running: deleteWithContent(name, namespace, bucket.owner, ctx) };
    }
    const intent: DeletionIntent = { name, namespace, sealId: randomBytes(8).toString('hex'), startedAtMs: ctx.clock.now() };
    await deps.intents.put(name, intent);
    state.inProgress.set(name, intent);
    return { running: deleteIfEmpty(intent, bucket.owner, ctx) };
  }

  async function deleteIfEmpty(intent: DeletionIntent, owner: string, ctx: ActorContext<BucketDeletionMessage>): Promise<Outcome> {
    const { name, namespace, sealId } = intent;
    let nodes: readonly string[] = [];
    const giveUp = async (reply: DeleteBucketReply): Promise<Outcome> => {
      await unsealNamespace(fenceDeps(ctx), nodes, namespace, sealId);
      await deps.intents.remove(name);
      return { reply };
    };
    try {
      const ring = await currentRing(ctx);
      if (ring !== undefined) {
        nodes = ringNodes(ring);
        const sealed = await sealNamespace(fenceDeps(ctx), nodes, namespace, sealId);
        const sealGap = unfencedRange(ring, sealed);
        if (sealGap) {
          ctx.log.warn('bucket not deleted: too few storage nodes sealed it', { bucket: name, replicas: sealGap.replicas, needed: sealGap.needed, sealed: [...sealed] });
          return await giveUp(error('Unavailable', `too few storage nodes answered to delete ${name} safely (a range held by ${sealGap.replicas.join(', ')} needs ${sealGap.needed}); try again later`));
        }
        const check = await checkEmpty(fenceDeps(ctx), [...sealed], namespace);
        if (!check.empty) return await giveUp(error('BucketNotEmpty', `the bucket ${name} holds objects or uploads in progress`));
        const checkGap = unfencedRange(ring, check.answered);
        if (checkGap) return await giveUp(error('Unavailable', `too few storage nodes answered to find ${name} empty; try again later`));
      }
      const record: DeletedBucketRecord = { namespace, name, owner, deletedAtMs: ctx.clock.now(), withContent: false };
      const outcome = await commit(record, ctx);
      await deps.intents.remove(name);
      return outcome;
    } catch (thrown) {
      ctx.log.error('bucket deletion failed', { bucket: name, error: thrown });
      const reply = error('Unavailable', `deleting ${name} failed: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
      // Decided already: the deletion stands, and the next start finishes it.
      if (isDecided(namespace)) return { reply };
      return await giveUp(reply).catch(() => ({ reply }));
    }
  }

  function isDecided(namespace: string): boolean {
    return deps.deleted.get(namespace) !== undefined;
  }

  async function deleteWithContent(name: string, namespace: string, owner: string, ctx: ActorContext<BucketDeletionMessage>): Promise<Outcome> {
    try {
      return await commit({ namespace, name, owner, deletedAtMs: ctx.clock.now(), withContent: true }, ctx);
    } catch (thrown) {
      ctx.log.error('bucket deletion failed', { bucket: name, error: thrown });
      return { reply: error('Unavailable', `deleting ${name} failed: ${thrown instanceof Error ? thrown.message : String(thrown)}`) };
    }
  }

  /**
   * The decision: once the deleted record is stored the namespace is dead, whatever happens next. The
   * bucket record goes (gateways stop addressing the namespace) and storage nodes are told (they
   * refuse its writes, hide its keys and purge them); one that misses it learns when it is back.
   */
  async function commit(record: DeletedBucketRecord, ctx: ActorContext<BucketDeletionMessage>): Promise<Outcome> {
    await deps.deleted.put(record.namespace, record);
    const removed = await ctx.system.ask<AuthMessage, RemoveBucketReply>(
      authRef(ctx.system.node),
      (replyTo) => ({ type: 'remove_bucket', name: record.name, namespace: record.namespace, replyTo }),
      LOCAL_TIMEOUT_MS,
    );
    if (isRuntimeFailure(removed)) ctx.log.warn('the bucket record was not removed yet; it will be at the next start', { bucket: record.name, error: removed.message });
    const storageNodes = await storageMembers(ctx);
    const told = await announceDeleted(fenceDeps(ctx), storageNodes, [record]);
    ctx.log.info('bucket deleted; storage nodes purge its data', {
      bucket: record.name,
      namespace: record.namespace,
      withContent: record.withContent,
      notified: told.size,
      storageNodes: storageNodes.length,
    });
    return { reply: { ok: true, notified: told.size, storageNodes: storageNodes.length }, deleted: record };
  }

  /** After a restart: finish deletions that were decided, give up the others and lift their seals. */
  async function recover(state: DeletionState, ctx: ActorContext<BucketDeletionMessage>): Promise<void> {
    for (const record of state.deleted.values()) {
      await ctx.system.ask<AuthMessage, RemoveBucketReply>(authRef(ctx.system.node), (replyTo) => ({ type: 'remove_bucket', name: record.name, namespace: record.namespace, replyTo }), LOCAL_TIMEOUT_MS);
    }
    const intents = [...state.inProgress.values()].filter((intent): intent is DeletionIntent => intent !== undefined);
    if (intents.length === 0) return;
    const ring = await currentRing(ctx);
    for (const intent of intents) {
      if (!state.deleted.has(intent.namespace) && ring !== undefined) await unsealNamespace(fenceDeps(ctx), ringNodes(ring), intent.namespace, intent.sealId);
      await deps.intents.remove(intent.name);
      state.inProgress.delete(intent.name);
      ctx.log.info(state.deleted.has(intent.namespace) ? 'finished a bucket deletion decided before a restart' : 'gave up a bucket deletion interrupted by a restart', { bucket: intent.name });
    }
  }

  async function stats(state: DeletionState, name: string | undefined, ctx: ActorContext<BucketDeletionMessage>): Promise<DeletedBucketStats[]> {
    const records = [...state.deleted.values()].filter((record) => name === undefined || record.name === name).sort((a, b) => a.deletedAtMs - b.deletedAtMs);
    if (records.length === 0) return [];
    const nodes = await storageMembers(ctx);
    const perNode = await purgeStats(fenceDeps(ctx), nodes);
    return records.map((record) => ({
      name: record.name,
      namespace: record.namespace,
      owner: record.owner,
      deletedAtMs: record.deletedAtMs,
      withContent: record.withContent,
      nodes: nodes.map((node): PurgeOnNode => {
        const answer = perNode.get(node);
        if (answer === undefined || typeof answer === 'string') return { node, state: 'unreachable' };
        const status: PurgeStatus | undefined = answer.find((entry) => entry.namespace === record.namespace);
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
    const reply = await ctx.system.ask<RingKeeperMessage, { ok: true; doc: RingDocument | null }>(ringKeeperRef(ctx.system.node), (replyTo) => ({ type: 'get_ring', replyTo }), LOCAL_TIMEOUT_MS);
    if (isRuntimeFailure(reply)) throw new Error(`the ring keeper did not answer: ${reply.message}`);
    return reply.doc ? snapshotOf(reply.doc) : undefined;
  }

  async function storageMembers(ctx: ActorContext<BucketDeletionMessage>): Promise<string[]> {
    const reply = await ctx.system.ask<RingKeeperMessage, { ok: true; members: readonly MemberView[] }>(ringKeeperRef(ctx.system.node), (replyTo) => ({ type: 'list', replyTo }), LOCAL_TIMEOUT_MS);
    if (isRuntimeFailure(reply)) throw new Error(`the ring keeper did not answer: ${reply.message}`);
    return reply.members.filter((member) => member.role === 'storage').map((member) => member.node);
  }
}

/** Every node of the current and the previous ring. */
function ringNodes(ring: RingSnapshot): string[] {
  return [...new Set([...ring.current.members, ...(ring.previous?.members ?? [])].map((member) => member.node))];
}

function error<C extends string>(code: C, message: string): AuthError<C> {
  return { ok: false, code, message };
}
