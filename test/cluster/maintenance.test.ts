/**
 * Storage upkeep in a real cluster: an upload whose gateway is killed midway leaves chunks that no
 * record names, which the storage nodes' sweep removes once older than `orphanAgeMs`; and an operator
 * compacts a node and reads its disk use with leofs-adm while it serves.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { open } from 'lmdb';
import { namespaceOf } from '../../src/core/bucket-namespace.js';
import { currentEnvironmentPath, openMetaTable } from '../../src/store/store-environment.js';
import { eventually } from '../support/eventually.js';
import { ProcessCluster } from '../support/process-cluster.js';

const MiB = 1024 * 1024;

/** Live (not deleted) chunk records of `key` in `namespace` on one storage node, read from its files. */
async function liveChunksOf(dataDir: string, namespace: string, key: string): Promise<number> {
  const root = open({ path: currentEnvironmentPath(join(dataDir, 'objects')), maxDbs: 12, readOnly: true });
  try {
    // Read as the node reads it, whichever format its records are in.
    const meta = openMetaTable(root, 1);
    const prefix = Buffer.concat([Buffer.from('c', 'utf8'), Buffer.from(namespace, 'utf8'), Buffer.from([0]), Buffer.from(`${key}\n`, 'utf8')]);
    let live = 0;
    for (const { key: stored, value } of meta.getRange({ start: prefix })) {
      if (!Buffer.from(stored as Buffer).subarray(0, prefix.length).equals(prefix)) break;
      if ((value as { deleted?: boolean }).deleted === false) live++;
    }
    return live;
  } finally {
    await root.close();
  }
}

describe('storage upkeep with real processes', function () {
  this.timeout(120_000);

  const cluster = new ProcessCluster({ storageNodes: 3, gateways: 1, storageSettings: { orphanAgeMs: 1_000, sweepPauseMs: 200 } });

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  it('compacts a node and reports its disk use through leofs-adm while it serves', async () => {
    const s3 = cluster.client(0);
    await s3.send(new CreateBucketCommand({ Bucket: 'upkeep' }));
    const node = cluster.storage[0]!.name;
    const writes = Array.from({ length: 200 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: 'upkeep', Key: `k${i}`, Body: `body ${i}` })));
    const started = await cluster.adm('compact-start', node);
    expect(started.code, started.stderr).to.equal(0);
    expect(started.stdout).to.match(/current status\s+running/);
    await Promise.all(writes);
    await eventually(async () => /current status\s+idle/.test((await cluster.adm('compact-status', node)).stdout), 30_000, 'compaction done');
    const status = await cluster.adm('compact-status', node);
    expect(status.stdout).to.include('LMDB file after');
    for (let i = 0; i < 200; i += 37) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'upkeep', Key: `k${i}` }));
      expect(await got.Body!.transformToString()).to.equal(`body ${i}`);
    }
    const du = await cluster.adm('--json', 'du', node);
    expect(du.code, du.stderr).to.equal(0);
    const usage = JSON.parse(du.stdout) as { objects: number; totalBytes: number };
    expect(usage.objects).to.be.at.least(100);
    expect(usage.totalBytes).to.be.greaterThan(0);
    const suspended = await cluster.adm('compact-suspend', node);
    expect(suspended.stdout).to.match(/current status\s+suspended/);
    const refused = await cluster.adm('compact-start', node);
    expect([refused.code, refused.stderr]).to.deep.equal([1, refused.stderr]);
    expect(refused.stderr).to.include('suspended');
    expect((await cluster.adm('compact-resume', node)).stdout).to.match(/current status\s+running/);
    expect((await cluster.adm('compact-start', 'nobody@127.0.0.1')).code, 'a node that does not answer').to.equal(1);
  });

  it('removes the chunks of an upload whose gateway was killed midway', async () => {
    const s3 = cluster.client(0);
    await s3.send(new CreateBucketCommand({ Bucket: 'half' }));
    const namespace = namespaceOf((await cluster.run<'buckets'>({ command: 'get_buckets' })).buckets.find((b) => b.name === 'half')!);
    // 12 MiB of a declared 20 MiB, then nothing: the gateway stores two 5 MiB chunks and waits for more.
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= 12 * MiB) return;
        sent += MiB;
        this.push(Buffer.alloc(MiB, sent / MiB));
      },
    });
    const upload = s3.send(new PutObjectCommand({ Bucket: 'half', Key: 'killed', Body: body, ContentLength: 20 * MiB })).catch(() => 'failed');
    const dirs = cluster.storage.map((node) => cluster.dataDir(node.name.split('@')[0]!));
    const chunksEverywhere = async (): Promise<number> => (await Promise.all(dirs.map((dir) => liveChunksOf(dir, namespace, 'killed')))).reduce((a, b) => a + b, 0);
    await eventually(async () => (await chunksEverywhere()) >= 2 * 3, 60_000, 'two chunks stored on three replicas');
    await cluster.gateways[0]!.kill('SIGKILL');
    expect(await upload).to.equal('failed');
    await eventually(async () => (await chunksEverywhere()) === 0, 60_000, 'the orphan chunks swept');
    // Removed by the sweep, not by anything else: each of the two chunks is logged as an orphan removed.
    const swept = (): number => cluster.storage.flatMap((node) => node.lines.filter((line) => line.msg === 'removed an orphan' && String(line.key).startsWith('killed\n'))).length;
    await eventually(() => swept() >= 2, 10_000, 'the sweep logged both chunks');
  });
});
