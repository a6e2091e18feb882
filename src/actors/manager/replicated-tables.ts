/**
 * The manager's tables as its duties see them: reads come from this manager's own copy, writes become
 * entries of the managers' replicated log and resolve once committed and applied here. A transaction
 * reads after everything proposed before it is applied, and is proposed only if nothing else was
 * proposed meanwhile (otherwise it runs again), so it is as isolated as one LMDB transaction.
 */
import type { TableOp } from '../../core/consensus/raft-messages.js';
import { AS_STORED, type NodeState, type RecordCodec, type StateTable, type TableSource } from '../../store/node-state.js';
import type { BarrierReply, ProposeReply } from '../../protocol/cluster/consensus.js';

/** The consensus actor, as the tables reach it. */
export interface Proposer {
  propose(ops: readonly TableOp[], afterIndex?: number): Promise<ProposeReply>;
  barrier(): Promise<BarrierReply>;
}

/** A change this manager cannot make: it does not lead, or lost the office before the change committed. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  readonly code = 'NotLeader';
}

/** How often a transaction runs again when other changes keep coming first. */
const MAX_TRANSACTION_ATTEMPTS = 20;

export class ReplicatedTables implements TableSource {
  /** The writes of the transaction running right now (transactions run synchronously). */
  private recording: TableOp[] | undefined;

  constructor(
    private readonly local: NodeState,
    private readonly proposer: Proposer,
  ) {}

  table<T>(name: string, validate: (value: unknown) => value is T, codec: RecordCodec<T> = AS_STORED as RecordCodec<T>): StateTable<T> {
    const local = this.local.table(name, validate, codec);
    return {
      get: (key) => local.get(key),
      entries: () => local.entries(),
      put: (key, value) => this.write([{ table: name, key, value: codec.encode(value) }]),
      remove: (key) => this.write([{ table: name, key }]),
      putInTransaction: (key, value) => this.record({ table: name, key, value: codec.encode(value) }),
      removeInTransaction: (key) => this.record({ table: name, key }),
    };
  }

  async transaction<R>(action: () => R): Promise<R> {
    for (let attempt = 0; attempt < MAX_TRANSACTION_ATTEMPTS; attempt++) {
      const barrier = await this.proposer.barrier();
      if (!barrier.ok) throw new NotLeaderError(barrier.message);
      const ops: TableOp[] = [];
      this.recording = ops;
      let result: R;
      try {
        result = action();
      } finally {
        this.recording = undefined;
      }
      if (ops.length === 0) return result;
      const outcome = await this.proposer.propose(ops, barrier.index);
      if (outcome.ok) return result;
      if (outcome.code !== 'Preempted') throw new NotLeaderError(outcome.message);
    }
    throw new Error(`a transaction came second to other changes ${MAX_TRANSACTION_ATTEMPTS} times in a row; try again`);
  }

  private async write(ops: readonly TableOp[]): Promise<void> {
    const outcome = await this.proposer.propose(ops);
    if (!outcome.ok) throw new NotLeaderError(outcome.message);
  }

  private record(op: TableOp): void {
    if (!this.recording) throw new Error('a ...InTransaction write outside transaction()');
    this.recording.push(op);
  }
}
