/**
 * Faults with real processes: a manager, three storage nodes (N=3, W=2, R=2, D=2) and a gateway, under
 * S3 load from four clients, while storage nodes are SIGKILLed and restarted one at a time, twenty
 * times. Everything the clients saw is checked by the history checker, and the replicas must converge
 * once the faults stop. The schedule comes from a seed (LEOFS_FAULT_SEED, default 7).
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { ProcessCluster } from '../support/process-cluster.js';
import { DATA_KEYS, everyReplicaAgrees, S3Load } from '../support/s3-load.js';
import { randomInt, seededRandom } from '../unit/core/seeded-random.js';

const BUCKET = 'faults';
const CYCLES = 20;
const CLIENTS = 4;
const SEED = Number(process.env.LEOFS_FAULT_SEED ?? 7);

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe(`faults with real processes: ${CYCLES} SIGKILL/restart cycles under S3 load (N=3, W=2, R=2, D=2, seed ${SEED})`, function () {
  this.timeout(300_000);
  const cluster = new ProcessCluster({ storageNodes: 3, gateways: 1, settings: { n: 3, w: 2, r: 2, d: 2 } });

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  it('loses no acknowledged write, undoes no delete, never goes back in time, lets one writer take each lock, and converges', async () => {
    const clients = Array.from({ length: CLIENTS + 1 }, () => cluster.client(0, undefined, 15_000));
    await clients[0]!.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const random = seededRandom(SEED);
    const load = new S3Load(clients, BUCKET, SEED);
    load.start();
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      load.lockKey = `lock-${cycle}`;
      await pause(200 + randomInt(random, 400));
      const victim = cluster.storage[randomInt(random, cluster.storage.length)]!;
      await victim.kill('SIGKILL');
      await pause(200 + randomInt(random, 600));
      await victim.start();
    }
    await pause(500);
    await load.stop();
    expect(load.acknowledgedWrites(), 'the load made progress through the faults').to.be.above(100);

    // Once the faults stop, every replica of every key holds the same version, and what a client reads
    // then still fits the history.
    const keys = [...DATA_KEYS, ...Array.from({ length: CYCLES }, (_, cycle) => `lock-${cycle}`)];
    await everyReplicaAgrees(cluster.admin, BUCKET, keys);
    for (const key of keys) await load.read(0, key);
    const problems = load.history.check();
    expect(problems, problems.slice(0, 20).join('\n')).to.deep.equal([]);
  });
});
