/**
 * Automatic compaction in an in-process cluster: a node whose LMDB file a compaction would shrink by
 * the configured share compacts by itself, says so in compact-status, and keeps every record; a node
 * whose file would not shrink enough, or whose compaction is suspended, does not.
 */
import { expect } from 'chai';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { routerOf, type CompactionReply, type RouterMessage } from '../../../src/protocol/cluster/storage.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';
import type { StorageOptions } from '../../../src/actors/storage/storage-context.js';
import { eventually, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'logs~0123456789abcdef';
const NODE = 'storage_0@127.0.0.1';

describe('storage automatic compaction (in-process cluster)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster | undefined;

  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  async function start(tuning: Partial<StorageOptions>): Promise<StorageCluster> {
    cluster = new StorageCluster(1, { n: 1, w: 1, r: 1, d: 1, rackAware: false }, () => ({ tuning }));
    await cluster.start();
    return cluster;
  }

  const address = (i: number): ObjectAddress => ({ kind: 'object', bucket: BUCKET, key: `k${String((i * 7919) % 20_000).padStart(6, '0')}` });
  const meta = (at: ObjectAddress, wallMs: number, deleted = false): ObjectMeta => ({
    bucket: at.bucket, key: at.key, sizeBytes: 100, etag: 'e', contentType: '', userMeta: {},
    clock: { wallMs, counter: 0, node: NODE }, lastModifiedMs: wallMs, ringChecksum: 1, deleted,
  });

  /** Writes 20,000 keys in scattered order with 100-byte bodies, then deletes the bodies of most. */
  async function churn(running: StorageCluster, deleteEvery: number): Promise<void> {
    const store = running.node(NODE).role!.context.store;
    for (let from = 0; from < 20_000; from += 2_000) {
      await Promise.all(Array.from({ length: 2_000 }, (_, j) => store.apply({ address: address(from + j), meta: meta(address(from + j), 1), body: Buffer.alloc(100, j % 256), keepPrevious: false })));
    }
    const deletes = Array.from({ length: 20_000 }, (_, i) => i).filter((i) => i % deleteEvery !== 0);
    await Promise.all(deletes.map((i) => store.apply({ address: address(i), meta: meta(address(i), 2, true), keepPrevious: false })));
  }

  async function status(running: StorageCluster): Promise<CompactionReply> {
    const reply = await running.clientNode.system.ask<RouterMessage, CompactionReply>(routerOf(NODE), (replyTo) => ({ type: 'compaction', action: 'status', replyTo }), 5_000);
    if (!('state' in reply)) throw new Error(`no compaction status: ${JSON.stringify(reply)}`);
    return reply;
  }

  it('compacts a node by itself once its writes settle and a compaction would give back enough of its file', async () => {
    const running = await start({ autoCompactionIntervalMs: 100, autoCompactionMinFileBytes: 0, autoCompactionMinReclaimPercent: 25 });
    await churn(running, 10);
    const churnedAtMs = Date.now();
    await eventually(async () => {
      const reply = await status(running);
      return reply.ok && reply.state === 'idle' && reply.trigger === 'automatic' && (reply.lastStartedAtMs ?? 0) >= churnedAtMs && reply.last !== undefined;
    }, 30_000, 'an automatic compaction begun after the writes finished');
    const reply = await status(running);
    if (!reply.ok) throw new Error('no status');
    expect(reply.last!.afterBytes).to.be.below(reply.last!.beforeBytes * 0.75);
    expect(reply.lastOutlook!.compactedBytes, 'the look foresaw about what the compaction left').to.be.within(reply.last!.afterBytes * 0.8, reply.last!.afterBytes * 1.25);
    const store = running.node(NODE).role!.context.store;
    expect(store.getMeta(address(0))?.deleted).to.equal(false);
    expect(store.getMeta(address(1))?.deleted).to.equal(true);
    expect((await store.readBody(address(10), { wallMs: 1, counter: 0, node: NODE }) as Buffer).equals(Buffer.alloc(100, 10 % 256))).to.equal(true);
    // Nothing changed since: it does not look again, let alone compact again.
    const finished = reply.lastFinishedAtMs;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const later = await status(running);
    expect(later.ok && later.lastFinishedAtMs).to.equal(finished);
  });

  it('leaves a node alone when a compaction would give back too little, or is suspended', async () => {
    const running = await start({ autoCompactionIntervalMs: 100, autoCompactionMinFileBytes: 0, autoCompactionMinReclaimPercent: 90 });
    await churn(running, 10);
    await eventually(async () => {
      const reply = await status(running);
      return reply.ok && reply.lastOutlook !== undefined;
    }, 30_000, 'a look at the store');
    let reply = await status(running);
    expect(reply.ok && reply.lastStartedAtMs).to.equal(undefined);

    await cluster!.stop();
    const suspended = await start({ autoCompactionIntervalMs: 100, autoCompactionMinFileBytes: 0, autoCompactionMinReclaimPercent: 25 });
    const suspendReply = await suspended.clientNode.system.ask<RouterMessage, CompactionReply>(routerOf(NODE), (replyTo) => ({ type: 'compaction', action: 'suspend', replyTo }), 5_000);
    expect(suspendReply).to.include({ ok: true, state: 'suspended' });
    await churn(suspended, 10);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    reply = await status(suspended);
    expect(reply).to.include({ ok: true, state: 'suspended' });
    expect(reply.ok && reply.lastStartedAtMs).to.equal(undefined);
  });
});
