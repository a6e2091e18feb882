/**
 * Every acknowledged write survives the loss of power: objects small, mid-sized (kept in body files)
 * and chunked are written through S3, and the moment the last one is acknowledged every storage node
 * and the gateway are SIGKILLed at once; after a restart everything reads back byte for byte.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { ProcessCluster } from '../support/process-cluster.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function md5(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex');
}

describe('durability with real processes (N=3, W=2)', function () {
  this.timeout(180_000);

  // Bodies are sent over the transport here, as they are to a gateway on another machine.
  const cluster = new ProcessCluster({ storageNodes: 3, gateways: 1, gatewaySettings: { sameMachineReads: false } });

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  it('keeps every acknowledged object when every node is killed right after the acknowledgements', async () => {
    const s3 = cluster.client(0);
    await s3.send(new CreateBucketCommand({ Bucket: 'power' }));
    const sizes = [...Array.from({ length: 30 }, () => 4 * KiB), ...Array.from({ length: 10 }, () => 300 * KiB), ...Array.from({ length: 3 }, () => 11 * MiB + 7)];
    const objects = sizes.map((size, i) => ({ key: `object-${i}`, body: randomBytes(size) }));
    await Promise.all(objects.map(({ key, body }) => s3.send(new PutObjectCommand({ Bucket: 'power', Key: key, Body: body }))));
    await Promise.all([...cluster.storage, ...cluster.gateways].map((node) => node.kill('SIGKILL')));

    await Promise.all(cluster.storage.map((node) => node.start()));
    const gateway = cluster.gateways[0]!;
    const from = gateway.lines.length;
    await gateway.start();
    const listening = await gateway.waitFor((line) => line.msg === 'S3 API listening', 15_000, from);
    await gateway.waitFor((line) => line.msg === 'ring installed' || line.msg === 'ring loaded from local state', 15_000, from);
    cluster.endpoints[0] = `http://127.0.0.1:${String(listening.httpPort)}`;
    const again = cluster.client(0);
    for (const { key, body } of objects) {
      // Writes whose settles died with the nodes are judged on the first reads: while the replicas that
      // can tell are still reconnecting, such a read answers 503, which clients retry.
      let bytes: Buffer | undefined;
      for (let attempt = 1; bytes === undefined; attempt++) {
        try {
          const got = await again.send(new GetObjectCommand({ Bucket: 'power', Key: key }));
          bytes = Buffer.from(await got.Body!.transformToByteArray());
        } catch (error) {
          if ((error as Error).name !== 'ServiceUnavailable' || attempt >= 10) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      expect(md5(bytes), key).to.equal(md5(body));
    }
  });
});
