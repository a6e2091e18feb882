import { expect } from 'chai';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AdminResult } from '../../src/protocol/cluster/admin.js';
import type { ManagerStatus } from '../../src/protocol/cluster/consensus.js';
import { memoryLogger } from '../../src/runtime/logger.js';
import { NodeState } from '../../src/store/node-state.js';
import { eventually } from '../support/eventually.js';
import { networkLabOrSkip, type NetworkLab } from '../support/network-lab.js';
import { NodeProcess } from '../support/node-process.js';
import { ProcessCluster } from '../support/process-cluster.js';
import { openAdminClient } from '../../src/cli/admin-client.js';
import { parallel } from '../../scripts/bench-support/parallel.js';

type ClusterStatus = Extract<AdminResult, { kind: 'cluster_status' }>;

const BUCKET = 'managers-test';

async function statusOf(cluster: ProcessCluster): Promise<ClusterStatus> {
  return cluster.run<'cluster_status'>({ command: 'status' });
}

/** Waits until one manager leads and every other one is reachable with nothing left to catch up. */
async function settled(cluster: ProcessCluster, timeoutMs = 30_000): Promise<readonly ManagerStatus[]> {
  let managers: readonly ManagerStatus[] = [];
  await eventually(
    async () => {
      const reply = await cluster.admin.run({ command: 'status' });
      if (!reply.ok || reply.result.kind !== 'cluster_status') return false;
      managers = reply.result.managers;
      return managers.length === cluster.managers.length && managers.filter((m) => m.role === 'leader').length === 1 && managers.every((m) => m.reachable && m.lag === 0);
    },
    timeoutMs,
    'every manager caught up with one leader',
  );
  return managers;
}

function leaderIndex(cluster: ProcessCluster, managers: readonly ManagerStatus[]): number {
  const leader = managers.find((manager) => manager.role === 'leader')!.node;
  return cluster.managers.findIndex((manager) => manager.name === leader);
}

async function userIds(cluster: ProcessCluster): Promise<string[]> {
  const users = await cluster.run<'users'>({ command: 'get_users' });
  return users.users.map((user) => user.userId);
}

/** The user ids in a stopped manager's own copy of the state. */
async function storedUserIds(dataDir: string): Promise<string[]> {
  const state = NodeState.open(dataDir, memoryLogger('error').logger);
  try {
    return state.table('users', (value): value is unknown => value !== undefined).entries().map(([key]) => key).sort();
  } finally {
    await state.close();
  }
}

async function putAndGet(client: S3Client, key: string, body: string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  expect(await got.Body!.transformToString()).to.equal(body);
}

describe('a control plane of three managers (real processes)', function () {
  this.timeout(240_000);
  let cluster: ProcessCluster;
  let s3: S3Client;

  before(async () => {
    cluster = new ProcessCluster({ storageNodes: 3, gateways: 1, managers: 3 });
    await cluster.start();
    s3 = cluster.client(0, undefined, 10_000);
    await cluster.run({ command: 'add_bucket', bucket: BUCKET, accessKeyId: cluster.credentials.accessKeyId });
    await eventually(async () => {
      try {
        await putAndGet(s3, 'probe', 'x');
        return true;
      } catch {
        return false;
      }
    }, 20_000, 'the bucket reaches the gateway');
  });

  after(async () => {
    await cluster?.stop();
  });

  it('elects one leader; status shows every manager with its role, log position and lag', async () => {
    const managers = await settled(cluster);
    expect(managers.map((m) => m.node).sort()).to.deep.equal(cluster.managers.map((m) => m.name).sort());
    const leader = managers.find((m) => m.role === 'leader')!;
    expect(leader.commitIndex).to.equal(leader.lastIndex);
    for (const follower of managers.filter((m) => m.role === 'follower')) expect(follower.lastIndex).to.equal(leader.lastIndex);
    const printed = await cluster.adm('status');
    expect(printed.code, printed.stderr).to.equal(0);
    expect(printed.stdout).to.match(/\[Managers\]/);
    expect(printed.stdout).to.match(/leader/);
  });

  it('keeps every acknowledged admin change when the leader is SIGKILLed in a burst of them, S3 serves throughout, and the lost manager rejoins with an empty disk', async () => {
    const killed = leaderIndex(cluster, await settled(cluster));
    let s3Failures = 0;
    let s3Done = 0;
    let burstOver = false;
    const s3Load = (async () => {
      for (let i = 0; !burstOver && i < 2_000; i++) {
        try {
          await putAndGet(s3, `during-${i}`, `body-${i}`);
          s3Done++;
        } catch {
          s3Failures++;
        }
      }
    })();
    const acknowledged: string[] = [];
    const refused: string[] = [];
    const ids = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const userId = ids[next++]!;
        const reply = await cluster.admin.run({ command: 'create_user', userId });
        (reply.ok ? acknowledged : refused).push(userId);
        if (acknowledged.length === 10 && cluster.managers[killed]!.running) await cluster.managers[killed]!.kill('SIGKILL');
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    burstOver = true;
    await s3Load;
    expect(cluster.managers[killed]!.running).to.equal(false);
    expect(acknowledged.length, `refused: ${refused.join(', ')}`).to.be.greaterThan(20);
    const present = await userIds(cluster);
    for (const userId of acknowledged) expect(present).to.include(userId);
    expect(s3Failures, `${s3Failures} of ${s3Done + s3Failures} S3 requests failed`).to.equal(0);
    // Its disk is lost too: it comes back empty and gets everything from the others.
    rmSync(cluster.dataDir(`manager_${killed}`), { recursive: true, force: true });
    await cluster.managers[killed]!.start();
    const after = await settled(cluster);
    expect(after.find((m) => m.node === cluster.managers[killed]!.name)!.role).to.equal('follower');
    const retried = refused.filter((userId) => !present.includes(userId));
    for (const userId of retried) await cluster.run({ command: 'create_user', userId });
  });

  it('finishes a rebalance whose leader is SIGKILLed in the middle of it, under the next leader', async () => {
    const body = 'r'.repeat(16 * 1024);
    await parallel(Array.from({ length: 150 }, (_, i) => i), 8, async (i) => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `moved-${i}`, Body: body }));
    });
    await cluster.addStorageNode(3);
    await eventually(async () => (await statusOf(cluster)).members.some((m) => m.node === cluster.storage[3]!.name && m.state === 'attached'), 20_000, 'the fourth storage node attached');
    const killed = leaderIndex(cluster, await settled(cluster));
    // Slow enough that the leader dies while data still moves.
    await eventually(async () => (await cluster.admin.run({ command: 'rebalance', rateBytesPerSec: 300_000 })).ok, 20_000, 'the rebalance accepted once every node holds the ring');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await cluster.run<'rebalance_status'>({ command: 'rebalance_status' })).running).to.equal(true);
    await cluster.managers[killed]!.kill('SIGKILL');
    await eventually(
      async () => {
        const reply = await cluster.admin.run({ command: 'rebalance_status' });
        return reply.ok && reply.result.kind === 'rebalance_status' && !reply.result.running;
      },
      120_000,
      'the rebalance finished under the new leader',
    );
    await cluster.managers[killed]!.start();
    await settled(cluster);
    const status = await statusOf(cluster);
    expect(status.previousChecksum).to.equal(null);
    expect(status.members.filter((m) => m.role === 'storage' && m.state === 'running')).to.have.length(4);
    for (let i = 0; i < 150; i += 15) {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `moved-${i}` }));
      expect(await got.Body!.transformToString()).to.equal(body);
    }
  });

  it('serves S3 with every manager down, and every manager holds the same state', async () => {
    const expected = (await userIds(cluster)).sort();
    await settled(cluster);
    await Promise.all(cluster.managers.map((manager) => manager.kill('SIGTERM')));
    for (let i = 0; i < 20; i++) await putAndGet(s3, `headless-${i}`, `no manager ${i}`);
    for (let i = 0; i < cluster.managers.length; i++) {
      expect(await storedUserIds(cluster.dataDir(`manager_${i}`)), `users of manager_${i}`).to.deep.equal(expected);
    }
    await Promise.all(cluster.managers.map((manager) => manager.start()));
    await settled(cluster);
    await eventually(async () => (await statusOf(cluster)).members.filter((m) => m.role === 'storage' && m.state === 'running').length === cluster.storage.length, 30_000, 'storage nodes rejoined');
    await cluster.run({ command: 'create_user', userId: 'after-restart' });
  });

  it('restores a backup into a new control plane that the storage nodes join with their data unchanged, and refuses a manager with older state', async () => {
    const file = join(cluster.root, 'managers.backup');
    const backedUp = await cluster.adm('backup-manager', file);
    expect(backedUp.code, backedUp.stderr).to.equal(0);
    expect(backedUp.stdout).to.match(/records at log index \d+/);
    const usersInBackup = (await userIds(cluster)).sort();
    await putAndGet(s3, 'kept', 'stored before the disaster');
    await cluster.run({ command: 'create_user', userId: 'after-backup' });

    // Every manager's disk is lost; one copy of an old manager's state is kept aside.
    await Promise.all(cluster.managers.map((manager) => manager.kill('SIGKILL')));
    const oldState = join(cluster.root, 'old-manager_1');
    cpSync(cluster.dataDir('manager_1'), oldState, { recursive: true });
    for (let i = 0; i < cluster.managers.length; i++) rmSync(cluster.dataDir(`manager_${i}`), { recursive: true, force: true });

    const restored = cluster.replaceManager(0, '--restore', file);
    await Promise.all(cluster.managers.map((manager) => manager.start()));
    await restored.waitFor((line) => line.msg === 'manager state restored from a backup; a new control plane starts from it');
    await settled(cluster);
    expect((await userIds(cluster)).sort()).to.deep.equal(usersInBackup);
    await eventually(async () => (await statusOf(cluster)).members.filter((m) => m.role === 'storage' && m.state === 'running').length === cluster.storage.length, 30_000, 'storage nodes joined the restored control plane');
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kept' }));
    expect(await got.Body!.transformToString()).to.equal('stored before the disaster');
    await putAndGet(s3, 'after-restore', 'new data');

    // A manager started on its state from before the restore joins nothing and says why.
    await cluster.managers[1]!.kill('SIGKILL');
    rmSync(cluster.dataDir('manager_1'), { recursive: true, force: true });
    cpSync(oldState, cluster.dataDir('manager_1'), { recursive: true });
    const stale: NodeProcess = cluster.managers[1]!;
    await stale.start();
    await stale.waitFor((line) => line.msg === 'refusing a manager' && String(line.reason).includes('another generation'), 20_000);
    await cluster.run({ command: 'create_user', userId: 'while-refused' });
    expect(await userIds(cluster)).to.include('while-refused');

    // So does one holding the state of another cluster altogether (a manager started on its own first).
    const elsewhere = join(cluster.root, 'other-cluster');
    const loner = new NodeProcess('loner@127.0.0.1', ['--role', 'manager', '--cookie', cluster.cookie, '--data', elsewhere]);
    await loner.start();
    await loner.waitFor((line) => line.msg === 'admin user created');
    await loner.kill('SIGTERM');
    await cluster.managers[2]!.kill('SIGKILL');
    rmSync(cluster.dataDir('manager_2'), { recursive: true, force: true });
    cpSync(elsewhere, cluster.dataDir('manager_2'), { recursive: true });
    await cluster.managers[2]!.start();
    await cluster.managers[2]!.waitFor((line) => line.msg === 'refusing a manager' && String(line.reason).includes('belongs to cluster'), 20_000);
  });
});

describe('a leader cut off from the other managers (network namespaces)', function () {
  this.timeout(180_000);
  let lab: NetworkLab | undefined;
  let cluster: ProcessCluster | undefined;

  before(async function () {
    lab = networkLabOrSkip(this, 3);
    const net = lab;
    cluster = new ProcessCluster({
      storageNodes: 3,
      gateways: 1,
      managers: 3,
      host: net.hostAddress,
      managerHost: (index) => net.nodeAddress(index),
      managerLauncher: (index) => ['ip', 'netns', 'exec', net.namespace(index)],
    });
    await cluster.start();
  });

  after(async () => {
    await cluster?.stop();
    lab?.destroy();
  });

  it('refuses changes on the minority side; the majority elects a leader that accepts them; on healing the old leader catches up', async () => {
    const net = lab!;
    const managers = cluster!;
    const old = leaderIndex(managers, await settled(managers));
    const others = [0, 1, 2].filter((index) => index !== old);
    for (const other of others) net.partition(old, other);
    try {
      // A client that reaches only the cut-off manager gets a refusal that says why.
      let refusal: string;
      try {
        const cutOff = await openAdminClient({ manager: managers.managers[old]!.address, cookie: managers.cookie, timeoutMs: 15_000 });
        try {
          const reply = await cutOff.run({ command: 'create_user', userId: 'minority-change' });
          expect(reply.ok, 'a change on the minority side').to.equal(false);
          refusal = reply.ok ? '' : reply.message;
        } finally {
          await cutOff.close();
        }
      } catch (error) {
        refusal = (error as Error).message;
      }
      expect(refusal).to.match(/lead|majority/i);
      // The majority side goes on: a new leader takes changes.
      await eventually(async () => (await managers.admin.run({ command: 'create_user', userId: 'majority-change' })).ok, 30_000, 'a change through the new leader');
    } finally {
      net.healAll();
    }
    const healed = await settled(managers, 40_000);
    expect(healed.find((m) => m.node === managers.managers[old]!.name)!.role).to.equal('follower');
    const present = await userIds(managers);
    expect(present).to.include('majority-change');
    expect(present).to.not.include('minority-change');
  });
});

