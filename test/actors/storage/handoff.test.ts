/**
 * A rebalance's hand-off between in-process storage nodes: when a node leaves the ring and when it joins
 * again, every receiver pulls what the new ring gives it, the bytes moved stay within 1.25 times the
 * theoretical minimum for the two rings (each object's size times the holders its new preference list
 * adds), and every object reads back afterwards.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { rebalanceIdOf } from '../../../src/core/ring/ring-document.js';
import { buildRing, preferenceList, type RingMember } from '../../../src/core/ring/ring.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import { handoffRef, type HandoffStatus } from '../../../src/protocol/cluster/handoff.js';
import { routerOf, type ReplicaPutReply, type RouterMessage } from '../../../src/protocol/cluster/storage.js';
import { ask } from '../../../src/runtime/typed-ask.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'moving';
const N = 3;
const OBJECTS = 240;

/** Mostly small bodies, which travel many to a request; every 40th is large enough to be pulled alone. */
function bodyOf(i: number): Buffer {
  const size = i % 40 === 0 ? 150_000 + i : 512 + ((i * 7919) % 24_000);
  return Buffer.alloc(size, createHash('md5').update(`object-${i}`).digest('hex'));
}

describe('the rebalance hand-off between storage nodes', function () {
  this.timeout(120_000);

  const cluster = new StorageCluster(5, { n: N, w: 2, r: 2, d: 2, rackAware: false }, () => ({ tuning: { releaseGraceMs: 1_000 } }));
  let epoch = 1;

  before(async () => {
    await cluster.start();
    for (let i = 0; i < OBJECTS; i++) {
      const body = bodyOf(i);
      const put = await cluster.client.put('object', objectFields(BUCKET, `o/${i}`, body), body);
      expect(put.ok, `put o/${i}`).to.equal(true);
    }
  });
  after(async () => {
    await cluster.stop();
  });

  function minimumBytes(previous: readonly RingMember[], current: readonly RingMember[]): number {
    const before = buildRing(previous, { rackAware: false });
    const after = buildRing(current, { rackAware: false });
    let bytes = 0;
    for (let i = 0; i < OBJECTS; i++) {
      const position = keyPosition(BUCKET, `o/${i}`);
      const old = preferenceList(before, position, N);
      const added = preferenceList(after, position, N).filter((node) => !old.includes(node));
      bytes += bodyOf(i).length * added.length;
    }
    return bytes;
  }

  /** Moves the cluster to `current` and waits until every receiver is done; answers the bytes they moved. */
  async function rebalanceTo(current: readonly RingMember[]): Promise<number> {
    const previous = cluster.doc.current;
    epoch++;
    cluster.installRing({ ...cluster.doc, epoch, current, previous, rebalanceEpoch: epoch });
    const receivers = current.map((member) => member.node);
    const statuses = new Map<string, HandoffStatus>();
    await eventually(async () => {
      for (const node of receivers) {
        const reply = await ask(cluster.clientNode.system, handoffRef(node), { type: 'status' }, 5_000);
        if (reply.ok) statuses.set(node, reply);
      }
      return receivers.every((node) => ['done', 'idle'].includes(statuses.get(node)?.state ?? ''));
    }, 60_000, 'every receiver done');
    // What a receiver tells done is durable: restarted now, it would fetch none of it again.
    for (const [node, status] of statuses) {
      if (status.state !== 'done') continue;
      const receiver = cluster.node(node);
      const recorded = receiver.role!.context.store.handoff.load(rebalanceIdOf(receiver.ringView.current));
      expect(status.segmentsDone, `${node}: segments told done`).to.equal(status.segments);
      expect(recorded.done, `${node}: segments recorded done`).to.have.length(status.segments);
    }
    epoch++;
    const { rebalanceEpoch: _began, ...settled } = cluster.doc;
    cluster.installRing({ ...settled, epoch, previous: null });
    // Once the rebalance is over, each receiver still tells what it took in, until the next one.
    for (const [node, received] of statuses) {
      await eventually(async () => {
        const reply = await ask(cluster.clientNode.system, handoffRef(node), { type: 'status' }, 5_000);
        return reply.ok && reply.state === 'idle' && reply.objects === received.objects && reply.bytes === received.bytes && reply.segments === 0;
      }, 10_000, `${node} idle with its totals kept`);
    }
    return [...statuses.values()].reduce((sum, status) => sum + status.bytes, 0);
  }

  async function everyObjectReadsBack(): Promise<void> {
    for (let i = 0; i < OBJECTS; i++) {
      const got = await cluster.client.get('object', BUCKET, `o/${i}`, { withBody: true });
      expect(got.ok && Buffer.from(got.body ?? []).equals(bodyOf(i)), `o/${i}`).to.equal(true);
    }
  }

  /** Makes every node's progress saves slow, as on a busy disk, until the returned function is called. */
  function slowProgressSaves(delayMs: number): () => void {
    const restores = cluster.nodes.map((node) => {
      const progress = node.role!.context.store.handoff;
      const save = progress.save;
      progress.save = async (record) => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return save.call(progress, record);
      };
      return () => {
        progress.save = save;
      };
    });
    return () => restores.forEach((restore) => restore());
  }

  it('moves within 1.25 times the minimum when a node leaves', async () => {
    const all = cluster.doc.current;
    const without = all.filter((member) => member.node !== 'storage_4@127.0.0.1');
    const minimum = minimumBytes(all, without);
    // A receiver tells it is done only once its progress is saved, however slow the saves.
    const restoreSaves = slowProgressSaves(400);
    const moved = await rebalanceTo(without).finally(restoreSaves);
    expect(minimum).to.be.greaterThan(0);
    expect(moved / minimum, `moved ${moved} bytes for a minimum of ${minimum}`).to.be.within(1, 1.25);
    await everyObjectReadsBack();
  });

  it('moves within 1.25 times the minimum when a node joins (after it dropped what it held)', async () => {
    const leaving = cluster.node('storage_4@127.0.0.1');
    await eventually(() => leaving.role!.context.store.scanRange('0'.repeat(32), '0'.repeat(32)).next().done === true, 30_000, 'the node that left dropped its data');
    const all = cluster.nodes.map((node, i) => ({ node: node.name, alias: `storage_${i}`, numOfVnodes: 32 }));
    const minimum = minimumBytes(cluster.doc.current, all);
    const moved = await rebalanceTo(all);
    expect(moved / minimum, `moved ${moved} bytes for a minimum of ${minimum}`).to.be.within(1, 1.25);
    await everyObjectReadsBack();
  });

  it('judges a delete still unsettled on the old holders as a read would: taken if its quorum may have been met, the object beneath it if not', async () => {
    const all = cluster.doc.current;
    const ringNow = buildRing(all, { rackAware: false });
    const holdersOf = (key: string): readonly string[] => preferenceList(ringNow, keyPosition(BUCKET, key), N);
    // Both keys lose a holder to the same departure, and each gains a holder of its own that holds nothing of it.
    const acknowledged = 'deleted-while-moving';
    const leaving = holdersOf(acknowledged)[0]!;
    const without = all.filter((member) => member.node !== leaving);
    const receiverOf = (key: string): string => preferenceList(buildRing(without, { rackAware: false }), keyPosition(BUCKET, key), N).find((node) => !holdersOf(key).includes(node))!;
    const neverAcknowledged = Array.from({ length: 500 }, (_, i) => `delete-short-of-quorum-${i}`).find((key) => holdersOf(key).includes(leaving) && receiverOf(key) !== receiverOf(acknowledged))!;
    const body = Buffer.from('an object being deleted');
    for (const key of [acknowledged, neverAcknowledged]) expect((await cluster.client.put('object', objectFields(BUCKET, key, body), body)).ok, key).to.equal(true);
    // Deletes as a coordinator that died leaves them, unsettled: one on every holder (it may have been
    // acknowledged), one on a single holder (two are needed: it never was).
    const leaveUnsettledDelete = async (key: string, on: readonly string[]): Promise<void> => {
      const clock = { wallMs: Date.now() + 1_000, counter: 0, node: on[0]! };
      const tombstone: ObjectMeta = { ...objectFields(BUCKET, key, ''), clock, lastModifiedMs: clock.wallMs, ringChecksum: cluster.clientRing.current!.checksum, deleted: true };
      for (const holder of on) {
        const reply = await cluster.clientNode.system.ask<RouterMessage, ReplicaPutReply>(routerOf(holder), (replyTo) => ({ type: 'replica_put', objectKind: 'object', meta: tombstone, keepPrevious: true, replyTo }), 5_000);
        expect(reply).to.include({ ok: true, applied: true });
      }
    };
    await leaveUnsettledDelete(acknowledged, holdersOf(acknowledged));
    await leaveUnsettledDelete(neverAcknowledged, [holdersOf(neverAcknowledged).find((node) => node !== leaving)!]);
    epoch++;
    cluster.installRing({ ...cluster.doc, epoch, current: without, previous: all, rebalanceEpoch: epoch });
    const held = (key: string) => cluster.node(receiverOf(key)).role!.context.store.getMeta({ kind: 'object', bucket: BUCKET, key });
    const stateOf = async (node: string): Promise<string> => {
      const reply = await ask(cluster.clientNode.system, handoffRef(node), { type: 'status' }, 5_000);
      return reply.ok ? reply.state : reply.code;
    };
    // The delete that may have been acknowledged is taken at once, and its receiver is done without
    // waiting for it to settle (it never will).
    await eventually(async () => (await stateOf(receiverOf(acknowledged))) === 'done', 20_000, 'the receiver of the acknowledged delete done');
    expect(held(acknowledged)?.deleted, 'the delete that may have been acknowledged').to.equal(true);
    // Of the other, the object beneath is taken, and its receiver waits a while for the delete to settle.
    await eventually(() => held(neverAcknowledged)?.deleted === false, 20_000, 'the object beneath the delete that never was taken');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await stateOf(receiverOf(neverAcknowledged)), 'waiting for the delete that never was').to.not.be.oneOf(['done', 'idle']);
    const reads = await Promise.all([acknowledged, neverAcknowledged].map((key) => cluster.client.get('object', BUCKET, key, { withBody: true })));
    expect(reads.map((read) => (read.ok ? 'found' : read.code))).to.deep.equal(['NotFound', 'found']);
  });
});
