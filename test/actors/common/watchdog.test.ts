/**
 * The watchdog actor on a manager node, fed injected readings: alarms go up and down with them, the
 * role's effects are applied, the manager's board and `status` show them, and a threshold changed
 * live (update-property) takes effect at once.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RingView } from '../../../src/actors/common/ring-view.js';
import type { WatchdogSampler } from '../../../src/actors/common/watchdog-sampler.js';
import { managerTree } from '../../../src/actors/manager/manager-tree.js';
import { nodeTree } from '../../../src/actors/node-tree.js';
import { DEFAULT_WATCHDOG_THRESHOLDS, type Alarm, type WatchdogReadings } from '../../../src/core/watchdog-rules.js';
import type { AdminCommand, AdminMessage, AdminReply, AdminResult } from '../../../src/protocol/cluster/admin.js';
import { adminRef, ROOT_NAME } from '../../../src/protocol/cluster/paths.js';
import { watchdogRef, type WatchdogMessage, type WatchdogStatus } from '../../../src/protocol/cluster/watchdog.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../../src/runtime/node.js';
import { NodeState } from '../../../src/store/node-state.js';
import { SecretBox } from '../../../src/store/secret-box.js';
import { managerReady } from '../../support/manager-ready.js';
import { eventually } from '../../support/eventually.js';

const MANAGER = 'manager_0@127.0.0.1';
const CALM: WatchdogReadings = { cpuPercent: 5, rssBytes: 100e6, eventLoopDelayMs: 1, diskFreeBytes: 50e9, diskTotalBytes: 100e9, queueItems: 0, errorsPerMinute: 0 };

describe('the watchdog with injected readings', () => {
  let dir: string;
  let node: ClusterNode;
  let nodeState: NodeState;
  let readings: WatchdogReadings = CALM;
  const applied: Array<readonly Alarm[]> = [];
  const logs = memoryLogger('debug');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-watchdog-'));
    node = await startClusterNode({ node: MANAGER, cookie: 'watchdog-test-cookie', logger: logs.logger });
    nodeState = NodeState.open(dir, node.logger);
    const sampler: WatchdogSampler = { sample: async () => readings, close: () => undefined };
    await node.system.startRoot(
      ROOT_NAME,
      nodeTree(node, {
        role: 'manager',
        roleTree: managerTree(node, { nodeState, secrets: SecretBox.fromCookie('watchdog-test-cookie'), dataDir: dir }),
        startedAtMs: Date.now(),
        nodeState,
        ringView: new RingView(),
        watchdog: { openSampler: () => sampler, thresholds: DEFAULT_WATCHDOG_THRESHOLDS, intervalMs: 20, apply: (alarms) => void applied.push(alarms), manager: () => MANAGER },
      }),
      () => {},
    );
    await managerReady(node.system, MANAGER);
  });
  after(async () => {
    await node.stop();
    await nodeState.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const admin = async (command: AdminCommand): Promise<AdminReply> => {
    const reply = await node.system.ask<AdminMessage, AdminReply>(adminRef(MANAGER), (replyTo) => ({ type: 'admin', command, replyTo }), 5_000);
    if (!('ok' in reply)) throw new Error('no answer');
    return reply;
  };
  const result = async (command: AdminCommand): Promise<AdminResult> => {
    const reply = await admin(command);
    if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
    return reply.result;
  };
  const status = async (): Promise<WatchdogStatus> => {
    const reply = await node.system.ask<WatchdogMessage, WatchdogStatus>(watchdogRef(MANAGER), (replyTo) => ({ type: 'status', replyTo }), 2_000);
    if (!reply.ok) throw new Error('no status');
    return reply;
  };
  const lastApplied = (): readonly Alarm[] => applied[applied.length - 1] ?? [];
  const boardAlarms = async (): Promise<readonly Alarm[]> => {
    const cluster = await result({ command: 'status' });
    if (cluster.kind !== 'cluster_status') throw new Error(cluster.kind);
    return cluster.alarms.find((entry) => entry.node === MANAGER)?.alarms ?? [];
  };

  it('raises no alarm on calm readings', async () => {
    await eventually(() => applied.length > 2, 2_000, 'samples');
    expect(lastApplied()).to.deep.equal([]);
    expect((await status()).readings).to.deep.equal(CALM);
  });

  it('raises, escalates, holds and clears alarms as the readings move, and tells the manager', async () => {
    readings = { ...CALM, eventLoopDelayMs: 500, cpuPercent: 97 };
    await eventually(() => lastApplied().length === 2, 2_000, 'two alarms');
    expect(lastApplied().map((alarm) => [alarm.name, alarm.level])).to.have.deep.members([['cpu', 'throttle'], ['event_loop', 'throttle']]);
    await eventually(async () => (await boardAlarms()).length === 2, 2_000, 'the board showing them');

    readings = { ...readings, eventLoopDelayMs: 3_000 };
    await eventually(() => lastApplied().some((alarm) => alarm.name === 'event_loop' && alarm.level === 'refuse'), 2_000, 'refusal');
    // Back under the refusal limit but not far enough under it: still refusing.
    readings = { ...readings, eventLoopDelayMs: 1_900 };
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lastApplied().find((alarm) => alarm.name === 'event_loop')?.level).to.equal('refuse');
    readings = CALM;
    await eventually(() => lastApplied().length === 0, 2_000, 'all clear');
    await eventually(async () => (await boardAlarms()).length === 0, 2_000, 'the board clear');
    expect(logs.lines.some((line) => line.msg === 'alarm raised' && line.alarm === 'cpu')).to.equal(true);
    expect(logs.lines.some((line) => line.msg === 'alarm cleared' && line.alarm === 'event_loop')).to.equal(true);
  });

  it('turns a nearly full disk into a read-only alarm before it is full, and back when space is freed', async () => {
    readings = { ...CALM, diskFreeBytes: 300e6 };
    await eventually(() => lastApplied().some((alarm) => alarm.name === 'disk' && alarm.level === 'read_only'), 2_000, 'read-only');
    readings = { ...CALM, diskFreeBytes: 8e9 }; // 8% free: no longer read-only, still low
    await eventually(() => lastApplied().some((alarm) => alarm.name === 'disk' && alarm.level === 'throttle'), 2_000, 'throttle');
    readings = CALM;
    await eventually(() => lastApplied().length === 0, 2_000, 'all clear');
  });

  it('throttles on a large resident memory and refuses writes on a larger one', async () => {
    readings = { ...CALM, rssBytes: 2e9 };
    await eventually(() => lastApplied().some((alarm) => alarm.name === 'memory' && alarm.level === 'throttle'), 2_000, 'throttle');
    readings = { ...CALM, rssBytes: 4e9 };
    await eventually(() => lastApplied().some((alarm) => alarm.name === 'memory' && alarm.level === 'refuse'), 2_000, 'refuse');
    readings = CALM;
    await eventually(() => lastApplied().length === 0, 2_000, 'all clear');
  });

  it('reports deep queues and error bursts', async () => {
    readings = { ...CALM, queueItems: 200_000, errorsPerMinute: 1_000 };
    await eventually(() => lastApplied().length === 2, 2_000, 'two alarms');
    expect(lastApplied().map((alarm) => [alarm.name, alarm.level])).to.have.deep.members([['queue', 'report'], ['errors', 'throttle']]);
    readings = CALM;
    await eventually(() => lastApplied().length === 0, 2_000, 'all clear');
  });

  it('takes a threshold changed live, and refuses a bad one', async () => {
    const set = await result({ command: 'update_property', node: MANAGER, key: 'watchdog.cpuThrottlePercent', value: '2' });
    expect(set).to.deep.include({ kind: 'done' });
    expect(lastApplied().map((alarm) => alarm.name)).to.include('cpu');
    expect((await status()).thresholds.cpuThrottlePercent).to.equal(2);
    for (const [key, value] of [['watchdog.nothing', '1'], ['watchdog.throttleFactor', '3'], ['watchdog.cpuThrottlePercent', 'lots'], ['colour', 'blue']] as const) {
      const refused = await admin({ command: 'update_property', node: MANAGER, key, value });
      expect(refused, key).to.include({ ok: false });
    }
    await result({ command: 'update_property', node: MANAGER, key: 'watchdog.cpuThrottlePercent', value: '90' });
    await eventually(() => lastApplied().length === 0, 2_000, 'all clear');
  });

  it('shows the readings and alarms in status NODE', async () => {
    const details = await result({ command: 'status', node: MANAGER });
    if (details.kind !== 'node_status') throw new Error(details.kind);
    expect(details.watchdog?.readings).to.deep.equal(CALM);
    expect(details.watchdog?.thresholds.diskReadOnlyFreeBytes).to.equal(DEFAULT_WATCHDOG_THRESHOLDS.diskReadOnlyFreeBytes);
    expect(details.version).to.equal(null);
  });
});
