/**
 * Removes the data of deleted buckets from this node (LeoFS's leo_storage_handle_del_bucket). The
 * namespaces to purge and their progress live in the object store, so a purge survives restarts and
 * resumes where it stopped; it runs one transaction of `purgeBatchKeys` records every
 * `purgeIntervalMs`, so deleting a large bucket never crowds out client traffic. Nothing waits on it:
 * a deleted namespace is invisible from the moment it is marked.
 */
import type { Behavior } from '../../runtime/actor.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import type { StorageContext } from './storage-context.js';

/** How often an idle purger looks for newly deleted namespaces. */
const IDLE_POLL_MS = 1_000;

export type PurgerMessage = { readonly type: 'tick' };

interface PurgerState {
  readonly timer: SelfTimer<PurgerMessage>;
}

export function bucketPurgerBehavior(context: StorageContext): Behavior<PurgerState, PurgerMessage> {
  const { store, options } = context;
  return {
    accepts: [],
    init(ctx) {
      const state: PurgerState = { timer: new SelfTimer<PurgerMessage>(ctx, { type: 'tick' }, context.pace) };
      state.timer.schedule(0);
      return state;
    },
    async receive(state, _message, ctx) {
      const next = store.deletedNamespaces().find(([, record]) => record.purge !== 'finished');
      if (next === undefined) {
        state.timer.schedule(IDLE_POLL_MS);
        return state;
      }
      const [namespace, record] = next;
      if (record.purge === 'pending') ctx.log.info('purging a deleted bucket', { namespace });
      try {
        const progress = await store.purgeNamespace(namespace, options.purgeBatchKeys, ctx.clock.now());
        if (progress.finished) {
          const done = store.namespaceRecord(namespace);
          ctx.log.info('deleted bucket purged', { namespace, ...(done?.state === 'deleted' ? { removedKeys: done.removedKeys, removedBytes: done.removedBytes } : {}) });
        }
        state.timer.schedule(progress.finished ? 0 : options.purgeIntervalMs);
      } catch (error) {
        ctx.log.warn('purge step failed; trying again', { namespace, error });
        state.timer.schedule(IDLE_POLL_MS);
      }
      return state;
    },
  };
}
