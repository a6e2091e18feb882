import { expect } from 'chai';
import { runToEnd } from '../../scripts/bench-support/processes.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ringCacheRef } from '../../src/protocol/cluster/paths.js';
import type { InstallReply, RingCacheMessage, RingStatus } from '../../src/protocol/cluster/ring-cache.js';
import type { AdminResult } from '../../src/protocol/cluster/admin.js';
import type { RingDocument } from '../../src/core/ring/ring-document.js';
import { isRuntimeFailure } from '../../src/runtime/failures.js';
import { memoryLogger } from '../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../src/runtime/node.js';
import { eventually } from '../support/eventually.js';
import { NodeProcess } from '../support/node-process.js';

const COOKIE = 'manager-test-cookie';
const ADM = fileURLToPath(new URL('../../src/cli/adm-main.js', import.meta.url));

interface AdmRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

type ClusterStatusResult = Extract<AdminResult, { kind: 'cluster_status' }>;

describe('manager: membership, ring distribution and leofs-adm with real processes', function () {
  this.timeout(60_000);

  let root: string;
  let manager: NodeProcess;
  let storage: NodeProcess[];
  let tester: ClusterNode;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'leofs-manager-cluster-'));
    manager = new NodeProcess('manager_0@127.0.0.1', ['--role', 'manager', '--cookie', COOKIE, '--data', join(root, 'manager_0')]);
    await manager.start();
    storage = [0, 1, 2].map(
      (i) => new NodeProcess(`storage_${i}@127.0.0.1`, ['--role', 'storage', '--cookie', COOKIE, '--manager', manager.address, '--data', join(root, `storage_${i}`)]),
    );
    await Promise.all(storage.map((node) => node.start()));
    tester = await startClusterNode({ node: 'manager_tester@127.0.0.1', cookie: COOKIE, logger: memoryLogger('error').logger });
  });

  after(async () => {
    await tester?.stop();
    await Promise.all([...(storage ?? []), manager].map((node) => node?.kill('SIGKILL')));
    rmSync(root, { recursive: true, force: true });
  });

  function adm(...args: string[]): Promise<AdmRun> {
    return admAt(manager.address, COOKIE, ...args);
  }

  function admAt(address: string, cookie: string, ...args: string[]): Promise<AdmRun> {
    return runToEnd([ADM, '--manager', address, '--cookie', cookie, ...args]);
  }

  async function status(): Promise<ClusterStatusResult> {
    const run = await adm('--json', 'status');
    if (run.code !== 0) throw new Error(`status failed (${run.code}): ${run.stderr}`);
    return JSON.parse(run.stdout) as ClusterStatusResult;
  }

  async function storageStates(): Promise<string[]> {
    return (await status()).members.filter((m) => m.role === 'storage').map((m) => m.state);
  }

  async function ringStatusOf(node: NodeProcess): Promise<RingStatus> {
    await tester.transport.connect(node.address);
    const reply = await tester.system.ask<RingCacheMessage, RingStatus>(ringCacheRef(node.name), (replyTo) => ({ type: 'status', replyTo }), 3_000);
    if (isRuntimeFailure(reply)) throw new Error(`${node.name}: ${reply.code} ${reply.message}`);
    return reply;
  }

  it('lists the storage nodes as attached once they have joined', async () => {
    await eventually(async () => (await storageStates()).join() === 'attached,attached,attached', 10_000, 'three attached storage nodes');
  });

  it('refuses a bad start with a one-line reason and accepts a good one', async () => {
    const tooMany = await adm('start', '--replicas', '4', '--write-quorum', '2', '--read-quorum', '1', '--delete-quorum', '2');
    expect(tooMany.code).to.equal(1);
    expect(tooMany.stderr.trim().split('\n')).to.have.length(1);
    expect(tooMany.stderr).to.include('only 3 storage nodes');

    const badQuorum = await adm('start', '--replicas', '3', '--write-quorum', '4', '--read-quorum', '1', '--delete-quorum', '2');
    expect(badQuorum.code).to.equal(1);
    expect(badQuorum.stderr).to.match(/W \(write quorum\) must be between 1 and N=3/);

    const notANumber = await adm('start', '--replicas', 'three');
    expect(notANumber.code).to.not.equal(0);

    const started = await adm('start', '--replicas', '3', '--write-quorum', '2', '--read-quorum', '1', '--delete-quorum', '2');
    expect(started.stderr).to.equal('');
    expect(started.code).to.equal(0);
    expect(started.stdout).to.include('cluster started');

    const again = await adm('start', '--replicas', '3');
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include('already started');
  });

  it('says so when the manager cannot be reached or the cookie is wrong', async () => {
    const unreachable = await admAt('127.0.0.1:1', COOKIE, 'status');
    expect(unreachable.code).to.equal(2);
    expect(unreachable.stderr.trim().split('\n')).to.have.length(1);
    expect(unreachable.stderr).to.include('cannot reach the manager at 127.0.0.1:1');
    const wrongCookie = await admAt(manager.address, 'not-the-cookie', 'status');
    expect(wrongCookie.code, wrongCookie.stderr).to.equal(1);
    expect(wrongCookie.stderr.trim().split('\n')).to.have.length(1);
    expect(wrongCookie.stderr).to.include(`the manager at ${manager.address} refused the cluster cookie`);
  });

  it('runs every storage node on the ring the manager holds', async () => {
    await eventually(
      async () => {
        const current = await status();
        const nodes = current.members.filter((m) => m.role === 'storage');
        return current.consistent && nodes.length === 3 && nodes.every((m) => m.state === 'running' && m.ring?.checksum === current.checksum && m.ring.epoch === 1);
      },
      10_000,
      'every storage node running with the manager ring',
    );
    const current = await status();
    expect(current.settings).to.deep.equal({ n: 3, w: 2, r: 1, d: 2, rackAware: false });
    for (const node of storage) expect((await ringStatusOf(node)).checksum, node.name).to.equal(current.checksum);

    const table = await adm('status');
    expect(table.code).to.equal(0);
    expect(table.stdout).to.match(/storage_0@127\.0\.0\.1 \| running/);
  });

  it('creates users and buckets through the CLI', async () => {
    const created = await adm('--json', 'create-user', 'alice');
    expect(created.code, created.stderr).to.equal(0);
    const alice = (JSON.parse(created.stdout) as Extract<AdminResult, { kind: 'user' }>).user;
    expect(alice.accessKeyId).to.match(/^[A-Z0-9]{20}$/);
    const bucket = await adm('add-bucket', 'photos', alice.accessKeyId);
    expect(bucket.code, bucket.stderr).to.equal(0);
    const users = await adm('get-users');
    expect(users.stdout).to.include('alice');
    expect(users.stdout).to.not.include(alice.secretAccessKey);
    expect(manager.lines.filter((line) => line.msg === 'admin user created')).to.have.length(1);
    const adminSecret = (JSON.parse(readFileSync(join(root, 'manager_0', 'admin-credentials.json'), 'utf8')) as { secretAccessKey: string }).secretAccessKey;
    expect(JSON.stringify(manager.lines), "no log line holds the admin's secret").to.not.include(adminSecret);

    const where = await adm('--json', 'whereis', 'photos/cat.jpg');
    expect(where.code, where.stderr).to.equal(0);
    const located = JSON.parse(where.stdout) as Extract<AdminResult, { kind: 'whereis' }>;
    expect(located.replicas.map((r) => r.node).sort()).to.deep.equal(storage.map((s) => s.name).sort());
    expect(located.replicas.every((r) => r.state === 'running')).to.equal(true);
  });

  it('comes back from SIGKILL with the same ring, members and users, while a node restarted meanwhile keeps its ring', async () => {
    const before = await status();
    await manager.kill('SIGKILL');

    const restarted = storage[2]!;
    await restarted.kill('SIGKILL');
    await restarted.start();
    expect((await ringStatusOf(restarted)).checksum, 'ring from local state, no manager running').to.equal(before.checksum);

    const restartedAt = manager.lines.length;
    await manager.start();
    await eventually(
      async () => {
        const after = await status();
        const nodes = after.members.filter((m) => m.role === 'storage');
        return nodes.length === 3 && nodes.every((m) => m.state === 'running' && m.ring?.checksum === before.checksum);
      },
      15_000,
      'members running again with the same ring',
    );
    // The manager may see a node running before that node's join arrives; wait for the joins, whose
    // answer installs the ring, so that none lands in the next test.
    for (const node of storage) await manager.waitFor((line) => line.msg === 'node rejoined' && line.member === node.name, 10_000, restartedAt);
    const after = await status();
    expect(after.checksum).to.equal(before.checksum);
    expect(after.epoch).to.equal(before.epoch);
    expect(after.settings).to.deep.equal(before.settings);
    expect(after.members.map((m) => `${m.role}:${m.node}`)).to.deep.equal(before.members.map((m) => `${m.role}:${m.node}`));
    const users = await adm('--json', 'get-users');
    expect((JSON.parse(users.stdout) as Extract<AdminResult, { kind: 'users' }>).users.map((u) => u.userId)).to.deep.equal(['admin', 'alice']);
    const buckets = await adm('--json', 'get-buckets');
    expect((JSON.parse(buckets.stdout) as Extract<AdminResult, { kind: 'buckets' }>).buckets.map((b) => b.name)).to.deep.equal(['photos']);
    expect(manager.lines.filter((line) => line.msg === 'admin user created'), 'the admin user is created once').to.have.length(1);
  });

  it('sends the ring again to a node whose copy differs', async () => {
    const expected = (await status()).checksum;
    const target = storage[1]!;
    await tester.transport.connect(target.address);
    const tampered: RingDocument = { epoch: 1, settings: { n: 1, w: 1, r: 1, d: 1, rackAware: false }, current: [{ node: target.name, alias: 'elsewhere', numOfVnodes: 4 }], previous: null };
    const installed = await tester.system.ask<RingCacheMessage, InstallReply>(ringCacheRef(target.name), (replyTo) => ({ type: 'install', doc: tampered, replyTo }), 3_000);
    expect(installed.ok && installed.checksum).to.be.a('number').and.not.equal(expected);
    const seen = manager.lines.length;
    await eventually(async () => (await ringStatusOf(target)).checksum === expected, 10_000, 'ring sent again');
    await manager.waitFor((line) => line.msg === 'member ring differs; sending it again' && line.member === target.name, 1_000, seen);
  });
});
