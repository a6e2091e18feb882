import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminRef, consensusRef, ROOT_NAME } from '../../../src/protocol/cluster/paths.js';
import type { AdminCommand, AdminReply, AdminResult } from '../../../src/protocol/cluster/admin.js';
import type { AdminMessage } from '../../../src/protocol/cluster/admin.js';
import { RingView } from '../../../src/actors/common/ring-view.js';
import { managerTree } from '../../../src/actors/manager/manager-tree.js';
import { ReplicatedTables, NotLeaderError, type Proposer } from '../../../src/actors/manager/replicated-tables.js';
import { nodeTree } from '../../../src/actors/node-tree.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../../src/runtime/node.js';
import { ask } from '../../../src/runtime/typed-ask.js';
import { ConsensusStore } from '../../../src/store/consensus-store.js';
import { NodeState } from '../../../src/store/node-state.js';
import { SecretBox } from '../../../src/store/secret-box.js';
import type { TableOp } from '../../../src/core/consensus/raft-messages.js';
import { managerReady } from '../../support/manager-ready.js';

const MANAGER = 'manager_0@127.0.0.1';
const COOKIE = 'consensus-test-cookie';
const anything = (value: unknown): value is unknown => value !== undefined;

describe('manager consensus: the replicated tables and a lone manager', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-consensus-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function startManager(): Promise<{ node: ClusterNode; nodeState: NodeState; stop: () => Promise<void> }> {
    const node = await startClusterNode({ node: MANAGER, cookie: COOKIE, logger: memoryLogger('error').logger });
    const nodeState = NodeState.open(dir, node.logger);
    await node.system.startRoot(
      ROOT_NAME,
      nodeTree(node, {
        role: 'manager',
        roleTree: managerTree(node, { nodeState, secrets: SecretBox.fromCookie(COOKIE), dataDir: dir }),
        startedAtMs: Date.now(),
        nodeState,
        ringView: new RingView(),
      }),
      () => {},
    );
    await managerReady(node.system, MANAGER);
    return {
      node,
      nodeState,
      stop: async () => {
        await node.stop();
        await nodeState.close();
      },
    };
  }

  async function admin<K extends AdminResult['kind']>(node: ClusterNode, command: AdminCommand): Promise<Extract<AdminResult, { kind: K }>> {
    const reply = await node.system.ask<AdminMessage, AdminReply>(adminRef(MANAGER), (replyTo) => ({ type: 'admin', command, replyTo }), 10_000);
    if (isRuntimeFailure(reply) || !reply.ok) throw new Error(`${command.command}: ${JSON.stringify(reply)}`);
    return reply.result as Extract<AdminResult, { kind: K }>;
  }

  it('a lone manager leads at once, writes every change through its log and keeps it across a restart', async () => {
    const first = await startManager();
    await admin(first.node, { command: 'create_user', userId: 'alice' });
    const status = await ask(first.node.system, consensusRef(MANAGER), { type: 'status' }, 5_000);
    if (isRuntimeFailure(status)) throw new Error(status.message);
    expect(status.managers).to.have.length(1);
    expect(status.managers[0]!.role).to.equal('leader');
    const applied = status.managers[0]!.appliedIndex;
    expect(applied).to.be.greaterThan(1);
    await first.stop();

    const again = await startManager();
    try {
      const users = await admin<'users'>(again.node, { command: 'get_users' });
      expect(users.users.map((user) => user.userId)).to.include('alice');
      const after = await ask(again.node.system, consensusRef(MANAGER), { type: 'status' }, 5_000);
      if (isRuntimeFailure(after)) throw new Error(after.message);
      expect(after.managers[0]!.appliedIndex).to.be.greaterThan(applied);
    } finally {
      await again.stop();
    }
  });

  it('adopts the state of a manager of an earlier release (tables without a log) as the first log position', async () => {
    const first = await startManager();
    await admin(first.node, { command: 'create_user', userId: 'bob' });
    await first.stop();
    // What an earlier release left: the same tables, no consensus records.
    const legacy = NodeState.open(dir, memoryLogger('error').logger);
    for (const name of ['consensus_meta', 'consensus_log']) {
      const table = legacy.table(name, anything);
      for (const [key] of table.entries()) await table.remove(key);
    }
    await legacy.close();

    const upgraded = await startManager();
    try {
      const users = await admin<'users'>(upgraded.node, { command: 'get_users' });
      expect(users.users.map((user) => user.userId)).to.include('bob');
    } finally {
      await upgraded.stop();
    }
  });

  it('the consensus store applies entries, compacts the log and installs a snapshot, and reads it all back', async () => {
    const state = NodeState.open(dir, memoryLogger('error').logger);
    try {
      const store = new ConsensusStore(state);
      expect(store.load()).to.include({ id: null, appliedIndex: 0, snapshotIndex: 0 });
      const id = { clusterId: 'c1', epoch: 'e1' };
      await store.adopt(id, 'none');
      const entries = [1, 2, 3].map((index) => ({ index, term: 1, data: { kind: 'writes' as const, ops: [{ table: 'users', key: `u${index}`, value: { n: index } }] } }));
      await store.persist({ hard: { term: 1, votedFor: 'me' }, entries });
      const unknown: TableOp[] = [];
      await store.apply([...entries, { index: 4, term: 1, data: { kind: 'writes', ops: [{ table: 'not_replicated', key: 'x', value: 1 }] } }], (op) => unknown.push(op));
      expect(unknown.map((op) => op.table)).to.deep.equal(['not_replicated']);
      await store.compact({ index: 2, term: 1 });
      const loaded = store.load();
      expect(loaded.id).to.deep.equal(id);
      expect(loaded.hard).to.deep.equal({ term: 1, votedFor: 'me' });
      expect(loaded.appliedIndex).to.equal(4);
      expect(loaded.snapshotIndex).to.equal(2);
      expect(loaded.entries.map((entry) => entry.index)).to.deep.equal([3]);
      const snapshot = store.snapshot(id, { index: 4, term: 1 });
      expect(snapshot.tables['users']!.map(([key]) => key)).to.deep.equal(['u1', 'u2', 'u3']);

      await store.persist({ entries: [], snapshot: { ...snapshot, index: 9, term: 2, tables: { users: [['only', { n: 0 }]] } } });
      const installed = store.load();
      expect(installed).to.include({ appliedIndex: 9, snapshotIndex: 9, snapshotTerm: 2 });
      expect(installed.entries).to.deep.equal([]);
      expect(store.snapshot(id, { index: 9, term: 2 }).tables['users']!.map(([key]) => key)).to.deep.equal(['only']);
    } finally {
      await state.close();
    }
  });

  it('a transaction runs again when another change was proposed first, and fails with NotLeader off the leader', async () => {
    const state = NodeState.open(dir, memoryLogger('error').logger);
    try {
      let lastIndex = 5;
      let preemptions = 1;
      const proposed: Array<readonly TableOp[]> = [];
      const proposer: Proposer = {
        barrier: async () => ({ ok: true, index: lastIndex }),
        propose: async (ops, afterIndex) => {
          if (afterIndex !== undefined && preemptions > 0) {
            preemptions--;
            lastIndex++;
            return { ok: false, code: 'Preempted', message: 'another change came first' };
          }
          proposed.push(ops);
          return { ok: true, index: ++lastIndex };
        },
      };
      const tables = new ReplicatedTables(state, proposer);
      const counters = tables.table('members', (value): value is number => typeof value === 'number');
      let runs = 0;
      const result = await tables.transaction(() => {
        runs++;
        counters.putInTransaction('a', 1);
        counters.removeInTransaction('b');
        return 'done';
      });
      expect(result).to.equal('done');
      expect(runs).to.equal(2);
      expect(proposed).to.deep.equal([[{ table: 'members', key: 'a', value: 1 }, { table: 'members', key: 'b' }]]);

      const refused = new ReplicatedTables(state, { barrier: async () => ({ ok: false, code: 'NotLeader', message: 'no manager leads' }), propose: async () => ({ ok: false, code: 'NotLeader', message: 'no manager leads' }) });
      const members = refused.table('members', (value): value is number => typeof value === 'number');
      let thrown: unknown;
      await members.put('x', 1).catch((error: unknown) => (thrown = error));
      expect(thrown).to.be.instanceOf(NotLeaderError);
      thrown = undefined;
      await refused.transaction(() => members.putInTransaction('x', 1)).catch((error: unknown) => (thrown = error));
      expect(thrown).to.be.instanceOf(NotLeaderError);
    } finally {
      await state.close();
    }
  });
});
