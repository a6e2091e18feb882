/**
 * A gateway's copy of the manager's users, keys, buckets and endpoints. The manager pushes the whole
 * snapshot on every change and when the gateway joins; the copy is kept durable so that a gateway
 * restarted while no manager runs still authenticates its clients.
 */
import type { Behavior } from '../../runtime/actor.js';
import { authSnapshotProblem, supersedes, type AuthSnapshot } from '../../core/auth-snapshot.js';
import type { AuthCacheMessage } from '../../protocol/cluster/auth-cache.js';
import type { StateTable } from '../../store/node-state.js';
import type { AuthView } from './auth-view.js';

const SNAPSHOT_KEY = 'snapshot';

export interface AuthCacheDeps {
  readonly view: AuthView;
  readonly table: StateTable<AuthSnapshot>;
}

/** The durable table the cache keeps its snapshot in; validated on read like any state record. */
export const AUTH_CACHE_TABLE = 'auth';

export function authCacheBehavior(deps: AuthCacheDeps): Behavior<null, AuthCacheMessage> {
  return {
    accepts: ['auth_snapshot', 'status'],
    init(ctx) {
      const stored = deps.table.get(SNAPSHOT_KEY);
      if (stored && supersedes(stored, deps.view.current)) {
        deps.view.install(stored);
        ctx.log.info('users and buckets loaded from local state', { revision: stored.revision, users: stored.users.length, buckets: stored.buckets.length });
      }
      return null;
    },
    async receive(state, message, ctx) {
      switch (message.type) {
        case 'auth_snapshot': {
          const problem = authSnapshotProblem(message.snapshot);
          if (problem) {
            ctx.log.warn('refused a malformed auth snapshot', { problem });
            return state;
          }
          if (!supersedes(message.snapshot, deps.view.current)) return state;
          await deps.table.put(SNAPSHOT_KEY, message.snapshot);
          deps.view.install(message.snapshot);
          ctx.log.info('users and buckets updated', { revision: message.snapshot.revision, users: message.snapshot.users.length, buckets: message.snapshot.buckets.length });
          return state;
        }
        case 'status': {
          const current = deps.view.current;
          ctx.system.reply(message.replyTo, {
            ok: true,
            origin: current?.origin ?? '',
            revision: current?.revision ?? 0,
            users: current?.users.length ?? 0,
            buckets: current?.buckets.length ?? 0,
          });
          return state;
        }
      }
    },
  };
}
