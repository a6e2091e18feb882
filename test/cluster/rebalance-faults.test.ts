/**
 * A rebalance survives its processes dying, with real processes on loopback: the receiving node, then
 * a sending node, then the manager are SIGKILLed in the middle of one (slowed down by its rate limit)
 * and started again. The receiver resumes from its recorded progress instead of from the start, the
 * rebalance completes, and every object reads back byte-identical from its new replicas.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { HandoffStatus } from '../../src/protocol/cluster/handoff.js';
import { eventually } from '../support/eventually.js';
import { ProcessCluster } from '../support/process-cluster.js';

const BUCKET = 'moving';
const OBJECTS = 300;

function bodyOf(i: number): Buffer {
  return Buffer.alloc(24 * 1024, createHash('md5').update(`object-${i}`).digest('hex'));
}

describe('a rebalance whose processes die midway', function () {
  this.timeout(300_000);

  const cluster = new ProcessCluster({ storageNodes: 3, gateways: 1, storageSettings: { numOfVnodes: 32, releaseGraceMs: 2_000 }, settings: { n: 2, w: 2, r: 1, d: 2 } });

  before(async () => {
    await cluster.start();
    const s3 = cluster.client(0, cluster.credentials, 20_000);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (let i = 0; i < OBJECTS; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `o/${i + j}`, Body: bodyOf(i + j) }))));
    }
  });
  after(async () => {
    await cluster.stop();
  });

  async function receiverStatus(node: string): Promise<HandoffStatus | null> {
    const status = await cluster.run<'rebalance_status'>({ command: 'rebalance_status' });
    return status.receivers.find((receiver) => receiver.node === node)?.status ?? null;
  }

  it('completes after the receiver, a sender and the manager are killed and restarted', async () => {
    const receiver = await cluster.addStorageNode(3);
    await eventually(async () => {
      const status = await cluster.run<'cluster_status'>({ command: 'status' });
      return status.members.some((m) => m.node === receiver.name && m.state === 'attached');
    }, 20_000, 'new node attached');
    // About 0.2 MB/s: the new node's share (some 5 MB) takes long enough to be interrupted.
    const started = await cluster.adm('rebalance', '--rate', '0.2');
    expect(started.code, started.stderr).to.equal(0);

    // The receiver dies with part of its share recorded, and resumes from there.
    let before: HandoffStatus | null = null;
    await eventually(async () => {
      before = await receiverStatus(receiver.name);
      return before !== null && before.segmentsDone >= 3 && before.state !== 'done';
    }, 60_000, 'receiver has made progress');
    await receiver.kill('SIGKILL');
    const restartedFrom = receiver.lines.length;
    await receiver.start();
    const resumed = await receiver.waitFor((line) => line.msg === 'receiving data moved by a rebalance', 20_000, restartedFrom);
    expect(Number(resumed.alreadyDone), 'segments done before the crash are not fetched again').to.be.at.least(before!.segmentsDone);
    let afterRestart: HandoffStatus | null = null;
    await eventually(async () => (afterRestart = await receiverStatus(receiver.name)) !== null && afterRestart.change === before!.change, 20_000, 'restarted receiver answers');
    expect(afterRestart!.objects, 'objects received before the crash are still counted').to.be.at.least(before!.objects - 50);

    // A sender dies and comes back mid-way: the receiver takes from another holder or waits for it.
    expect((await cluster.run<'rebalance_status'>({ command: 'rebalance_status' })).running, 'still moving when the sender dies').to.equal(true);
    expect((await receiverStatus(receiver.name))?.state).to.not.equal('done');
    const sender = cluster.storage[0]!;
    await sender.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await sender.start();

    // The manager dies and comes back: it carries the rebalance on from its stored rings.
    await cluster.manager.kill('SIGKILL');
    await cluster.manager.start();
    await cluster.admin.close();
    cluster.admin = await (await import('../../src/cli/admin-client.js')).openAdminClient({ manager: cluster.manager.address, cookie: cluster.cookie, timeoutMs: 60_000 });
    const midway = await cluster.run<'rebalance_status'>({ command: 'rebalance_status' });
    expect(midway.running, 'the restarted manager still knows the rebalance').to.equal(true);

    // Let it finish at full speed.
    expect((await cluster.adm('rebalance', '--rate', '0')).code).to.equal(0);
    await eventually(async () => !(await cluster.run<'rebalance_status'>({ command: 'rebalance_status' })).running, 120_000, 'rebalance done');
    const done = receiver.lines.find((line) => line.msg === 'received every segment a rebalance moves here');
    expect(done, 'the receiver finished its share').to.not.equal(undefined);

    const s3 = cluster.client(0, cluster.credentials, 20_000);
    for (let i = 0; i < OBJECTS; i++) {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `o/${i}` }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(bodyOf(i)), `o/${i}`).to.equal(true);
    }
    // The end state a rebalance without crashes reaches: every key on both replicas of the new ring, alike.
    for (let i = 0; i < OBJECTS; i++) {
      await eventually(async () => {
        const where = await cluster.run<'whereis'>({ command: 'whereis', bucket: BUCKET, key: `o/${i}` });
        const clocks = new Set(where.replicas.map((row) => (row.answer.ok && row.answer.exists ? row.answer.clock : 'missing')));
        return where.replicas.length === 2 && where.replicas.every((row) => row.ring === 'current') && clocks.size === 1 && !clocks.has('missing');
      }, 30_000, `o/${i} on its 2 replicas`);
    }
  });
});
