/**
 * bucket_stats against real storage nodes in this process: three nodes keep every key on two of them,
 * and the sums count each key once; a node that fails to count makes the result partial; once the
 * manager counts a stopped node as not running, its keys are counted by their other replica; a count
 * is answered again from the manager's cache until asked fresh.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminRef, ROOT_NAME } from '../../../src/protocol/cluster/paths.js';
import { RingView } from '../../../src/actors/common/ring-view.js';
import type { AdminCommand, AdminMessage, AdminReply, AdminResult } from '../../../src/protocol/cluster/admin.js';
import { managerTree } from '../../../src/actors/manager/manager-tree.js';
import { nodeTree } from '../../../src/actors/node-tree.js';
import { namespaceOf } from '../../../src/core/bucket-namespace.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../../src/runtime/node.js';
import { NodeState } from '../../../src/store/node-state.js';
import { SecretBox } from '../../../src/store/secret-box.js';
import { StoreFailure } from '../../../src/store/object-store.js';
import { eventually } from '../../support/eventually.js';
import { joinStorageNodes, managerReady } from '../../support/manager-ready.js';
import { objectFields, STORAGE_CLUSTER_COOKIE, StorageCluster } from '../../support/storage-cluster.js';

const MANAGER = 'manager_0@127.0.0.1';

describe('manager bucket_stats with storage nodes', function () {
  this.timeout(60_000);

  let dir: string;
  let cluster: StorageCluster;
  let manager: ClusterNode;
  let nodeState: NodeState;
  let photos: string;
  let logs: string;

  async function reply(command: AdminCommand): Promise<AdminReply> {
    const answer = await manager.system.ask<AdminMessage, AdminReply>(adminRef(MANAGER), (replyTo) => ({ type: 'admin', command, replyTo }), 20_000);
    if (isRuntimeFailure(answer)) throw new Error(`${command.command}: ${answer.code}`);
    return answer;
  }

  async function admin<K extends AdminResult['kind']>(command: AdminCommand): Promise<Extract<AdminResult, { kind: K }>> {
    const answer = await reply(command);
    if (!answer.ok) throw new Error(`${command.command}: ${answer.code} ${answer.message}`);
    return answer.result as Extract<AdminResult, { kind: K }>;
  }

  const stats = (bucket?: string, fresh = true) => admin<'bucket_stats'>({ command: 'bucket_stats', ...(bucket !== undefined ? { bucket } : {}), fresh });

  async function put(namespace: string, key: string, body: string): Promise<void> {
    expect(await cluster.client.put('object', objectFields(namespace, key, body), Buffer.from(body))).to.deep.include({ ok: true });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-bucket-stats-'));
    // N = W = 2 of three nodes: an acknowledged write is on both its replicas, and each node holds some keys of which it is not the first replica.
    cluster = new StorageCluster(3, { n: 2, w: 2, r: 1, d: 2, rackAware: false });
    await cluster.start();
    manager = await startClusterNode({ node: MANAGER, cookie: STORAGE_CLUSTER_COOKIE, logger: memoryLogger('error').logger });
    nodeState = NodeState.open(dir, manager.logger);
    for (const [peer, address] of cluster.addresses()) manager.transport.addPeer(peer, address);
    await manager.system.startRoot(
      ROOT_NAME,
      nodeTree(manager, {
        role: 'manager',
        roleTree: managerTree(manager, { nodeState, secrets: SecretBox.fromCookie(STORAGE_CLUSTER_COOKIE), dataDir: dir }),
        startedAtMs: Date.now(),
        nodeState,
        ringView: new RingView(),
      }),
      () => {},
    );
    await managerReady(manager.system, MANAGER);
    await joinStorageNodes(manager.system, MANAGER, cluster.nodes);
    const started = await admin<'started'>({ command: 'start', n: 2, w: 2, r: 1, d: 2, rackAware: false });
    expect(started.checksum, 'the manager and the storage nodes agree on the ring').to.equal(cluster.nodes[0]!.ringView.current!.checksum);
    const aliceKey = (await admin<'user'>({ command: 'create_user', userId: 'alice' })).user.accessKeyId;
    photos = namespaceOf((await admin<'bucket'>({ command: 'add_bucket', bucket: 'photos', accessKeyId: aliceKey, acl: 'public-read' })).bucket);
    logs = namespaceOf((await admin<'bucket'>({ command: 'add_bucket', bucket: 'logs', accessKeyId: aliceKey })).bucket);
    for (let i = 0; i < 20; i++) await put(photos, `p${i}`, 'x'.repeat(i + 1));
    for (let i = 0; i < 5; i++) await put(logs, `l${i}`, 'log line');
    // A deleted key and a chunk are not objects.
    expect(await cluster.client.delete('object', photos, 'p19')).to.deep.include({ ok: true });
    expect(await cluster.client.put('chunk', objectFields(photos, 'p0\n1\n0', 'chunk'), Buffer.from('chunk'))).to.deep.include({ ok: true });
  });

  after(async () => {
    await manager.stop();
    await nodeState.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // p0..p18 hold 1..19 bytes.
  const PHOTOS = { bucket: 'photos', owner: 'alice', acl: 'public-read', objects: 19, bytes: (19 * 20) / 2, noncurrentVersions: 0, noncurrentBytes: 0 };
  const LOGS = { bucket: 'logs', owner: 'alice', acl: 'private', objects: 5, bytes: 40, noncurrentVersions: 0, noncurrentBytes: 0 };

  it('sums every node and counts each key once, though every key is on two of them', async () => {
    const result = await stats();
    expect(result.buckets).to.deep.equal([LOGS, PHOTOS]);
    expect(result).to.deep.include({ partial: false, missing: [], notRunning: [], rebalancing: false });
    expect([...result.nodes].sort()).to.deep.equal(cluster.nodes.map((node) => node.name).sort());
    // Each node held some of the keys it counted and some it left to another replica.
    const held = cluster.nodes.map((node) => node.role!.context.store.list('object', photos, { prefix: '', startAt: '', limit: 100 }).entries.filter((entry) => !entry.deleted).length);
    expect(held.reduce((sum, count) => sum + count, 0), 'two copies of each key').to.equal(2 * 19);
    expect((await stats('logs')).buckets).to.deep.equal([LOGS]);
  });

  it('answers a recent count again from the cache, and counts anew when asked fresh', async () => {
    const counted = await stats('photos');
    await put(photos, 'late', '12345');
    const cached = await stats('photos', false);
    expect(cached.countedAtMs).to.equal(counted.countedAtMs);
    expect(cached.buckets[0]!.objects).to.equal(19);
    const recounted = await stats('photos', true);
    expect(recounted.buckets[0]).to.include({ objects: 20, bytes: PHOTOS.bytes + 5 });
    expect(await reply({ command: 'bucket_stats', bucket: 'nothing-here' })).to.include({ ok: false, code: 'NoSuchBucket' });
  });

  it('says the result is partial, naming the node, when a node fails to count, and does not keep that result', async () => {
    const failing = cluster.nodes[1]!;
    const store = failing.role!.context.store;
    const original = store.bucketSizes;
    store.bucketSizes = () => Promise.reject(new StoreFailure('StoreError', 'the disk is unreadable'));
    try {
      const result = await stats();
      expect(result.partial).to.equal(true);
      expect(result.missing).to.deep.equal([{ node: failing.name, reason: 'StoreError: the disk is unreadable' }]);
      expect(result.buckets.find((row) => row.bucket === 'photos')!.objects).to.be.below(20);
    } finally {
      store.bucketSizes = original;
    }
    expect((await stats(undefined, false)).partial, 'a partial count is not answered again').to.equal(false);
  });

  it('counts the keys of a stopped node on their other replica once the manager knows it is not running', async () => {
    const stopped = cluster.nodes[2]!;
    await stopped.stop();
    await eventually(async () => (await stats()).notRunning.includes(stopped.name), 20_000, 'the manager counts the node as not running');
    const result = await stats();
    expect(result).to.deep.include({ partial: false, missing: [], notRunning: [stopped.name] });
    expect(result.nodes).to.not.include(stopped.name);
    expect(result.buckets.find((row) => row.bucket === 'photos')).to.include({ objects: 20 });
    expect(result.buckets.find((row) => row.bucket === 'logs')).to.deep.equal(LOGS);
    await cluster.restart(stopped.name);
  });
});
