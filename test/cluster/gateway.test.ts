/**
 * The S3 API through a real cluster on loopback: a manager, three storage nodes (N=3, W=2, R=1, D=2)
 * and a gateway, each its own process, driven by the AWS SDK with its defaults.
 */
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand,
  GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAdminClient, type AdminClient } from '../../src/cli/admin-client.js';
import { readAdminCredentials } from '../../src/store/admin-credentials.js';
import { eventually } from '../support/eventually.js';
import { NodeProcess } from '../support/node-process.js';
import { Scrape } from '../support/scrape.js';
import { DROP_IDLE_CONNECTIONS_EARLY } from '../support/sdk-connections.js';
import { machineIdentity } from '../../src/store/same-machine.js';

const COOKIE = 'gateway-cluster-test-cookie';
const MiB = 1024 * 1024;

async function bodyOf(output: { Body?: unknown }): Promise<Buffer> {
  return Buffer.from(await (output.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

describe('gateway with real processes (N=3, W=2, R=1, D=2)', function () {
  this.timeout(240_000);

  let root: string;
  let manager: NodeProcess;
  let storage: NodeProcess[];
  let gateway: NodeProcess;
  let admin: AdminClient;
  let s3: S3Client;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'leofs-gateway-procs-'));
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
    const started = await admin.run({ command: 'start', n: 3, w: 2, r: 1, d: 2, rackAware: false });
    expect(started.ok, JSON.stringify(started)).to.equal(true);

    gateway = new NodeProcess('gateway_0@127.0.0.1', ['--role', 'gateway', '--cookie', COOKIE, '--manager', manager.address, '--data', join(root, 'gateway_0'), '--http-port', '0', '--metrics-port', '0']);
    s3 = await startGateway(gateway, credentials);
  });

  /** Starts `node`, waits until it serves S3 with the cluster's ring and users, and returns a client of it. */
  async function startGateway(node: NodeProcess, credentials: { readonly accessKeyId: string; readonly secretAccessKey: string }): Promise<S3Client> {
    await node.start();
    const listening = await node.waitFor((line) => line.msg === 'S3 API listening');
    await node.waitFor((line) => line.msg === 'ring installed');
    await node.waitFor((line) => line.msg === 'users and buckets updated' || line.msg === 'users and buckets loaded from local state');
    return new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${String(listening.httpPort)}`,
      forcePathStyle: true,
      maxAttempts: 1,
      requestHandler: DROP_IDLE_CONNECTIONS_EARLY,
      credentials,
    });
  }

  after(async () => {
    s3?.destroy();
    await admin?.close();
    await Promise.all([gateway, ...(storage ?? []), manager].map((node) => node?.kill('SIGTERM')));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('creates a bucket through the manager and stores, lists, reads and deletes objects small and large', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'cluster' }));
    const small = Buffer.from('through the whole cluster');
    const large = randomBytes(13 * MiB + 11);
    await s3.send(new PutObjectCommand({ Bucket: 'cluster', Key: 'small.txt', Body: small }));
    const put = await s3.send(new PutObjectCommand({ Bucket: 'cluster', Key: 'large.bin', Body: large }));
    expect(put.ETag).to.equal(`"${createHash('md5').update(large).digest('hex')}"`);
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'cluster', Key: 'small.txt' })))).equals(small)).to.equal(true);
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'cluster', Key: 'large.bin' })))).equals(large)).to.equal(true);
    const range = await s3.send(new GetObjectCommand({ Bucket: 'cluster', Key: 'large.bin', Range: `bytes=${5 * MiB - 3}-${10 * MiB + 3}` }));
    expect((await bodyOf(range)).equals(large.subarray(5 * MiB - 3, 10 * MiB + 4))).to.equal(true);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'cluster' }));
    expect(listed.Contents?.map((c) => [c.Key, c.Size])).to.deep.equal([['large.bin', large.length], ['small.txt', small.length]]);

    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'cluster', Key: 'parts.bin' }));
    const parts = [large.subarray(0, 6 * MiB), large.subarray(6 * MiB)];
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      etags.push((await s3.send(new UploadPartCommand({ Bucket: 'cluster', Key: 'parts.bin', UploadId: created.UploadId, PartNumber: i + 1, Body: body }))).ETag!);
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'cluster', Key: 'parts.bin', UploadId: created.UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'cluster', Key: 'parts.bin' })))).equals(large)).to.equal(true);

    for (const key of ['small.txt', 'large.bin', 'parts.bin']) await s3.send(new DeleteObjectCommand({ Bucket: 'cluster', Key: key }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'cluster' }));
  });

  it("writes large bodies through staging files for, and reads them from the files of, the storage nodes on its machine, and sends them when told not to", async function () {
    if (machineIdentity() === undefined) this.skip(); // machines are told apart by what Linux shows in /proc
    await s3.send(new CreateBucketCommand({ Bucket: 'machine' }));
    const large = randomBytes(11 * MiB + 5);
    const writes = async (node: NodeProcess, outcome: string): Promise<number> => (await Scrape.of(node.metricsUrl!)).total('leofs_gateway_same_machine_writes_total', { outcome });
    const stagedBefore = await writes(gateway, 'staged');
    await s3.send(new PutObjectCommand({ Bucket: 'machine', Key: 'large.bin', Body: large }));
    // Chunks of 5, 5 and 1 MiB, each taken from a staging file, which are gone once answered.
    expect((await writes(gateway, 'staged')) - stagedBefore).to.equal(3);
    expect(await writes(gateway, 'sent')).to.equal(0);
    await eventually(() => readdirSync(join(root, 'gateway_0', 'staging')).length === 0, 5_000, 'the staging files removed');
    const reads = async (node: NodeProcess, outcome: string): Promise<number> => (await Scrape.of(node.metricsUrl!)).total('leofs_gateway_same_machine_reads_total', { outcome });
    const before = await reads(gateway, 'read');
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'machine', Key: 'large.bin' })))).equals(large)).to.equal(true);
    const range = await s3.send(new GetObjectCommand({ Bucket: 'machine', Key: 'large.bin', Range: `bytes=${5 * MiB - 7}-${5 * MiB + 7}` }));
    expect((await bodyOf(range)).equals(large.subarray(5 * MiB - 7, 5 * MiB + 8))).to.equal(true);
    // Three chunks read whole in 1 MiB pieces, then the two pieces of the range.
    expect((await reads(gateway, 'read')) - before).to.equal(14);
    expect(await reads(gateway, 'fell_back')).to.equal(0);

    const config = join(root, 'sent.json');
    writeFileSync(config, JSON.stringify({ gateway: { sameMachineReads: false, sameMachineWrites: false } }));
    const sent = new NodeProcess('gateway_1@127.0.0.1', ['--role', 'gateway', '--cookie', COOKIE, '--manager', manager.address, '--data', join(root, 'gateway_1'), '--http-port', '0', '--metrics-port', '0', '--config', config]);
    const credentials = await s3.config.credentials();
    const viaTransport = await startGateway(sent, credentials);
    try {
      expect((await bodyOf(await viaTransport.send(new GetObjectCommand({ Bucket: 'machine', Key: 'large.bin' })))).equals(large)).to.equal(true);
      expect(await reads(sent, 'read')).to.equal(0);
      await viaTransport.send(new PutObjectCommand({ Bucket: 'machine', Key: 'sent.bin', Body: large }));
      expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'machine', Key: 'sent.bin' })))).equals(large)).to.equal(true);
      expect(await writes(sent, 'staged')).to.equal(0);
      await s3.send(new DeleteObjectCommand({ Bucket: 'machine', Key: 'sent.bin' }));
    } finally {
      viaTransport.destroy();
      await sent.kill('SIGTERM');
    }
    await s3.send(new DeleteObjectCommand({ Bucket: 'machine', Key: 'large.bin' }));
  });

  it('keeps serving with one storage node down, and answers 503 without a write quorum', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'degraded' }));
    const body = randomBytes(7 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: 'degraded', Key: 'before', Body: body }));
    await storage[0]!.kill('SIGKILL');
    await s3.send(new PutObjectCommand({ Bucket: 'degraded', Key: 'during', Body: body }));
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'degraded', Key: 'before' })))).equals(body)).to.equal(true);
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: 'degraded', Key: 'during' })))).equals(body)).to.equal(true);
    await storage[1]!.kill('SIGKILL');
    const started = Date.now();
    const status = await s3.send(new PutObjectCommand({ Bucket: 'degraded', Key: 'no-quorum', Body: 'x' })).then(
      () => 200,
      (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode,
    );
    expect(status).to.equal(503);
    expect(Date.now() - started).to.be.below(60_000);
    await Promise.all([storage[0]!.start(), storage[1]!.start()]);
  });
});
