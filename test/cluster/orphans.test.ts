/**
 * Orphans in a real cluster: an upload whose gateway is killed midway leaves chunks that no record
 * names; the storage nodes' sweep removes them once they are older than `orphanAgeMs`.
 */
import { PutObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { open } from 'lmdb';
import { namespaceOf } from '../../src/core/bucket-namespace.js';
import { eventually } from '../support/eventually.js';
import { ProcessCluster } from '../support/process-cluster.js';

const MiB = 1024 * 1024;

/** Live (not deleted) chunk records of `key` in `namespace` on one storage node, read from its files. */
async function liveChunksOf(dataDir: string, namespace: string, key: string): Promise<number> {
  const root = open({ path: join(dataDir, 'objects'), maxDbs: 12, readOnly: true });
  try {
    const meta = root.openDB({ name: 'meta', keyEncoding: 'binary' });
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

describe('orphan sweep with real processes', function () {
  this.timeout(120_000);

  const cluster = new ProcessCluster({ storageNodes: 3, gateways: 1, storageSettings: { orphanAgeMs: 1_000, sweepPauseMs: 200 } });

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
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
