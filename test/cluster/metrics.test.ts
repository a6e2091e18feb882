/**
 * Metrics and health endpoints of real node processes: after S3 traffic every node's /metrics parses
 * as Prometheus text and holds the instruments an operator alerts on; /health/ready follows a node
 * through its start (not ready until it has joined) and a lost manager (still ready, the ring
 * unconfirmed).
 */
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
import { NodeProcess } from '../support/node-process.js';
import { ProcessCluster } from '../support/process-cluster.js';
import { Scrape } from '../support/scrape.js';

const BUCKET = 'measured';
const BODY = Buffer.alloc(10_000, 7);

interface Readiness {
  readonly status: number;
  readonly ready: boolean;
  readonly checks: ReadonlyArray<{ name: string; ok: boolean; detail: string }>;
}

async function readiness(node: NodeProcess): Promise<Readiness> {
  const response = await fetch(`${baseOf(node)}/health/ready`);
  const body = (await response.json()) as Omit<Readiness, 'status'>;
  return { status: response.status, ...body };
}

function baseOf(node: NodeProcess): string {
  if (!node.metricsUrl) throw new Error(`${node.name} serves no metrics`);
  return node.metricsUrl.replace(/\/metrics$/, '');
}

describe('metrics and health endpoints of real processes', function () {
  this.timeout(120_000);

  const cluster = new ProcessCluster({ storageNodes: 3, gateways: 1, metrics: true });
  let late: NodeProcess | undefined;

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await late?.kill();
    await cluster.stop();
  });

  it('counts S3 traffic and exports every node\'s instruments in Prometheus text format', async () => {
    const s3 = cluster.client(0);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `k${i}`, Body: BODY }));
    for (let i = 0; i < 5; i++) await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `k${i}` }))).Body!.transformToByteArray();
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'missing' })).catch(() => undefined);

    const gateway = await Scrape.of(cluster.gateways[0]!.metricsUrl!);
    expect(gateway.value('leofs_s3_requests_total', { operation: 'PutObject', status: '200' })).to.equal(5);
    expect(gateway.value('leofs_s3_requests_total', { operation: 'GetObject', status: '200' })).to.equal(5);
    expect(gateway.value('leofs_s3_requests_total', { operation: 'HeadObject', status: '404' })).to.equal(1);
    expect(gateway.family('leofs_s3_request_duration_seconds').type).to.equal('histogram');
    expect(gateway.value('leofs_s3_request_duration_seconds', { operation: 'PutObject' }, 'leofs_s3_request_duration_seconds_count')).to.equal(5);
    expect(gateway.value('leofs_s3_received_bytes_total', { operation: 'PutObject' })).to.be.above(5 * BODY.length);
    expect(gateway.value('leofs_s3_sent_bytes_total', { operation: 'GetObject' })).to.be.above(5 * BODY.length);
    expect(gateway.has('leofs_gateway_cache_hits_total')).to.equal(true);
    expect(gateway.has('leofs_gateway_cache_misses_total')).to.equal(true);

    for (const node of [cluster.manager, ...cluster.storage, ...cluster.gateways]) {
      const scrape = await Scrape.of(node.metricsUrl!);
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'leofs_actor_mailbox_messages', 'leofs_actor_restarts_total', 'leofs_transport_peer_up']) {
        expect(scrape.has(name), `${name} on ${node.name}`).to.equal(true);
      }
      expect(scrape.value('leofs_node_info', { node: node.name })).to.equal(1);
      expect(scrape.value('leofs_actor_mailbox_messages', { actor: '/node/info' })).to.equal(0);
      if (node !== cluster.manager) expect(scrape.value('leofs_ring_epoch'), node.name).to.equal(1);
    }

    const storage = await Scrape.of(cluster.storage[0]!.metricsUrl!);
    expect(storage.value('leofs_queue_messages', { queue: 'repair' })).to.equal(0);
    expect(storage.value('leofs_lmdb_file_bytes')).to.be.above(0);
    expect(storage.value('leofs_lmdb_used_bytes')).to.be.above(0);
    expect(storage.value('leofs_lmdb_free_bytes')).to.be.at.least(0);
    for (const name of ['leofs_replica_write_failures_total', 'leofs_write_quorum_failures_total', 'leofs_queue_retries_total', 'leofs_read_repairs_total', 'leofs_rebalance_segments', 'leofs_recovery_ranges', 'leofs_anti_entropy_keys_synced_total']) {
      expect(storage.has(name), name).to.equal(true);
    }

    const manager = await Scrape.of(cluster.manager.metricsUrl!);
    expect(manager.value('leofs_cluster_members', { role: 'storage', state: 'running' })).to.equal(3);
    expect(manager.value('leofs_cluster_members', { role: 'gateway', state: 'running' })).to.equal(1);
    expect(manager.value('leofs_manager_leader')).to.equal(1);
    expect(manager.value('leofs_manager_log_position', { kind: 'applied' })).to.be.greaterThan(1);
    expect(manager.value('leofs_cluster_ring_consistent')).to.equal(1);
  });

  it('counts replica writes that failed while a storage node is down', async () => {
    const down = await cluster.killStorage(2);
    const s3 = cluster.client(0);
    // Every key has a replica on each of the three nodes (N=3), so every write misses one.
    await eventually(async () => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'while-down', Body: BODY }));
      const total = (await Promise.all(cluster.storage.slice(0, 2).map(async (node) => (await Scrape.of(node.metricsUrl!)).total('leofs_replica_write_failures_total')))).reduce((a, b) => a + b, 0);
      return total > 0;
    }, 30_000, 'a replica write failure counted');
    await down.start();
  });

  it('purge-cache drops one object from the gateways\' caches (its next GET misses), and version names every node\'s release', async () => {
    const s3 = cluster.client(0);
    const get = async (): Promise<void> => void (await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k0' }))).Body!.transformToByteArray());
    const counts = async () => {
      const scrape = await Scrape.of(cluster.gateways[0]!.metricsUrl!);
      return { hits: scrape.value('leofs_gateway_cache_hits_total', { tier: 'memory' })!, misses: scrape.value('leofs_gateway_cache_misses_total', { tier: 'memory' })! };
    };
    await get();
    const warm = await counts();
    await get();
    expect((await counts()).hits).to.equal(warm.hits + 1);
    const purged = await cluster.adm('purge-cache', `${BUCKET}/k0`);
    expect(purged.code, purged.stderr).to.equal(0);
    expect(purged.stdout).to.match(/gateway_0@127\.0\.0\.1\s+\| purged/);
    const before = await counts();
    await get();
    expect(await counts()).to.deep.equal({ hits: before.hits, misses: before.misses + 1 });
    expect((await cluster.adm('purge-cache', 'no-key-given')).code).to.equal(1);

    const versions = await cluster.adm('--json', 'version');
    expect(versions.code, versions.stderr).to.equal(0);
    const nodes = (JSON.parse(versions.stdout) as { nodes: Array<{ node: string; version: string | null }> }).nodes;
    const release = (JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
    expect(nodes.map((node) => node.node)).to.have.members([cluster.manager.name, ...cluster.storage.map((node) => node.name), ...cluster.gateways.map((node) => node.name)]);
    expect(nodes.every((node) => node.version === release)).to.equal(true);
  });

  it('turns a storage node read-only when its free disk falls under the watchdog\'s floor, unready until it is back', async () => {
    const node = cluster.storage[1]!;
    const raised = await cluster.adm('update-property', node.name, 'watchdog.diskReadOnlyFreeBytes', String(1e15));
    expect(raised.code, raised.stderr).to.equal(0);
    // The watchdog judges at once with its last sample; the first comes within its interval.
    await eventually(async () => (await readiness(node)).status === 503, 15_000, 'not ready while read-only');
    expect((await readiness(node)).checks.find((check) => check.name === 'writable')?.detail).to.match(/read-only/);
    const scrape = await Scrape.of(node.metricsUrl!);
    expect(scrape.value('leofs_storage_read_only')).to.equal(1);
    expect(scrape.value('leofs_watchdog_alarm', { alarm: 'disk', level: 'read_only' })).to.equal(1);
    const status = await cluster.adm('status');
    expect(status.stdout).to.match(new RegExp(`${node.name.replace(/[.]/g, '\\.')}\\s+\\| disk\\s+\\| read_only`));
    // Writes still succeed on the other replicas (W=2 of 3).
    await cluster.client(0).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'while-read-only', Body: BODY }));
    const lowered = await cluster.adm('update-property', node.name, 'watchdog.diskReadOnlyFreeBytes', String(512 * 1024 * 1024));
    expect(lowered.code, lowered.stderr).to.equal(0);
    await eventually(async () => (await readiness(node)).status === 200, 15_000, 'ready again');
    expect((await Scrape.of(node.metricsUrl!)).value('leofs_storage_read_only')).to.equal(0);
  });

  it('answers ready only once a node has joined, and stays ready without the manager', async () => {
    for (const node of [cluster.manager, ...cluster.storage, ...cluster.gateways]) {
      await eventually(async () => (await readiness(node)).status === 200, 20_000, `${node.name} ready`);
    }
    // A gateway that starts while the manager cannot answer is alive but not ready.
    process.kill(cluster.manager.pid!, 'SIGSTOP');
    try {
      late = new NodeProcess('gateway_9@127.0.0.1', [
        '--role', 'gateway', '--cookie', cluster.cookie, '--manager', cluster.manager.address, '--data', join(cluster.root, 'gateway_9'), '--http-port', '0', '--metrics-port', '0',
      ]);
      await late.start();
      expect((await fetch(`${baseOf(late)}/health/live`)).status).to.equal(200);
      const starting = await readiness(late);
      expect(starting.status).to.equal(503);
      expect(starting.checks.find((check) => check.name === 'joined')).to.include({ ok: false });
    } finally {
      process.kill(cluster.manager.pid!, 'SIGCONT');
    }
    await eventually(async () => (await readiness(late!)).status === 200, 30_000, 'the late gateway ready');

    // The manager is not in the data path: losing it leaves the gateway ready, its ring unconfirmed.
    await cluster.manager.kill();
    await eventually(async () => {
      const lost = await readiness(cluster.gateways[0]!);
      return lost.status === 200 && lost.checks.some((check) => check.name === 'ring' && check.detail.includes('unconfirmed'));
    }, 20_000, 'the ring unconfirmed while the manager is away');
    expect((await Scrape.of(cluster.gateways[0]!.metricsUrl!)).value('leofs_transport_peer_up', { peer: cluster.manager.name })).to.equal(0);
  });

  it('answers 404 and 405 for anything else', async () => {
    const base = baseOf(cluster.gateways[0]!);
    expect((await fetch(`${base}/nothing`)).status).to.equal(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })).status).to.equal(405);
  });
});
