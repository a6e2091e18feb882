/**
 * The contract of the managers' consensus actor (`/node/manager/consensus`, on every manager): the
 * Raft messages managers exchange to keep one ordered log of every change to the control plane, and
 * the questions other nodes and the admin tools ask it (who leads, how far each manager is, a
 * consistent copy of the state for a backup).
 */
import type { ReplyTo } from '../../runtime/refs.js';

/**
 * Which control plane a manager belongs to. `clusterId` is made when the cluster is created and kept
 * by restores; `epoch` is made anew by every restore, so that managers holding state from before the
 * restore cannot mix their log with the restored one.
 */
export interface ControlPlaneId {
  readonly clusterId: string;
  readonly epoch: string;
}

/** One write of a log entry: a record of a manager table set (value present) or removed. */
export interface TableOp {
  readonly table: string;
  readonly key: string;
  /** The record as stored (sealed where its table seals); absent: remove the key. */
  readonly value?: unknown;
}

/** What a log entry carries: writes applied together, or nothing (a new leader's first entry). */
export type EntryData = { readonly kind: 'writes'; readonly ops: readonly TableOp[] } | { readonly kind: 'noop' };

export interface LogEntry {
  readonly index: number;
  readonly term: number;
  readonly data: EntryData;
}

/** Every replicated table's records as stored, at one log position: what a lagging manager or a backup receives. */
export interface StateSnapshot {
  readonly id: ControlPlaneId;
  /** The log position the tables reflect, and the term of that entry. */
  readonly index: number;
  readonly term: number;
  readonly tables: Readonly<Record<string, ReadonlyArray<readonly [string, unknown]>>>;
}

/** The Raft messages between managers; each carries the sender's control plane. */
export type RaftMessage =
  /** `preVote`: asks whether the peer would vote, without raising anyone's term (a manager that was cut off does not disturb a working leader on return). */
  | { readonly type: 'vote_request'; readonly id: ControlPlaneId; readonly term: number; readonly from: string; readonly lastIndex: number; readonly lastTerm: number; readonly preVote: boolean }
  | { readonly type: 'vote_reply'; readonly term: number; readonly from: string; readonly granted: boolean; readonly preVote: boolean }
  | {
      readonly type: 'append';
      readonly id: ControlPlaneId;
      readonly term: number;
      readonly from: string;
      readonly prevIndex: number;
      readonly prevTerm: number;
      readonly entries: readonly LogEntry[];
      readonly commit: number;
    }
  /** `matchIndex`: how far the follower's log now agrees; on failure, where the leader should try next. */
  | { readonly type: 'append_reply'; readonly term: number; readonly from: string; readonly success: boolean; readonly matchIndex: number }
  | { readonly type: 'install_snapshot'; readonly term: number; readonly from: string; readonly snapshot: StateSnapshot }
  | { readonly type: 'snapshot_reply'; readonly term: number; readonly from: string; readonly index: number };

export type ManagerRole = 'leader' | 'follower' | 'candidate';

export interface LeaderReply {
  readonly ok: true;
  /** The node that leads, as far as this manager knows; null while none does. */
  readonly leader: string | null;
  /** The leader's cluster address, when known. */
  readonly leaderAddress: string | null;
  readonly term: number;
  /** This manager's own role. */
  readonly role: ManagerRole;
}

export interface ManagerStatus {
  readonly node: string;
  readonly role: ManagerRole;
  readonly term: number;
  /** The last entry in its log, the last one known committed, and the last one applied to its tables. */
  readonly lastIndex: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** Entries the leader has that this manager does not (known on the leader only); null when unknown. */
  readonly lag: number | null;
  /** Reachable from the leader right now. */
  readonly reachable: boolean;
}

export interface ConsensusStatusReply {
  readonly ok: true;
  readonly id: ControlPlaneId | null;
  readonly leader: string | null;
  /** Every manager, as this one sees them (full detail on the leader). */
  readonly managers: readonly ManagerStatus[];
}

export type BackupReply = { readonly ok: true; readonly snapshot: StateSnapshot } | { readonly ok: false; readonly code: 'NotLeader'; readonly message: string };

export type ConsensusMessage =
  | RaftMessage
  | { readonly type: 'leader'; readonly replyTo: ReplyTo<LeaderReply> }
  | { readonly type: 'status'; readonly replyTo: ReplyTo<ConsensusStatusReply> }
  /** A consistent copy of every replicated table, read on the leader after everything committed so far is applied. */
  | { readonly type: 'backup'; readonly replyTo: ReplyTo<BackupReply> }
  /** An empty manager asks its peers whether they hold state, before it creates a control plane. */
  | { readonly type: 'probe'; readonly replyTo: ReplyTo<{ readonly ok: true; readonly id: ControlPlaneId | null }> };

export const CONSENSUS_PATH = '/node/manager/consensus';
