import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { ObjectFields } from '../../../src/protocol/cluster/storage-api.js';
import { antiEntropyRef, type AntiEntropyControl, type AntiEntropyStats } from '../../../src/protocol/cluster/anti-entropy.js';
import { presenceKeeperRef, type PresenceMessage, type PresenceStats } from '../../../src/actors/storage/presence-keeper.js';
import { purgeReplicaTombstones } from '../../../src/actors/storage/replica-ops.js';
import { routerOf, type AbsenceReportsReply, type AbsenceViewReply, type ReplicaGetReply, type RouterMessage, type VersionsLocalReply } from '../../../src/protocol/cluster/storage.js';
import { STORAGE_ROOT_PATH } from '../../../src/actors/storage/storage-tree.js';
import type { StorageOptions } from '../../../src/actors/storage/storage-context.js';
import { tombstoneReaperRef, type TombstoneReaperMessage, type TombstoneReaperStats } from '../../../src/actors/storage/tombstone-reaper.js';
import { isRuntimeFailure, type RuntimeFailure } from '../../../src/runtime/failures.js';
import { actorRef } from '../../../src/runtime/refs.js';
import type { SupervisorMessage, TerminateChildReply } from '../../../src/runtime/supervisor.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { eventually, StorageCluster } from '../../support/storage-cluster.js';

const SETTINGS = { n: 3, w: 2, r: 1, d: 2, rackAware: false };
/** Short enough for a test; the horizon stays far away unless a test brings it close. */
const PURGE_TUNING: Partial<StorageOptions> = { tombstoneGraceMs: 300, tombstonePurgeKeysPerSecond: 10_000, purgeHorizonMs: 60_000, presenceRefreshMs: 50 };

function fields(bucket: string, key: string, body: Buffer): ObjectFields {
  return { bucket, key, sizeBytes: body.length, etag: createHash('md5').update(body).digest('hex'), contentType: 'application/octet-stream', userMeta: {} };
}

describe('tombstone purge (in-process cluster)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster;
  afterEach(async () => {
    await cluster?.stop();
  });

  const start = async (tuning: Partial<StorageOptions> = {}, logLevel: 'error' | 'warn' = 'error'): Promise<void> => {
    cluster = new StorageCluster(3, SETTINGS, () => ({ tuning: { ...PURGE_TUNING, ...tuning } }), logLevel);
    await cluster.start();
  };
  const localMeta = (node: string, bucket: string, key: string) => cluster.node(node).role?.context.store.getMeta({ kind: 'object', bucket, key });
  const onEvery = (check: (node: string) => boolean) => cluster.nodes.every((node) => check(node.name));
  const answered = <R>(reply: R | RuntimeFailure): R => {
    if (isRuntimeFailure(reply)) throw new Error(`no answer: ${reply.code} ${reply.message}`);
    return reply;
  };
  const timeoutMs = 10_000;
  const reaperStats = async (node: string) => answered(await cluster.clientNode.system.ask<TombstoneReaperMessage, TombstoneReaperStats>(tombstoneReaperRef(node), (replyTo) => ({ type: 'stats', replyTo }), timeoutMs));
  const presenceStats = async (node: string) => answered(await cluster.clientNode.system.ask<PresenceMessage, PresenceStats>(presenceKeeperRef(node), (replyTo) => ({ type: 'stats', replyTo }), timeoutMs));
  /** For polling a node that is starting: no answer yet is not an error. */
  const servingNow = async (node: string) => {
    const reply = await cluster.clientNode.system.ask<PresenceMessage, PresenceStats>(presenceKeeperRef(node), (replyTo) => ({ type: 'stats', replyTo }), timeoutMs);
    return !isRuntimeFailure(reply) && reply.serving;
  };
  /** A node just restarted may not be reachable from the client at once: asked again until it answers. */
  const antiEntropyStats = async (node: string): Promise<AntiEntropyStats> => {
    let stats: AntiEntropyStats | undefined;
    await eventually(
      async () => {
        const reply = await cluster.clientNode.system.ask<AntiEntropyControl, AntiEntropyStats>(antiEntropyRef(node), (replyTo) => ({ type: 'stats', replyTo }), timeoutMs);
        if (!isRuntimeFailure(reply)) stats = reply;
        return stats !== undefined;
      },
      10_000,
      `anti-entropy stats of ${node}`,
    );
    return stats!;
  };
  /** Stops a node's reaper, from inside that node (supervisors take such requests only locally). */
  const stopReaper = async (node: string) => {
    const reply = await cluster.node(node).node!.system.ask<SupervisorMessage, TerminateChildReply>(actorRef<SupervisorMessage>(node, STORAGE_ROOT_PATH), (replyTo) => ({ type: 'terminate_child', name: 'tombstone_reaper', replyTo }), timeoutMs);
    expect(reply).to.deep.equal({ ok: true });
  };
  const putAll = async (bucket: string, keys: readonly string[]): Promise<void> => {
    for (const key of keys) {
      const body = Buffer.from(`body of ${key}`);
      const put = await cluster.client.put('object', fields(bucket, key, body), body);
      expect(put.ok, `${key}: ${JSON.stringify(put)}`).to.equal(true);
    }
    await eventually(() => keys.every((key) => onEvery((node) => localMeta(node, bucket, key) !== undefined)), 10_000, 'every replica has every key');
  };
  const expectGone = async (bucket: string, key: string): Promise<void> => {
    for (let i = 0; i < 5; i++) expect(await cluster.client.get('object', bucket, key)).to.include({ ok: false, code: 'NotFound' });
  };
  /** Waits for `sweeps` more complete anti-entropy sweeps on every running node. */
  const antiEntropySweeps = async (sweeps: number): Promise<void> => {
    const running = cluster.nodes.filter((node) => node.running).map((node) => node.name);
    const before = new Map(await Promise.all(running.map(async (node) => [node, await antiEntropyStats(node)] as const)));
    await eventually(
      async () => {
        for (const node of running) {
          const now = await antiEntropyStats(node);
          const then = before.get(node)!;
          if (now.roundsDone < then.roundsDone + sweeps * Math.max(1, now.rangesHeld)) return false;
        }
        return true;
      },
      30_000,
      `${sweeps} anti-entropy sweeps`,
    );
  };
  const keysSynced = async (): Promise<number> => {
    let total = 0;
    for (const node of cluster.nodes) if (node.running) total += (await antiEntropyStats(node.name)).keysSynced;
    return total;
  };

  it('purges tombstones on every replica once all hold them and the grace period has passed', async () => {
    await start();
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    await putAll('b', keys);
    for (const key of keys) expect(await cluster.client.delete('object', 'b', key)).to.include({ ok: true });
    await eventually(() => keys.every((key) => onEvery((node) => localMeta(node, 'b', key) === undefined)), 15_000, 'tombstones purged on every replica');
    for (const key of keys.slice(0, 3)) await expectGone('b', key);
    const listed = await cluster.client.list('object', 'b', { maxKeys: 100 });
    expect(listed.ok && listed.result.contents).to.deep.equal([]);
    const purged = (await Promise.all(cluster.nodes.map((node) => reaperStats(node.name)))).reduce((sum, stats) => sum + stats.purged, 0);
    expect(purged, 'each tombstone purged once by a reaper, the other replicas told').to.be.at.least(keys.length);

    // A key written again after its tombstone went is an ordinary key: the reapers leave it alone.
    const again = Buffer.from('written again');
    expect((await cluster.client.put('object', fields('b', 'k0', again), again)).ok).to.equal(true);
    const sweeps = (await reaperStats(cluster.nodes[0]!.name)).sweeps;
    await eventually(async () => (await reaperStats(cluster.nodes[0]!.name)).sweeps >= sweeps + 2, 10_000, 'two more reaper sweeps');
    const got = await cluster.client.get('object', 'b', 'k0', { withBody: true });
    expect(got.ok && Buffer.from(got.body ?? []).toString()).to.equal('written again');
  });

  it('waits for a replica that is down, which gets the tombstone when back; then the purge happens', async () => {
    await start();
    await putAll('b', ['victim']);
    const laggard = cluster.nodes[1]!.name;
    const others = cluster.nodes.map((node) => node.name).filter((node) => node !== laggard);
    await cluster.stopNode(laggard);
    expect(await cluster.client.delete('object', 'b', 'victim')).to.include({ ok: true });
    await eventually(() => others.every((node) => localMeta(node, 'b', 'victim')?.deleted === true), 10_000, 'the tombstone on the replicas up');
    // Two complete reaper sweeps that saw the tombstone past its grace period, and could not purge it.
    const before = await Promise.all(others.map((node) => reaperStats(node)));
    await eventually(
      async () => (await Promise.all(others.map((node) => reaperStats(node)))).every((stats, i) => stats.sweeps >= before[i]!.sweeps + 2 && stats.blocked > before[i]!.blocked),
      10_000,
      'reapers swept and were blocked',
    );
    for (const node of others) expect(localMeta(node, 'b', 'victim')?.deleted, `${node} keeps the tombstone`).to.equal(true);
    await expectGone('b', 'victim');

    await cluster.restart(laggard);
    expect(localMeta(laggard, 'b', 'victim')?.deleted, 'the laggard comes back with the old version').to.equal(false);
    await eventually(() => onEvery((node) => localMeta(node, 'b', 'victim') === undefined), 20_000, 'the tombstone reached the laggard, then went everywhere');
    await expectGone('b', 'victim');
    await antiEntropySweeps(1);
    expect(onEvery((node) => localMeta(node, 'b', 'victim') === undefined), 'nothing came back').to.equal(true);
    await expectGone('b', 'victim');
  });

  it('does not copy a purged tombstone back, nor count it as a repair', async () => {
    await start();
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    await putAll('b', keys);
    for (const key of keys) expect(await cluster.client.delete('object', 'b', key)).to.include({ ok: true });
    await eventually(() => keys.every((key) => onEvery((node) => localMeta(node, 'b', key) === undefined)), 15_000, 'tombstones purged everywhere');
    const afterPurge = await keysSynced();
    await antiEntropySweeps(2);
    expect(await keysSynced(), 'no repairs once every replica purged').to.equal(afterPurge);

    // One replica purged while the others still hold the tombstone (their reapers stopped): the
    // tombstone is not pushed back to it, nor pulled by it, by anti-entropy, read repair or queued repairs.
    const [purger, ...holders] = cluster.nodes.map((node) => node.name) as [string, ...string[]];
    for (const holder of holders) await stopReaper(holder);
    const body = Buffer.from('late');
    expect((await cluster.client.put('object', fields('b', 'late', body), body)).ok).to.equal(true);
    const purgerContext = cluster.node(purger).role!.context;
    await stopReaper(purger);
    expect(await cluster.client.delete('object', 'b', 'late')).to.include({ ok: true });
    await eventually(() => onEvery((node) => localMeta(node, 'b', 'late')?.deleted === true), 10_000, 'the tombstone everywhere');
    const tombstone = localMeta(purger, 'b', 'late')!;
    await eventually(() => Date.now() - tombstone.clock.wallMs > 2 * PURGE_TUNING.tombstoneGraceMs!, 5_000, 'past the grace period');
    await eventually(async () => (await purgeReplicaTombstones(purgerContext, [{ address: { kind: 'object', bucket: 'b', key: 'late' }, clock: tombstone.clock }])).length === 1 || localMeta(purger, 'b', 'late') === undefined, 5_000, 'purged on one replica');
    const before = await keysSynced();
    await expectGone('b', 'late');
    await antiEntropySweeps(2);
    expect(localMeta(purger, 'b', 'late'), 'the purged replica stays without it').to.equal(undefined);
    for (const holder of holders) expect(localMeta(holder, 'b', 'late')?.deleted).to.equal(true);
    expect(await keysSynced(), 'no copies back and forth').to.equal(before);
  });

  it('never brings back a delete purged while a replica was away past the horizon', async () => {
    // A horizon of 1.5 s: a replica stopped for longer is purged without, and drops what it held.
    await start({ purgeHorizonMs: 1_500 }, 'warn');
    await putAll('b', ['doomed', 'kept']);
    const away = cluster.nodes[2]!.name;
    const others = cluster.nodes.map((node) => node.name).filter((node) => node !== away);
    await eventually(async () => (await presenceStats(away)).lastPresentMs !== null, 5_000, 'the replica recorded that it is present');
    await cluster.stopNode(away);
    expect(await cluster.client.delete('object', 'b', 'doomed')).to.include({ ok: true });
    await eventually(() => others.every((node) => localMeta(node, 'b', 'doomed') === undefined), 20_000, 'purged without the replica away');

    await cluster.restart(away);
    // It comes back with the old live version, which it may already be dropping: never with a tombstone.
    expect(localMeta(away, 'b', 'doomed')?.deleted, 'it comes back with the old live version').to.not.equal(true);
    await eventually(() => servingNow(away), 10_000, 'the replica serves again');
    expect((await presenceStats(away)).dropped, 'it dropped what it held').to.be.at.least(2);
    const logged = cluster.node(away).logs.lines.find((line) => String(line.msg).startsWith('dropped the live versions'));
    expect(logged, 'and said so').to.include({ level: 'warn' });
    expect(logged?.reportedBy).to.have.members(others);

    await eventually(() => localMeta(away, 'b', 'kept')?.deleted === false, 20_000, 'anti-entropy copied the live key back');
    await antiEntropySweeps(2);
    expect(onEvery((node) => localMeta(node, 'b', 'doomed') === undefined), 'the deleted key is nowhere').to.equal(true);
    await expectGone('b', 'doomed');
    const listed = await cluster.client.list('object', 'b', { maxKeys: 100 });
    expect(listed.ok && listed.result.contents.map((entry) => entry.key)).to.deep.equal(['kept']);
  });

  it('keeps its data when the whole cluster was away past the horizon, since nobody purged without anyone', async () => {
    await start({ purgeHorizonMs: 1_500 }, 'warn');
    await putAll('b', ['a', 'b', 'c']);
    for (const node of cluster.nodes) await node.stop();
    // As if every node had been stopped for days: each one's record of being present is old.
    for (const node of cluster.nodes) {
      const store = ObjectStore.open({ path: node.dir, logger: memoryLogger('error').logger });
      await store.presence.markPresent(Date.now() - 60_000);
      await store.close();
    }
    for (const node of cluster.nodes) await cluster.restart(node.name);
    await eventually(async () => (await Promise.all(cluster.nodes.map((node) => servingNow(node.name)))).every(Boolean), 15_000, 'every node serves again');
    for (const node of cluster.nodes) {
      expect(node.logs.lines.some((line) => String(line.msg).startsWith('this node was away from the cluster longer than the purge horizon allows')), `${node.name} knew it was away`).to.equal(true);
      expect((await presenceStats(node.name)).dropped, node.name).to.equal(0);
    }
    for (const key of ['a', 'b', 'c']) {
      expect(onEvery((node) => localMeta(node, 'b', key)?.deleted === false), key).to.equal(true);
      expect((await cluster.client.get('object', 'b', key)).ok, key).to.equal(true);
    }
  });

  it('stops serving its data while cut off from most of the ring past the horizon, and serves again once back in contact', async () => {
    await start({ purgeHorizonMs: 1_500 }, 'warn');
    await putAll('b', ['a', 'b']);
    const [lone, ...others] = cluster.nodes.map((node) => node.name) as [string, ...string[]];
    for (const other of others) await cluster.stopNode(other);
    await eventually(() => !cluster.node(lone).role!.context.presence.serving, 10_000, 'the lone node stops serving');
    await eventually(() => cluster.node(lone).logs.lines.some((line) => String(line.msg).startsWith('this node was away from the cluster longer than the purge horizon allows')), 5_000, 'it says why');
    const refused = await cluster.clientNode.system.ask<RouterMessage, ReplicaGetReply>(routerOf(lone), (replyTo) => ({ type: 'replica_get', objectKind: 'object', bucket: 'b', key: 'a', withBody: true, replyTo }), timeoutMs);
    expect(refused).to.deep.include({ ok: false, code: 'Unavailable' });

    for (const other of others) await cluster.restart(other);
    await eventually(async () => (await Promise.all(cluster.nodes.map((node) => servingNow(node.name)))).every(Boolean), 15_000, 'every node serves again');
    expect((await presenceStats(lone)).dropped, 'nobody purged without it').to.equal(0);
    for (const key of ['a', 'b']) expect(onEvery((node) => localMeta(node, 'b', key)?.deleted === false), key).to.equal(true);
  });

  it('answers malformed purge and presence requests with an error', async () => {
    await start();
    const target = routerOf(cluster.nodes[0]!.name);
    const system = cluster.clientNode.system;
    const versions = await system.ask<RouterMessage, VersionsLocalReply>(target, (replyTo) => ({ type: 'versions_local', items: [null as never], replyTo }), timeoutMs);
    expect(versions).to.deep.include({ ok: false, code: 'StoreError' });
    const view = await system.ask<RouterMessage, AbsenceViewReply>(target, (replyTo) => ({ type: 'absence_view', peers: [1 as never], horizonMs: 1, replyTo }), timeoutMs);
    expect(view).to.deep.include({ ok: false, code: 'StoreError' });
    const reports = await system.ask<RouterMessage, AbsenceReportsReply>(target, (replyTo) => ({ type: 'absence_reports', node: 'x', sinceMs: Number.NaN, replyTo }), timeoutMs);
    expect(reports).to.deep.include({ ok: false, code: 'StoreError' });
    // The router is still there.
    const fine = await system.ask<RouterMessage, VersionsLocalReply>(target, (replyTo) => ({ type: 'versions_local', items: [{ objectKind: 'object', bucket: 'b', key: 'k' }], replyTo }), timeoutMs);
    expect(fine).to.deep.equal({ ok: true, clocks: [null] });
  });
});
