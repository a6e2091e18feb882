import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { ObjectFields } from '../../../src/protocol/cluster/storage-api.js';
import { preferenceList } from '../../../src/core/ring/ring.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import { SyncFailed, syncKey } from '../../../src/actors/storage/key-sync.js';
import { applyReplicaWrite } from '../../../src/actors/storage/replica-ops.js';
import { machineIdentity, readBodyFile } from '../../../src/store/same-machine.js';
import { readerRef, type ReaderMessage } from '../../../src/protocol/cluster/reader.js';
import { routerOf, type ReplicaGetReply, type RouterMessage } from '../../../src/protocol/cluster/storage.js';
import type { GetResult } from '../../../src/protocol/cluster/storage-api.js';
import { eventually, objectFields, StorageCluster, type InProcessStorageNode } from '../../support/storage-cluster.js';

const fields = (bucket: string, key: string, body: Buffer): ObjectFields => objectFields(bucket, key, body, 'application/octet-stream');

describe('storage replication (in-process cluster)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster;
  afterEach(async () => {
    await cluster?.stop();
  });

  const replicasOf = (bucket: string, key: string): readonly string[] => preferenceList(cluster.clientRing.current!.current, keyPosition(bucket, key), cluster.doc.settings.n);
  const localMeta = (node: string, bucket: string, key: string) => cluster.node(node).role?.context.store.getMeta({ kind: 'object', bucket, key });

  for (const r of [1, 2]) {
    it(`points a reader on its own machine at the body files, and sends the bytes to any other (R=${r})`, async function () {
      if (machineIdentity() === undefined) this.skip(); // machines are told apart by what Linux shows in /proc
      cluster = new StorageCluster(3, { n: 3, w: 2, r, d: 2, rackAware: false });
      await cluster.start();
      const large = randomBytes(300 * 1024 + 1);
      const small = randomBytes(1000);
      for (const [key, body] of [['large', large], ['small', small]] as const) expect(await cluster.client.put('chunk', fields('b1', key, body), body)).to.include({ ok: true });
      const here = machineIdentity()!;
      const slice = { offsetBytes: 1000, lengthBytes: 200 * 1024 };

      const pointed = await cluster.client.get('chunk', 'b1', 'large', { withBody: true, bodySlice: slice, fileOnMachine: here });
      if (!pointed.ok || !pointed.bodyFile) throw new Error(`no body file: ${JSON.stringify(pointed)}`);
      expect(pointed.body).to.equal(undefined);
      expect(pointed.bodyFile).to.include({ offset: 1000, length: 200 * 1024, fileBytes: large.length });
      expect((await readBodyFile(pointed.bodyFile)).equals(large.subarray(1000, 1000 + 200 * 1024))).to.equal(true);

      const elsewhere = await cluster.client.get('chunk', 'b1', 'large', { withBody: true, bodySlice: slice, fileOnMachine: 'another machine' });
      expect(elsewhere.ok && elsewhere.bodyFile).to.equal(undefined);
      expect(elsewhere.ok && Buffer.from(elsewhere.body!).equals(large.subarray(1000, 1000 + 200 * 1024))).to.equal(true);
      const inline = await cluster.client.get('chunk', 'b1', 'small', { withBody: true, fileOnMachine: here });
      expect(inline.ok && inline.bodyFile).to.equal(undefined);
      expect(inline.ok && Buffer.from(inline.body!).equals(small)).to.equal(true);

      // A machine that is not named by a string is a malformed request, to the coordinator and to a replica.
      const { system } = cluster.clientNode;
      const address = { objectKind: 'chunk', bucket: 'b1', key: 'large', withBody: true, fileOnMachine: 42 };
      const toReader = await system.ask<ReaderMessage, GetResult>(readerRef(cluster.nodes[0]!.name), (replyTo) => ({ type: 'get', ...address, replyTo }) as unknown as ReaderMessage, 10_000);
      expect(toReader).to.include({ ok: false, code: 'InternalError' });
      const toReplica = await system.ask<RouterMessage, ReplicaGetReply>(routerOf(cluster.nodes[0]!.name), (replyTo) => ({ type: 'replica_get', ...address, replyTo }) as unknown as RouterMessage, 10_000);
      expect(toReplica.ok).to.equal(false);
    });
  }

  it("keeps no undo record of the coordinator's own copy when W=1, which its answer decided, and settles the other replicas", async () => {
    cluster = new StorageCluster(3, { n: 3, w: 1, r: 1, d: 1, rackAware: false });
    await cluster.start();
    const [coordinator, ...others] = replicasOf('b1', 'decided');
    const settled: string[] = [];
    const settles = cluster.node(coordinator!).role!.context.settles;
    const add = settles.add.bind(settles);
    settles.add = (replica, ...rest) => {
      settled.push(replica);
      add(replica, ...rest);
    };
    for (const body of ['first', 'second']) {
      const put = await cluster.client.put('object', fields('b1', 'decided', Buffer.from(body)), Buffer.from(body));
      if (!put.ok) throw new Error(JSON.stringify(put));
      // Its own copy was written settled: no undo record, the replaced version gone at once.
      expect(cluster.node(coordinator!).role!.context.store.unsettledWrite({ kind: 'object', bucket: 'b1', key: 'decided' }, put.meta.clock)).to.equal(undefined);
    }
    await eventually(() => settled.length === 4, 10_000, 'the other replicas settled');
    expect([...new Set(settled)].sort()).to.deep.equal([...others].sort());
    for (const node of others) await eventually(() => !cluster.node(node).role!.context.store.hasUnsettledWrites(), 10_000, `${node} settled`);
  });

  it('writes to N replicas, reads back, deletes, and lists', async () => {
    cluster = new StorageCluster(5, { n: 3, w: 2, r: 1, d: 2, rackAware: false });
    await cluster.start();
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 40; i++) {
      const key = `dir${i % 3}/obj-${String(i).padStart(3, '0')}`;
      const body = randomBytes(i * 1000);
      bodies.set(key, body);
      const put = await cluster.client.put('object', fields('b1', key, body), body);
      expect(put.ok, `${key}: ${JSON.stringify(put)}`).to.equal(true);
    }
    for (const [key, body] of bodies) {
      const got = await cluster.client.get('object', 'b1', key, { withBody: true });
      if (!got.ok) throw new Error(`${key}: ${got.code}`);
      expect(Buffer.from(got.body ?? []).equals(body), key).to.equal(true);
      const slice = { offsetBytes: Math.floor(body.length / 3), lengthBytes: Math.floor(body.length / 2) };
      const part = await cluster.client.get('object', 'b1', key, { withBody: true, bodySlice: slice });
      if (!part.ok) throw new Error(`${key} slice: ${part.code}`);
      expect(part.meta.sizeBytes, 'the record still describes the whole body').to.equal(body.length);
      expect(Buffer.from(part.body ?? []).equals(body.subarray(slice.offsetBytes, slice.offsetBytes + slice.lengthBytes)), `${key} slice`).to.equal(true);
      await eventually(() => replicasOf('b1', key).every((node) => localMeta(node, 'b1', key)?.clock !== undefined), 5000, `${key} on 3 replicas`);
    }
    const pastTheEnd = await cluster.client.get('object', 'b1', 'dir0/obj-003', { withBody: true, bodySlice: { offsetBytes: 2990, lengthBytes: 20 } });
    expect(pastTheEnd.ok, 'a slice past the end of the body is an error').to.equal(false);
    const listed = await cluster.client.list('object', 'b1', { prefix: 'dir1/', maxKeys: 5 });
    if (!listed.ok) throw new Error(listed.code);
    expect(listed.result.contents.map((e) => e.key)).to.deep.equal([...bodies.keys()].filter((k) => k.startsWith('dir1/')).sort().slice(0, 5));
    expect(listed.result.isTruncated).to.equal(true);
    const grouped = await cluster.client.list('object', 'b1', { delimiter: '/', maxKeys: 100 });
    expect(grouped.ok && grouped.result.commonPrefixes).to.deep.equal(['dir0/', 'dir1/', 'dir2/']);

    expect(await cluster.client.delete('object', 'b1', 'dir0/obj-000')).to.include({ ok: true });
    // D=2 acknowledges before the third replica has the tombstone, and R=1 may read that one: wait for all three.
    await eventually(() => replicasOf('b1', 'dir0/obj-000').every((node) => localMeta(node, 'b1', 'dir0/obj-000')?.deleted === true), 5000, 'tombstone on 3 replicas');
    expect(await cluster.client.get('object', 'b1', 'dir0/obj-000')).to.include({ ok: false, code: 'NotFound' });
    const after = await cluster.client.list('object', 'b1', { prefix: 'dir0/', maxKeys: 1000 });
    expect(after.ok && after.result.contents.map((e) => e.key)).to.not.include('dir0/obj-000');
  });

  it('refuses a write when fewer than W replicas are up, and nothing of it appears later', async () => {
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false });
    await cluster.start();
    const v1 = Buffer.from('version one');
    expect((await cluster.client.put('object', fields('b', 'k', v1), v1)).ok).to.equal(true);
    const [first, second] = replicasOf('b', 'k');
    await cluster.stopNode(first!);
    await cluster.stopNode(second!);
    await eventually(() => cluster.clientNode.transport.isKnownDown(first!) || true);
    const v2 = Buffer.from('version two');
    const refused = await cluster.client.put('object', fields('b', 'k', v2), v2);
    expect(refused).to.include({ ok: false, code: 'QuorumFailed' });
    await cluster.restart(first!);
    await cluster.restart(second!);
    // Let repair and anti-entropy run a while: the refused version must never win.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const node of cluster.nodes) {
      const got = await cluster.client.get('object', 'b', 'k', { withBody: true });
      expect(got.ok && Buffer.from(got.body ?? []).toString(), node.name).to.equal('version one');
      expect(localMeta(node.name, 'b', 'k')?.etag).to.equal(fields('b', 'k', v1).etag);
    }
  });

  it('reverts a write that reached some replicas but failed its quorum', async () => {
    // The third replica has no room: W = 3 cannot be met, and the two that took the write undo it.
    cluster = new StorageCluster(3, { n: 3, w: 3, r: 1, d: 2, rackAware: false }, (i) => (i === 2 ? { capacityBytes: 1 } : {}));
    await cluster.start();
    const body = Buffer.from('never visible');
    const put = await cluster.client.put('object', fields('b', 'k', body), body);
    expect(put.ok).to.equal(false);
    await eventually(() => cluster.nodes.every((n) => localMeta(n.name, 'b', 'k') === undefined), 5000, 'revert on every replica');
    expect(await cluster.client.get('object', 'b', 'k')).to.include({ ok: false, code: 'NotFound' });
  });

  it('repairs a replica that was down during writes once it is back', async () => {
    cluster = new StorageCluster(4, { n: 3, w: 2, r: 1, d: 2, rackAware: false });
    await cluster.start();
    const victim = cluster.nodes[1]!.name;
    await cluster.stopNode(victim);
    const keys: string[] = [];
    for (let i = 0; i < 30; i++) {
      const key = `k${i}`;
      const body = Buffer.from(`body ${i}`);
      const put = await cluster.client.put('object', fields('b', key, body), body);
      expect(put.ok, key).to.equal(true);
      if (replicasOf('b', key).includes(victim)) keys.push(key);
    }
    expect(keys.length).to.be.greaterThan(3);
    await cluster.restart(victim);
    await eventually(() => keys.every((key) => localMeta(victim, 'b', key) !== undefined), 15_000, 'the restarted replica has every key');
    for (const key of keys) {
      const mine = localMeta(victim, 'b', key)!;
      const others = replicasOf('b', key).filter((n) => n !== victim).map((n) => localMeta(n, 'b', key)!);
      for (const other of others) expect(other.clock).to.deep.equal(mine.clock);
    }
  });

  it('never resurrects a deleted key when a replica that missed the delete comes back', async () => {
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false });
    await cluster.start();
    const body = Buffer.from('short-lived');
    expect((await cluster.client.put('object', fields('b', 'gone', body), body)).ok).to.equal(true);
    await eventually(() => cluster.nodes.every((n) => localMeta(n.name, 'b', 'gone') !== undefined));
    const laggard = cluster.nodes[0]!.name;
    await cluster.stopNode(laggard);
    expect(await cluster.client.delete('object', 'b', 'gone')).to.include({ ok: true });
    await cluster.restart(laggard);
    await eventually(() => localMeta(laggard, 'b', 'gone')?.deleted === true, 15_000, 'the tombstone reaches the laggard');
    for (let i = 0; i < 10; i++) expect(await cluster.client.get('object', 'b', 'gone')).to.include({ ok: false, code: 'NotFound' });
    const listed = await cluster.client.list('object', 'b', { maxKeys: 10 });
    expect(listed.ok && listed.result.contents).to.deep.equal([]);
  });

  it('converges by anti-entropy when a replica diverged without a queued repair', async () => {
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false });
    await cluster.start();
    const body = Buffer.from('original');
    const put = await cluster.client.put('object', fields('b', 'ae', body), body);
    if (!put.ok) throw new Error(put.code);
    await eventually(() => cluster.nodes.every((n) => localMeta(n.name, 'b', 'ae') !== undefined));
    // A newer version reaches one replica only, as if its coordinator died before telling the others.
    const lone = cluster.nodes[2]!;
    const newer = { ...put.meta, etag: 'newer', sizeBytes: 5, clock: { ...put.meta.clock, wallMs: put.meta.clock.wallMs + 1000 } };
    const applied = await applyReplicaWrite(lone.role!.context, { objectKind: 'object', meta: newer, body: Buffer.from('newer'), keepPrevious: false });
    expect(applied).to.include({ ok: true, applied: true });
    await eventually(() => cluster.nodes.every((n) => localMeta(n.name, 'b', 'ae')?.etag === 'newer'), 20_000, 'every replica has the newer version');
  });

  it('does not hand on a version whose write may still be reverted', async () => {
    cluster = new StorageCluster(2, { n: 2, w: 1, r: 1, d: 1, rackAware: false });
    await cluster.start();
    const [a, b] = cluster.nodes as [InProcessStorageNode, InProcessStorageNode];
    const address = { kind: 'object' as const, bucket: 'b', key: 'tentative' };
    const clock = { wallMs: Date.now(), counter: 0, node: a.name };
    const meta = { bucket: 'b', key: 'tentative', sizeBytes: 3, etag: 'e', contentType: 'x', userMeta: {}, clock, lastModifiedMs: clock.wallMs, ringChecksum: 0, deleted: false };
    await a.role!.context.store.apply({ address, meta, body: Buffer.from('abc'), keepPrevious: true });
    const sync = () => syncKey(a.node!.system, a.role!.context, address, b.name);
    await sync().then(
      () => expect.fail('an unsettled version was pushed'),
      (error: Error) => expect(error).to.be.instanceOf(SyncFailed),
    );
    expect(localMeta(b.name, 'b', 'tentative')).to.equal(undefined);
    await a.role!.context.store.settle(address, clock);
    expect(await sync()).to.equal('pushed');
    expect(localMeta(b.name, 'b', 'tentative')?.clock).to.deep.equal(clock);
  });

  it('answers InsufficientStorage when replicas are out of space, and keeps serving reads', async () => {
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false }, () => ({ capacityBytes: 3 * 1024 * 1024 }));
    await cluster.start();
    const small = Buffer.from('fits');
    expect((await cluster.client.put('object', fields('b', 'small', small), small)).ok).to.equal(true);
    const big = Buffer.alloc(4 * 1024 * 1024, 1);
    expect(await cluster.client.put('object', fields('b', 'big', big), big)).to.include({ ok: false, code: 'InsufficientStorage' });
    const got = await cluster.client.get('object', 'b', 'small', { withBody: true });
    expect(got.ok && Buffer.from(got.body ?? []).toString()).to.equal('fits');
  });
});
