/**
 * The progress a storage node reports of a recovery asked of it (recover-node, recover-consistency):
 * every range counted once, compared or, when no other holder could be reached however often it was
 * tried, skipped; a second recovery asked while one runs joins it.
 */
import { expect } from 'chai';
import { antiEntropyRef, type AntiEntropyControl, type AntiEntropyStats, type RecoveryProgress } from '../../../src/protocol/cluster/anti-entropy.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { eventually, FAST_TUNING, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const TIMEOUT_MS = 10_000;

describe('recovery progress of a storage node', function () {
  this.timeout(60_000);

  // A range that misses a peer is tried again for 0.15 + 0.3 + 0.6 + 1.2 + 2.4 s, and at once when the peer is
  // back: long enough to restart a node.
  const cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false }, () => ({ tuning: { ...FAST_TUNING, recoveryRetryMs: 150 } }));

  before(async () => {
    await cluster.start();
    for (let i = 0; i < 20; i++) {
      const body = `body ${i}`;
      expect((await cluster.client.put('object', objectFields('b', `k/${i}`, body), Buffer.from(body))).ok).to.equal(true);
    }
  });
  after(() => cluster.stop());

  async function control(node: string, type: 'stats' | 'full_pass', peer?: string): Promise<AntiEntropyStats> {
    const reply = await cluster.clientNode.system.ask<AntiEntropyControl, AntiEntropyStats>(
      antiEntropyRef(node),
      (replyTo) => (peer !== undefined ? { type: 'recover_peer', peer, replyTo } : { type, replyTo }),
      TIMEOUT_MS,
    );
    if (isRuntimeFailure(reply)) throw new Error(`${node}: ${reply.message}`);
    return reply;
  }

  async function finished(node: string): Promise<RecoveryProgress> {
    let recovery: RecoveryProgress | undefined;
    await eventually(async () => {
      recovery = (await control(node, 'stats')).recovery;
      return recovery?.finished === true;
    }, 20_000, `${node}'s recovery finishes`);
    return recovery!;
  }

  it('counts every range it compared, and joins a recovery asked for meanwhile', async () => {
    const [first, second] = cluster.nodes.map((node) => node.name) as [string, string];
    const asked = await control(first, 'stats', second);
    expect(asked.recovery).to.include({ kind: 'node', finished: false });
    const joined = await control(first, 'full_pass');
    expect(joined.recovery!.kind).to.equal('consistency');
    const recovery = await finished(first);
    expect(recovery.peers).to.deep.equal([second]);
    // Every range held (each node holds all of them with N=3 on 3 nodes) once for the refill, once for the full pass.
    expect(recovery.ranges).to.equal(2 * asked.rangesHeld);
    expect(recovery.rangesDone).to.equal(recovery.ranges);
    expect(recovery.rangesSkipped).to.equal(0);
  });

  it('answers a recovery request without a peer name BadMessage, and starts nothing', async () => {
    const node = cluster.nodes[0]!.name;
    const before = (await control(node, 'stats')).recovery;
    const reply = await cluster.clientNode.system.ask<AntiEntropyControl, AntiEntropyStats>(antiEntropyRef(node), (replyTo) => ({ type: 'recover_peer', peer: 42 as unknown as string, replyTo }), TIMEOUT_MS);
    expect(reply).to.deep.include({ ok: false, code: 'BadMessage' });
    expect((await control(node, 'stats')).recovery).to.deep.equal(before);
  });

  it('counts ranges with no other holder reachable as skipped, not compared', async () => {
    const [first, second, third] = cluster.nodes.map((node) => node.name) as [string, string, string];
    await cluster.stopNode(second);
    await cluster.stopNode(third);
    await eventually(() => cluster.node(first).role!.context.isKnownDown(second) && cluster.node(first).role!.context.isKnownDown(third), 10_000, 'both peers are known down');
    const asked = await control(first, 'full_pass');
    const recovery = await finished(first);
    expect(recovery.kind).to.equal('consistency');
    expect(recovery.ranges).to.equal(asked.rangesHeld);
    expect(recovery.rangesSkipped).to.equal(recovery.ranges);
    expect(recovery.rangesDone).to.equal(0);
  });

  it('compares a range again with a peer that was down when it was asked, once the peer is back', async () => {
    const [first, second] = cluster.nodes.map((node) => node.name) as [string, string];
    if (!cluster.node(first).role!.context.isKnownDown(second)) await cluster.stopNode(second);
    await eventually(() => cluster.node(first).role!.context.isKnownDown(second), 10_000, 'the peer is known down');
    const asked = await control(first, 'stats', second);
    expect(asked.recovery).to.include({ kind: 'node', finished: false });
    await cluster.restart(second);
    const recovery = await finished(first);
    expect(recovery.peers).to.deep.equal([second]);
    expect(recovery.ranges).to.equal(asked.rangesHeld);
    expect(recovery.rangesSkipped).to.equal(0);
    expect(recovery.rangesDone).to.equal(recovery.ranges);
  });
});
