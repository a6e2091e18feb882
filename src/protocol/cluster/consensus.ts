/**
 * The contract of the managers' consensus actor (`/node/manager/consensus`, on every manager): the
 * Raft messages managers exchange to keep one ordered log of every change to the control plane, and
 * the questions other nodes and the admin tools ask it (who leads, how far each manager is, a
 * consistent copy of the state for a backup).
 */
import type { ReplyTo } from '../../runtime/refs.js';

export type { ControlPlaneId, EntryData, LogEntry, RaftMessage, StateSnapshot, TableOp } from '../../core/consensus/raft-messages.js';
import type { ControlPlaneId, RaftMessage } from '../../core/consensus/raft-messages.js';
import type { SnapshotTables } from '../../core/consensus/snapshot-pages.js';

export type ManagerRole = 'leader' | 'follower' | 'candidate';

/** What a change proposed by the leader's own actors came to: applied on this manager, or why not. */
export type ProposeReply =
  | { readonly ok: true; readonly index: number }
  /** NotLeader: this manager does not lead (or stopped leading before the change was known committed). Preempted: another change came first. */
  | { readonly ok: false; readonly code: 'NotLeader' | 'Preempted'; readonly message: string };

/** Answered once nothing proposed is left unapplied, with the last index applied. */
export type BarrierReply = { readonly ok: true; readonly index: number } | { readonly ok: false; readonly code: 'NotLeader'; readonly message: string };

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

/** A backup prepared on the leader: its position and how many pages to fetch (with `backup_page`). */
export interface BackupHeader {
  readonly backupId: string;
  readonly id: ControlPlaneId;
  readonly index: number;
  readonly term: number;
  readonly pages: number;
  readonly records: number;
}

export type BackupReply = ({ readonly ok: true } & BackupHeader) | { readonly ok: false; readonly code: 'NotLeader'; readonly message: string };

export type BackupPageReply =
  | { readonly ok: true; readonly page: number; readonly tables: SnapshotTables }
  | { readonly ok: false; readonly code: 'NoSuchBackup'; readonly message: string };

/**
 * A snapshot travels to a follower in pages, each answered before the next is sent (a snapshot of a
 * large control plane does not fit in one frame, nor should it crowd the link).
 */
export type SnapshotPageMessage =
  | {
      readonly type: 'snapshot_page';
      readonly id: ControlPlaneId;
      readonly term: number;
      readonly from: string;
      /** The log position the snapshot stands for, and that entry's term. */
      readonly index: number;
      readonly snapshotTerm: number;
      readonly page: number;
      readonly pages: number;
      readonly tables: SnapshotTables;
    }
  | { readonly type: 'snapshot_page_ack'; readonly term: number; readonly from: string; readonly index: number; readonly page: number };

/** Which control plane a manager holds, and how far its log reaches. */
export interface ProbeReply {
  readonly ok: true;
  readonly id: ControlPlaneId | null;
  readonly lastIndex: number;
}

export type ConsensusMessage =
  | RaftMessage
  | SnapshotPageMessage
  | { readonly type: 'leader'; readonly replyTo: ReplyTo<LeaderReply> }
  | { readonly type: 'status'; readonly replyTo: ReplyTo<ConsensusStatusReply> }
  /** Prepares a consistent copy of every replicated table, read on the leader after everything committed so far is applied. */
  | { readonly type: 'backup'; readonly replyTo: ReplyTo<BackupReply> }
  /** One page of a prepared backup (kept a few minutes). */
  | { readonly type: 'backup_page'; readonly backupId: string; readonly page: number; readonly replyTo: ReplyTo<BackupPageReply> }
  /** An empty manager asks its peers whether they hold state, before it creates a control plane. */
  | { readonly type: 'probe'; readonly replyTo: ReplyTo<ProbeReply> }
  /**
   * A manager made a new generation `id` of the control plane (created it, or restored it from a
   * backup), starting at log position `floor`: an empty manager joins it and votes, but only for a
   * manager whose log reaches `floor`.
   */
  | {
      readonly type: 'genesis';
      readonly id: ControlPlaneId;
      readonly from: string;
      readonly floor: { readonly index: number; readonly term: number };
      readonly replyTo: ReplyTo<{ readonly ok: true } | { readonly ok: false; readonly message: string }>;
    };

export const CONSENSUS_PATH = '/node/manager/consensus';
