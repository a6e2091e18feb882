/**
 * Clock faults (in-process cluster, N=3, W=2, R=1, D=2): one storage node's clock runs ten minutes
 * ahead. A client's write and the write or delete it makes after it, coordinated by different nodes,
 * must end in the second one everywhere, however their clocks compare.
 */
import { expect } from 'chai';
import { tick, type Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { preferenceList } from '../../../src/core/ring/ring.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import { replicatorRef, type ReplicatorMessage } from '../../../src/protocol/cluster/replicator.js';
import type { DeleteResult, ObjectFields, PutResult } from '../../../src/protocol/cluster/storage-api.js';
import { routerOf, type ReplicaPutReply, type RouterMessage } from '../../../src/protocol/cluster/storage.js';
import { systemClock, type Clock } from '../../../src/runtime/clock.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'skew';
const AHEAD_MS = 10 * 60_000;

const aheadClock: Clock = { ...systemClock, now: () => Date.now() + AHEAD_MS };

const fields = (key: string, body: string): ObjectFields => objectFields(BUCKET, key, body);

describe('clock skew (in-process cluster, one node ten minutes ahead)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster;

  before(async () => {
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false }, (index) => (index === 0 ? { clock: aheadClock } : {}));
    await cluster.start();
  });
  after(async () => {
    await cluster?.stop();
  });

  const ahead = (): string => cluster.nodes[0]!.name;
  /** A key whose replicas are the fast node and two others, in that order. */
  function keyLedByFastNode(prefix: string): { key: string; others: string[] } {
    for (let i = 0; ; i++) {
      const key = `${prefix}-${i}`;
      const replicas = preferenceList(cluster.clientRing.current!.current, keyPosition(BUCKET, key), 3);
      if (replicas[0] === ahead()) return { key, others: replicas.slice(1) };
    }
  }

  /**
   * The first write as its coordinator on the fast node made it: stamped ten minutes ahead, acknowledged
   * by the fast node and one other, its copy on the third replica still on its way.
   */
  async function firstWrite(key: string, body: string, takenBy: readonly string[]): Promise<Hlc> {
    const clock = tick(undefined, Date.now() + AHEAD_MS, ahead());
    const meta: ObjectMeta = { ...fields(key, body), clock, lastModifiedMs: clock.wallMs, ringChecksum: cluster.clientRing.current!.checksum, deleted: false };
    for (const node of takenBy) {
      const reply = await cluster.clientNode.system.ask<RouterMessage, ReplicaPutReply>(
        routerOf(node),
        (replyTo) => ({ type: 'replica_put', objectKind: 'object', meta, body: Buffer.from(body), keepPrevious: false, replyTo }),
        5_000,
      );
      expect(reply).to.include({ ok: true, applied: true });
    }
    return clock;
  }

  async function everyReplicaHolds(key: string, expected: { etag: string } | 'tombstone'): Promise<void> {
    await eventually(() => cluster.nodes.every((node) => {
      const meta = node.role!.context.store.getMeta({ kind: 'object', bucket: BUCKET, key });
      return expected === 'tombstone' ? meta?.deleted === true : meta?.etag === expected.etag && !meta.deleted;
    }), 10_000, `${key} converged on ${JSON.stringify(expected)}`);
  }

  it('keeps the later of two writes when the earlier was stamped by a clock running ahead', async () => {
    const { key, others } = keyLedByFastNode('put');
    const [acked, late] = others as [string, string];
    await firstWrite(key, 'first', [ahead(), acked]);
    // The client's next write goes through the replica that has not seen the first.
    const second = await cluster.clientNode.system.askWhenWritable<ReplicatorMessage, PutResult>(
      replicatorRef(late), (replyTo) => ({ type: 'put', objectKind: 'object', fields: fields(key, 'second'), body: Buffer.from('second'), replyTo }), 10_000, 6,
    );
    expect(second.ok, JSON.stringify(second)).to.equal(true);
    await everyReplicaHolds(key, fields(key, 'second'));
    const got = await cluster.client.get('object', BUCKET, key, { withBody: true });
    expect(got.ok && Buffer.from(got.body ?? []).toString()).to.equal('second');
  });

  it('never brings back a key deleted after a write stamped by a clock running ahead', async () => {
    const { key, others } = keyLedByFastNode('del');
    const [acked, late] = others as [string, string];
    await firstWrite(key, 'doomed', [ahead(), acked]);
    const deleted = await cluster.clientNode.system.ask<ReplicatorMessage, DeleteResult>(
      replicatorRef(late), (replyTo) => ({ type: 'delete', objectKind: 'object', bucket: BUCKET, key, replyTo }), 10_000,
    );
    expect(deleted.ok, JSON.stringify(deleted)).to.equal(true);
    await everyReplicaHolds(key, 'tombstone');
    expect(await cluster.client.get('object', BUCKET, key)).to.include({ ok: false, code: 'NotFound' });
  });

  it('orders writes coordinated by the fast node after what the others wrote before', async () => {
    const { key, others } = keyLedByFastNode('order');
    for (const [index, coordinator] of [others[0]!, ahead(), others[1]!, ahead(), others[0]!].entries()) {
      const body = `v${index}`;
      const put = await cluster.clientNode.system.askWhenWritable<ReplicatorMessage, PutResult>(
        replicatorRef(coordinator), (replyTo) => ({ type: 'put', objectKind: 'object', fields: fields(key, body), body: Buffer.from(body), replyTo }), 10_000, body.length,
      );
      expect(put.ok, JSON.stringify(put)).to.equal(true);
    }
    await everyReplicaHolds(key, fields(key, 'v4'));
  });
});
