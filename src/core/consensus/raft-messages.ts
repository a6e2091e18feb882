/**
 * What managers keep in their replicated log and send each other to agree on it (Raft's messages);
 * the wire contract of the consensus actor re-exports these.
 */

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
  /**
   * `prevIndex`: that of the append answered, so that a late refusal of an old append is recognised;
   * `lastIndex`: the end of the follower's log (shorter than it once confirmed: it lost its disk).
   */
  | { readonly type: 'append_reply'; readonly term: number; readonly from: string; readonly success: boolean; readonly matchIndex: number; readonly prevIndex: number; readonly lastIndex: number }
  | { readonly type: 'install_snapshot'; readonly term: number; readonly from: string; readonly snapshot: StateSnapshot }
  | { readonly type: 'snapshot_reply'; readonly term: number; readonly from: string; readonly index: number };

