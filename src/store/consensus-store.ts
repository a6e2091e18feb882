/**
 * A manager's durable share of the control plane, in its node state: the replicated tables (members,
 * rings, users, buckets, ...), the Raft log that orders every change to them, the term and vote, and
 * how far the tables reflect the log. Each step is one LMDB transaction, so a manager killed at any
 * point restarts with a log, a vote and tables that agree.
 */
import type { ControlPlaneId, LogEntry, StateSnapshot, TableOp } from '../core/consensus/raft-messages.js';
import type { HardState, VoteFloor } from '../core/consensus/raft.js';
import { isControlPlaneId } from '../core/consensus/control-plane.js';
import type { NodeState, StateTable } from './node-state.js';

/** The tables every manager holds a copy of; nothing else may be written through the log. */
export const REPLICATED_TABLES = ['members', 'cluster', 'users', 'buckets', 'endpoints', 'auth_meta', 'deleted_buckets', 'bucket_deletions', 'linked_clusters', 'console_revocations'] as const;

export interface StoredConsensus {
  readonly id: ControlPlaneId | null;
  /** Absent on a manager that has never voted nor followed anyone. */
  readonly hard: HardState | undefined;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly appliedIndex: number;
  readonly entries: readonly LogEntry[];
  /** How this manager votes (core/consensus/raft.ts VoteFloor): `abstain` while empty, until a leader says how far the log was committed. */
  readonly floor: VoteFloor;
  /** This manager made its control plane generation (created or restored it) and no entry of it has been committed by the others yet. */
  readonly fresh: boolean;
  /** The managers this one last ran with (their Raft ids). */
  readonly voters: readonly string[] | undefined;
}

/** What one step of Raft asks to be made durable. */
export interface PersistStep {
  readonly hard?: HardState | undefined;
  readonly truncateFrom?: number | undefined;
  readonly entries: readonly LogEntry[];
  readonly snapshot?: StateSnapshot | undefined;
}

function isEmpty(step: PersistStep): boolean {
  return !step.hard && step.truncateFrom === undefined && step.entries.length === 0 && !step.snapshot;
}

interface LogPosition {
  readonly index: number;
  readonly term: number;
}

const anything = (value: unknown): value is unknown => value !== undefined;
const INDEX_DIGITS = 16;

export class ConsensusStore {
  private readonly meta: StateTable<unknown>;
  private readonly log: StateTable<unknown>;
  private readonly tables: Map<string, StateTable<unknown>>;

  constructor(private readonly state: NodeState) {
    this.meta = state.table('consensus_meta', anything);
    this.log = state.table('consensus_log', anything);
    this.tables = new Map(REPLICATED_TABLES.map((name) => [name, state.table(name, anything)]));
  }

  load(): StoredConsensus {
    const id = this.meta.get('id');
    const hard = this.meta.get('hard');
    const snapshot = this.meta.get('snapshot');
    const applied = this.meta.get('applied');
    const position = isLogPosition(snapshot) ? snapshot : { index: 0, term: 0 };
    const entries = this.log.entries().map(([, entry]) => entry).filter(isLogEntry).filter((entry) => entry.index > position.index);
    const floor = this.meta.get('floor');
    const voters = this.meta.get('voters');
    return {
      floor: isVoteFloor(floor) ? floor : isControlPlaneId(id) ? 'none' : 'abstain',
      fresh: this.meta.get('fresh') === true,
      voters: Array.isArray(voters) && voters.every((voter) => typeof voter === 'string') ? voters : undefined,
      id: isControlPlaneId(id) ? id : null,
      hard: isHardState(hard) ? hard : undefined,
      snapshotIndex: position.index,
      snapshotTerm: position.term,
      appliedIndex: typeof applied === 'number' ? applied : position.index,
      entries,
    };
  }

  /** The control plane this manager belongs to, without reading the log (null while it belongs to none). */
  controlPlaneId(): ControlPlaneId | null {
    const id = this.meta.get('id');
    return isControlPlaneId(id) ? id : null;
  }

  /** Whether any replicated table holds a record (state written before the log existed). */
  holdsRecords(): boolean {
    return [...this.tables.values()].some((table) => table.entries().length > 0);
  }

  /**
   * Makes this manager a member of `id`, voting as `floor` says; with `position`, the tables already
   * stand for the log up to it. `fresh`: this manager made the generation `id` names.
   */
  async adopt(id: ControlPlaneId, floor: VoteFloor, options: { readonly position?: LogPosition; readonly fresh?: boolean } = {}): Promise<void> {
    const { position, fresh = false } = options;
    await this.state.transaction(() => {
      this.meta.putInTransaction('id', id);
      this.meta.putInTransaction('floor', floor);
      this.meta.putInTransaction('fresh', fresh);
      if (position) {
        this.meta.putInTransaction('snapshot', position);
        this.meta.putInTransaction('applied', position.index);
        this.meta.putInTransaction('hard', { term: position.term, votedFor: null } satisfies HardState);
      }
    });
  }

  async setFloor(floor: VoteFloor): Promise<void> {
    await this.meta.put('floor', floor);
  }

  async setFresh(fresh: boolean): Promise<void> {
    await this.meta.put('fresh', fresh);
  }

  async setVoters(voters: readonly string[]): Promise<void> {
    await this.meta.put('voters', [...voters]);
  }

  /** Writes what Raft said must be durable before anything is sent: vote, log changes, or a whole snapshot. */
  async persist(step: PersistStep): Promise<void> {
    if (isEmpty(step)) return;
    await this.state.transaction(() => this.persistInTransaction(step));
  }

  /** Applies committed entries to the tables, and records how far, in one transaction. */
  async apply(entries: readonly LogEntry[], onUnknownTable: (op: TableOp) => void): Promise<void> {
    if (entries.length === 0) return;
    await this.state.transaction(() => this.applyInTransaction(entries, onUnknownTable));
  }

  /** Both at once, for a manager alone: its entries are committed as soon as they are on its disk. */
  async persistAndApply(step: PersistStep, entries: readonly LogEntry[], onUnknownTable: (op: TableOp) => void): Promise<void> {
    if (isEmpty(step) && entries.length === 0) return;
    await this.state.transaction(() => {
      this.persistInTransaction(step);
      if (entries.length > 0) this.applyInTransaction(entries, onUnknownTable);
    });
  }

  private persistInTransaction({ hard, truncateFrom, entries, snapshot }: PersistStep): void {
    if (hard) this.meta.putInTransaction('hard', hard);
    if (snapshot) this.installInTransaction(snapshot);
    if (truncateFrom !== undefined) {
      for (const [key, entry] of this.log.entries()) if (isLogEntry(entry) && entry.index >= truncateFrom) this.log.removeInTransaction(key);
    }
    for (const entry of entries) this.log.putInTransaction(logKey(entry.index), entry);
  }

  private applyInTransaction(entries: readonly LogEntry[], onUnknownTable: (op: TableOp) => void): void {
    for (const entry of entries) {
      if (entry.data.kind !== 'writes') continue;
      for (const op of entry.data.ops) {
        const table = this.tables.get(op.table);
        if (!table) {
          onUnknownTable(op);
          continue;
        }
        if (op.value === undefined) table.removeInTransaction(op.key);
        else table.putInTransaction(op.key, op.value);
      }
    }
    this.meta.putInTransaction('applied', entries[entries.length - 1]!.index);
  }

  /** Drops log entries up to `position` (the tables stand for them). */
  async compact(position: LogPosition): Promise<void> {
    await this.state.transaction(() => {
      for (const [key, entry] of this.log.entries()) if (isLogEntry(entry) && entry.index <= position.index) this.log.removeInTransaction(key);
      this.meta.putInTransaction('snapshot', position);
    });
  }

  /** Every replicated record as stored, read in one go (nothing is applied between the reads). */
  snapshot(id: ControlPlaneId, position: LogPosition): StateSnapshot {
    const tables: Record<string, Array<readonly [string, unknown]>> = {};
    for (const [name, table] of this.tables) tables[name] = table.entries();
    return { id, index: position.index, term: position.term, tables };
  }

  /** Replaces every table and the log by a snapshot, for a new control plane restored from a backup. */
  async restore(snapshot: StateSnapshot, id: ControlPlaneId): Promise<void> {
    await this.state.transaction(() => {
      this.meta.putInTransaction('id', id);
      this.meta.putInTransaction('floor', 'none');
      this.meta.putInTransaction('fresh', true);
      this.meta.putInTransaction('hard', { term: snapshot.term, votedFor: null } satisfies HardState);
      this.installInTransaction(snapshot);
    });
  }

  private installInTransaction(snapshot: StateSnapshot): void {
    for (const [name, table] of this.tables) {
      for (const [key] of table.entries()) table.removeInTransaction(key);
      for (const [key, value] of snapshot.tables[name] ?? []) table.putInTransaction(key, value);
    }
    for (const [key] of this.log.entries()) this.log.removeInTransaction(key);
    this.meta.putInTransaction('snapshot', { index: snapshot.index, term: snapshot.term } satisfies LogPosition);
    this.meta.putInTransaction('applied', snapshot.index);
  }
}

function logKey(index: number): string {
  return String(index).padStart(INDEX_DIGITS, '0');
}


function isVoteFloor(value: unknown): value is VoteFloor {
  return value === 'none' || value === 'abstain' || isLogPosition(value);
}

function isHardState(value: unknown): value is HardState {
  const hard = value as Partial<HardState> | null;
  return typeof hard === 'object' && hard !== null && typeof hard.term === 'number' && (hard.votedFor === null || typeof hard.votedFor === 'string');
}

function isLogPosition(value: unknown): value is LogPosition {
  const position = value as Partial<LogPosition> | null;
  return typeof position === 'object' && position !== null && Number.isSafeInteger(position.index) && Number.isSafeInteger(position.term);
}

export function isLogEntry(value: unknown): value is LogEntry {
  const entry = value as Partial<LogEntry> | null;
  if (typeof entry !== 'object' || entry === null || !Number.isSafeInteger(entry.index) || !Number.isSafeInteger(entry.term)) return false;
  const data = entry.data as { kind?: unknown; ops?: unknown } | undefined;
  if (data?.kind === 'noop') return true;
  return data?.kind === 'writes' && Array.isArray(data.ops) && data.ops.every(isTableOp);
}

function isTableOp(value: unknown): value is TableOp {
  const op = value as Partial<TableOp> | null;
  return typeof op === 'object' && op !== null && typeof op.table === 'string' && typeof op.key === 'string';
}

/** A snapshot as read from a backup file or the wire: the shape is checked, the records are the tables' to judge. */
export function isStateSnapshot(value: unknown): value is StateSnapshot {
  const snapshot = value as Partial<StateSnapshot> | null;
  if (typeof snapshot !== 'object' || snapshot === null || !isControlPlaneId(snapshot.id)) return false;
  if (!Number.isSafeInteger(snapshot.index) || !Number.isSafeInteger(snapshot.term)) return false;
  const tables = snapshot.tables as Record<string, unknown> | undefined;
  if (typeof tables !== 'object' || tables === null) return false;
  return Object.values(tables).every((records) => Array.isArray(records) && records.every((record) => Array.isArray(record) && record.length === 2 && typeof record[0] === 'string'));
}
