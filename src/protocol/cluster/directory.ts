/**
 * The contract of every non-manager node's directory of cluster members: the managers' leader pushes
 * the members here; the rest is the directory's own bookkeeping.
 */
import type { NodeEvent } from '../../runtime/system.js';
import type { MemberView } from './ring-keeper.js';

export type DirectoryMessage =
  | { readonly type: 'members'; readonly members: readonly MemberView[] }
  | { readonly type: 'join' }
  | { readonly type: 'joined'; readonly manager: string; readonly members: readonly MemberView[] }
  | { readonly type: 'join_failed'; readonly reason: string }
  /** Time to ask whether the manager joined still leads. */
  | { readonly type: 'check' }
  /** Who leads now, as far as the managers say; null when none could say. */
  | { readonly type: 'checked'; readonly leader: string | null }
  | { readonly type: 'node_event'; readonly event: NodeEvent };
