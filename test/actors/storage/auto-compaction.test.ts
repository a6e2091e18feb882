/**
 * Automatic compaction in an in-process cluster: a node whose LMDB file a compaction would shrink by
 * the configured share compacts by itself once its writes have settled, says so in compact-status, and
 * keeps every record; a node whose file would not shrink enough, or whose compaction is suspended,
 * does not. The checks are sent by the test (the nodes' own come only once an hour), so that what a
 * check sees does not depend on how fast the machine writes (beyond the time between two checks, which
 * scales the move a settled store may make when they come less than a minute apart).
 */
import { expect } from 'chai';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { actorRef } from '../../../src/runtime/refs.js';
import { COMPACTOR_PATH, routerOf, type CompactionAction, type CompactionReply, type CompactorMessage, type RouterMessage } from '../../../src/protocol/cluster/storage.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';
import { eventually, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'logs~0123456789abcdef';
const NODE = 'storage_0@127.0.0.1';
type Status = Extract<CompactionReply, { ok: true }>;

describe('storage automatic compaction (in-process cluster)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster | undefined;

  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  async function start(minReclaimPercent: number): Promise<StorageCluster> {
    const tuning = { autoCompactionIntervalMs: 3_600_000, autoCompactionMinFileBytes: 0, autoCompactionMinReclaimPercent: minReclaimPercent };
    cluster = new StorageCluster(1, { n: 1, w: 1, r: 1, d: 1, rackAware: false }, () => ({ tuning }));
    await cluster.start();
    return cluster;
  }

  const address = (i: number): ObjectAddress => ({ kind: 'object', bucket: BUCKET, key: `k${String((i * 7919) % 20_000).padStart(6, '0')}` });
  const meta = (at: ObjectAddress, wallMs: number, deleted = false): ObjectMeta => ({
    bucket: at.bucket, key: at.key, sizeBytes: 100, etag: 'e', contentType: '', userMeta: {},
    clock: { wallMs, counter: 0, node: NODE }, lastModifiedMs: wallMs, ringChecksum: 1, deleted,
  });

  /** Writes 20,000 keys in scattered order with 100-byte bodies, then deletes all but every tenth. */
  async function churn(running: StorageCluster): Promise<void> {
    const store = running.node(NODE).role!.context.store;
    for (let from = 0; from < 20_000; from += 2_000) {
      await Promise.all(Array.from({ length: 2_000 }, (_, j) => store.apply({ address: address(from + j), meta: meta(address(from + j), 1), body: Buffer.alloc(100, (from + j) % 256), keepPrevious: false })));
    }
    const deletes = Array.from({ length: 20_000 }, (_, i) => i).filter((i) => i % 10 !== 0);
    await Promise.all(deletes.map((i) => store.apply({ address: address(i), meta: meta(address(i), 2, true), keepPrevious: false })));
  }

  /** One of the checks the node's timer would make. */
  const check = (running: StorageCluster): void => running.node(NODE).node!.system.dispatch(actorRef<CompactorMessage>(NODE, COMPACTOR_PATH), { type: 'auto_check' });

  async function compaction(running: StorageCluster, action: CompactionAction): Promise<Status> {
    const reply = await running.clientNode.system.ask<RouterMessage, CompactionReply>(routerOf(NODE), (replyTo) => ({ type: 'compaction', action, replyTo }), 5_000);
    if (!reply.ok || !('state' in reply)) throw new Error(`compaction ${action} answered ${JSON.stringify(reply)}`);
    return reply;
  }

  it('compacts a node by itself once its writes have settled and a compaction would give back enough of its file', async () => {
    const running = await start(25);
    await churn(running);
    check(running);
    // Its answer comes after the check, which the compactor's mailbox took first: the writes below come after it.
    await compaction(running, 'status');
    const store = running.node(NODE).role!.context.store;
    // A few writes since the first check, a third of a hundredth of the records (each key has a record in
    // two tables; the churn left about 60,000): checks a moment apart ask for much less movement than that
    // (checks 20 s apart would allow it), so the second does not find the store settled, and does not look.
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.apply({ address: { kind: 'object', bucket: BUCKET, key: `late/${i}` }, meta: meta({ kind: 'object', bucket: BUCKET, key: `late/${i}` }, 3), keepPrevious: false })));
    check(running);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await compaction(running, 'status')).lastOutlook, 'no look while writes came in').to.equal(undefined);

    // Checks go on until one finds the store settled: a check that finds the node busy does nothing.
    await eventually(async () => {
      check(running);
      const status = await compaction(running, 'status');
      return status.state === 'idle' && status.trigger === 'automatic' && status.last !== undefined;
    }, 30_000, 'an automatic compaction finished');
    const status = await compaction(running, 'status');
    expect(status.last!.afterBytes).to.be.below(status.last!.beforeBytes * 0.75);
    expect(status.lastOutlook!.compactedBytes, 'the look foresaw about what the compaction left').to.be.within(status.last!.afterBytes * 0.8, status.last!.afterBytes * 1.25);
    expect(store.getMeta(address(0))?.deleted).to.equal(false);
    expect(store.getMeta(address(1))?.deleted).to.equal(true);
    expect((await store.readBody(address(10), { wallMs: 1, counter: 0, node: NODE }) as Buffer).equals(Buffer.alloc(100, 10 % 256))).to.equal(true);

    // Nothing changed since: it does not compact again. (It may look once more: the file can grow by a
    // tenth right after the switch to the compacted copy, which the look takes for a change.)
    for (let n = 0; n < 3; n++) check(running);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const later = await compaction(running, 'status');
    expect(later.lastFinishedAtMs).to.equal(status.lastFinishedAtMs);
    if (later.lastOutlook!.atMs !== status.lastOutlook!.atMs) {
      expect(later.lastOutlook!.compactedBytes, 'a look again finds little to give back').to.be.at.least(later.lastOutlook!.fileBytes * 0.75);
    }
  });

  it('leaves a node alone when a compaction would give back too little', async () => {
    const running = await start(90);
    await churn(running);
    check(running);
    await eventually(async () => {
      check(running);
      return (await compaction(running, 'status')).lastOutlook !== undefined;
    }, 30_000, 'a look at the store');
    const status = await compaction(running, 'status');
    expect(status.lastOutlook!.compactedBytes).to.be.below(status.lastOutlook!.fileBytes);
    expect(status.lastStartedAtMs).to.equal(undefined);
  });

  it('neither looks nor compacts while compaction is suspended, and a resume is the operator\'s', async () => {
    const running = await start(25);
    expect(await compaction(running, 'suspend')).to.include({ state: 'suspended' });
    await churn(running);
    check(running);
    check(running);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const suspended = await compaction(running, 'status');
    expect(suspended).to.include({ state: 'suspended' });
    expect(suspended.lastOutlook).to.equal(undefined);
    expect(suspended.lastStartedAtMs).to.equal(undefined);
    expect(await compaction(running, 'resume')).to.include({ state: 'running', trigger: 'operator' });
    await eventually(async () => (await compaction(running, 'status')).state === 'idle', 30_000, 'the resumed compaction finished');
  });
});
