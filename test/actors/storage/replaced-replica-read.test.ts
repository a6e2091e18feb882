/**
 * A read that meets an unsettled version written under an earlier ring (in-process cluster, N=3, W=2):
 * one of the replicas the write went to has since been replaced by a node that holds only the version
 * before. That node lacks the version without telling whether its write was acknowledged, and the
 * replica it replaced, which took the write, is not asked: the version may have been acknowledged and
 * is not set aside for the one before.
 */
import { expect } from 'chai';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import type { RingDocument } from '../../../src/core/ring/ring-document.js';
import { routerOf, type ReplicaPutReply, type RouterMessage } from '../../../src/protocol/cluster/storage.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'replaced';
const KEY = 'k';

describe('a read of a version written before one of its replicas was replaced (in-process cluster, N=3, W=2)', function () {
  this.timeout(60_000);
  // A write taken longer ago than the replica timeout is no longer in flight: its coordinator has given up.
  const REPLICA_TIMEOUT_MS = 1_000;
  const cluster = new StorageCluster(4, { n: 3, w: 2, r: 2, d: 2, rackAware: false }, () => ({ tuning: { replicaTimeoutMs: REPLICA_TIMEOUT_MS } }));

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  function install(doc: RingDocument): void {
    cluster.doc = doc;
    for (const node of cluster.nodes) if (node.node) node.ringView.install(doc);
    cluster.clientRing.install(doc);
  }

  async function put(node: string, meta: ObjectMeta, body: string, keepPrevious: boolean): Promise<void> {
    const reply = await cluster.clientNode.system.ask<RouterMessage, ReplicaPutReply>(routerOf(node), (replyTo) => ({ type: 'replica_put', objectKind: 'object', meta, body: Buffer.from(body), keepPrevious, replyTo }), 5_000);
    expect(reply).to.include({ ok: true, applied: true });
  }

  it('is read as the newest version, not the one before', async () => {
    const [s0, s1, s2, s3] = cluster.nodes.map((node) => node.name) as [string, string, string, string];
    const members = cluster.doc.current;
    const memberOf = (name: string) => members.find((member) => member.node === name)!;
    install({ ...cluster.doc, epoch: 2, current: [s0, s1, s2].map(memberOf) });
    const address = { kind: 'object' as const, bucket: BUCKET, key: KEY };
    const before = Buffer.from('before');
    expect((await cluster.client.put('object', objectFields(BUCKET, KEY, before), before)).ok).to.equal(true);
    await eventually(() => [s0, s1, s2].every((name) => cluster.node(name).role!.context.store.getMeta(address) !== undefined && !cluster.node(name).role!.context.store.hasUnsettledWrites()), 10_000, 'the first write settled');
    const first = cluster.node(s0).role!.context.store.getMeta(address)!;

    // Taken by two replicas of three, whose coordinator died before it settled them: it may have been acknowledged.
    const clock = { wallMs: first.clock.wallMs + 1_000, counter: 0, node: s0 };
    const latest: ObjectMeta = { ...objectFields(BUCKET, KEY, 'latest'), clock, lastModifiedMs: clock.wallMs, ringChecksum: cluster.clientRing.current!.checksum, deleted: false };
    await put(s0, latest, 'latest', true);
    await put(s1, latest, 'latest', true);

    // s1 is lost; s3 takes its place under its alias, with the version before (as a hand-off would give it).
    await cluster.stopNode(s1);
    install({ ...cluster.doc, epoch: 3, current: [memberOf(s0), { ...memberOf(s3), alias: memberOf(s1).alias }, memberOf(s2)] });
    await put(s3, first, 'before', false);
    await new Promise((resolve) => setTimeout(resolve, REPLICA_TIMEOUT_MS + 200));

    const read = await cluster.client.get('object', BUCKET, KEY, { withBody: true });
    expect(read.ok ? Buffer.from(read.body ?? []).toString() : read.code).to.equal('latest');
  });
});
