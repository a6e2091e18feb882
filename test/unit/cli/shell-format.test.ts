import { expect } from 'chai';
import { actorsUnder, formatActorTree, formatLogLine, formatNodes, nodeRows } from '../../../src/cli/shell-format.js';
import type { ActorSummary } from '../../../src/protocol/cluster/node-info.js';
import type { MemberStatus } from '../../../src/protocol/cluster/ring-keeper.js';

const actor = (path: string, extra: Partial<ActorSummary> = {}): ActorSummary => ({ path, status: 'running', incarnation: 1, mailbox: 0, crashes: 0, lastCrash: null, ...extra });

describe('cli/shell-format', () => {
  it('draws actors as a tree by path, with their mailbox, crashes and last crash', () => {
    const nowMs = 1_000_000;
    const actors = [
      actor('/node/storage/vnode_10'),
      actor('/node'),
      actor('/node/storage', { mailbox: 3 }),
      actor('/node/info'),
      actor('/node/storage/vnode_2', { status: 'restarting', incarnation: 3, crashes: 2, lastCrash: { atMs: nowMs - 5_000, reason: 'Error: disk\ngone' } }),
    ];
    expect(formatActorTree(actors, nowMs).split('\n')).to.deep.equal([
      ' actor          | status     | incarnation | mailbox | crashes | last crash',
      '----------------+------------+-------------+---------+---------+--------------------------',
      ' /node          | running    | 1           | 0       | 0       |',
      ' ├─ info        | running    | 1           | 0       | 0       |',
      ' └─ storage     | running    | 1           | 3       | 0       |',
      '    ├─ vnode_2  | restarting | 3           | 0       | 2       | 5s ago: Error: disk gone',
      '    └─ vnode_10 | running    | 1           | 0       | 0       |',
    ]);
  });

  it('roots a subtree at the actor asked for, and names actors below a missing level by the rest of their path', () => {
    const shown = actorsUnder([actor('/node'), actor('/node/storage'), actor('/node/storage/a/b'), actor('/node/storage_x')], '/node/storage/');
    expect(shown.map((a) => a.path)).to.deep.equal(['/node/storage', '/node/storage/a/b']);
    expect(formatActorTree(shown, 0).split('\n').slice(2).map((row) => row.split('|')[0]!.trimEnd())).to.deep.equal([' /node/storage', ' └─ a/b']);
  });

  it('lists nodes in name order', () => {
    const member = (node: string, role: MemberStatus['role'], address: string | null): MemberStatus => ({ node, role, address, state: 'running', joinedAtMs: 0, ring: null });
    const rows = nodeRows([member('storage_10@h', 'storage', 'h:2'), member('manager_0@h', 'manager', 'h:1'), member('storage_2@h', 'storage', null)]);
    expect(rows.map((row) => row.node)).to.deep.equal(['manager_0@h', 'storage_2@h', 'storage_10@h']);
    expect(formatNodes(rows).split('\n')[4]).to.equal(' storage_10@h | storage | running | h:2');
    expect(formatNodes(rows).split('\n')[3]).to.equal(' storage_2@h  | storage | running | -');
  });

  it('prints a log line with its time, level, actor, message and fields, and marks alarms', () => {
    const line = JSON.stringify({ t: '2025-01-02T03:04:05.678Z', level: 'info', msg: 'ring installed', node: 'storage_0@h', actor: '/node/ring', epoch: 3, members: ['a'] });
    expect(formatLogLine(line)).to.equal('03:04:05.678 INFO  /node/ring ring installed epoch=3 members=["a"]');
    const alarm = JSON.stringify({ t: '2025-01-02T03:04:05.678Z', level: 'warn', msg: 'alarm raised', component: 'watchdog', what: 'disk' });
    expect(formatLogLine(alarm)).to.equal('03:04:05.678 WARN  watchdog ALARM alarm raised what=disk');
    expect(formatLogLine('not json')).to.equal('not json');
    expect(formatLogLine('[1]')).to.equal('[1]');
  });
});
