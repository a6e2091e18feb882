/**
 * What a storage node does about its watchdog's alarms, driven by injected readings: throttled
 * background work, refused writes under overload, read-only near a full disk (deletes still pass),
 * and the recovery of each once the readings are calm again.
 */
import { expect } from 'chai';
import { evaluateAlarms, DEFAULT_WATCHDOG_THRESHOLDS, type WatchdogReadings } from '../../../src/core/watchdog-rules.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import { preferenceList } from '../../../src/core/ring/ring.js';
import { antiEntropyRef, type AntiEntropyControl, type AntiEntropyStats } from '../../../src/protocol/cluster/anti-entropy.js';
import { routerOf } from '../../../src/protocol/cluster/storage.js';
import { eventually } from '../../support/eventually.js';
import { objectFields, StorageCluster, type InProcessStorageNode } from '../../support/storage-cluster.js';

const CALM: WatchdogReadings = { cpuPercent: 5, rssBytes: 100e6, eventLoopDelayMs: 1, diskFreeBytes: 50e9, diskTotalBytes: 100e9, queueItems: 0, errorsPerMinute: 0 };
const T = DEFAULT_WATCHDOG_THRESHOLDS;

describe('a storage node under its watchdog\'s alarms (in-process cluster)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster;
  let watched: InProcessStorageNode;

  before(async () => {
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false });
    await cluster.start();
    watched = cluster.nodes[0]!;
  });
  after(async () => {
    await cluster.stop();
  });

  /** Feeds `readings` to the node's alarms as its watchdog would. */
  const sample = (readings: WatchdogReadings): void => {
    const role = watched.role!;
    role.applyAlarms(evaluateAlarms(readings, T, [], Date.now()), T);
  };
  /** A key whose first replica (its coordinator) is `node`, or is not. */
  const keyCoordinatedBy = (node: string, want: boolean, prefix: string): string => {
    for (let i = 0; ; i++) {
      const key = `${prefix}-${i}`;
      if ((preferenceList(cluster.clientRing.current!.current, keyPosition('b', key), 3)[0] === node) === want) return key;
    }
  };
  const put = (key: string, body = `body of ${key}`) => cluster.client.put('object', objectFields('b', key, body), Buffer.from(body));
  const held = (key: string) => watched.role!.context.store.getMeta({ kind: 'object', bucket: 'b', key });
  const writable = () => watched.role!.healthChecks.map((check) => check()).find((check) => check.name === 'writable')!;
  const rounds = async (): Promise<number> => {
    const reply = await watched.node!.system.ask<AntiEntropyControl, AntiEntropyStats>(antiEntropyRef(watched.name), (replyTo) => ({ type: 'stats', replyTo }), 5_000);
    if (!reply.ok) throw new Error('no stats');
    return reply.roundsDone;
  };

  it('slows every background loop to a fifth of a second a step while throttled, and back', async () => {
    sample({ ...CALM, cpuPercent: 97 });
    const pace = watched.role!.context.pace;
    expect(pace.factor).to.equal(T.throttleFactor);
    expect(pace.stretch(0)).to.equal(200);
    expect(pace.rate(0)).to.be.above(0);
    expect(pace.rate(40e6)).to.equal(40e6 * T.throttleFactor);
    const throttledFrom = await rounds();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const throttled = (await rounds()) - throttledFrom;
    sample(CALM);
    expect(pace.factor).to.equal(1);
    const fullFrom = await rounds();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const full = (await rounds()) - fullFrom;
    // At most one step every 200 ms, whatever the loop asks for; at full pace it runs every few ms.
    expect(throttled, `${throttled} rounds throttled, ${full} at full pace`).to.be.at.most(6);
    expect(full).to.be.above(throttled);
  });

  it('counts the client work it does: reads and writes it coordinates or takes part in, listings it answers', async () => {
    const requests = watched.role!.context.clientRequests;
    const here = keyCoordinatedBy(watched.name, true, 'counted-here');
    let from = requests.total;
    expect(await put(here)).to.include({ ok: true });
    // Its own copy is written in place: the coordinated write counts once.
    expect(requests.total).to.equal(from + 1);
    from = requests.total;
    expect(await cluster.client.get('object', 'b', here, { withBody: true })).to.include({ ok: true });
    expect(requests.total).to.equal(from + 1);
    // A replica write another node sends for a client counts; one sent for background work does not.
    const elsewhere = keyCoordinatedBy(watched.name, false, 'counted-elsewhere');
    from = requests.total;
    expect(await put(elsewhere)).to.include({ ok: true });
    await eventually(() => held(elsewhere) !== undefined, 5_000, 'the replica write taken');
    expect(requests.total).to.equal(from + 1);
    from = requests.total;
    const meta = { ...held(elsewhere)!, clock: { ...held(elsewhere)!.clock, counter: held(elsewhere)!.clock.counter + 1 } };
    const background = await cluster.nodes[1]!.node!.system.ask(routerOf(watched.name), (replyTo) => ({ type: 'replica_put' as const, objectKind: 'object' as const, meta, keepPrevious: false, replyTo }), 5_000);
    expect(background).to.include({ ok: true });
    expect(requests.total).to.equal(from);
    // A listing may leave out a node, a different one each time: of three listings, this node answers some.
    for (let i = 0; i < 3; i++) expect(await cluster.client.list('object', 'b', { prefix: 'counted', maxKeys: 10 })).to.include({ ok: true });
    expect(requests.total).to.be.above(from);
    // With no client request in the sample, a busy CPU does not slow background work.
    sample({ ...CALM, cpuPercent: 97, clientRequests: 0 });
    expect(watched.role!.context.pace.factor).to.equal(1);
    sample({ ...CALM, cpuPercent: 97, clientRequests: 3 });
    expect(watched.role!.context.pace.factor).to.equal(T.throttleFactor);
    sample(CALM);
  });

  it('refuses to coordinate writes with SlowDown while overloaded, still takes replica writes, and recovers', async () => {
    sample({ ...CALM, eventLoopDelayMs: 5_000 });
    expect(writable()).to.include({ ok: false });
    const refusedKey = keyCoordinatedBy(watched.name, true, 'overload');
    const refused = await put(refusedKey);
    expect(refused).to.deep.include({ ok: false, code: 'SlowDown' });
    expect(held(refusedKey)).to.equal(undefined);
    const elsewhere = keyCoordinatedBy(watched.name, false, 'overload-elsewhere');
    expect(await put(elsewhere)).to.include({ ok: true });
    await eventually(() => held(elsewhere) !== undefined, 5_000, 'the replica write taken');
    sample(CALM);
    expect(writable()).to.include({ ok: true });
    expect(await put(refusedKey)).to.include({ ok: true });
  });

  it('turns read-only near a full disk: writes go to the other replicas, deletes pass, and it catches up once space is freed', async () => {
    const before = keyCoordinatedBy(watched.name, false, 'full-before');
    expect(await put(before)).to.include({ ok: true });
    await eventually(() => held(before) !== undefined, 5_000, 'held before');
    sample({ ...CALM, diskFreeBytes: 100e6 });
    expect(writable()).to.deep.include({ ok: false });
    expect(writable().detail).to.match(/read-only/);
    const viaWatched = keyCoordinatedBy(watched.name, true, 'full-here');
    const viaOther = keyCoordinatedBy(watched.name, false, 'full-there');
    expect(await put(viaWatched)).to.include({ ok: true });
    expect(await put(viaOther)).to.include({ ok: true });
    // The third replica's write is not awaited by a W=2 put: give it time to arrive, were it taken.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(held(viaWatched)).to.equal(undefined);
    expect(held(viaOther)).to.equal(undefined);
    expect(await cluster.client.delete('object', 'b', before)).to.include({ ok: true });
    await eventually(() => held(before)?.deleted === true, 5_000, 'the tombstone taken while read-only');
    sample(CALM);
    expect(writable()).to.include({ ok: true });
    // Queued repairs and anti-entropy bring the node what it refused.
    await eventually(() => held(viaWatched) !== undefined && held(viaOther) !== undefined, 20_000, 'caught up');
  });
});
