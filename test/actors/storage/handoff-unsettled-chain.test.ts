/**
 * A rebalance's receiver and a key whose old holder keeps two unsettled writes, one over the other.
 * When neither can have been acknowledged (their coordinators died short of their quorum), the settled
 * version beneath them both, which the other old holders hold, is what the receiver must have. When the
 * one in the middle reached a quorum, the receiver must have that one. Once it has what it needs, the
 * key is done after the wait for unsettled writes, and the receiver ends its part of the rebalance.
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

  let cluster: StorageCluster;

  beforeEach(async () => {
    cluster = new StorageCluster(5, { n: N, w: 2, r: 2, d: 2, rackAware: false }, () => ({ tuning: { handoffUnsettledWaitMs: WAIT_MS } }));
    await cluster.start();
  });
  afterEach(async () => {
    await cluster.stop();
  });

  const holdersIn = (members: readonly RingMember[], key: string): readonly string[] => preferenceList(buildRing(members, { rackAware: false }), keyPosition(BUCKET, key), N);
  const stateOf = async (node: string): Promise<string> => {
    const reply = await ask(cluster.clientNode.system, handoffRef(node), { type: 'status' }, 5_000);
    return reply.ok ? reply.state : reply.code;
  };

  /** A write of `coordinator`'s as it leaves it on `holder` when it dies: unsettled, over what the holder had. */
  async function unsettledOn(holder: string, key: string, body: string, wallMs: number, coordinator = holder): Promise<void> {
    const clock = { wallMs, counter: 0, node: coordinator };
    const meta: ObjectMeta = { ...objectFields(BUCKET, key, body), clock, lastModifiedMs: wallMs, ringChecksum: cluster.clientRing.current!.checksum, deleted: false };
    const reply = await cluster.clientNode.system.ask<RouterMessage, ReplicaPutReply>(routerOf(holder), (replyTo) => ({ type: 'replica_put', objectKind: 'object', meta, body: Buffer.from(body), keepPrevious: true, replyTo }), 5_000);
    expect(reply).to.include({ ok: true, applied: true });
  }

  /** A key the ring without `leaving` moves to a node that did not hold it, with its old holders. */
  function movedKey(all: readonly RingMember[], leaving: string, prefix: string): { key: string; oldHolders: readonly string[]; receiver: string } {
    const without = all.filter((member) => member.node !== leaving);
    for (let i = 0; i < 500; i++) {
      const key = `${prefix}-${i}`;
      const oldHolders = holdersIn(all, key);
      const receiver = holdersIn(without, key).find((node) => !oldHolders.includes(node));
      if (oldHolders.includes(leaving) && receiver !== undefined) return { key, oldHolders, receiver };
    }
    throw new Error(`no key under ${prefix} moves away from ${leaving}`);
  }

  /** Writes `body` to `key` through the client and waits until every old holder has settled it. */
  async function settledWrite(key: string, body: Buffer, oldHolders: readonly string[]): Promise<void> {
    expect((await cluster.client.put('object', objectFields(BUCKET, key, body), body)).ok).to.equal(true);
    await eventually(() => oldHolders.every((node) => !cluster.node(node).role!.context.store.hasUnsettledWrites()), 10_000, 'the write settled everywhere');
  }

  /** Starts the rebalance of every member of `all` but `leaving`. */
  function rebalanceWithout(all: readonly RingMember[], leaving: string): void {
    const epoch = cluster.doc.epoch + 1;
    cluster.installRing({ ...cluster.doc, epoch, current: all.filter((member) => member.node !== leaving), previous: all, rebalanceEpoch: epoch });
  }

  it('ends once the receiver holds the settled version beneath them, and leaves readers that version', async () => {
    const all = cluster.doc.current;
    const leaving = all[0]!.node;
    const { key, oldHolders, receiver } = movedKey(all, leaving, 'chain');
    const chained = oldHolders.find((node) => node !== leaving)!;
    const body = Buffer.from('acknowledged');
    await settledWrite(key, body, oldHolders);
    const address = { kind: 'object' as const, bucket: BUCKET, key };
    const acknowledged = cluster.node(chained).role!.context.store.getMeta(address)!.clock;
    const now = Date.now();
    await unsettledOn(chained, key, 'first failed write', now + 1_000);
    await unsettledOn(chained, key, 'second failed write', now + 2_000);
    const unsettled = cluster.node(chained).role!.context.store.unsettledWrite(address, { wallMs: now + 2_000, counter: 0, node: chained });
    expect(unsettled, 'the old holder tells what the two writes stand over').to.deep.include({ previousUnsettled: true, settledBeneath: acknowledged });

    rebalanceWithout(all, leaving);

    await eventually(async () => (await stateOf(receiver)) === 'done', 30_000, 'the receiver done');
    const held = cluster.node(receiver).role!.context.store.getMeta(address);
    expect(held?.etag, 'the receiver holds the acknowledged version').to.equal(objectFields(BUCKET, key, body).etag);
    expect(cluster.node(receiver).role!.context.store.isUnsettled(address, held!.clock)).to.equal(false);
    const read = await cluster.client.get('object', BUCKET, key, { withBody: true });
    expect(read.ok && Buffer.from(read.body ?? []).toString()).to.equal('acknowledged');
  });

  it('takes the version in the middle when enough replicas show it to have been possibly acknowledged', async () => {
    const all = cluster.doc.current;
    const leaving = all[0]!.node;
    const { key, oldHolders, receiver } = movedKey(all, leaving, 'middle');
    const chained = oldHolders.find((node) => node !== leaving)!;
    const body = Buffer.from('settled');
    await settledWrite(key, body, oldHolders);
    const now = Date.now();
    // Every old holder took the first write, so its coordinator may have answered before it died. A
    // replica shows only its newest version: the two without the second write are what vouch for it.
    for (const holder of oldHolders) await unsettledOn(holder, key, 'on a quorum', now + 1_000, chained);
    await unsettledOn(chained, key, 'on one replica', now + 2_000);
    const address = { kind: 'object' as const, bucket: BUCKET, key };
    expect(cluster.node(chained).role!.context.store.unsettledWrite(address, { wallMs: now + 2_000, counter: 0, node: chained })).to.deep.include({ previousUnsettled: true });

    rebalanceWithout(all, leaving);

    await eventually(async () => (await stateOf(receiver)) === 'done', 30_000, 'the receiver done');
    const held = cluster.node(receiver).role!.context.store.getMeta(address);
    expect(held?.etag, 'the receiver holds the version that may have been acknowledged').to.equal(objectFields(BUCKET, key, Buffer.from('on a quorum')).etag);
    expect(held?.clock.wallMs).to.equal(now + 1_000);
  });
});
