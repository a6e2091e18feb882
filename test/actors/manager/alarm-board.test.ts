import { expect } from 'chai';
import { alarmBoardBehavior } from '../../../src/actors/manager/alarm-board.js';
import type { Alarm } from '../../../src/core/watchdog-rules.js';
import { alarmBoardRef, type AlarmBoardMessage, type NodeAlarms } from '../../../src/protocol/cluster/watchdog.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { supervisor, worker } from '../../../src/runtime/supervisor.js';
import { ActorSystem } from '../../../src/runtime/system.js';

const MANAGER = 'manager_0@127.0.0.1';
const DISK: Alarm = { name: 'disk', level: 'read_only', reading: 1, threshold: 2, sinceMs: 0, message: '1 bytes free, below 2' };

describe('the manager\'s alarm board', () => {
  const clock = new ManualClock();
  const logs = memoryLogger('debug');
  const system = new ActorSystem({ node: MANAGER, clock, logger: logs.logger });
  const board = alarmBoardRef(MANAGER);

  before(async () => {
    await system.startRoot('node', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 10_000, children: [supervisor('manager', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 10_000, children: [worker('alarms', alarmBoardBehavior())] })] }, () => {});
  });
  after(async () => {
    await system.stop();
  });

  const list = async (): Promise<readonly NodeAlarms[]> => {
    const reply = await system.ask<AlarmBoardMessage, { ok: true; nodes: readonly NodeAlarms[] }>(board, (replyTo) => ({ type: 'list', replyTo }), 1_000);
    if (!reply.ok) throw new Error(reply.code);
    return reply.nodes;
  };

  it('shows the latest report of each node, drops a node that stopped reporting, and refuses malformed reports', async () => {
    system.dispatch(board, { type: 'alarms', node: 'storage_0@127.0.0.1', alarms: [DISK] });
    system.dispatch(board, { type: 'alarms', node: 'storage_1@127.0.0.1', alarms: [DISK] });
    system.dispatch(board, { type: 'alarms', node: 'storage_1@127.0.0.1', alarms: [] });
    expect((await list()).map((entry) => entry.node)).to.deep.equal(['storage_0@127.0.0.1']);

    system.dispatch(board, { type: 'alarms', node: 'storage_2@127.0.0.1', alarms: [{ ...DISK, level: 'melting' } as unknown as Alarm] });
    system.dispatch(board, { type: 'alarms', node: 'storage_2@127.0.0.1', alarms: 'all of them' as unknown as Alarm[] });
    expect((await list()).map((entry) => entry.node)).to.deep.equal(['storage_0@127.0.0.1']);
    expect(logs.lines.filter((line) => line.msg === 'refused a malformed alarm report')).to.have.length(2);

    // A node that samples every ten minutes is kept for three of its reports.
    system.dispatch(board, { type: 'alarms', node: 'storage_3@127.0.0.1', alarms: [DISK], reportEveryMs: 600_000 });
    expect(await list()).to.have.length(2);
    clock.advance(91_000);
    expect((await list()).map((entry) => entry.node)).to.deep.equal(['storage_3@127.0.0.1']);
    clock.advance(1_800_000);
    expect(await list()).to.deep.equal([]);
  });
});
