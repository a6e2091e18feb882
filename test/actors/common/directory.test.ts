/**
 * The directory against stand-in managers on loopback: it joins the leader, and joins again when
 * another manager is elected, when the leader goes down, and when a manager comes back.
 */
import { expect } from 'chai';
import { directoryBehavior } from '../../../src/actors/common/directory.js';
import { ManagerLink } from '../../../src/actors/common/manager-link.js';
import { ROOT_NAME } from '../../../src/protocol/cluster/paths.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../../src/runtime/node.js';
import { worker } from '../../../src/runtime/supervisor.js';
import { eventually } from '../../support/eventually.js';
import { FAKE_COOKIE, FakeManagers } from '../../support/fake-managers.js';

const SELF = 'storage_0@127.0.0.1';

describe('the directory following the managers\' leader', function () {
  this.timeout(30_000);
  let plane: FakeManagers;
  let node: ClusterNode;
  let logs: ReturnType<typeof memoryLogger>;
  const health = { joined: [] as string[], up: true, markJoined: (manager: string) => void health.joined.push(manager), managerLink: (up: boolean) => void (health.up = up) };

  const joinsOf = (manager: number): number => plane.joins.filter((join) => join.manager === `manager_${manager}@127.0.0.1` && join.node === SELF).length;
  const joinedLines = () => logs.lines.filter((line) => line.msg === 'joined the cluster').map((line) => line.manager);

  beforeEach(async () => {
    plane = await FakeManagers.start(3);
    await plane.elect(0);
    logs = memoryLogger('debug');
    health.joined = [];
    node = await startClusterNode({ node: SELF, cookie: FAKE_COOKIE, logger: logs.logger });
    const managers = new ManagerLink({ addresses: plane.addresses, connect: (address) => node.transport.connect(address), api: node.system, clock: node.clock, probeTimeoutMs: 1_000 });
    const directory = directoryBehavior({
      self: { node: SELF, role: 'storage' },
      address: () => null,
      managers,
      addPeer: (peer, address) => node.transport.addPeer(peer, address),
      watchNodes: (listener) => node.system.onNodeEvent(listener),
      health,
    });
    await node.system.startRoot(ROOT_NAME, { strategy: 'one_for_one', maxRestarts: 5, periodMs: 1_000, children: [worker('directory', directory)] }, () => {});
    await eventually(() => joinsOf(0) === 1, 5_000, 'the join at the first leader');
    await eventually(() => health.joined.length === 1, 5_000, 'health told of the join');
  });
  afterEach(async () => {
    await node.stop();
    await plane.close();
  });

  it('joins the leader and says so', () => {
    expect(health.joined).to.deep.equal(['manager_0@127.0.0.1']);
    expect(joinedLines()).to.deep.equal(['manager_0@127.0.0.1']);
  });

  it('joins the new leader when another manager is elected, within a check or two', async () => {
    await plane.elect(2);
    await eventually(() => joinsOf(2) === 1, 5_000, 'the join at the new leader');
    await eventually(() => health.joined.at(-1) === 'manager_2@127.0.0.1', 5_000, 'health told');
    expect(joinedLines()).to.deep.equal(['manager_0@127.0.0.1', 'manager_2@127.0.0.1']);
    expect(logs.lines.some((line) => line.msg === 'the managers have another leader; joining it' && line.previous === 'manager_0@127.0.0.1')).to.equal(true);
  });

  it('joins the next leader when the leader goes down', async () => {
    await plane.elect(1);
    await plane.stop(0);
    await eventually(() => joinsOf(1) === 1, 5_000, 'the join at the next leader');
    // The manager counts the join when it arrives; the directory hears its answer a little later.
    await eventually(() => health.joined.at(-1) === 'manager_1@127.0.0.1', 5_000, 'health told');
  });

  it('joins again when the leader comes back after a restart', async () => {
    await plane.stop(0);
    await eventually(() => !health.up, 5_000, 'the link seen down');
    await plane.restart(0);
    await eventually(() => joinsOf(0) === 2, 10_000, 'the join after the restart');
    expect(health.up).to.equal(true);
    expect(joinedLines()).to.deep.equal(['manager_0@127.0.0.1']);
  });

  it('asks only the leader, once a check, while nothing changes', async () => {
    const before = plane.leaderAsks;
    await eventually(() => plane.leaderAsks >= before + 2, 5_000, 'two checks');
    expect(plane.leaderAsks - before).to.be.within(2, 3);
    expect(joinsOf(0)).to.equal(1);
  });
});
