/**
 * The next ring of a rebalance (LeoFS's `rebalance`): the current members without those detached, with
 * the attached nodes that are up. A node that joins under a detached node's alias takes over its vnode
 * points, so only that node's ranges move.
 */
import { validateMembers, type RingMember } from './ring.js';

export interface MembershipChange {
  readonly current: readonly RingMember[];
  /** Attached nodes that are up and not suspended: they enter the ring. */
  readonly joining: readonly RingMember[];
  /** Ring members detached by the operator: they leave the ring. */
  readonly leaving: ReadonlySet<string>;
  /** Replicas per key: the next ring needs at least this many members. */
  readonly n: number;
}

export type MembershipPlan =
  | { readonly ok: true; readonly next: readonly RingMember[]; readonly joined: readonly string[]; readonly left: readonly string[] }
  | { readonly ok: false; readonly code: 'NothingToDo' | 'NotEnoughNodes' | 'BadMembers'; readonly message: string };

export function planMembershipChange(change: MembershipChange): MembershipPlan {
  const inRing = new Set(change.current.map((member) => member.node));
  const left = change.current.filter((member) => change.leaving.has(member.node)).map((member) => member.node);
  const joining = change.joining.filter((member) => !inRing.has(member.node));
  if (left.length === 0 && joining.length === 0) {
    return { ok: false, code: 'NothingToDo', message: 'no node is attached or detached: the ring would not change' };
  }
  const next = [...change.current.filter((member) => !change.leaving.has(member.node)), ...joining];
  if (next.length < change.n) {
    return {
      ok: false,
      code: 'NotEnoughNodes',
      message: `the ring would keep ${next.length} storage node(s) and every key needs ${change.n} replicas; attach nodes or roll back a detach first`,
    };
  }
  const problems = validateMembers(next);
  if (problems.length > 0) return { ok: false, code: 'BadMembers', message: problems.join('; ') };
  return { ok: true, next, joined: joining.map((member) => member.node), left };
}

/**
 * How many members the next ring would have if `node` were detached too: nodes already detached leave
 * as well, and `joining` attached nodes (a replacement, say) come in.
 */
export function membersAfterDetach(current: readonly RingMember[], detached: ReadonlySet<string>, node: string, joining: number): number {
  return current.filter((member) => member.node !== node && !detached.has(member.node)).length + joining;
}
