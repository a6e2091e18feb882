/**
 * A rebalance's receiver and a key whose old holder keeps two unsettled writes, one over the other,
 * neither acknowledged (their coordinators died short of their quorum). The settled version beneath
 * them both, which the other old holders hold, is what the receiver must have: once it has it, the key
 * is done after the wait for unsettled writes, and the receiver ends its part of the rebalance.
 */
import { expect } from 'chai';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { buildRing, preferenceList, type RingMember } from '../../../src/core/ring/ring.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import { handoffRef } from '../../../src/protocol/cluster/handoff.js';
import { routerOf, type ReplicaPutReply, type RouterMessage } from '../../../src/protocol/cluster/storage.js';
import { ask } from '../../../src/runtime/typed-ask.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'chained';
const N = 3;
const WAIT_MS = 1_000;

describe('the rebalance hand-off and writes left unsettled one over another', function () {
  this.timeout(60_000);

  const cluster = new StorageCluster(5, { n: N, w: 2, r: 2, d: 2, rackAware: false }, () => ({ tuning: { handoffUnsettledWaitMs: WAIT_MS } }));

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  const holdersIn = (members: readonly RingMember[], key: string): readonly string[] => preferenceList(buildRing(members, { rackAware: false }), keyPosition(BUCKET, key), N);
  const stateOf = async (node: string): Promise<string> => {
    const reply = await ask(cluster.clientNode.system, handoffRef(node), { type: 'status' }, 5_000);
    return reply.ok ? reply.state : reply.code;
  };

  /** A write as a coordinator that died leaves it on `holder` alone: unsettled, over what the holder had. */
  async function unsettledOn(holder: string, key: string, body: string, wallMs: number): Promise<void> {
    const clock = { wallMs, counter: 0, node: holder };
    const meta: ObjectMeta = { ...objectFields(BUCKET, key, body), clock, lastModifiedMs: wallMs, ringChecksum: cluster.clientRing.current!.checksum, deleted: false };
    const reply = await cluster.clientNode.system.ask<RouterMessage, ReplicaPutReply>(routerOf(holder), (replyTo) => ({ type: 'replica_put', objectKind: 'object', meta, body: Buffer.from(body), keepPrevious: true, replyTo }), 5_000);
    expect(reply).to.include({ ok: true, applied: true });
  }

  it('ends once the receiver holds the settled version beneath them, and leaves readers that version', async () => {
    const all = cluster.doc.current;
    const leaving = all[0]!.node;
    const without = all.filter((member) => member.node !== leaving);
    const key = Array.from({ length: 500 }, (_, i) => `chain-${i}`).find((candidate) => holdersIn(all, candidate).includes(leaving))!;
    const oldHolders = holdersIn(all, key);
    const receiver = holdersIn(without, key).find((node) => !oldHolders.includes(node))!;
    const chained = oldHolders.find((node) => node !== leaving)!;
    const body = Buffer.from('acknowledged');
    expect((await cluster.client.put('object', objectFields(BUCKET, key, body), body)).ok).to.equal(true);
    await eventually(() => oldHolders.every((node) => !cluster.node(node).role!.context.store.hasUnsettledWrites()), 10_000, 'the write settled everywhere');
    const address = { kind: 'object' as const, bucket: BUCKET, key };
    const acknowledged = cluster.node(chained).role!.context.store.getMeta(address)!.clock;
    const now = Date.now();
    await unsettledOn(chained, key, 'first failed write', now + 1_000);
    await unsettledOn(chained, key, 'second failed write', now + 2_000);
    const unsettled = cluster.node(chained).role!.context.store.unsettledWrite(address, { wallMs: now + 2_000, counter: 0, node: chained });
    expect(unsettled, 'the old holder tells what the two writes stand over').to.deep.include({ previousUnsettled: true, settledBeneath: acknowledged });

    const epoch = cluster.doc.epoch + 1;
    cluster.installRing({ ...cluster.doc, epoch, current: without, previous: all, rebalanceEpoch: epoch });

    await eventually(async () => (await stateOf(receiver)) === 'done', 30_000, 'the receiver done');
    const held = cluster.node(receiver).role!.context.store.getMeta(address);
    expect(held?.etag, 'the receiver holds the acknowledged version').to.equal(objectFields(BUCKET, key, body).etag);
    expect(cluster.node(receiver).role!.context.store.isUnsettled(address, held!.clock)).to.equal(false);
    const read = await cluster.client.get('object', BUCKET, key, { withBody: true });
    expect(read.ok && Buffer.from(read.body ?? []).toString()).to.equal('acknowledged');
  });
});
