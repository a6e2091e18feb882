/**
 * Each manager's part in the log as one manager sees it, for `leofs-adm status`: full detail on the
 * leader (how far each follower's log agrees, when it last answered), only its own on a follower.
 */
import type { Raft } from '../../core/consensus/raft.js';
import type { ManagerStatus } from '../../protocol/cluster/consensus.js';

export interface StatusInput {
  readonly raft: Raft;
  /** Raft ids of every manager, and this one's. */
  readonly voters: readonly string[];
  readonly selfId: string;
  /** Raft id → node name, as far as known. */
  readonly names: ReadonlyMap<string, string>;
  readonly appliedIndex: number;
  /** A follower that answered the leader within this long is reachable. */
  readonly reachableWithinMs: number;
  readonly nowMs: number;
}

/** Figures not known to this manager are -1 (or null for the lag). */
export function managerStatuses(input: StatusInput): ManagerStatus[] {
  const { raft, voters, selfId, names, appliedIndex, reachableWithinMs, nowMs } = input;
  const progress = raft.peerProgress();
  const leading = raft.currentRole === 'leader';
  return voters.map((voter) => {
    const node = names.get(voter) ?? voter;
    if (voter === selfId) {
      return { node, role: raft.currentRole, term: raft.currentTerm, lastIndex: raft.lastIndex, commitIndex: raft.commitIndex, appliedIndex, lag: leading ? 0 : null, reachable: true };
    }
    const peer = progress.get(voter);
    const isLeader = raft.knownLeader === voter;
    return {
      node,
      role: isLeader ? 'leader' : 'follower',
      term: isLeader ? raft.currentTerm : -1,
      lastIndex: peer?.matchIndex ?? -1,
      commitIndex: -1,
      appliedIndex: -1,
      lag: leading && peer ? raft.lastIndex - peer.matchIndex : null,
      reachable: leading && peer ? nowMs - peer.lastHeardMs < reachableWithinMs : isLeader,
    };
  });
}
