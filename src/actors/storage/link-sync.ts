/**
 * Compares this cluster's keys with each linked cluster's, so that what the shipping queues missed gets
 * there all the same: writes taken before a node learnt of a link, everything written before two
 * clusters were linked, a queue lost with its disk.
 *
 * One storage node leads the comparisons: the first member of the ring not known to be down. It walks
 * the buckets shipped to each linked cluster, a stretch of keys at a time (about `linkSyncStretchKeys`
 * per node; link-scopes.ts), at `linkSyncKeysPerSecond` at most, and compares this cluster's digest and
 * key count of the stretch with the other cluster's (core/link-digest.ts): a stretch where they agree
 * costs a few numbers on the link. Where
 * they differ, every node compares the keys it judges in the stretch one by one and queues for shipping
 * the versions the other cluster lacks. Each cluster has its own place in the walk, so one that cannot
 * be reached holds up only itself; a whole pass is followed by a rest of `linkSyncPauseMs`.
 *
 * Each cluster compares its own keys with the others: what only the other holds comes from the other's
 * walk. Versions still being written are left to their writers, which queue them once acknowledged.
 */
import { isNamespace, namespaceOf } from '../../core/bucket-namespace.js';
import type { BucketRecord } from '../../core/auth-snapshot.js';
import { assertNever } from '../../core/assert-never.js';
import { compareKeys } from '../../core/key-order.js';
import { earliestKey } from '../../core/link-digest.js';
import type { ActorContext, Behavior } from '../../runtime/actor.js';
import { isReplyTo, type ReplyTo } from '../../runtime/refs.js';
import { foreignName } from '../../protocol/cluster/realm-names.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import { ask } from '../../runtime/typed-ask.js';
import { isLinkScope, linkReceiverRef, shipsBucket, type LinkTarget } from '../../protocol/cluster/cluster-link.js';
import { linkSyncRef, MAX_SCOPE_KEYS, type LinkSyncMessage, type LocalScope, type ScopeCompareReply } from '../../protocol/cluster/link-sync.js';
import { clusterDigest, digestHere, digestingNodes, versionsHere } from './link-scopes.js';
import type { StorageContext } from './storage-context.js';

export interface LinkSyncDeps {
  /** Every bucket, from the manager; undefined while it cannot be asked. */
  readonly buckets: () => Promise<readonly BucketRecord[] | undefined>;
}

/** How often a node that leads no comparison looks again. */
const IDLE_MS = 1_000;
/** How long a step may take; a cluster that does not answer is asked again after a rest. */
const STEP_TIMEOUT_MS = 30_000;
const RETRY_MS = 2_000;
/** Keys compared in one link_compare at most. */
const COMPARE_BATCH = 256;
/** How long a reason a linked cluster gave is kept for the operator to read. */
const MAX_REASON_CHARS = 300;
/** How long a pass goes by the buckets the manager told before asking again. */
const BUCKETS_TTL_MS = 10_000;

type SyncMessage = LinkSyncMessage | { readonly type: 'tick' };

interface ClusterWalk {
  /** The bucket under way (by name); undefined at the start of a pass. */
  bucket: string | undefined;
  /** The last key compared in it; undefined at its start. */
  after: string | undefined;
  /** Whether the bucket under way has been compared to its end. */
  bucketDone: boolean;
  /** Not before this does this cluster's next stretch go (a rest after a pass, or after a failure). */
  notBeforeMs: number;
  /** The buckets as the manager last told them: asked again at the start of a pass and every little while. */
  buckets: { readonly atMs: number; readonly list: readonly BucketRecord[] } | undefined;
  turn: number;
  busy: boolean;
}

interface SyncState {
  readonly timer: SelfTimer<SyncMessage>;
  readonly walks: Map<string, ClusterWalk>;
  /** Linked clusters this node is comparing keys with one by one: one such comparison each at a time. */
  readonly comparing: Set<string>;
}

export function linkSyncBehavior(context: StorageContext, deps: LinkSyncDeps): Behavior<SyncState, SyncMessage> {
  const { options } = context;
  const nowMs = (): number => context.clock.now();
  const stretchKeys = Math.max(1, Math.min(MAX_SCOPE_KEYS, options.linkSyncStretchKeys));
  const receiverOf = (target: LinkTarget, walk: ClusterWalk): string => foreignName(target.clusterId, target.storage[walk.turn++ % target.storage.length]!.node);

  /** The next bucket to compare with `target`, or undefined when the pass is through. */
  const bucketToCompare = (buckets: readonly BucketRecord[], target: LinkTarget, walk: ClusterWalk): BucketRecord | undefined => {
    const shipped = buckets.filter((bucket) => shipsBucket(target, bucket.name)).sort((x, y) => compareKeys(x.name, y.name));
    const next = shipped.find((bucket) => {
      if (walk.bucket === undefined) return true;
      const order = compareKeys(bucket.name, walk.bucket);
      return order > 0 || (order === 0 && !walk.bucketDone);
    });
    if (next && next.name !== walk.bucket) Object.assign(walk, { bucket: next.name, after: undefined, bucketDone: false });
    return next;
  };

  /**
   * Has every node compare the keys it judges in the stretch with `target`'s; answers how many it lacked
   * and, when a node's limit stopped it, the earliest key where one stopped (the walk goes on from there).
   */
  const compareKeyByKey = async (ctx: ActorContext<SyncMessage>, target: LinkTarget, scope: LocalScope): Promise<{ behind: number; reached: string | undefined } | string> => {
    const replies = await Promise.all(
      digestingNodes(context).map((node) => ask(ctx.system, linkSyncRef(node), { type: 'scope_compare', clusterId: target.clusterId, scope }, STEP_TIMEOUT_MS)),
    );
    let behind = 0;
    const stops: string[] = [];
    for (const reply of replies) {
      if (!reply.ok) return reply.message;
      behind += reply.behind;
      if (typeof reply.reached === 'string' && (scope.after === undefined || compareKeys(reply.reached, scope.after) > 0)) stops.push(reply.reached);
    }
    return { behind, reached: earliestKey(stops) };
  };

  /** Compares one stretch of keys with `target`, or ends the pass. */
  const step = async (ctx: ActorContext<SyncMessage>, target: LinkTarget, walk: ClusterWalk): Promise<void> => {
    const retryLater = (reason: string): void => {
      walk.notBeforeMs = nowMs() + RETRY_MS;
      context.links.comparisonFailed(target.clusterId, reason);
    };
    if (walk.buckets === undefined || walk.bucket === undefined || nowMs() - walk.buckets.atMs > BUCKETS_TTL_MS) {
      const list = await deps.buckets();
      if (!list) return retryLater('the buckets of this cluster cannot be read now');
      walk.buckets = { atMs: nowMs(), list };
    }
    const buckets = walk.buckets.list;
    const bucket = bucketToCompare(buckets, target, walk);
    if (!bucket) {
      Object.assign(walk, { bucket: undefined, after: undefined, bucketDone: false, notBeforeMs: nowMs() + options.linkSyncPauseMs });
      context.links.comparisonDone(target.clusterId, nowMs());
      return;
    }
    const here = await clusterDigest(ctx.system, context, { bucket: bucket.name, namespace: namespaceOf(bucket), ...(walk.after !== undefined ? { after: walk.after } : {}) }, stretchKeys, true);
    if (!here.ok) return retryLater(here.message);
    let { scope, digest, keys } = here;
    let behind = 0;
    let reached: string | undefined;
    // A stretch this cluster holds nothing of (not even a tombstone) is left to the other cluster's own walk.
    if (here.looked > 0) {
      let agree = false;
      if (here.digest !== null) {
        const receiver = receiverOf(target, walk);
        const there = await ask(ctx.system, linkReceiverRef(receiver), { type: 'link_digest', scope: { bucket: scope.bucket, ...(scope.after !== undefined ? { after: scope.after } : {}), ...(scope.upTo !== undefined ? { upTo: scope.upTo } : {}) } }, STEP_TIMEOUT_MS);
        const reason = (): string => `${receiver}: ${String(there.ok ? '' : there.message).slice(0, MAX_REASON_CHARS)}`;
        if (!there.ok && there.code === 'NoSuchBucket') {
          // Nothing of this bucket can be stored there: on to the next, and the operator sees why.
          Object.assign(walk, { bucketDone: true, notBeforeMs: nowMs() });
          context.links.comparisonFailed(target.clusterId, reason());
          return;
        }
        // A cluster that does not take digests (an older release) is compared key by key.
        if (!there.ok && there.code !== 'BadMessage') return retryLater(reason());
        if (there.ok && there.upTo !== undefined) {
          // The other cluster folded only the start of the stretch: this one folds that start too.
          if (typeof there.upTo !== 'string' || !withinStretch(there.upTo, scope)) return retryLater(`${receiver}: a digest of keys outside the stretch asked for`);
          const start = await clusterDigest(ctx.system, context, { ...scope, upTo: there.upTo }, MAX_SCOPE_KEYS, false);
          if (!start.ok) return retryLater(start.message);
          ({ scope, digest, keys } = start);
        }
        agree = there.ok && there.digest !== null && there.digest === digest && there.keys === keys;
      }
      if (!agree) {
        const compared = await compareKeyByKey(ctx, target, scope);
        if (typeof compared === 'string') return retryLater(compared);
        ({ behind, reached } = compared);
      }
    }
    context.links.compared(target.clusterId, keys, behind);
    if (reached !== undefined) walk.after = reached;
    else if (scope.upTo === undefined) walk.bucketDone = true;
    else walk.after = scope.upTo;
    walk.notBeforeMs = nowMs() + Math.round((here.looked * 1000) / Math.max(1, options.linkSyncKeysPerSecond));
  };

  /** This node's part of a key-by-key comparison: its judged keys in the stretch, a batch at a time. */
  const compareHere = async (ctx: ActorContext<SyncMessage>, state: SyncState, clusterId: string, scope: LocalScope): Promise<ScopeCompareReply> => {
    const target = context.links.targets.get(clusterId);
    if (!target || target.storage.length === 0 || !shipsBucket(target, scope.bucket)) return { ok: false, code: 'NotLinked', message: `${context.node} ships nothing of ${scope.bucket} to ${clusterId}` };
    const walk = walkOf(state, clusterId);
    const { versions, reached } = versionsHere(context, scope, MAX_SCOPE_KEYS);
    let behind = 0;
    for (let at = 0; at < versions.length; at += COMPARE_BATCH) {
      const batch = versions.slice(at, at + COMPARE_BATCH);
      const receiver = receiverOf(target, walk);
      const reply = await ask(ctx.system, linkReceiverRef(receiver), { type: 'link_compare', versions: batch.map((version) => version.summary) }, STEP_TIMEOUT_MS);
      if (!reply.ok) return { ok: false, code: reply.code, message: `${receiver}: ${String(reply.message).slice(0, MAX_REASON_CHARS)}` };
      const lacking = reply.behind.flatMap((index) => (batch[index] ? [batch[index]] : []));
      // Queued together: one transaction for the batch.
      await Promise.all(lacking.map((version) => context.links.noteMissing(clusterId, version.meta, nowMs())));
      behind += lacking.length;
    }
    return { ok: true, compared: versions.length, behind, reached };
  };

  const walkOf = (state: SyncState, clusterId: string): ClusterWalk => {
    let walk = state.walks.get(clusterId);
    if (!walk) {
      walk = { bucket: undefined, after: undefined, bucketDone: false, notBeforeMs: nowMs(), buckets: undefined, turn: 0, busy: false };
      state.walks.set(clusterId, walk);
    }
    return walk;
  };

  /** Starts the stretches that are due, if this node leads the comparisons; answers when to look again. */
  const startDue = (state: SyncState, ctx: ActorContext<SyncMessage>): number => {
    for (const id of state.walks.keys()) if (!context.links.targets.has(id)) state.walks.delete(id);
    if (digestingNodes(context)[0] !== context.node) {
      // Another node leads. Should this one lead again, it goes on from where it was, so that a lead
      // that moves back and forth does not start the pass over each time and leave its end undone.
      for (const id of context.links.targets.keys()) context.links.comparisonLedElsewhere(id);
      return IDLE_MS;
    }
    let nextMs = IDLE_MS;
    for (const target of context.links.targets.values()) {
      if (target.storage.length === 0) continue;
      const walk = walkOf(state, target.clusterId);
      if (walk.busy) continue;
      if (walk.notBeforeMs > nowMs()) {
        nextMs = Math.min(nextMs, walk.notBeforeMs - nowMs());
        continue;
      }
      walk.busy = true;
      void step(ctx, target, walk)
        .catch((error: unknown) => {
          walk.notBeforeMs = nowMs() + RETRY_MS;
          ctx.log.warn('cannot compare keys with a linked cluster', { cluster: target.clusterId, error });
        })
        .finally(() => {
          walk.busy = false;
          // The next tick works out which cluster is due first.
          state.timer.schedule(0);
        });
    }
    return nextMs;
  };

  return {
    accepts: ['scope_digest', 'scope_compare'],
    init(ctx) {
      const state: SyncState = { timer: new SelfTimer<SyncMessage>(ctx, { type: 'tick' }, context.pace), walks: new Map(), comparing: new Set() };
      state.timer.schedule(IDLE_MS);
      return state;
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'tick':
          state.timer.schedule(Math.max(1, startDue(state, ctx)));
          return state;
        case 'scope_digest': {
          if (!isReplyTo(message.replyTo)) return state;
          const reply = (answer: unknown): void => ctx.system.reply(message.replyTo as ReplyTo<unknown>, answer);
          if (!isLocalScope(message.scope) || !Number.isInteger(message.limit) || message.limit < 1 || message.limit > MAX_SCOPE_KEYS + 1) {
            reply({ ok: false, code: 'BadRequest', message: 'malformed stretch of keys' });
            return state;
          }
          reply({ ok: true, ...digestHere(context, message.scope, message.limit) });
          return state;
        }
        case 'scope_compare': {
          if (!isReplyTo(message.replyTo)) return state;
          const reply = (answer: unknown): void => ctx.system.reply(message.replyTo as ReplyTo<unknown>, answer);
          if (!isLocalScope(message.scope) || typeof message.clusterId !== 'string') {
            reply({ ok: false, code: 'BadRequest', message: 'malformed stretch of keys' });
            return state;
          }
          // A leader that gave up waiting asks again later; the comparison it gave up on may still run.
          if (state.comparing.has(message.clusterId)) {
            reply({ ok: false, code: 'Busy', message: `${context.node} is still comparing keys with ${message.clusterId}` });
            return state;
          }
          state.comparing.add(message.clusterId);
          void compareHere(ctx, state, message.clusterId, message.scope)
            .catch((error: unknown) => ({ ok: false, code: 'InternalError', message: error instanceof Error ? error.message : String(error) }))
            .then((answer) => {
              state.comparing.delete(message.clusterId);
              reply(answer);
            });
          return state;
        }
        default:
          return assertNever(message);
      }
    },
  };
}

/** Whether `key` lies in the stretch (after, upTo]. */
function withinStretch(key: string, scope: LocalScope): boolean {
  return (scope.after === undefined || compareKeys(key, scope.after) > 0) && (scope.upTo === undefined || compareKeys(key, scope.upTo) <= 0);
}

function isLocalScope(value: unknown): value is LocalScope {
  return isLinkScope(value) && isNamespace((value as { namespace?: unknown }).namespace);
}
