/**
 * The contract of a gateway's auth cache: the manager pushes the snapshot of users, keys, buckets and
 * endpoints there, and anyone may ask which revision it holds.
 */
import type { AuthSnapshot } from '../../core/auth-snapshot.js';
import type { ReplyTo } from '../../runtime/refs.js';

export interface AuthCacheStatus {
  readonly ok: true;
  /** Empty while no snapshot has arrived yet. */
  readonly origin: string;
  readonly revision: number;
  readonly users: number;
  readonly buckets: number;
}

export type AuthCacheMessage =
  | { readonly type: 'auth_snapshot'; readonly snapshot: AuthSnapshot }
  | { readonly type: 'status'; readonly replyTo: ReplyTo<AuthCacheStatus> };
