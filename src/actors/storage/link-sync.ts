/**
 * Compares this node's keys with each linked cluster's, so that what the shipping queues missed gets
 * there all the same: writes taken before this node learnt of a link, everything written before two
 * clusters were linked, a queue lost with its disk. It walks the objects this node judges (judged-here.ts:
 * the first replica not known to be down, so each key is compared once per cluster), a batch at a time at
 * `linkSyncKeysPerSecond` at most, and asks a storage node of the linked cluster which of those newest
 * versions it lacks; those are queued for shipping like any write. Each cluster has its own place in the
 * walk, so one that cannot be reached holds up only itself. A whole pass is followed by a rest of
 * `linkSyncPauseMs`.
 *
 * Each cluster compares its own keys with the others: what only the other holds comes from the other's
 * walk. Versions still being written are left to their writers, which queue them once acknowledged.
 */
import { bucketNameOf, isNamespace } from '../../core/bucket-namespace.js';
import { judgedHere } from './judged-here.js';
import type { ActorContext, Behavior } from '../../runtime/actor.js';
import { foreignName } from '../../protocol/cluster/realm-names.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import { ask } from '../../runtime/typed-ask.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import { linkReceiverRef, shipsBucket, type LinkTarget, type LinkVersionSummary } from '../../protocol/cluster/cluster-link.js';
import type { StorageContext } from './storage-context.js';

/** How often a node with no linked cluster to compare with looks again. */
const IDLE_MS = 1_000;
/** How long a comparison may take; a cluster that does not answer is asked again after a rest. */
const COMPARE_TIMEOUT_MS = 30_000;
const RETRY_MS = 2_000;
/** Keys compared in one request at most. */
const MAX_BATCH = 256;

type SyncMessage = { readonly type: 'tick' };

interface ClusterWalk {
  /** The last key compared in the pass under way; undefined at the start of a pass. */
  after: ObjectAddress | undefined;
  /** Not before this does this cluster's next batch go (a rest after a pass, or after a failure). */
  notBeforeMs: number;
  turn: number;
  busy: boolean;
}

interface SyncState {
  readonly timer: SelfTimer<SyncMessage>;
  readonly walks: Map<string, ClusterWalk>;
}

export function linkSyncBehavior(context: StorageContext): Behavior<SyncState, SyncMessage> {
  const { options } = context;
  const batchKeys = Math.max(1, Math.min(MAX_BATCH, Math.ceil(options.linkSyncKeysPerSecond / 4)));
  const batchIntervalMs = Math.max(1, Math.round((batchKeys * 1000) / Math.max(1, options.linkSyncKeysPerSecond)));

  /** This node's next batch of keys it judges (judged-here.ts), settled, from `after` on. */
  const nextBatch = (after: ObjectAddress | undefined): { versions: Array<{ summary: LinkVersionSummary; meta: ObjectMeta }>; last: ObjectAddress | undefined } => {
    const walk = context.store.walkRecords('object', after, batchKeys);
    const versions: Array<{ summary: LinkVersionSummary; meta: ObjectMeta }> = [];
    for (const { address, meta } of walk.records) {
      if (!isNamespace(address.bucket) || !judgedHere(context, address)) continue;
      if (context.store.isUnsettled(address, meta.clock)) continue;
      versions.push({ summary: { bucket: bucketNameOf(address.bucket), key: address.key, clock: meta.clock, deleted: meta.deleted }, meta });
    }
    return { versions, last: walk.last };
  };

  const compareBatch = async (ctx: ActorContext<SyncMessage>, target: LinkTarget, walk: ClusterWalk): Promise<void> => {
    const batch = nextBatch(walk.after);
    const versions = batch.versions.filter((version) => shipsBucket(target, version.summary.bucket));
    const last = batch.last;
    const nowMs = (): number => context.clock.now();
    if (versions.length > 0) {
      const receiver = foreignName(target.clusterId, target.storage[walk.turn++ % target.storage.length]!.node);
      const reply = await ask(ctx.system, linkReceiverRef(receiver), { type: 'link_compare', versions: versions.map((version) => version.summary) }, COMPARE_TIMEOUT_MS);
      if (!reply.ok) {
        walk.notBeforeMs = nowMs() + RETRY_MS;
        context.links.comparisonFailed(target.clusterId, `${receiver}: ${reply.message}`);
        return;
      }
      for (const index of reply.behind) {
        const version = versions[index];
        if (version) await context.links.noteMissing(target.clusterId, version.meta, nowMs());
      }
      context.links.compared(target.clusterId, versions.length, reply.behind.length);
    }
    walk.after = last;
    if (last === undefined) {
      context.links.comparisonDone(target.clusterId, nowMs());
      walk.notBeforeMs = nowMs() + options.linkSyncPauseMs;
    } else {
      walk.notBeforeMs = nowMs() + batchIntervalMs;
    }
  };

  return {
    accepts: [],
    init(ctx) {
      const state: SyncState = { timer: new SelfTimer<SyncMessage>(ctx, { type: 'tick' }, context.pace), walks: new Map() };
      state.timer.schedule(IDLE_MS);
      return state;
    },
    receive(state, _message, ctx) {
      const nowMs = context.clock.now();
      let nextMs = IDLE_MS;
      for (const id of state.walks.keys()) if (!context.links.targets.has(id)) state.walks.delete(id);
      for (const target of context.links.targets.values()) {
        if (target.storage.length === 0) continue;
        let walk = state.walks.get(target.clusterId);
        if (!walk) {
          walk = { after: undefined, notBeforeMs: nowMs, turn: 0, busy: false };
          state.walks.set(target.clusterId, walk);
        }
        if (walk.busy) continue;
        if (walk.notBeforeMs > nowMs) {
          nextMs = Math.min(nextMs, walk.notBeforeMs - nowMs);
          continue;
        }
        const started = walk;
        started.busy = true;
        void compareBatch(ctx, target, started)
          .catch((error: unknown) => {
            started.notBeforeMs = context.clock.now() + RETRY_MS;
            ctx.log.warn('cannot compare keys with a linked cluster', { cluster: target.clusterId, error });
          })
          .finally(() => {
            started.busy = false;
            // The next tick works out which cluster is due first.
            state.timer.schedule(0);
          });
      }
      state.timer.schedule(Math.max(1, nextMs));
      return state;
    },
  };
}
