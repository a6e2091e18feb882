/**
 * Writes that never settled (in-process cluster, N=3, W=2, R=2, D=2): a version whose coordinator died
 * before its quorum, left on one replica with a clock ahead of the acknowledged one, is never read and
 * is reverted by that replica's sweep; a version on a quorum whose settles were lost is read and
 * settled; while the replica that could tell is away, neither is guessed where the version could hide
 * a later write. The judgement the sweep and a rebalance's receiver share tells a version W replicas
 * hold from one never acknowledged and from one moot under a settled newer version.
 */
import { expect } from 'chai';
import { tick } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { preferenceList } from '../../../src/core/ring/ring.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import type { ObjectFields } from '../../../src/protocol/cluster/storage-api.js';
import { routerOf, type ReplicaPutReply, type RouterMessage } from '../../../src/protocol/cluster/storage.js';
import { judgeByReplicas, type Judgement } from '../../../src/actors/storage/unsettled-judge.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'unsettled';
const GRACE_MS = 400;
/** Long enough that a read which waits for an undecided version gives up well before a fresh one stops being in flight. */
const REPLICA_TIMEOUT_MS = 10_000;

const fields = (key: string, body: string): ObjectFields => objectFields(BUCKET, key, body);

describe('writes that never settled (in-process cluster, N=3, W=2, R=2)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster;

  before(async () => {
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 2, d: 2, rackAware: false }, () => ({ tuning: { settleGraceMs: GRACE_MS, replicaTimeoutMs: REPLICA_TIMEOUT_MS } }));
    await cluster.start();
  });
  after(async () => {
    await cluster?.stop();
  });

  const replicasOf = (key: string): string[] => [...preferenceList(cluster.clientRing.current!.current, keyPosition(BUCKET, key), 3)];
  const storeOf = (name: string) => cluster.node(name).role!.context.store;
  const address = (key: string) => ({ kind: 'object' as const, bucket: BUCKET, key });

  async function acknowledged(key: string, body: string): Promise<void> {
    expect(await cluster.client.put('object', fields(key, body), Buffer.from(body))).to.include({ ok: true });
    await eventually(() => replicasOf(key).every((name) => storeOf(name).getMeta(address(key))?.etag === fields(key, body).etag && !storeOf(name).isUnsettled(address(key), storeOf(name).getMeta(address(key))!.clock)));
  }

  /**
   * A version as a coordinator leaves it on `takenBy` when it dies before settling: a minute ahead of
   * the clock, and of what the replicas hold (earlier tests moved the nodes' clocks ahead too).
   */
  async function unsettled(key: string, body: string, takenBy: readonly string[]): Promise<void> {
    const held = Math.max(...takenBy.map((node) => storeOf(node).getMeta(address(key))?.clock.wallMs ?? 0));
    const clock = tick(undefined, Math.max(Date.now(), held) + 60_000, takenBy[0]!);
    const meta: ObjectMeta = { ...fields(key, body), clock, lastModifiedMs: clock.wallMs, ringChecksum: cluster.clientRing.current!.checksum, deleted: false };
    for (const node of takenBy) {
      const reply = await cluster.clientNode.system.ask<RouterMessage, ReplicaPutReply>(
        routerOf(node),
        (replyTo) => ({ type: 'replica_put', objectKind: 'object', meta, body: Buffer.from(body), keepPrevious: true, replyTo }),
        5_000,
      );
      expect(reply).to.include({ ok: true, applied: true });
    }
  }

  /** A version `node` got from a replica (settled), just after the one it holds. */
  async function settledCopy(key: string, body: string, node: string): Promise<void> {
    const held = storeOf(node).getMeta(address(key))!.clock;
    const clock = { wallMs: held.wallMs, counter: held.counter + 1, node };
    const meta: ObjectMeta = { ...fields(key, body), clock, lastModifiedMs: clock.wallMs, ringChecksum: cluster.clientRing.current!.checksum, deleted: false };
    const reply = await cluster.clientNode.system.ask<RouterMessage, ReplicaPutReply>(
      routerOf(node),
      (replyTo) => ({ type: 'replica_put', objectKind: 'object', meta, body: Buffer.from(body), keepPrevious: false, replyTo }),
      5_000,
    );
    expect(reply).to.include({ ok: true, applied: true });
  }

  async function read(key: string): Promise<string> {
    const result = await cluster.client.get('object', BUCKET, key, { withBody: true });
    return result.ok ? Buffer.from(result.body!).toString() : result.code;
  }

  it('never reads a version its coordinator left on fewer replicas than W, and its replica reverts it', async () => {
    const key = 'ghost';
    await acknowledged(key, 'acknowledged');
    const [holder] = replicasOf(key) as [string];
    await unsettled(key, 'ghost', [holder]);
    for (let i = 0; i < 5; i++) expect(await read(key)).to.equal('acknowledged');
    await eventually(() => storeOf(holder).getMeta(address(key))?.etag === fields(key, 'acknowledged').etag, 10_000, 'the ghost reverted');
    expect(await read(key)).to.equal('acknowledged');
  });

  it('never reads either of two such versions stacked on one replica, and the replica ends both', async () => {
    const key = 'stacked';
    await acknowledged(key, 'acknowledged');
    const [holder] = replicasOf(key) as [string];
    await unsettled(key, 'first ghost', [holder]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await unsettled(key, 'second ghost', [holder]);
    for (let i = 0; i < 5; i++) expect(await read(key)).to.equal('acknowledged');
    await eventually(() => {
      const meta = storeOf(holder).getMeta(address(key));
      return meta?.etag === fields(key, 'acknowledged').etag && !storeOf(holder).isUnsettled(address(key), meta.clock);
    }, 15_000, 'both ghosts ended and the acknowledged version back');
  });

  it('reads a version on W replicas whose settles were lost, and settles it everywhere', async () => {
    const key = 'settle-lost';
    await acknowledged(key, 'before');
    const [first, second, third] = replicasOf(key) as [string, string, string];
    await unsettled(key, 'after', [first, second]);
    expect(await read(key)).to.equal('after');
    await eventually(
      () => [first, second, third].every((name) => {
        const meta = storeOf(name).getMeta(address(key));
        return meta?.etag === fields(key, 'after').etag && !storeOf(name).isUnsettled(address(key), meta.clock);
      }),
      10_000,
      'the version settled on every replica',
    );
  });

  it('guesses neither way while the replica that could tell is away, and decides once it is back', async () => {
    const key = 'undecided';
    await acknowledged(key, 'first');
    const [holder, witness, away] = replicasOf(key) as [string, string, string];
    await cluster.stopNode(away);
    try {
      await eventually(() => cluster.clientNode.transport.isKnownDown(away) && cluster.node(holder).node!.transport.isKnownDown(away));
      await unsettled(key, 'ghost', [holder]);
      // A later write the witness took (its other replica's copy lost): the ghost may hide it.
      await settledCopy(key, 'second', witness);
      expect(await read(key)).to.equal('Unavailable');
      await new Promise((resolve) => setTimeout(resolve, GRACE_MS * 2));
      expect(storeOf(holder).getMeta(address(key))?.etag, 'kept while undecided').to.equal(fields(key, 'ghost').etag);
    } finally {
      await cluster.restart(away);
      await cluster.reachable(away);
    }
    await eventually(async () => (await read(key)) === 'second', 15_000, 'the ghost set aside once the third replica answered');
    await eventually(() => storeOf(holder).getMeta(address(key))?.etag === fields(key, 'second').etag, 15_000, 'the ghost reverted and the later write repaired in');
  });

  it('shows an undecided version while it can hide no acknowledged write, once its write cannot be in flight, rather than answer 503', async () => {
    const key = 'undecided-alone';
    await acknowledged(key, 'acknowledged');
    const [holder, , away] = replicasOf(key) as [string, string, string];
    await cluster.stopNode(away);
    try {
      await eventually(() => cluster.clientNode.transport.isKnownDown(away) && cluster.node(holder).node!.transport.isKnownDown(away));
      await unsettled(key, 'in doubt', [holder]);
      const takenMs = Date.now();
      // Its coordinator may still be sending it: a reader that all the replicas answer would take it back now.
      expect(await read(key)).to.equal('Unavailable');
      await new Promise((resolve) => setTimeout(resolve, takenMs + REPLICA_TIMEOUT_MS + 100 - Date.now()));
      expect(await read(key)).to.equal('in doubt');
    } finally {
      await cluster.restart(away);
      await cluster.reachable(away);
    }
    // Its coordinator is gone and it never reached W replicas: once all can be asked, it is undone.
    await eventually(async () => (await read(key)) === 'acknowledged', 15_000, 'the version in doubt reverted');
  });
  it('judges a version by its replicas: held by W, never acknowledged, or moot under a settled newer one', async () => {
    // Judged from its first replica's side, by the peers' answers (what the sweep there does meanwhile is no matter).
    const judge = async (key: string, meta: ObjectMeta): Promise<Judgement> => {
      const node = cluster.node(replicasOf(key)[0]!);
      return judgeByReplicas(node.node!.system, node.role!.context, { address: address(key), clock: meta.clock, deleted: false, ringChecksum: meta.ringChecksum }, { clock: meta.clock, unsettled: true });
    };
    const onQuorum = 'judged-on-quorum';
    await acknowledged(onQuorum, 'first');
    await unsettled(onQuorum, 'second', replicasOf(onQuorum).slice(0, 2));
    expect(await judge(onQuorum, storeOf(replicasOf(onQuorum)[0]!).getMeta(address(onQuorum))!)).to.deep.equal({ verdict: 'settle', overridden: false });

    const alone = 'judged-alone';
    await acknowledged(alone, 'first');
    await unsettled(alone, 'second', replicasOf(alone).slice(0, 1));
    expect(await judge(alone, storeOf(replicasOf(alone)[0]!).getMeta(address(alone))!)).to.deep.equal({ verdict: 'revert', overridden: false });

    // Alone, but a replica holds a settled newer version: moot, which is not to say it was acknowledged.
    const moot = 'judged-moot';
    await acknowledged(moot, 'first');
    await unsettled(moot, 'second', replicasOf(moot).slice(0, 1));
    const second = storeOf(replicasOf(moot)[0]!).getMeta(address(moot))!;
    const clock = tick(second.clock, second.clock.wallMs + 60_000, replicasOf(moot)[1]!);
    const newer: ObjectMeta = { ...fields(moot, 'third'), clock, lastModifiedMs: clock.wallMs, ringChecksum: second.ringChecksum, deleted: false };
    const reply = await cluster.clientNode.system.ask<RouterMessage, ReplicaPutReply>(
      routerOf(replicasOf(moot)[1]!),
      (replyTo) => ({ type: 'replica_put', objectKind: 'object', meta: newer, body: Buffer.from('third'), keepPrevious: false, replyTo }),
      5_000,
    );
    expect(reply).to.include({ ok: true, applied: true });
    expect(await judge(moot, second)).to.deep.equal({ verdict: 'settle', overridden: true });
  });
});
