/**
 * The gateway's tree. Its HTTP listener and request handlers hang here, next to the copy of users,
 * keys, buckets and endpoints they authenticate and authorize with.
 */
import { worker, type SupervisorSpec } from '../../runtime/supervisor.js';
import { isAuthSnapshot } from '../../core/auth-snapshot.js';
import type { NodeState } from '../../store/node-state.js';
import { AUTH_CACHE_TABLE, authCacheBehavior } from '../common/auth-cache.js';
import type { AuthView } from '../common/auth-view.js';

export interface GatewayTreeOptions {
  readonly nodeState: NodeState;
  /** Read by request handlers; kept current by the auth cache. */
  readonly authView: AuthView;
}

export function gatewayTree(options: GatewayTreeOptions): SupervisorSpec {
  return {
    strategy: 'one_for_one',
    maxRestarts: 10,
    periodMs: 60_000,
    children: [worker('auth', authCacheBehavior({ view: options.authView, table: options.nodeState.table(AUTH_CACHE_TABLE, isAuthSnapshot) }))],
  };
}
