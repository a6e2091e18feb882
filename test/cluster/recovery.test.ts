/**
 * The recovery and queue commands of leofs-adm against real processes: mq-stats, mq-suspend and
 * mq-resume on a storage node's durable queues; recover-file on an object one replica missed;
 * recover-node on a node whose disk was wiped; recover-consistency and recover-ring; and the errors
 * for wrong queues and nodes.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../support/eventually.js';
import { parallel } from '../../scripts/bench-support/parallel.js';
import { ProcessCluster } from '../support/process-cluster.js';

const BUCKET = 'recovering';

describe('recovery commands with real processes', function () {
  this.timeout(180_000);

  const cluster = new ProcessCluster({ storageNodes: 3, gateways: 1 });

  before(async () => {
    await cluster.start();
    await cluster.client(0).send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await cluster.stop();
  });

  it('shows, holds and releases a node\'s queues, and refuses an unknown queue', async () => {
    const node = cluster.storage[0]!.name;
    const stats = await cluster.adm('mq-stats', node);
    expect(stats.code, stats.stderr).to.equal(0);
    expect(stats.stdout).to.match(/repair\s+\|\s+(idling|running)/);
    expect(stats.stdout).to.include('[Anti-entropy]');
    // The two refusals change nothing, so they run alongside the hold.
    const [held, wrong, unknown] = await Promise.all([cluster.adm('mq-suspend', node, 'repair'), cluster.adm('mq-suspend', node, 'nonsense'), cluster.adm('mq-stats', 'storage_9@127.0.0.1')]);
    expect(held.code, held.stderr).to.equal(0);
    expect(held.stdout).to.match(/repair\s+\|\s+suspended/);
    expect(held.stdout).to.match(/revert\s+\|\s+(idling|running)/);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.include('UnknownQueue');
    const resumed = await cluster.adm('mq-resume', node);
    expect(resumed.stdout).to.not.include('suspended');
    expect(unknown.code).to.not.equal(0);
  });

  it('recover-file brings a replica that missed a write up to date', async () => {
    const s3 = cluster.client(0, cluster.credentials, 20_000);
    const down = await cluster.killStorage(2);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'missed', Body: 'written while a replica was down' }));
    // Nothing else repairs it meanwhile: the other nodes' repair queues are held.
    for (const held of await Promise.all(cluster.storage.slice(0, 2).map((node) => cluster.adm('mq-suspend', node.name, 'repair')))) expect(held.code).to.equal(0);
    await down.start();
    await down.waitFor((line) => line.msg === 'ring loaded from local state' || line.msg === 'ring installed', 20_000);
    for (const resumed of await Promise.all(cluster.storage.slice(0, 2).map((node) => cluster.adm('mq-resume', node.name, 'repair')))) expect(resumed.code).to.equal(0);
    const [recovered, bad] = await Promise.all([cluster.adm('recover-file', `${BUCKET}/missed`), cluster.adm('recover-file', 'no-slash')]);
    expect(recovered.code, recovered.stderr).to.equal(0);
    expect(recovered.stdout).to.match(/object\s+\|\s+missed/);
    await eventually(async () => {
      const where = await cluster.run<'whereis'>({ command: 'whereis', bucket: BUCKET, key: 'missed' });
      const clocks = where.replicas.map((row) => (row.answer.ok && row.answer.exists ? row.answer.clock : 'missing'));
      return where.replicas.length === 3 && new Set(clocks).size === 1 && !clocks.includes('missing');
    }, 30_000, 'every replica holds the object');
    expect(bad.code).to.equal(1);
  });

  it('recover-node refills a node whose disk was wiped; recover-consistency and recover-ring answer', async () => {
    const s3 = cluster.client(0, cluster.credentials, 20_000);
    await parallel(Array.from({ length: 60 }, (_, i) => i), 8, async (i) => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `w/${i}`, Body: `body ${i}` }));
    });
    const wiped = cluster.storage[1]!;
    await wiped.kill('SIGKILL');
    rmSync(join(cluster.dataDir('storage_1'), 'objects'), { recursive: true, force: true });
    await wiped.start();
    await wiped.waitFor((line) => line.msg === 'ring loaded from local state' || line.msg === 'ring installed', 20_000);
    // --watch draws the peers' progress until every range shared with the wiped node was compared (the
    // peers may have refilled it already: a node back up is compared with first).
    const recovered = await cluster.adm('recover-node', wiped.name, '--watch');
    expect(recovered.code, recovered.stderr).to.equal(0);
    expect(recovered.stdout).to.match(/2 node\(s\) compare their shared ranges/);
    expect(recovered.stdout).to.match(/refill storage_1@127\.0\.0\.1/);
    const status = await cluster.run<'recovery_status'>({ command: 'recovery_status' });
    const refills = status.nodes.filter(({ recovery }) => recovery?.kind === 'node');
    expect(refills.map(({ node }) => node).sort()).to.deep.equal(cluster.storage.filter((node) => node !== wiped).map((node) => node.name).sort());
    for (const { node, recovery } of refills) {
      expect(recovery!.finished, node).to.equal(true);
      expect(recovery!.ranges, node).to.be.greaterThan(0);
      expect(recovery!.rangesDone + recovery!.rangesSkipped, node).to.equal(recovery!.ranges);
    }
    expect(recovered.stdout).to.match(/\[#{20}\] \d+\/\d+/);
    await eventually(async () => (await cluster.run<'disk_usage'>({ command: 'du', node: wiped.name })).objects >= 61, 60_000, 'wiped node refilled');
    for (let i = 0; i < 60; i += 7) {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `w/${i}` }));
      expect(await got.Body!.transformToString()).to.equal(`body ${i}`);
    }
    // A gateway's ring and a refused recover-node meddle with no storage node's pass: all three at once.
    const [consistency, ring, notInRing] = await Promise.all([
      cluster.adm('recover-consistency', wiped.name, '--watch'),
      cluster.adm('recover-ring', cluster.gateways[0]!.name),
      cluster.adm('recover-node', cluster.gateways[0]!.name),
    ]);
    expect(consistency.code, consistency.stderr).to.equal(0);
    expect(consistency.stdout).to.include('compares all of its');
    expect(consistency.stdout).to.match(/storage_1@127\.0\.0\.1 +\| full pass +\| \[#{20}\] (\d+)\/\1 /);
    expect(ring.code, ring.stderr).to.equal(0);
    expect(ring.stdout).to.match(/holds ring epoch \d+/);
    expect(notInRing.code).to.equal(1);
    expect(notInRing.stderr).to.include('not in the ring');
  });
});
