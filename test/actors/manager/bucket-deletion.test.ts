/**
 * The manager's bucket deletion against real storage nodes in this process: DeleteBucket seals the
 * bucket's namespace, finds it empty or not, and either ends it (storage nodes refuse, hide and purge
 * it) or lifts the seals; too few storage nodes to fence writes off refuses the deletion; a manager
 * restarted in the middle of a deletion lifts what it sealed; a storage node that missed a deletion
 * learns it when it comes back.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminRef, bucketDeletionRef, ROOT_NAME } from '../../../src/protocol/cluster/paths.js';
import { RingView } from '../../../src/actors/common/ring-view.js';
import type { AdminMessage } from '../../../src/protocol/cluster/admin.js';
import type { AdminCommand, AdminReply, AdminResult } from '../../../src/protocol/cluster/admin.js';
import type { BucketDeletionMessage, DeleteBucketReply } from '../../../src/protocol/cluster/bucket-deletion.js';
import { managerTree } from '../../../src/actors/manager/manager-tree.js';
import { nodeTree } from '../../../src/actors/node-tree.js';
import { isDeletionIntent } from '../../../src/core/bucket-deletion.js';
import { namespaceOf } from '../../../src/core/bucket-namespace.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../../src/runtime/node.js';
import { NodeState } from '../../../src/store/node-state.js';
import { SecretBox } from '../../../src/store/secret-box.js';
import { eventually } from '../../support/eventually.js';
import { joinStorageNodes, managerReady } from '../../support/manager-ready.js';
import { STORAGE_CLUSTER_COOKIE, StorageCluster } from '../../support/storage-cluster.js';

const MANAGER = 'manager_0@127.0.0.1';

describe('manager bucket deletion with storage nodes', function () {
  this.timeout(60_000);

  let dir: string;
  let cluster: StorageCluster;
  let manager: ClusterNode;
  let nodeState: NodeState;
  let aliceKey: string;

  async function startManager(): Promise<void> {
    manager = await startClusterNode({ node: MANAGER, cookie: STORAGE_CLUSTER_COOKIE, logger: memoryLogger('error').logger });
    nodeState = NodeState.open(dir, manager.logger);
    for (const [peer, address] of cluster.addresses()) manager.transport.addPeer(peer, address);
    await manager.system.startRoot(
      ROOT_NAME,
      nodeTree(manager, {
        role: 'manager',
        roleTree: managerTree(manager, { nodeState, secrets: SecretBox.fromCookie(STORAGE_CLUSTER_COOKIE), dataDir: dir, bucketReconcileIntervalMs: 200 }),
        startedAtMs: Date.now(),
        nodeState,
        ringView: new RingView(),
      }),
      () => {},
    );
    await managerReady(manager.system, MANAGER);
  }

  async function stopManager(): Promise<void> {
    await manager.stop();
    await nodeState.close();
  }

  async function admin<K extends AdminResult['kind']>(command: AdminCommand): Promise<Extract<AdminResult, { kind: K }>> {
    const reply = await manager.system.ask<AdminMessage, AdminReply>(adminRef(MANAGER), (replyTo) => ({ type: 'admin', command, replyTo }), 20_000);
    if (isRuntimeFailure(reply) || !reply.ok) throw new Error(`${command.command}: ${JSON.stringify(reply)}`);
    return reply.result as Extract<AdminResult, { kind: K }>;
  }

  async function deleteBucket(name: string): Promise<DeleteBucketReply> {
    const reply = await manager.system.ask<BucketDeletionMessage, DeleteBucketReply>(
      bucketDeletionRef(MANAGER),
      (replyTo) => ({ type: 'delete_bucket', name, requester: 'alice', withContent: false, replyTo }),
      30_000,
    );
    if (isRuntimeFailure(reply)) throw new Error(`delete_bucket: ${reply.code}`);
    return reply;
  }

  async function newBucket(name: string): Promise<string> {
    const created = await admin<'bucket'>({ command: 'add_bucket', bucket: name, accessKeyId: aliceKey });
    return namespaceOf(created.bucket);
  }

  const put = (namespace: string, key: string) => cluster.client.put('object', { bucket: namespace, key, sizeBytes: 1, etag: 'e', contentType: '', userMeta: {} }, Buffer.from('x'));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-bucket-deletion-'));
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false });
    await cluster.start();
    await startManager();
    await joinStorageNodes(manager.system, MANAGER, cluster.nodes);
    const started = await admin<'started'>({ command: 'start', n: 3, w: 2, r: 1, d: 2, rackAware: false });
    expect(started.checksum, 'the manager and the storage nodes agree on the ring').to.equal(cluster.nodes[0]!.ringView.current!.checksum);
    aliceKey = (await admin<'user'>({ command: 'create_user', userId: 'alice' })).user.accessKeyId;
  });

  after(async () => {
    await stopManager();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a bucket that holds an object and lifts its seals; deletes it once empty, and storage nodes refuse, hide and purge it', async () => {
    const namespace = await newBucket('photos');
    expect(await put(namespace, 'cat.jpg')).to.deep.include({ ok: true });
    expect(await deleteBucket('photos')).to.include({ ok: false, code: 'BucketNotEmpty' });
    expect(await put(namespace, 'dog.jpg'), 'the seal is lifted').to.deep.include({ ok: true });
    for (const key of ['cat.jpg', 'dog.jpg']) expect(await cluster.client.delete('object', namespace, key)).to.deep.include({ ok: true });

    // Deletes acknowledged at D replicas settle on the others a moment later: the check waits for them.
    expect(await deleteBucket('photos')).to.deep.equal({ ok: true, notified: 3, storageNodes: 3 });
    expect((await admin<'buckets'>({ command: 'get_buckets' })).buckets.map((b) => b.name)).to.not.include('photos');
    expect(await put(namespace, 'late.jpg')).to.deep.include({ ok: false, code: 'NoSuchBucket' });
    for (const node of cluster.nodes) expect(node.role!.context.store.isDeleted(namespace), node.name).to.equal(true);
    await eventually(async () => {
      const [stats] = (await admin<'delete_bucket_stats'>({ command: 'delete_bucket_stats', bucket: 'photos' })).buckets;
      return stats !== undefined && stats.nodes.every((node) => node.state === 'finished');
    }, 20_000, 'purged everywhere');
  });

  it('deletes with one storage node of three down, and refuses with two down, lifting the seal it put', async () => {
    const one = await newBucket('one-down');
    const two = await newBucket('two-down');
    const down = cluster.nodes[2]!;
    await down.stop();
    expect(await deleteBucket('one-down'), 'two of three replicas of every range are sealed').to.deep.include({ ok: true, notified: 2 });
    await cluster.nodes[1]!.stop();
    const refused = await deleteBucket('two-down');
    expect(refused).to.include({ ok: false, code: 'Unavailable' });
    expect(cluster.nodes[0]!.role!.context.store.namespaceRecord(two), 'no seal is left behind').to.equal(undefined);
    await cluster.restart(cluster.nodes[1]!.name);
    await cluster.restart(down.name);
    await eventually(() => down.role!.context.store.isDeleted(one), 10_000, 'the returning node learns the deletion');
    expect(await deleteBucket('two-down')).to.include({ ok: true });
  });

  it('lifts the seals of a deletion interrupted by a manager restart, and keeps the bucket', async () => {
    const namespace = await newBucket('interrupted');
    const sealId = 'interrupted-seal';
    for (const node of cluster.nodes) await node.role!.context.store.sealNamespace(namespace, sealId, Date.now());
    await stopManager();
    const restartState = NodeState.open(dir, memoryLogger('error').logger);
    await restartState.table('bucket_deletions', isDeletionIntent).put('interrupted', { name: 'interrupted', namespace, sealId, startedAtMs: Date.now() });
    await restartState.close();
    await startManager();
    await eventually(() => cluster.nodes.every((node) => node.role!.context.store.namespaceRecord(namespace) === undefined), 10_000, 'seals lifted');
    await eventually(() => nodeState.table('bucket_deletions', isDeletionIntent).entries().length === 0, 10_000, 'the interrupted deletion forgotten');
    expect((await admin<'buckets'>({ command: 'get_buckets' })).buckets.map((b) => b.name)).to.include('interrupted');
    expect(await put(namespace, 'after')).to.deep.include({ ok: true });
  });

  it('lifts a seal a storage node kept from a deletion that ended without telling it', async () => {
    const namespace = await newBucket('stale-seal');
    const node = cluster.nodes[0]!;
    await node.role!.context.store.sealNamespace(namespace, 'from-an-ended-deletion', Date.now());
    await eventually(() => node.role!.context.store.namespaceRecord(namespace) === undefined, 10_000, 'stale seal lifted');
    expect(await put(namespace, 'writable')).to.deep.include({ ok: true });
  });

  it('tells a storage node again of a deletion it lost, and when it comes back', async () => {
    const namespace = await newBucket('forgotten');
    expect(await deleteBucket('forgotten')).to.include({ ok: true });
    const node = cluster.nodes[1]!;
    await node.stop();
    rmSync(node.dir, { recursive: true, force: true });
    await cluster.restart(node.name);
    expect(node.role!.context.store.isDeleted(namespace), 'a node with a new disk knows nothing').to.equal(false);
    manager.system.dispatch(bucketDeletionRef(MANAGER), { type: 'storage_up', node: node.name });
    await eventually(() => node.role!.context.store.isDeleted(namespace), 10_000, 'told again');
  });

  it('does not count on a write that may still be undone: a bucket with one in flight is not empty', async () => {
    const namespace = await newBucket('in-flight');
    const store = cluster.nodes[0]!.role!.context.store;
    const clock = { wallMs: Date.now(), counter: 0, node: 'elsewhere' };
    const tombstone = { bucket: namespace, key: 'gone', sizeBytes: 0, etag: '', contentType: '', userMeta: {}, clock, lastModifiedMs: clock.wallMs, ringChecksum: 1, deleted: true };
    // A delete that reached one replica and whose quorum is not decided: it may yet be reverted.
    expect(await store.apply({ address: { kind: 'object', bucket: namespace, key: 'gone' }, meta: tombstone, keepPrevious: true })).to.deep.include({ applied: true });
    expect(await deleteBucket('in-flight')).to.include({ ok: false, code: 'BucketNotEmpty' });
    await store.settle({ kind: 'object', bucket: namespace, key: 'gone' }, clock);
    expect(await deleteBucket('in-flight')).to.include({ ok: true });
  });
});
