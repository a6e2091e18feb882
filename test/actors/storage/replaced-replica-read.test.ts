/**
 * A read that meets an unsettled version written under an earlier ring (in-process cluster, N=3, W=2),
 * one of whose replicas has since been replaced by a node that holds only the version before. That node
 * lacks the version without telling whether its write was acknowledged: the replica it replaced is
 * asked too. Still running, it tells it never took the version, which is set aside; lost, it might have,
 * and a version two replicas took is read as the newest.
 */
import { expect } from 'chai';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import type { RingDocument } from '../../../src/core/ring/ring-document.js';
import { readerRef, type ReaderMessage } from '../../../src/protocol/cluster/reader.js';
import type { GetResult } from '../../../src/protocol/cluster/storage-api.js';
import { routerOf, type ReplicaPutReply, type RouterMessage } from '../../../src/protocol/cluster/storage.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'replaced';

describe('a read of a version written before one of its replicas was replaced (in-process cluster, N=3, W=2)', function () {
  this.timeout(60_000);
  // A write taken longer ago than the replica timeout is no longer in flight: its coordinator has given up.
  const REPLICA_TIMEOUT_MS = 1_000;
  const cluster = new StorageCluster(4, { n: 3, w: 2, r: 2, d: 2, rackAware: false }, () => ({ tuning: { replicaTimeoutMs: REPLICA_TIMEOUT_MS } }));

  let members: RingDocument['current'] = [];

  before(async () => {
    await cluster.start();
    members = cluster.doc.current;
  });
  after(async () => {
    await cluster.stop();
  });


  async function put(node: string, meta: ObjectMeta, body: string, keepPrevious: boolean): Promise<void> {
    const reply = await cluster.clientNode.system.ask<RouterMessage, ReplicaPutReply>(routerOf(node), (replyTo) => ({ type: 'replica_put', objectKind: 'object', meta, body: Buffer.from(body), keepPrevious, replyTo }), 5_000);
    expect(reply).to.include({ ok: true, applied: true });
  }

  let epoch = 1;

  /**
   * `key` written on s0-s2, then `latest` left unsettled on `takenBy` (its coordinator died), then s1
   * replaced by s3 under its alias, s3 given the version before (as a hand-off would give it). With
   * `lost`, s1 is stopped first. Answers what a read then returns.
   */
  async function readAfterReplacement(key: string, takenBy: readonly string[], lost: boolean): Promise<string> {
    const [s0, s1, s2, s3] = cluster.nodes.map((node) => node.name) as [string, string, string, string];
    const memberOf = (name: string) => members.find((member) => member.node === name)!;
    cluster.installRing({ ...cluster.doc, epoch: ++epoch, current: [s0, s1, s2].map(memberOf) });
    const address = { kind: 'object' as const, bucket: BUCKET, key };
    const before = Buffer.from('before');
    expect((await cluster.client.put('object', objectFields(BUCKET, key, before), before)).ok).to.equal(true);
    const settledOn = (name: string): boolean => {
      const store = cluster.node(name).role!.context.store;
      const meta = store.getMeta(address);
      return meta !== undefined && !store.isUnsettled(address, meta.clock);
    };
    await eventually(() => [s0, s1, s2].every(settledOn), 10_000, 'the first write settled');
    const first = cluster.node(s0).role!.context.store.getMeta(address)!;

    const clock = { wallMs: first.clock.wallMs + 1_000, counter: 0, node: s0 };
    const latest: ObjectMeta = { ...objectFields(BUCKET, key, 'latest'), clock, lastModifiedMs: clock.wallMs, ringChecksum: cluster.clientRing.current!.checksum, deleted: false };
    for (const node of takenBy) await put(node, latest, 'latest', true);

    if (lost) await cluster.stopNode(s1);
    cluster.installRing({ ...cluster.doc, epoch: ++epoch, current: [memberOf(s0), { ...memberOf(s3), alias: memberOf(s1).alias }, memberOf(s2)] });
    await put(s3, first, 'before', false);
    await new Promise((resolve) => setTimeout(resolve, REPLICA_TIMEOUT_MS + 200));

    // Read as s0 coordinates it, which asks itself first: the version is always among what it sees.
    const read = await cluster.clientNode.system.ask<ReaderMessage, GetResult>(readerRef(s0), (replyTo) => ({ type: 'get', objectKind: 'object', bucket: BUCKET, key, withBody: true, replyTo }), 10_000);
    return read.ok ? Buffer.from(read.body ?? []).toString() : read.code;
  }

  it('sets a version aside when the replica replaced, still running, tells it never took it', async () => {
    expect(await readAfterReplacement('taken-by-one', [cluster.nodes[0]!.name], false)).to.equal('before');
  });

  it('reads a version two replicas took as the newest, though one of them is lost and its replacement holds the one before', async () => {
    expect(await readAfterReplacement('taken-by-two', [cluster.nodes[0]!.name, cluster.nodes[1]!.name], true)).to.equal('latest');
  });
});
