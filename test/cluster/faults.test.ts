/**
 * Faults with real processes: a manager, three storage nodes (N=3, W=2, R=2, D=2) and a gateway, under
 * S3 load from four clients, while storage nodes are SIGKILLed and restarted one at a time, twenty
 * times. Everything the clients saw is checked by the history checker, and the replicas must converge
 * once the faults stop. The schedule comes from a seed (LEOFS_FAULT_SEED, default 7).
 */
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAdminClient, type AdminClient } from '../../src/cli/admin-client.js';
import { readAdminCredentials } from '../../src/store/admin-credentials.js';
import { eventually } from '../support/eventually.js';
import { History, type Outcome, type Value } from '../support/history-checker.js';
import { NodeProcess } from '../support/node-process.js';
import { randomInt, seededRandom } from '../unit/core/seeded-random.js';

const COOKIE = 'fault-test-cookie';
const BUCKET = 'faults';
const CYCLES = 20;
const CLIENTS = 4;
const DATA_KEYS = Array.from({ length: 8 }, (_, i) => `k${i}`);
const SEED = Number(process.env.LEOFS_FAULT_SEED ?? 7);

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe(`faults with real processes: ${CYCLES} SIGKILL/restart cycles under S3 load (N=3, W=2, R=2, D=2, seed ${SEED})`, function () {
  this.timeout(300_000);

  let root: string;
  let manager: NodeProcess;
  let storage: NodeProcess[];
  let gateway: NodeProcess;
  let admin: AdminClient;
  let clients: S3Client[];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'leofs-faults-'));
    manager = new NodeProcess('manager_0@127.0.0.1', ['--role', 'manager', '--cookie', COOKIE, '--data', join(root, 'manager_0')]);
    await manager.start();
    const created = await manager.waitFor((line) => line.msg === 'admin user created');
    const credentials = readAdminCredentials(String(created.credentialsFile));
    if (!credentials) throw new Error(`no admin credentials in ${String(created.credentialsFile)}`);
    storage = Array.from({ length: 3 }, (_, i) => new NodeProcess(`storage_${i}@127.0.0.1`, ['--role', 'storage', '--cookie', COOKIE, '--manager', manager.address, '--data', join(root, `storage_${i}`)]));
    await Promise.all(storage.map((node) => node.start()));
    admin = await openAdminClient({ manager: manager.address, cookie: COOKIE, timeoutMs: 30_000 });
    await eventually(async () => {
      const status = await admin.run({ command: 'status' });
      return status.ok && status.result.kind === 'cluster_status' && status.result.members.filter((m) => m.role === 'storage' && m.state === 'attached').length === 3;
    }, 20_000, 'three attached storage nodes');
    const started = await admin.run({ command: 'start', n: 3, w: 2, r: 2, d: 2, rackAware: false });
    expect(started.ok, JSON.stringify(started)).to.equal(true);
    gateway = new NodeProcess('gateway_0@127.0.0.1', ['--role', 'gateway', '--cookie', COOKIE, '--manager', manager.address, '--data', join(root, 'gateway_0'), '--http-port', '0']);
    await gateway.start();
    const listening = await gateway.waitFor((line) => line.msg === 'S3 API listening');
    await gateway.waitFor((line) => line.msg === 'ring installed');
    clients = Array.from({ length: CLIENTS + 1 }, () => new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${String(listening.httpPort)}`,
      forcePathStyle: true,
      maxAttempts: 1,
      requestHandler: { requestTimeout: 15_000 },
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    }));
    await clients[0]!.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(async () => {
    for (const client of clients ?? []) client.destroy();
    await admin?.close();
    await Promise.all([gateway, ...(storage ?? []), manager].map((node) => node?.kill('SIGTERM')));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('loses no acknowledged write, undoes no delete, never goes back in time, lets one writer take each lock, and converges', async () => {
    const random = seededRandom(SEED);
    const history = new History();
    let lockKey = 'lock-0';
    let running = true;

    const write = async (client: number, key: string, value: Value, create = false): Promise<void> => {
      const sent = history.now();
      let outcome: Outcome;
      try {
        if (value === null) await clients[client]!.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
        else await clients[client]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: value, ...(create ? { IfNoneMatch: '*' } : {}) }));
        outcome = 'ok';
      } catch (error) {
        const status = statusOf(error);
        outcome = status === 412 || status === 409 ? 'refused' : 'unknown';
      }
      history.record({ type: 'write', client, key, value, sent, answered: history.now(), outcome, ...(create ? { create } : {}) });
    };

    const read = async (client: number, key: string): Promise<void> => {
      const sent = history.now();
      try {
        const got = await clients[client]!.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        const value = await got.Body!.transformToString();
        history.record({ type: 'read', client, key, value, sent, answered: history.now() });
      } catch (error) {
        if (statusOf(error) === 404) history.record({ type: 'read', client, key, value: null, sent, answered: history.now() });
        // Any other failure says nothing about the key.
      }
    };

    const load = async (client: number): Promise<void> => {
      // Each client draws from its own stream, so the mix does not depend on how answers interleave.
      const draw = seededRandom(SEED * 100 + client);
      for (let n = 0; running; n++) {
        const key = DATA_KEYS[randomInt(draw, DATA_KEYS.length)]!;
        const roll = draw();
        if (roll < 0.4) await write(client, key, `c${client}-${n}`);
        else if (roll < 0.75) await read(client, key);
        else if (roll < 0.85) await write(client, key, null);
        else if (roll < 0.95) await write(client, lockKey, `c${client}-${n}`, true);
        else await read(client, lockKey);
      }
    };

    const loads = Array.from({ length: CLIENTS }, (_, client) => load(client + 1));
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      lockKey = `lock-${cycle}`;
      await pause(200 + randomInt(random, 400));
      const victim = storage[randomInt(random, storage.length)]!;
      await victim.kill('SIGKILL');
      await pause(200 + randomInt(random, 600));
      await victim.start();
    }
    await pause(500);
    running = false;
    await Promise.all(loads);

    const acknowledged = history.ops.filter((op) => op.type === 'write' && op.outcome === 'ok').length;
    expect(acknowledged, 'the load made progress through the faults').to.be.above(100);

    // Once the faults stop, every replica of every key holds the same version...
    const keys = [...DATA_KEYS, ...Array.from({ length: CYCLES }, (_, cycle) => `lock-${cycle}`)];
    await eventually(async () => {
      for (const key of keys) {
        const where = await admin.run({ command: 'whereis', bucket: BUCKET, key });
        if (!where.ok || where.result.kind !== 'whereis') return false;
        const clocks = new Set(where.result.replicas.map((row) => (row.answer.ok ? (row.answer.exists ? row.answer.clock : 'absent') : 'error')));
        if (clocks.size !== 1 || clocks.has('error')) return false;
      }
      return true;
    }, 60_000, 'every replica of every key holding the same version');
    // ...and what every client reads then still fits the history.
    for (const key of keys) await read(0, key);
    const problems = history.check();
    expect(problems, problems.slice(0, 20).join('\n')).to.deep.equal([]);
  });
});
