/**
 * Conditional writes through a real cluster: a manager, three storage nodes (N=3, W=2, R=2, D=2) and
 * two gateways, each its own process, driven by the AWS SDK. Writers that race on one key through
 * both gateways must see exactly one winner, with every replica up and with one killed.
 */
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { eventually } from '../support/eventually.js';
import { ProcessCluster } from '../support/process-cluster.js';
import { scaled } from '../support/test-scale.js';

const BUCKET = 'locks';

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

describe('conditional writes through two gateways (real processes, N=3, W=2, R=2, D=2)', function () {
  this.timeout(300_000);
  // R=2 so that the read after each round meets a replica that applied the winner (R + W > N).
  const cluster = new ProcessCluster({ storageNodes: 3, gateways: 2, settings: { n: 3, w: 2, r: 2, d: 2 } });
  let clients: S3Client[];

  before(async () => {
    await cluster.start();
    clients = [cluster.client(0), cluster.client(1)];
    await clients[0]!.send(new CreateBucketCommand({ Bucket: BUCKET }));
    // The second gateway learns of the bucket from the manager.
    await eventually(async () => {
      try {
        await clients[1]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'probe', Body: 'p' }));
        return true;
      } catch {
        return false;
      }
    }, 20_000, 'the bucket on the second gateway');
  });
  after(async () => {
    await cluster.stop();
  });

  /** A client taking a lock: a conflict (409) or an unavailable cluster (503) is retried, 200 and 412 are answers. */
  async function takeLock(client: S3Client, key: string, body: string): Promise<'won' | 'lost'> {
    for (let attempt = 0; attempt < 30; attempt++) {
      try {
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, IfNoneMatch: '*' }));
        return 'won';
      } catch (error) {
        const status = statusOf(error);
        if (status === 412) return 'lost';
        if (status !== 409 && status !== 503) throw error;
        await new Promise((resolve) => setTimeout(resolve, 5 + attempt * 5));
      }
    }
    throw new Error(`${key}: no answer after 30 attempts`);
  }

  async function read(key: string): Promise<string> {
    const got = await clients[0]!.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return got.Body!.transformToString();
  }

  async function rounds(count: number, prefix: string): Promise<void> {
    for (let round = 0; round < count; round++) {
      const key = `${prefix}-${round}`;
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, writer) => takeLock(clients[writer % 2]!, key, `holder ${writer}`)));
      const winners = outcomes.flatMap((outcome, writer) => (outcome === 'won' ? [writer] : []));
      expect(winners, `${key}: ${outcomes.join(', ')}`).to.have.length(1);
      expect(await read(key), key).to.equal(`holder ${winners[0]}`);
    }
  }

  const LOCK_ROUNDS = scaled(200, 60);

  it(`gives a lock to exactly one of eight writers racing through both gateways, in every one of ${LOCK_ROUNDS} rounds`, async () => {
    await rounds(LOCK_ROUNDS, 'lock');
  });

  it('deletes only the version If-Match names, and answers 404 for a key that is gone', async () => {
    const first = await clients[0]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'state', Body: 'v1' }));
    const stale = await clients[1]!.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'state', IfMatch: '"00000000000000000000000000000000"' })).catch(statusOf);
    expect(stale).to.equal(412);
    await clients[1]!.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'state', IfMatch: first.ETag }));
    const gone = await clients[0]!.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'state', IfMatch: first.ETag })).catch(statusOf);
    expect(gone).to.equal(404);
  });

  it('still gives each lock to exactly one writer with a storage node killed', async () => {
    await cluster.storage[2]!.kill('SIGKILL');
    await rounds(30, 'degraded');
  });
});
