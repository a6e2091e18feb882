/**
 * The contract of every non-manager node's directory of cluster members: the manager pushes the
 * members here; the rest is the directory's own bookkeeping.
 */
import type { NodeEvent } from '../../runtime/system.js';
import type { MemberView } from './ring-keeper.js';

export type DirectoryMessage =
  | { readonly type: 'members'; readonly members: readonly MemberView[] }
  | { readonly type: 'join' }
  | { readonly type: 'joined'; readonly manager: string; readonly members: readonly MemberView[] }
  | { readonly type: 'join_failed'; readonly reason: string }
  | { readonly type: 'node_event'; readonly event: NodeEvent };
