/**
 * The storage cluster's invariants with real processes on loopback: 1 manager + 5 storage nodes,
 * N=3, W=2, R=1, D=2.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ringKeeperRef } from '../../src/protocol/cluster/paths.js';
import { RingView } from '../../src/actors/common/ring-view.js';
import { StorageClient } from '../../src/actors/common/storage-client.js';
import type { ObjectFields } from '../../src/protocol/cluster/storage-api.js';
import type { WhereisRow } from '../../src/protocol/cluster/admin.js';
import { clockText } from '../../src/actors/manager/admin.js';
import { STORAGE_ROUTER_PATH, type HeadLocalReply, type RouterMessage } from '../../src/protocol/cluster/storage.js';
import { actorRef } from '../../src/runtime/refs.js';
import type { RingKeeperMessage } from '../../src/protocol/cluster/ring-keeper.js';
import type { RingDocument } from '../../src/core/ring/ring-document.js';
import { preferenceList } from '../../src/core/ring/ring.js';
import { keyPosition } from '../../src/core/ring/position.js';
import { openAdminClient, type AdminClient } from '../../src/cli/admin-client.js';
import { memoryLogger } from '../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../src/runtime/node.js';
import { eventually } from '../support/storage-cluster.js';
import { NodeProcess } from '../support/node-process.js';
import { parallel } from '../../scripts/bench-support/parallel.js';
import { runToEnd } from '../../scripts/bench-support/processes.js';

const COOKIE = 'storage-cluster-test-cookie';
const routerOf = (node: string) => actorRef<RouterMessage>(node, STORAGE_ROUTER_PATH);
const ADM = fileURLToPath(new URL('../../src/cli/adm-main.js', import.meta.url));

function fields(bucket: string, key: string, body: Buffer): ObjectFields {
  return { bucket, key, sizeBytes: body.length, etag: md5(body), contentType: 'application/octet-stream', userMeta: {} };
}

function md5(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex');
}

/** Sizes from 0 B to 5 MiB, spread evenly over orders of magnitude so small and large objects both occur. */
function randomSize(): number {
  if (Math.random() < 0.05) return 0;
  return Math.min(5 * 1024 * 1024, Math.floor(Math.exp(Math.random() * Math.log(5 * 1024 * 1024))));
}

function runAdm(manager: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runToEnd([ADM, '--manager', manager, '--cookie', COOKIE, ...args]);
}

describe('storage cluster with real processes (N=3, W=2, R=1, D=2)', function () {
  this.timeout(240_000);

  let root: string;
  let manager: NodeProcess;
  let storage: NodeProcess[];
  let client: ClusterNode;
  let ringView: RingView;
  let objects: StorageClient;
  let admin: AdminClient;

  const byName = (name: string): NodeProcess => storage.find((node) => node.name === name)!;
  const replicasOf = (bucket: string, key: string): readonly string[] => preferenceList(ringView.current!.current, keyPosition(bucket, key), 3);

  /**
   * What each current replica of a key holds, as `leofs-adm whereis` shows it. The objects here are
   * written straight through the storage API, under namespaces no bucket record names, so the replicas
   * are asked directly rather than through whereis, which resolves a bucket by its record.
   */
  async function whereis(bucket: string, key: string): Promise<readonly Pick<WhereisRow, 'node' | 'answer'>[]> {
    return Promise.all(
      replicasOf(bucket, key).map(async (node) => {
        const reply = await client.system.ask<RouterMessage, HeadLocalReply>(routerOf(node), (replyTo) => ({ type: 'head_local', objectKind: 'object', bucket, key, replyTo }), 5_000);
        if (!reply.ok) return { node, answer: { ok: false as const, error: reply.code } };
        const meta = reply.meta;
        if (!meta) return { node, answer: { ok: true as const, exists: false as const } };
        return { node, answer: { ok: true as const, exists: true as const, sizeBytes: meta.sizeBytes, etag: meta.etag, clock: clockText(meta.clock), tombstone: meta.deleted, lastModifiedMs: meta.lastModifiedMs } };
      }),
    );
  }

  /** Every current replica answers, holds the key, and all hold the same version. */
  async function converged(bucket: string, key: string, etag?: string): Promise<boolean> {
    const rows = await whereis(bucket, key);
    if (rows.length !== 3) return false;
    const clocks = new Set<string>();
    for (const row of rows) {
      if (!row.answer.ok || !row.answer.exists) return false;
      if (etag !== undefined && !row.answer.tombstone && row.answer.etag !== etag) return false;
      clocks.add(row.answer.clock);
    }
    return clocks.size === 1;
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'leofs-storage-procs-'));
    manager = new NodeProcess('manager_0@127.0.0.1', ['--role', 'manager', '--cookie', COOKIE, '--data', join(root, 'manager_0')]);
    await manager.start();
    storage = Array.from({ length: 5 }, (_, i) => new NodeProcess(`storage_${i}@127.0.0.1`, ['--role', 'storage', '--cookie', COOKIE, '--manager', manager.address, '--data', join(root, `storage_${i}`)]));
    await Promise.all(storage.map((node) => node.start()));
    admin = await openAdminClient({ manager: manager.address, cookie: COOKIE, timeoutMs: 30_000 });

    const refused = await runAdm(manager.address, ['start', '--replicas', '3', '--write-quorum', '4', '--read-quorum', '1', '--delete-quorum', '2']);
    expect(refused.code, refused.stdout + refused.stderr).to.not.equal(0);
    await eventually(async () => {
      const status = await admin.run({ command: 'status' });
      return status.ok && status.result.kind === 'cluster_status' && status.result.members.filter((m) => m.role === 'storage' && m.state === 'attached').length === 5;
    }, 20_000, 'five attached storage nodes');
    const started = await runAdm(manager.address, ['start', '--replicas', '3', '--write-quorum', '2', '--read-quorum', '1', '--delete-quorum', '2']);
    expect(started.code, started.stdout + started.stderr).to.equal(0);

    client = await startClusterNode({ node: 'storage_test_client@127.0.0.1', cookie: COOKIE, logger: memoryLogger('error').logger });
    const managerName = await client.transport.connect(manager.address);
    const members = await client.system.ask<RingKeeperMessage, { ok: true; members: ReadonlyArray<{ node: string; address: string | null }> }>(ringKeeperRef(managerName), (replyTo) => ({ type: 'list', replyTo }), 10_000);
    if (!members.ok) throw new Error(members.code);
    for (const member of members.members) if (member.address) client.transport.addPeer(member.node, member.address);
    const ring = await client.system.ask<RingKeeperMessage, { ok: true; doc: RingDocument | null }>(ringKeeperRef(managerName), (replyTo) => ({ type: 'get_ring', replyTo }), 10_000);
    if (!ring.ok || !ring.doc) throw new Error('no ring after start');
    ringView = new RingView();
    ringView.install(ring.doc);
    objects = new StorageClient({ system: client.system, ringView, isKnownDown: (node) => client.transport.isKnownDown(node), isUp: (node) => client.transport.isUp(node), requestTimeoutMs: 60_000, now: () => Date.now() });
    // Every storage node has the ring before the first write.
    await eventually(async () => {
      const status = await admin.run({ command: 'status' });
      return status.ok && status.result.kind === 'cluster_status' && status.result.members.filter((m) => m.role === 'storage').every((m) => m.ring?.checksum === ringView.current!.checksum);
    }, 20_000, 'every storage node on the ring');
  });

  after(async () => {
    await admin?.close();
    await client?.stop();
    await Promise.all([...(storage ?? []), manager].map((node) => node?.kill('SIGTERM')));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('keeps every acknowledged write through a SIGKILL, and all replicas converge after the restart', async () => {
    const victim = storage[2]!;
    const acknowledged = new Map<string, string>();
    let failed = 0;
    let next = 0;
    let killed = false;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < 500; i = next++) {
          if (i === 250 && !killed) {
            killed = true;
            void victim.kill('SIGKILL');
          }
          const key = `objects/${String(i).padStart(4, '0')}`;
          const body = randomBytes(randomSize());
          const result = await objects.put('object', fields('invariants', key, body), body);
          if (result.ok) acknowledged.set(key, md5(body));
          else failed++;
        }
      }),
    );
    expect(killed).to.equal(true);
    expect(acknowledged.size, `${failed} puts failed`).to.be.greaterThan(450);

    await parallel([...acknowledged], 8, async ([key, digest]) => {
      const got = await objects.get('object', 'invariants', key, { withBody: true });
      if (!got.ok) throw new Error(`${key}: ${got.code} ${got.message}`);
      expect(md5(got.body ?? new Uint8Array()), key).to.equal(digest);
    });

    await victim.start();
    const pending = new Set(acknowledged.keys());
    await eventually(async () => {
      await parallel([...pending], 8, async (key) => {
        if (await converged('invariants', key, acknowledged.get(key))) pending.delete(key);
      });
      return pending.size === 0;
    }, 120_000, 'all 3 replicas of every acknowledged key with equal clocks');
  });

  it('refuses a write with two of three replicas down, and the refused version never surfaces', async () => {
    const v1 = Buffer.from('first and only version');
    expect((await objects.put('object', fields('quorum', 'key', v1), v1)).ok).to.equal(true);
    await eventually(() => converged('quorum', 'key', md5(v1)), 30_000, 'v1 on 3 replicas');
    const [, second, third] = replicasOf('quorum', 'key');
    await Promise.all([byName(second!).kill('SIGKILL'), byName(third!).kill('SIGKILL')]);
    const v2 = Buffer.from('this write must not happen');
    const refused = await objects.put('object', fields('quorum', 'key', v2), v2);
    expect(refused).to.include({ ok: false, code: 'QuorumFailed' });
    await Promise.all([byName(second!).start(), byName(third!).start()]);
    await eventually(() => converged('quorum', 'key', md5(v1)), 60_000, 'replicas agree on v1');
    const got = await objects.get('object', 'quorum', 'key', { withBody: true });
    expect(got.ok && Buffer.from(got.body ?? []).toString()).to.equal(v1.toString());
  });

  it('never resurrects a deleted key when a replica that missed the delete comes back', async () => {
    const body = Buffer.from('to be deleted');
    expect((await objects.put('object', fields('deletes', 'victim', body), body)).ok).to.equal(true);
    await eventually(() => converged('deletes', 'victim', md5(body)), 30_000);
    const [, laggard] = replicasOf('deletes', 'victim');
    await byName(laggard!).kill('SIGKILL');
    expect(await objects.delete('object', 'deletes', 'victim')).to.include({ ok: true });
    await byName(laggard!).start();
    await eventually(async () => (await converged('deletes', 'victim')) && (await whereis('deletes', 'victim')).every((row) => row.answer.ok && row.answer.exists && row.answer.tombstone), 60_000, 'tombstone on every replica');
    for (let i = 0; i < 10; i++) expect(await objects.get('object', 'deletes', 'victim')).to.include({ ok: false, code: 'NotFound' });
  });

  it('keeps serving while the manager is down, and the manager comes back with the same ring and members', async () => {
    const before = await admin.run({ command: 'status' });
    if (!before.ok || before.result.kind !== 'cluster_status') throw new Error('status failed');
    await admin.close();
    await manager.kill('SIGKILL');
    const body = Buffer.from('written while the manager is down');
    expect((await objects.put('object', fields('nomanager', 'k', body), body)).ok).to.equal(true);
    const got = await objects.get('object', 'nomanager', 'k', { withBody: true });
    expect(got.ok && Buffer.from(got.body ?? []).toString()).to.equal(body.toString());
    // A storage node restarted meanwhile serves on the ring it kept.
    await storage[4]!.kill('SIGKILL');
    await storage[4]!.start();
    await manager.start();
    admin = await openAdminClient({ manager: manager.address, cookie: COOKIE, timeoutMs: 30_000 });
    const after = await admin.run({ command: 'status' });
    if (!after.ok || after.result.kind !== 'cluster_status') throw new Error('status failed');
    expect({ epoch: after.result.epoch, checksum: after.result.checksum, settings: after.result.settings }).to.deep.equal({ epoch: before.result.epoch, checksum: before.result.checksum, settings: before.result.settings });
    expect(after.result.members.map((m) => m.node).sort()).to.deep.equal(before.result.members.map((m) => m.node).sort());
    await eventually(() => converged('nomanager', 'k', md5(body)), 60_000);
  });
});
