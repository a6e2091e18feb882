import { expect } from 'chai';
import { namespaceOf } from '../../../src/core/bucket-namespace.js';
import type { BucketRecord } from '../../../src/core/auth-snapshot.js';
import { versionedChunkKey } from '../../../src/core/chunk-layout.js';
import { ask } from '../../../src/runtime/typed-ask.js';
import { LinkRealms } from '../../../src/runtime/remote/link-realms.js';
import { foreignName } from '../../../src/protocol/cluster/realm-names.js';
import { linkReceiverRef, linkShipperRef, LINK_OFFERED_PATHS, type LinkViewReply } from '../../../src/protocol/cluster/cluster-link.js';
import { linkSyncRef } from '../../../src/protocol/cluster/link-sync.js';
import { addLinkDigests } from '../../../src/core/link-digest.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const SECRET = 'a-link-secret-of-some-length';
const SETTINGS = { n: 2, w: 2, r: 1, d: 2, rackAware: false };

/** The bucket `photos` as each cluster made it: one name, an incarnation of its own. */
const photosIn = (incarnation: string): BucketRecord => ({ name: 'photos', incarnation, owner: 'alice', acl: 'private', createdAtMs: 0 });
const PHOTOS_A = photosIn('aaaaaaaaaaaa0001');
const PHOTOS_B = photosIn('bbbbbbbbbbbb0002');
/** A second bucket on both sides, which a link may leave out. */
const DIARY_A: BucketRecord = { ...photosIn('aaaaaaaaaaaa0003'), name: 'diary' };
const DIARY_B: BucketRecord = { ...photosIn('bbbbbbbbbbbb0004'), name: 'diary' };

/** Whether the managers say the clusters are linked; a test unlinks them for a while. */
let linked = true;
/** The buckets the links ship; undefined: all. */
let onlyBuckets: string[] | undefined;
/** What the managers say now, and what each storage node (by cluster and index) was last told. */
const viewNow = (): string => JSON.stringify([linked, onlyBuckets ?? null]);
const heard = new Map<string, string>();

/** Two in-process clusters of three storage nodes, each with its own cookie, linked both ways. */
function linkedClusters(): { a: StorageCluster; b: StorageCluster } {
  const clusters: Record<'a' | 'b', StorageCluster> = {} as never;
  const viewFrom = (self: 'a' | 'b', index: number): (() => Promise<LinkViewReply>) => {
    const other = self === 'a' ? 'b' : 'a';
    return () => {
      // A node acts on the answer as soon as it has it: before any timer of the test runs again.
      heard.set(`${self}/${index}`, viewNow());
      return Promise.resolve({
        ok: true,
        self: `cluster-${self}`,
        clusters: linked
          ? [{ clusterId: `cluster-${other}`, secret: SECRET, storage: [...clusters[other].addresses()].map(([node, address]) => ({ node, address })), ...(onlyBuckets ? { buckets: onlyBuckets } : {}) }]
          : [],
      });
    };
  };
  for (const self of ['a', 'b'] as const) {
    const buckets = self === 'a' ? [PHOTOS_A, DIARY_A] : [PHOTOS_B, DIARY_B];
    clusters[self] = new StorageCluster(
      3,
      SETTINGS,
      (index) => ({ tuning: { linkSyncPauseMs: 300, linkSyncKeysPerSecond: 10_000, linkSyncStretchKeys: 2 }, buckets: () => Promise.resolve(buckets), links: { realms: new LinkRealms(LINK_OFFERED_PATHS), linkView: viewFrom(self, index) } }),
      'error',
      `cookie-of-${self}`,
    );
  }
  return clusters;
}

describe('shipping writes to a linked cluster (two in-process clusters)', function () {
  this.timeout(90_000);
  let a: StorageCluster;
  let b: StorageCluster;
  const inA = namespaceOf(PHOTOS_A);
  const inB = namespaceOf(PHOTOS_B);

  before(async () => {
    ({ a, b } = linkedClusters());
    await a.start();
    await b.start();
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  /** Waits until every storage node of both clusters has been told what the managers say now. */
  const everyNodeHeard = (): Promise<void> =>
    eventually(() => heard.size === a.nodes.length + b.nodes.length && [...heard.values()].every((view) => view === viewNow()), 10_000, 'every node told of the change');

  const bodyIn = async (cluster: StorageCluster, namespace: string, key: string): Promise<string | undefined> => {
    const read = await cluster.client.get('object', namespace, key, { withBody: true });
    return read.ok ? Buffer.from(read.body ?? new Uint8Array()).toString() : undefined;
  };

  it('ships objects with their clock and tombstones, into the other cluster\'s incarnation of the bucket', async () => {
    const put = await a.client.put('object', objectFields(inA, 'cat.jpg', 'meow'), Buffer.from('meow'));
    expect(put.ok).to.equal(true);
    await a.client.put('object', objectFields(inA, 'dog.jpg', 'woof'), Buffer.from('woof'));
    await eventually(async () => (await bodyIn(b, inB, 'cat.jpg')) === 'meow' && (await bodyIn(b, inB, 'dog.jpg')) === 'woof', 20_000, 'shipped to b');
    const there = await b.client.get('object', inB, 'cat.jpg');
    expect(there.ok && put.ok && there.meta.clock).to.deep.equal(put.ok && put.meta.clock);
    expect(there.ok && there.meta.bucket).to.equal(inB);

    await a.client.delete('object', inA, 'dog.jpg');
    await eventually(async () => (await bodyIn(b, inB, 'dog.jpg')) === undefined, 20_000, 'the delete shipped to b');
  });

  it('ships a chunked object with its chunks, and the later of two writes wins on both sides', async () => {
    const versionId = '0123456789abcdef01234567';
    const parts = ['first chunk ', 'second chunk'];
    for (const [index, part] of parts.entries()) {
      const chunk = await a.client.put('chunk', objectFields(inA, versionedChunkKey('big.bin', versionId, index), part), Buffer.from(part));
      expect(chunk.ok).to.equal(true);
    }
    const whole = parts.join('');
    const parent = await a.client.put('object', {
      ...objectFields(inA, 'big.bin', whole),
      chunks: { chunkSizesBytes: parts.map((part) => part.length), runs: [{ versionId, chunkCount: parts.length }] },
    });
    expect(parent.ok).to.equal(true);
    await eventually(async () => (await b.client.get('object', inB, 'big.bin')).ok, 20_000, 'the parent shipped');
    for (const [index, part] of parts.entries()) {
      const chunk = await b.client.get('chunk', inB, versionedChunkKey('big.bin', versionId, index), { withBody: true });
      expect(chunk.ok && Buffer.from(chunk.body!).toString()).to.equal(part);
    }

    // Written in a first, then in b: b's version is the later one, and both clusters end with it.
    await a.client.put('object', objectFields(inA, 'both.txt', 'from a'), Buffer.from('from a'));
    await eventually(async () => (await bodyIn(b, inB, 'both.txt')) === 'from a', 20_000, 'a\'s write in b');
    await b.client.put('object', objectFields(inB, 'both.txt', 'from b'), Buffer.from('from b'));
    await eventually(async () => (await bodyIn(a, inA, 'both.txt')) === 'from b', 20_000, 'b\'s write in a');
    expect(await bodyIn(b, inB, 'both.txt')).to.equal('from b');
  });

  it('keeps writes queued while the other cluster is away, counts them, and ships them when it is back', async () => {
    for (const node of b.nodes) await node.stop();
    await a.client.put('object', objectFields(inA, 'while-away.txt', 'queued'), Buffer.from('queued'));
    const queued = async (): Promise<number> => {
      let total = 0;
      for (const node of a.nodes) {
        const stats = await ask(a.clientNode.system, linkShipperRef(node.name), { type: 'link_stats' }, 5_000);
        if (stats.ok) total += stats.clusters.find((cluster) => cluster.clusterId === 'cluster-b')?.queued ?? 0;
      }
      return total;
    };
    await eventually(async () => (await queued()) >= 1, 10_000, 'the write counted as queued');
    for (const node of b.nodes) await node.start(b.doc, b.addresses());
    await eventually(async () => (await bodyIn(b, inB, 'while-away.txt')) === 'queued', 40_000, 'shipped once b is back');
    await eventually(async () => (await queued()) === 0, 10_000, 'the queue drained');
  });

  it('finds by comparison what was written before the clusters were linked, and ships it', async () => {
    linked = false;
    await everyNodeHeard();
    await a.client.put('object', objectFields(inA, 'before-the-link.txt', 'early'), Buffer.from('early'));
    await b.client.put('object', objectFields(inB, 'only-in-b.txt', 'b side'), Buffer.from('b side'));
    linked = true;
    await eventually(async () => (await bodyIn(b, inB, 'before-the-link.txt')) === 'early' && (await bodyIn(a, inA, 'only-in-b.txt')) === 'b side', 30_000, 'found and shipped both ways');
    const stats = await ask(a.clientNode.system, linkShipperRef(a.nodes[0]!.name), { type: 'link_stats' }, 5_000);
    expect(stats.ok && stats.clusters[0]!.sync!.passes).to.be.greaterThan(0);
  });

  /**
   * A cluster's digest of every key of `photos`, asked of its own receiver: it folds a few keys per node
   * at a time here, so the bucket goes in stretches, each ending where the receiver says it stopped.
   */
  const digestOf = async (cluster: StorageCluster): Promise<number> => {
    let total = 0;
    let after: string | undefined;
    for (;;) {
      const reply = await ask(cluster.nodes[0]!.node!.system, linkReceiverRef(cluster.nodes[1]!.name), { type: 'link_digest', scope: { bucket: 'photos', ...(after !== undefined ? { after } : {}) } }, 5_000);
      // The receiver folds one digest at a time, and the other cluster's comparison may be asking; a
      // stretch written to while folded comes without a digest.
      if (!reply.ok && reply.code !== 'SlowDown') throw new Error(reply.message);
      if (!reply.ok || reply.digest === null) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      total = addLinkDigests(total, reply.digest);
      if (reply.upTo === undefined) return total;
      after = reply.upTo;
    }
  };

  it('compares by digests: equal once the clusters agree, different while one holds a write the other lacks', async () => {
    await eventually(async () => (await digestOf(a)) === (await digestOf(b)), 20_000, 'equal digests once converged');
    expect(await digestOf(a)).to.not.equal(0);
    linked = false;
    try {
      await everyNodeHeard();
      await b.client.put('object', objectFields(inB, 'b-alone.txt', 'alone'), Buffer.from('alone'));
      // Once the write has settled on its replicas, it counts.
      await eventually(async () => (await digestOf(a)) !== (await digestOf(b)), 5_000, 'different digests');
      // A stretch of keys cut short by a node's limit is compared key by key: no digest.
      const someNode = a.nodes[0]!.node!.system;
      const part = await ask(someNode, linkSyncRef(a.nodes[2]!.name), { type: 'scope_digest', scope: { bucket: 'photos', namespace: inA }, limit: 1 }, 5_000);
      expect(part.ok && part.reached).to.be.a('string');
    } finally {
      linked = true;
    }
    await eventually(async () => (await bodyIn(a, inA, 'b-alone.txt')) === 'alone' && (await digestOf(a)) === (await digestOf(b)), 30_000, 'found by comparison, equal again');
  });

  it('compares a stretch the other cluster holds far more keys of than this one, as far as that cluster folded it', async () => {
    const passesOf = async (cluster: StorageCluster): Promise<{ passes: number; errors: string[] }> => {
      const stats = await Promise.all(cluster.nodes.map((node) => ask(cluster.clientNode.system, linkShipperRef(node.name), { type: 'link_stats' }, 5_000)));
      const clusters = stats.flatMap((reply) => (reply.ok ? reply.clusters : []));
      return { passes: Math.max(0, ...clusters.map((link) => link.sync?.passes ?? 0)), errors: clusters.flatMap((link) => (link.lastError ? [link.lastError] : [])) };
    };
    linked = false;
    const many = Array.from({ length: 40 }, (_, i) => `zz-many-${String(i).padStart(2, '0')}.txt`);
    try {
      await everyNodeHeard();
      // The end of the bucket: a in a holds one key of it, b forty (b's nodes fold 8 keys each at most).
      await a.client.put('object', objectFields(inA, 'zz-a-alone.txt', 'a'), Buffer.from('a'));
      for (const key of many) await b.client.put('object', objectFields(inB, key, key), Buffer.from(key));
    } finally {
      linked = true;
    }
    const before = (await passesOf(a)).passes;
    await eventually(async () => (await bodyIn(b, inB, 'zz-a-alone.txt')) === 'a' && (await bodyIn(a, inA, many[39]!)) === many[39], 30_000, 'both ways');
    await eventually(async () => (await passesOf(a)).passes >= before + 2, 30_000, 'a\'s comparison passes go on');
    expect((await passesOf(a)).errors).to.deep.equal([]);
    await eventually(async () => (await digestOf(a)) === (await digestOf(b)), 20_000, 'equal digests after');
  });

  it('finds by comparison a delete the queues missed, and ships the tombstone', async () => {
    await a.client.put('object', objectFields(inA, 'doomed.txt', 'doomed'), Buffer.from('doomed'));
    await eventually(async () => (await bodyIn(b, inB, 'doomed.txt')) === 'doomed', 20_000, 'shipped to b');
    linked = false;
    try {
      await everyNodeHeard();
      await a.client.delete('object', inA, 'doomed.txt');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await bodyIn(b, inB, 'doomed.txt')).to.equal('doomed');
    } finally {
      linked = true;
    }
    await eventually(async () => (await bodyIn(b, inB, 'doomed.txt')) === undefined, 30_000, 'the delete found by comparison');
    await eventually(async () => (await digestOf(a)) === (await digestOf(b)), 20_000, 'equal digests after');
  });

  it('finds by comparison deletes where a stretch of keys holds nothing but tombstones', async () => {
    const diaryA = namespaceOf(DIARY_A);
    const diaryB = namespaceOf(DIARY_B);
    const keys = ['page-1.txt', 'page-2.txt', 'page-3.txt'];
    for (const key of keys) await a.client.put('object', objectFields(diaryA, key, key), Buffer.from(key));
    await eventually(async () => (await Promise.all(keys.map((key) => bodyIn(b, diaryB, key)))).every((body, i) => body === keys[i]), 20_000, 'shipped to b');
    linked = false;
    try {
      await everyNodeHeard();
      for (const key of keys) await a.client.delete('object', diaryA, key);
    } finally {
      linked = true;
    }
    await eventually(async () => (await Promise.all(keys.map((key) => bodyIn(b, diaryB, key)))).every((body) => body === undefined), 30_000, 'every delete found by comparison');
  });

  it('ships only the buckets a link names, by writes and by comparison alike', async () => {
    const diaryA = namespaceOf(DIARY_A);
    const diaryB = namespaceOf(DIARY_B);
    onlyBuckets = ['photos'];
    try {
      await everyNodeHeard();
      await a.client.put('object', objectFields(diaryA, 'secret.txt', 'dear diary'), Buffer.from('dear diary'));
      await a.client.put('object', objectFields(inA, 'shared.jpg', 'a photo'), Buffer.from('a photo'));
      await eventually(async () => (await bodyIn(b, inB, 'shared.jpg')) === 'a photo', 20_000, 'the photo shipped');
      // Several comparison passes later, the diary is still only in a.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await bodyIn(b, diaryB, 'secret.txt')).to.equal(undefined);
      expect(await bodyIn(a, diaryA, 'secret.txt')).to.equal('dear diary');
    } finally {
      onlyBuckets = undefined;
    }
    await eventually(async () => (await bodyIn(b, diaryB, 'secret.txt')) === 'dear diary', 20_000, 'the diary found by comparison once every bucket is shipped');
  });

  it('refuses malformed shipments and buckets the other cluster does not have', async () => {
    const receiver = foreignName('cluster-b', b.nodes[0]!.name);
    const from = a.nodes[0]!.node!.system;
    const garbage = await ask(from, linkReceiverRef(receiver), { type: 'link_apply', entries: [{ objectKind: 'object', meta: { nonsense: true } } as never] }, 5_000);
    expect(garbage.ok && garbage.results[0]).to.deep.include({ ok: false, code: 'BadRequest' });
    const unknown = await ask(from, linkReceiverRef(receiver), {
      type: 'link_apply',
      entries: [{ objectKind: 'object', meta: { ...objectFields('no-such-bucket', 'k', ''), clock: { wallMs: 1, counter: 0, node: 'x' }, lastModifiedMs: 1, ringChecksum: 0, deleted: false } }],
    }, 5_000);
    expect(unknown.ok && unknown.results[0]).to.deep.include({ ok: false, code: 'NoSuchBucket' });
    const version = (fields: Record<string, unknown>) => ({ ...objectFields('photos', 'k', ''), lastModifiedMs: 1, ringChecksum: 0, deleted: false, clock: { wallMs: Date.now(), counter: 0, node: 'x' }, ...fields });
    const suspect = await ask(from, linkReceiverRef(receiver), {
      type: 'link_apply',
      entries: [
        // Stamped an hour ahead: it would drag this cluster's clocks along.
        { objectKind: 'object', meta: version({ clock: { wallMs: Date.now() + 3_600_000, counter: 0, node: 'x' } }) },
        // A layout whose runs name more chunks than its size table holds.
        { objectKind: 'object', meta: version({ sizeBytes: 10, chunks: { chunkSizesBytes: [10], runs: [{ versionId: '0123456789abcdef01234567', chunkCount: 2 }] } }) },
      ],
    } as never, 5_000);
    expect(suspect.ok && suspect.results.map((result) => !result.ok && result.code)).to.deep.equal(['ClockAhead', 'BadRequest']);
    const badCompare = await ask(from, linkReceiverRef(receiver), { type: 'link_compare', versions: 'all of them' as never }, 5_000);
    expect(badCompare).to.deep.include({ ok: false, code: 'BadRequest' });
    const badDigest = await ask(from, linkReceiverRef(receiver), { type: 'link_digest', scope: { bucket: 'photos', upTo: 42 } as never }, 5_000);
    expect(badDigest).to.deep.include({ ok: false, code: 'BadRequest' });
    // The receiver folds one digest at a time and a's comparison keeps asking: SlowDown means ask again.
    const askNoBucket = () => ask(from, linkReceiverRef(receiver), { type: 'link_digest', scope: { bucket: 'no-such-bucket' } }, 5_000);
    let noBucket: Awaited<ReturnType<typeof askNoBucket>> | undefined;
    await eventually(async () => {
      noBucket = await askNoBucket();
      return noBucket.ok || noBucket.code !== 'SlowDown';
    }, 5_000, 'an answer other than SlowDown');
    expect(noBucket).to.deep.include({ ok: false, code: 'NoSuchBucket' });
    // The nodes' own part of a comparison is not offered to a linked cluster.
    const partThere = await ask(from, linkSyncRef(receiver), { type: 'scope_digest', scope: { bucket: 'photos', namespace: inB }, limit: 10 }, 5_000);
    expect(partThere).to.deep.include({ ok: false, code: 'BadMessage' });
    // Only the receiver is offered to a linked cluster.
    const shipperThere = await ask(from, linkShipperRef(receiver), { type: 'link_stats' }, 5_000);
    expect(shipperThere).to.deep.include({ ok: false, code: 'BadMessage' });
  });
});
