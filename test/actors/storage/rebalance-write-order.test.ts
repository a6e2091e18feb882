/**
 * Writes during a rebalance (in-process cluster, N=3, W=2, D=2): the ring moves from storage_0-2 to
 * storage_1-3, and storage_3's hand-off is done before an earlier delete, stamped by a clock running
 * ahead, lands on storage_0 and storage_2 only. A client's next write, coordinated by storage_1 while
 * storage_2 is down, is then taken by storage_1 and storage_3, neither of which holds the delete: it
 * must still be ordered after it, from what the previous ring's replicas hold, or refused. A conditional
 * write is judged by those versions too.
 */
import { expect } from 'chai';
import { compareHlc, tick, type Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import type { WriteCondition } from '../../../src/core/write-condition.js';
import type { RingSnapshot } from '../../../src/core/ring/ring-document.js';
import type { RingMember } from '../../../src/core/ring/ring.js';
import { handoffRef } from '../../../src/protocol/cluster/handoff.js';
import { replicatorRef, type ReplicatorMessage } from '../../../src/protocol/cluster/replicator.js';
import type { DeleteResult, PutResult } from '../../../src/protocol/cluster/storage-api.js';
import type { RuntimeFailure } from '../../../src/runtime/failures.js';
import { ask } from '../../../src/runtime/typed-ask.js';
import { applyReplicaWrite } from '../../../src/actors/storage/replica-ops.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'moving';
const AHEAD_MS = 60_000;

describe('writes while a rebalance moves their key', function () {
  this.timeout(60_000);
  let cluster: StorageCluster;
  let epoch = 1;

  const name = (index: number): string => cluster.nodes[index]!.name;
  const members = (indexes: readonly number[]): RingMember[] => indexes.map((i) => ({ node: name(i), alias: `storage_${i}`, numOfVnodes: 32 }));

  /** Four nodes, the ring moving from storage_0-2 to storage_1-3, storage_3 done receiving. */
  async function moving(quorums: { w: number; d: number } = { w: 2, d: 2 }): Promise<void> {
    cluster = new StorageCluster(4, { n: 3, r: 2, ...quorums, rackAware: false });
    await cluster.start();
    cluster.installRing({ ...cluster.doc, epoch: ++epoch, current: members([0, 1, 2]), previous: null });
    const before = cluster.doc.current;
    cluster.installRing({ ...cluster.doc, epoch: ++epoch, current: members([1, 2, 3]), previous: before, rebalanceEpoch: epoch });
    await eventually(async () => {
      const status = await ask(cluster.clientNode.system, handoffRef(name(3)), { type: 'status' }, 5_000);
      return status.ok && status.state === 'done';
    }, 20_000, 'storage_3 done receiving');
  }

  afterEach(async () => {
    await cluster?.stop();
  });

  /**
   * A version acknowledged under the previous ring by storage_0 and storage_2, stamped a minute ahead:
   * a delete, or else a write of `body`.
   */
  async function earlierVersion(key: string, body?: string): Promise<Hlc> {
    const previousRing = cluster.clientRing.current as RingSnapshot;
    const clock = tick(undefined, Date.now() + AHEAD_MS, name(0));
    const fields = body === undefined ? { ...objectFields(BUCKET, key, ''), etag: '', contentType: '' } : objectFields(BUCKET, key, body);
    const meta: ObjectMeta = { ...fields, deleted: body === undefined, clock, lastModifiedMs: clock.wallMs, ringChecksum: previousRing.previous!.checksum };
    for (const index of [0, 2]) {
      const reply = await applyReplicaWrite(cluster.nodes[index]!.role!.context, { objectKind: 'object', meta, keepPrevious: false, ...(body === undefined ? {} : { body: Buffer.from(body) }) });
      expect(reply).to.include({ ok: true, applied: true });
    }
    return clock;
  }

  function putThroughStorage1(key: string, body: string, condition?: WriteCondition): Promise<PutResult | RuntimeFailure> {
    return cluster.clientNode.system.askWhenWritable<ReplicatorMessage, PutResult>(
      replicatorRef(name(1)),
      (replyTo) => ({ type: 'put', objectKind: 'object', fields: objectFields(BUCKET, key, body), body: Buffer.from(body), ...(condition ? { condition } : {}), replyTo }),
      20_000,
      body.length,
    );
  }

  it('stamps a write above what the previous ring holds of its key, though its own quorum holds none of it', async () => {
    await moving();
    const deleted = await earlierVersion('k');
    await cluster.stopNode(name(2));
    const put = await putThroughStorage1('k', 'after the delete');
    expect(put.ok, JSON.stringify(put)).to.equal(true);
    const written = (put as Extract<PutResult, { ok: true }>).meta.clock;
    expect(compareHlc(written, deleted), 'the write is ordered after the delete').to.be.greaterThan(0);
    for (const index of [1, 3]) {
      expect(cluster.nodes[index]!.role!.context.store.getMeta({ kind: 'object', bucket: BUCKET, key: 'k' })?.clock).to.deep.equal(written);
    }
  });

  it('stamps a delete above what the previous ring holds of its key', async () => {
    await moving();
    const written = await earlierVersion('k', 'written ahead');
    await cluster.stopNode(name(2));
    const deleted = await cluster.clientNode.system.ask<ReplicatorMessage, DeleteResult>(
      replicatorRef(name(1)), (replyTo) => ({ type: 'delete', objectKind: 'object', bucket: BUCKET, key: 'k', replyTo }), 20_000,
    );
    expect(deleted.ok, JSON.stringify(deleted)).to.equal(true);
    for (const index of [1, 3]) {
      const held = cluster.nodes[index]!.role!.context.store.getMeta({ kind: 'object', bucket: BUCKET, key: 'k' });
      expect(held?.deleted, `storage_${index} holds the delete`).to.equal(true);
      expect(compareHlc(held!.clock, written), 'the delete is ordered after the write').to.be.greaterThan(0);
    }
  });

  it('takes writes with W=N while a previous replica is down: one of the previous replicas is enough then', async () => {
    await moving({ w: 3, d: 3 });
    await cluster.stopNode(name(0));
    const put = await putThroughStorage1('k', 'all three');
    expect(put.ok, JSON.stringify(put)).to.equal(true);
  });

  it('judges a conditional write by what the previous ring holds of its key', async () => {
    await moving();
    await earlierVersion('k', 'taken');
    await cluster.stopNode(name(2));
    const put = await putThroughStorage1('k', 'mine', { ifNoneMatch: '*' });
    expect(put).to.include({ ok: false, code: 'PreconditionFailed' });
  });

  it('refuses the write when fewer of the previous replicas answer than its quorum', async () => {
    await moving();
    await earlierVersion('k');
    await cluster.stopNode(name(2));
    await cluster.stopNode(name(0));
    const put = await putThroughStorage1('k', 'unordered');
    expect(put).to.include({ ok: false, code: 'Unavailable' });
    for (const index of [1, 3]) expect(cluster.nodes[index]!.role!.context.store.getMeta({ kind: 'object', bucket: BUCKET, key: 'k' })).to.equal(undefined);
  });
});
