/**
 * Faults with real processes: a manager, three storage nodes (N=3, W=2, R=2, D=2) and a gateway, under
 * S3 load from four clients, while storage nodes are SIGKILLed and restarted one at a time, twenty
 * times (ten in `npm test`, twenty in `npm run test:long`). Everything the clients saw is checked by the history checker, and the replicas must converge
 * once the faults stop. The schedule comes from a seed (LEOFS_FAULT_SEED, default 7).
 */
import { expect } from 'chai';
import { ProcessCluster } from '../support/process-cluster.js';
import { pause, runUnderFaults } from '../support/s3-load.js';
import { scaled } from '../support/test-scale.js';
import { randomInt } from '../unit/core/seeded-random.js';

const BUCKET = 'faults';
const CYCLES = scaled(20, 10);
const CLIENTS = 4;
const SEED = Number(process.env.LEOFS_FAULT_SEED ?? 7);

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
    const { acknowledged, problems } = await runUnderFaults({
      clients: Array.from({ length: CLIENTS + 1 }, () => cluster.client(0, undefined, 15_000)),
      admin: cluster.admin,
      bucket: BUCKET,
      seed: SEED,
      rounds: CYCLES,
      fault: async (_round, random) => {
        const victim = cluster.storage[randomInt(random, cluster.storage.length)]!;
        await victim.kill('SIGKILL');
        await pause(200 + randomInt(random, 600));
        await victim.start();
      },
    });
    expect(acknowledged, 'the load made progress through the faults').to.be.above(100);
    expect(problems, problems.slice(0, 20).join('\n')).to.deep.equal([]);
  });
});
