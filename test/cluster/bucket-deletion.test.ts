/**
 * Deleting buckets in a real cluster (a manager, four storage nodes with N=3, W=2, R=1, D=2, two
 * gateways): a deleted bucket's objects, chunks, uploads and parts are never visible again to anyone,
 * a bucket created again under its name starts empty at once, every storage node removes the old data
 * (one killed while it does, one down the whole time), and DeleteBucket never loses a race with a PUT.
 */
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand,
  DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand,
  UploadPartCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { DeletedBucketStats } from '../../src/protocol/cluster/bucket-deletion.js';
import { namespaceOf } from '../../src/core/bucket-namespace.js';
import { currentEnvironmentPath } from '../../src/store/store-environment.js';
import type { UserRecord } from '../../src/core/auth-snapshot.js';
import { eventually } from '../support/eventually.js';
import { ProcessCluster } from '../support/process-cluster.js';
import { scaled } from '../support/test-scale.js';

const MiB = 1024 * 1024;

async function bodyOf(output: { Body?: unknown }): Promise<Buffer> {
  return Buffer.from(await (output.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** The S3 error code a request fails with, or 'ok'. */
async function outcome(request: Promise<unknown>): Promise<string> {
  try {
    await request;
    return 'ok';
  } catch (error) {
    return (error as { name?: string }).name ?? String(error);
  }
}

/**
 * Keys of a storage node's LMDB environment that belong to `namespace`, read from its files by this
 * process while the node runs (LMDB lets other processes read).
 */
async function storedKeysOf(dataDir: string, namespace: string): Promise<string[]> {
  const root = open({ path: currentEnvironmentPath(join(dataDir, 'objects')), maxDbs: 12, readOnly: true });
  const needle = Buffer.from(namespace, 'utf8');
  const found: string[] = [];
  try {
    for (const name of ['meta', 'data', 'data_tails', 'ring_index', 'undo']) {
      const db = root.openDB({ name, keyEncoding: 'binary' });
      for (const key of db.getKeys({})) if (Buffer.from(key as Buffer).includes(needle)) found.push(name);
    }
  } finally {
    await root.close();
  }
  return found;
}

describe('bucket deletion with real processes (4 storage nodes, N=3, W=2, 2 gateways)', function () {
  this.timeout(300_000);

  const cluster = new ProcessCluster({ storageNodes: 4, gateways: 2, storageSettings: { purgeKeysPerSecond: 4 } });
  let alice: UserRecord;
  let bob: UserRecord;

  before(async () => {
    await cluster.start();
    alice = (await cluster.run<'user'>({ command: 'create_user', userId: 'alice' })).user;
    bob = (await cluster.run<'user'>({ command: 'create_user', userId: 'bob' })).user;
  });

  after(async () => {
    await cluster.stop();
  });

  async function statsOf(bucket: string): Promise<readonly DeletedBucketStats[]> {
    return (await cluster.run<'delete_bucket_stats'>({ command: 'delete_bucket_stats', bucket })).buckets;
  }

  it('leaves nothing of a bucket deleted with leofs-adm: the next owner of the name sees it empty, and every node purges it', async () => {
    const a0 = cluster.client(0, alice);
    const b1 = cluster.client(1, bob);
    await a0.send(new CreateBucketCommand({ Bucket: 'leak' }));
    const namespace = namespaceOf((await cluster.run<'buckets'>({ command: 'get_buckets' })).buckets.find((b) => b.name === 'leak')!);
    await a0.send(new PutObjectCommand({ Bucket: 'leak', Key: 'private.txt', Body: 'alice only' }));
    await a0.send(new PutObjectCommand({ Bucket: 'leak', Key: 'chunked.bin', Body: randomBytes(11 * MiB) }));
    const done = await a0.send(new CreateMultipartUploadCommand({ Bucket: 'leak', Key: 'multipart.bin' }));
    const parts = [];
    for (const [i, size] of [5 * MiB, 5 * MiB, 1000].entries()) {
      const part = await a0.send(new UploadPartCommand({ Bucket: 'leak', Key: 'multipart.bin', UploadId: done.UploadId, PartNumber: i + 1, Body: randomBytes(size) }));
      parts.push({ PartNumber: i + 1, ETag: part.ETag });
    }
    await a0.send(new CompleteMultipartUploadCommand({ Bucket: 'leak', Key: 'multipart.bin', UploadId: done.UploadId, MultipartUpload: { Parts: parts } }));
    const pending = await a0.send(new CreateMultipartUploadCommand({ Bucket: 'leak', Key: 'pending.bin' }));
    const pendingPart = await a0.send(new UploadPartCommand({ Bucket: 'leak', Key: 'pending.bin', UploadId: pending.UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }));

    // One storage node is down for the whole deletion.
    const away = cluster.storage[3]!;
    await away.kill('SIGTERM');
    const deleted = await cluster.adm('delete-bucket', 'leak', alice.accessKeyId);
    expect(deleted.code, deleted.stderr).to.equal(0);
    expect(deleted.stdout).to.match(/^OK: deleted bucket leak; .*1 of 4 storage nodes will be told when they are back/);

    // Gone at once: the name is free, and whoever takes it sees nothing of what was there.
    await eventually(async () => (await outcome(b1.send(new CreateBucketCommand({ Bucket: 'leak' })))) === 'ok', 10_000, 'bob creates leak');
    expect(await outcome(b1.send(new GetObjectCommand({ Bucket: 'leak', Key: 'private.txt' })))).to.equal('NoSuchKey');
    expect((await b1.send(new ListObjectsV2Command({ Bucket: 'leak' }))).KeyCount).to.equal(0);
    expect((await b1.send(new ListMultipartUploadsCommand({ Bucket: 'leak' }))).Uploads ?? []).to.deep.equal([]);
    expect(await outcome(b1.send(new UploadPartCommand({ Bucket: 'leak', Key: 'pending.bin', UploadId: pending.UploadId, PartNumber: 2, Body: 'x' })))).to.equal('NoSuchUpload');
    expect(await outcome(b1.send(new CompleteMultipartUploadCommand({
      Bucket: 'leak', Key: 'pending.bin', UploadId: pending.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pendingPart.ETag }] },
    })))).to.equal('NoSuchUpload');
    expect(await outcome(b1.send(new CopyObjectCommand({ Bucket: 'leak', Key: 'copy', CopySource: 'leak/chunked.bin' })))).to.equal('NoSuchKey');
    const upload = await b1.send(new CreateMultipartUploadCommand({ Bucket: 'leak', Key: 'mine' }));
    expect(await outcome(b1.send(new UploadPartCopyCommand({ Bucket: 'leak', Key: 'mine', UploadId: upload.UploadId, PartNumber: 1, CopySource: 'leak/multipart.bin' })))).to.equal('NoSuchKey');
    const where = await cluster.run<'whereis'>({ command: 'whereis', bucket: 'leak', key: 'private.txt' });
    expect(where.replicas.filter((row) => row.answer.ok && row.answer.exists), 'whereis looks in the new bucket').to.deep.equal([]);
    // Alice's own gateway, too, never serves what she stored.
    expect(await outcome(a0.send(new GetObjectCommand({ Bucket: 'leak', Key: 'private.txt' })))).to.equal('AccessDenied');

    // A node is killed while it removes the old data, and picks up where it was once restarted.
    const victim = cluster.storage[0]!;
    await eventually(async () => (await statsOf('leak'))[0]?.nodes.find((n) => n.node === victim.name)?.state === 'purging', 30_000, 'storage_0 purging');
    await victim.kill('SIGKILL');
    await victim.start();
    await away.start();
    await eventually(async () => {
      const [stats] = await statsOf('leak');
      return stats !== undefined && stats.nodes.length === 4 && stats.nodes.every((node) => node.state === 'finished');
    }, 120_000, 'every storage node finished purging leak');
    for (const node of cluster.storage) expect(await storedKeysOf(cluster.dataDir(node.name.split('@')[0]!), namespace), node.name).to.deep.equal([]);
    const [stats] = await statsOf('leak');
    expect(stats!.nodes.reduce((sum, node) => sum + (node.removedBytes ?? 0), 0), 'three copies of every body').to.be.greaterThan(3 * 21 * MiB);
    const shown = await cluster.adm('delete-bucket-stats', 'leak');
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.include('- Bucket: leak (deleted ').and.include('with its content');
    for (const node of cluster.storage) expect(shown.stdout).to.match(new RegExp(`${node.name.replace('.', '\\.')} +\\| finished`));
    const notHers = await cluster.adm('delete-bucket', 'leak', alice.accessKeyId);
    expect(notHers.code, 'the name belongs to bob now').to.equal(1);
    expect(notHers.stderr).to.include('only the owner of leak may delete it');
  });

  it('shows a bucket deleted and created again through one gateway empty through the other, its cache included', async () => {
    const g0 = cluster.client(0);
    const g1 = cluster.client(1);
    await g0.send(new CreateBucketCommand({ Bucket: 'twin' }));
    await eventually(async () => (await outcome(g1.send(new HeadBucketCommand({ Bucket: 'twin' })))) === 'ok', 10_000, 'twin on gateway 1');
    await g1.send(new PutObjectCommand({ Bucket: 'twin', Key: 'hot', Body: 'old incarnation' }));
    expect((await bodyOf(await g1.send(new GetObjectCommand({ Bucket: 'twin', Key: 'hot' })))).toString()).to.equal('old incarnation');
    await g0.send(new DeleteObjectCommand({ Bucket: 'twin', Key: 'hot' }));
    await g0.send(new DeleteBucketCommand({ Bucket: 'twin' }));
    await g0.send(new CreateBucketCommand({ Bucket: 'twin' }));
    await eventually(async () => (await outcome(g1.send(new HeadBucketCommand({ Bucket: 'twin' })))) === 'ok', 10_000, 'the new twin on gateway 1');
    expect(await outcome(g1.send(new GetObjectCommand({ Bucket: 'twin', Key: 'hot' })))).to.equal('NoSuchKey');
    expect((await g1.send(new ListObjectsV2Command({ Bucket: 'twin' }))).KeyCount).to.equal(0);
  });

  const RACE_ROUNDS = scaled(200, 50);

  it(`never acknowledges both a DeleteBucket and a PUT into it, over ${RACE_ROUNDS} racing rounds through two gateways`, async function () {
    this.timeout(600_000);
    const g0 = cluster.client(0);
    const g1 = cluster.client(1);
    const counts = { deleted: 0, stored: 0, rounds: 0 };
    const startedMs = Date.now();
    for (let round = 0; round < RACE_ROUNDS && Date.now() - startedMs < 240_000; round++) {
      await eventually(async () => (await outcome(g0.send(new CreateBucketCommand({ Bucket: 'race' })))) === 'ok', 10_000, 'race created');
      expect((await g0.send(new ListObjectsV2Command({ Bucket: 'race', MaxKeys: 1 }))).KeyCount, `round ${round}: a new bucket is empty`).to.equal(0);
      await eventually(async () => (await outcome(g1.send(new HeadBucketCommand({ Bucket: 'race' })))) === 'ok', 10_000, 'race on gateway 1');
      const key = `k${round}`;
      const delayMs = round % 8;
      const [put, removed] = await Promise.all([
        outcome(new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => g1.send(new PutObjectCommand({ Bucket: 'race', Key: key, Body: `round ${round}` })))),
        outcome(g0.send(new DeleteBucketCommand({ Bucket: 'race' }))),
      ]);
      counts.rounds++;
      expect(put === 'ok' && removed === 'ok', `round ${round}: PUT ${put}, DeleteBucket ${removed}`).to.equal(false);
      if (removed === 'ok') {
        counts.deleted++;
        continue;
      }
      if (put === 'ok') counts.stored++;
      await g0.send(new DeleteObjectCommand({ Bucket: 'race', Key: key }));
      await eventually(async () => (await outcome(g0.send(new DeleteBucketCommand({ Bucket: 'race' })))) === 'ok', 10_000, 'race deleted');
    }
    expect(counts.rounds).to.be.greaterThan(RACE_ROUNDS / 4);
    expect(counts.deleted, 'some rounds the deletion won').to.be.greaterThan(0);
    expect(counts.stored, 'some rounds the PUT won').to.be.greaterThan(0);
  });
});
