/**
 * Two clusters in this process, each a manager with its own cookie and cluster id, and storage nodes
 * that only answer what the managers ask of them: linked with join-cluster both ways, they greet each
 * other, name their storage nodes to each other's storage nodes, and cluster-status sums what the
 * storage nodes still have to ship.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminRef, ringKeeperRef, ROOT_NAME } from '../../../src/protocol/cluster/paths.js';
import { RingView } from '../../../src/actors/common/ring-view.js';
import type { AdminCommand, AdminMessage, AdminReply, AdminResult } from '../../../src/protocol/cluster/admin.js';
import { clusterLinkRef, LINK_OFFERED_PATHS, type LinkQueueStats, type LinkShipperMessage } from '../../../src/protocol/cluster/cluster-link.js';
import { managerTree } from '../../../src/actors/manager/manager-tree.js';
import { nodeTree } from '../../../src/actors/node-tree.js';
import type { Behavior } from '../../../src/runtime/actor.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../../src/runtime/node.js';
import { LinkRealms } from '../../../src/runtime/remote/link-realms.js';
import { foreignName } from '../../../src/protocol/cluster/realm-names.js';
import { HandshakeRefused } from '../../../src/runtime/remote/transport.js';
import { supervisor, worker, type SupervisorMessage, type TerminateChildReply } from '../../../src/runtime/supervisor.js';
import { actorRef } from '../../../src/runtime/refs.js';
import { ask } from '../../../src/runtime/typed-ask.js';
import { NodeState } from '../../../src/store/node-state.js';
import { SecretBox } from '../../../src/store/secret-box.js';
import { eventually } from '../../support/eventually.js';
import { managerReady } from '../../support/manager-ready.js';

const MANAGER = 'manager_0@127.0.0.1';
const SECRET = 'a-link-secret-of-some-length';

/** A storage node as far as the managers see it: it joins, and says what it has to ship when asked. */
function shipper(stats: () => readonly LinkQueueStats[]): Behavior<null, LinkShipperMessage> {
  return {
    accepts: ['link_stats'],
    init: () => null,
    receive(state, message, ctx) {
      ctx.system.reply(message.replyTo, { ok: true, clusters: stats() });
      return state;
    },
  };
}

interface Cluster {
  readonly manager: ClusterNode;
  readonly nodeState: NodeState;
  readonly storage: ClusterNode[];
  readonly address: string;
  id: string;
}

describe('links between clusters (managers)', function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  const clusters: Cluster[] = [];
  let a: Cluster;
  let b: Cluster;
  /** What A's first storage node says it has to ship. */
  let shipped: readonly LinkQueueStats[] = [];

  async function startCluster(name: string, storageNodes: number, withShipper: boolean): Promise<Cluster> {
    const cookie = `cookie-of-cluster-${name}`;
    const dir = mkdtempSync(join(tmpdir(), `leofs-links-${name}-`));
    dirs.push(dir);
    const realms = new LinkRealms(LINK_OFFERED_PATHS);
    const manager = await startClusterNode({ node: MANAGER, cookie, realms, logger: memoryLogger('error').logger, listen: { host: '127.0.0.1', port: 0 } });
    const nodeState = NodeState.open(dir, manager.logger);
    await manager.system.startRoot(
      ROOT_NAME,
      nodeTree(manager, {
        role: 'manager',
        roleTree: managerTree(manager, { nodeState, secrets: SecretBox.fromCookie(cookie), dataDir: dir, realms, linkProbeIntervalMs: 200 }),
        startedAtMs: Date.now(),
        nodeState,
        ringView: new RingView(),
      }),
      () => {},
    );
    await managerReady(manager.system, MANAGER);
    const address = manager.transport.address!;
    const storage: ClusterNode[] = [];
    for (let i = 0; i < storageNodes; i++) {
      const node = await startClusterNode({ node: `storage_${i}@127.0.0.1`, cookie, logger: memoryLogger('error').logger, listen: { host: '127.0.0.1', port: 0 } });
      storage.push(node);
      // Only the first of cluster A answers link_stats: the others stand for nodes that do not.
      const children = withShipper && i === 0 ? [worker('link_shipper', shipper(() => shipped))] : [];
      await node.system.startRoot(ROOT_NAME, { strategy: 'one_for_one', maxRestarts: 3, periodMs: 1_000, children: [supervisor('storage', { strategy: 'one_for_one', maxRestarts: 3, periodMs: 1_000, children })] }, () => {});
      await node.transport.connect(address);
      const joined = await ask(node.system, ringKeeperRef(MANAGER), { type: 'join', node: node.system.node, role: 'storage', address: node.transport.address, storage: { numOfVnodes: 8 } }, 10_000);
      expect(joined, `storage_${i} joins cluster ${name}`).to.include({ ok: true });
    }
    const cluster: Cluster = { manager, nodeState, storage, address, id: '' };
    clusters.push(cluster);
    await adminOf(cluster, { command: 'start', n: 1, w: 1, r: 1, d: 1, rackAware: false });
    cluster.id = (await ok(cluster, { command: 'cluster_status' }, 'linked_clusters')).clusterId!;
    return cluster;
  }

  async function adminOf(cluster: Cluster, command: AdminCommand): Promise<AdminReply> {
    const reply = await cluster.manager.system.ask<AdminMessage, AdminReply>(adminRef(MANAGER), (replyTo) => ({ type: 'admin', command, replyTo }), 20_000);
    if (isRuntimeFailure(reply)) throw new Error(`${command.command}: ${reply.code} ${reply.message}`);
    return reply;
  }

  async function ok<K extends AdminResult['kind']>(cluster: Cluster, command: AdminCommand, kind: K): Promise<Extract<AdminResult, { kind: K }>> {
    const reply = await adminOf(cluster, command);
    if (!reply.ok) throw new Error(`${command.command} refused: ${reply.code} ${reply.message}`);
    expect(reply.result.kind).to.equal(kind);
    return reply.result as Extract<AdminResult, { kind: K }>;
  }

  async function linkOf(cluster: Cluster, other: Cluster) {
    const status = await ok(cluster, { command: 'cluster_status' }, 'linked_clusters');
    return status.clusters.find((link) => link.clusterId === other.id);
  }

  before(async () => {
    a = await startCluster('a', 2, true);
    b = await startCluster('b', 1, false);
  });

  after(async () => {
    for (const cluster of clusters) {
      await Promise.all(cluster.storage.map((node) => node.stop()));
      await cluster.manager.stop();
      await cluster.nodeState.close();
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('gives each cluster an id of its own, which a join must not name, and checks the words of a join', async () => {
    expect(a.id).to.match(/^[0-9a-f]{24}$/);
    expect(b.id).to.match(/^[0-9a-f]{24}$/);
    expect(a.id).to.not.equal(b.id);
    expect(await adminOf(a, { command: 'join_cluster', manager: b.address, clusterId: a.id, secret: SECRET })).to.include({ ok: false, code: 'InvalidArgument' });
    expect(await adminOf(a, { command: 'join_cluster', manager: b.address, clusterId: b.id, secret: 'short' })).to.include({ ok: false, code: 'BadCommand' });
    expect(await adminOf(a, { command: 'join_cluster', manager: 'no-port', clusterId: b.id, secret: SECRET })).to.include({ ok: false, code: 'BadCommand' });
    expect((await ok(a, { command: 'cluster_status' }, 'linked_clusters')).clusters).to.deep.equal([]);
  });

  it('waits for the other cluster while only one side has joined', async () => {
    const joined = await ok(a, { command: 'join_cluster', manager: b.address, clusterId: b.id, secret: SECRET }, 'link_joined');
    expect(joined.link).to.include({ clusterId: b.id, state: 'waiting' });
    expect(JSON.stringify(joined)).to.not.include(SECRET);
    const link = await linkOf(a, b);
    expect(link).to.include({ state: 'waiting', storageNodes: 0, lastContactMs: null });
    expect(link!.managers).to.deep.equal([b.address]);
  });

  it('is up once both have joined: each names its managers and running storage nodes', async () => {
    const joined = await ok(b, { command: 'join_cluster', manager: a.address, clusterId: a.id, secret: SECRET }, 'link_joined');
    expect(joined.link).to.include({ clusterId: a.id, state: 'up' });
    expect(joined.link.storage.map((endpoint) => endpoint.node).sort()).to.deep.equal(['storage_0@127.0.0.1', 'storage_1@127.0.0.1']);
    await eventually(async () => (await linkOf(a, b))?.state === 'up', 10_000, 'cluster A sees cluster B up');
    const link = (await linkOf(a, b))!;
    expect(link.storageNodes).to.equal(1);
    expect(link.lastContactMs).to.be.a('number');

    // What the hello itself answers, asked as cluster A's manager.
    const hello = await ask(a.manager.system, clusterLinkRef(foreignName(b.id, MANAGER)), { type: 'link_hello', clusterId: a.id }, 5_000);
    expect(hello).to.deep.equal({ ok: true, clusterId: b.id, managers: [b.address], storage: [{ node: 'storage_0@127.0.0.1', address: b.storage[0]!.transport.address }] });
  });

  it("tells this cluster's storage nodes the linked clusters' secrets and storage nodes", async () => {
    const view = await ask(a.storage[0]!.system, clusterLinkRef(MANAGER), { type: 'link_view' }, 5_000);
    expect(view).to.deep.equal({ ok: true, self: a.id, clusters: [{ clusterId: b.id, secret: SECRET, storage: [{ node: 'storage_0@127.0.0.1', address: b.storage[0]!.transport.address }] }] });
    // Joined again for some buckets only: the storage nodes are told which, and cluster-status shows them.
    const joined = await ok(a, { command: 'join_cluster', manager: b.address, clusterId: b.id, secret: SECRET, buckets: ['photos'] }, 'link_joined');
    expect(joined.link.buckets).to.deep.equal(['photos']);
    const narrowed = await ask(a.storage[0]!.system, clusterLinkRef(MANAGER), { type: 'link_view' }, 5_000);
    expect(narrowed.ok && narrowed.clusters[0]!.buckets).to.deep.equal(['photos']);
    await ok(a, { command: 'join_cluster', manager: b.address, clusterId: b.id, secret: SECRET }, 'link_joined');
    const widened = await ask(a.storage[0]!.system, clusterLinkRef(MANAGER), { type: 'link_view' }, 5_000);
    expect(widened.ok && widened.clusters[0]!.buckets).to.equal(undefined);
  });

  it('refuses a hello that names another cluster than the one its connection proved, and never shows secrets to another cluster', async () => {
    const other = 'c0ffee0000000000000000ff';
    const hello = await ask(a.manager.system, clusterLinkRef(foreignName(b.id, MANAGER)), { type: 'link_hello', clusterId: other }, 5_000);
    expect(hello).to.include({ ok: false, code: 'NotLinked' });
    const view = await ask(a.manager.system, clusterLinkRef(foreignName(b.id, MANAGER)), { type: 'link_view' }, 5_000);
    expect(view).to.include({ ok: false, code: 'Unavailable' });
    expect(JSON.stringify(view)).to.not.include(SECRET);
  });

  it('refuses a cluster that is not linked at the handshake', async () => {
    const realms = new LinkRealms(LINK_OFFERED_PATHS);
    realms.setSelf('c0ffee0000000000000000ff');
    realms.replaceAll(new Map([[a.id, SECRET]]));
    const stranger = await startClusterNode({ node: MANAGER, cookie: 'cookie-of-cluster-c', realms, logger: memoryLogger('error').logger });
    try {
      const failure = await stranger.transport.connectForeign(a.address, a.id).then(() => undefined, (error: unknown) => error);
      expect(failure).to.be.instanceOf(HandshakeRefused);
    } finally {
      await stranger.stop();
    }
  });

  it("sums in cluster-status what every running storage node has to ship, naming those that do not answer", async () => {
    const now = Date.now();
    shipped = [
      { clusterId: b.id, queued: 5, oldestMs: now - 10_000, shippedObjects: 3, shippedBytes: 300, lastError: 'storage_0 of b: timed out' },
      { clusterId: 'c0ffee0000000000000000ff', queued: 7, oldestMs: now - 60_000, shippedObjects: 1, shippedBytes: 1 },
    ];
    const status = await ok(a, { command: 'cluster_status' }, 'linked_clusters');
    expect(status.clusterId).to.equal(a.id);
    expect(status.unreachable).to.deep.equal(['storage_1@127.0.0.1']);
    expect(status.clusters).to.have.length(1);
    const { backlog } = status.clusters[0]!;
    expect(backlog).to.include({ queued: 5, shippedObjects: 3, shippedBytes: 300 });
    expect(backlog.lagSeconds).to.be.within(9, 12);
    expect(backlog.errors).to.deep.equal(['storage_0@127.0.0.1: storage_0 of b: timed out']);
  });

  it('keeps the secret sealed at rest', async () => {
    const stored = a.nodeState.table('linked_clusters', (value): value is unknown => value !== undefined).get(b.id);
    expect(JSON.stringify(stored)).to.not.include(SECRET);
  });

  it('drops a removed link: the other side is refused from then on and waits again', async () => {
    expect((await ok(a, { command: 'remove_cluster', clusterId: b.id }, 'done')).message).to.include(b.id);
    expect((await ok(a, { command: 'cluster_status' }, 'linked_clusters')).clusters).to.deep.equal([]);
    expect(await adminOf(a, { command: 'remove_cluster', clusterId: b.id })).to.include({ ok: false, code: 'NoSuchCluster' });
    const view = await ask(a.storage[0]!.system, clusterLinkRef(MANAGER), { type: 'link_view' }, 5_000);
    expect(view).to.deep.equal({ ok: true, self: a.id, clusters: [] });
    await eventually(async () => (await linkOf(b, a))?.state === 'waiting', 10_000, 'cluster B sees that cluster A removed the link');
  });

  it('sends storage nodes to the leader: a manager without the link keeper answers link_view Unavailable', async () => {
    const stopped = await b.manager.system.ask<SupervisorMessage, TerminateChildReply>(actorRef(MANAGER, '/node/manager'), (replyTo) => ({ type: 'terminate_child', name: 'link_keeper', replyTo }), 5_000);
    expect(stopped).to.deep.equal({ ok: true });
    const view = await ask(b.storage[0]!.system, clusterLinkRef(MANAGER), { type: 'link_view' }, 5_000);
    expect(view).to.include({ ok: false, code: 'Unavailable' });
    expect(JSON.stringify(view)).to.not.include(SECRET);
  });
});
