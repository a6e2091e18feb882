/**
 * Network partitions between storage nodes, made with network namespaces: a manager and a gateway in
 * the test's namespace, three storage nodes (N=3, W=2, R=2, D=2) each in its own, under S3 load from
 * four clients while pairs of storage nodes are cut apart and healed. Checked by the history checker;
 * the replicas must converge once every partition is healed. Skipped, saying why, where the machine
 * cannot make namespaces. The schedule comes from a seed (LEOFS_FAULT_SEED, default 7).
 */
import { expect } from 'chai';
import { networkLabOrSkip, type NetworkLab } from '../support/network-lab.js';
import { ProcessCluster } from '../support/process-cluster.js';
import { pause, runUnderFaults } from '../support/s3-load.js';
import { randomInt } from '../unit/core/seeded-random.js';

const BUCKET = 'partitions';
const CYCLES = 10;
const CLIENTS = 4;
const SEED = Number(process.env.LEOFS_FAULT_SEED ?? 7);

describe(`partitions between storage nodes in network namespaces: ${CYCLES} cycles under S3 load (N=3, W=2, R=2, D=2, seed ${SEED})`, function () {
  this.timeout(300_000);
  let lab: NetworkLab | undefined;
  let cluster: ProcessCluster | undefined;

  before(async function () {
    lab = networkLabOrSkip(this, 3);
    const nodes = lab;
    cluster = new ProcessCluster({
      storageNodes: 3,
      gateways: 1,
      settings: { n: 3, w: 2, r: 2, d: 2 },
      host: nodes.hostAddress,
      storageHost: (index) => nodes.nodeAddress(index),
      storageLauncher: (index) => ['ip', 'netns', 'exec', nodes.namespace(index)],
    });
    await cluster.start();
  });
  after(async () => {
    await cluster?.stop();
    lab?.destroy();
  });

  it('loses no acknowledged write, undoes no delete, never goes back in time, lets one writer take each lock, and converges', async () => {
    const nodes = lab!;
    const { acknowledged, problems } = await runUnderFaults({
      clients: Array.from({ length: CLIENTS + 1 }, () => cluster!.client(0, undefined, 15_000)),
      admin: cluster!.admin,
      bucket: BUCKET,
      seed: SEED,
      rounds: CYCLES,
      fault: async (_round, random) => {
        const cut = randomInt(random, 3);
        // One pair apart, or one node apart from both others.
        const others = [0, 1, 2].filter((node) => node !== cut);
        const apart = random() < 0.5 ? others : [others[randomInt(random, 2)]!];
        for (const other of apart) nodes.partition(cut, other);
        await pause(500 + randomInt(random, 1500));
        nodes.healAll();
      },
    });
    expect(acknowledged, 'the load made progress through the partitions').to.be.above(100);
    expect(problems, problems.slice(0, 20).join('\n')).to.deep.equal([]);
  });
});
