import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ringCacheRef, ringKeeperRef, ROOT_NAME } from '../../../src/protocol/cluster/paths.js';
import { isRingDocument, ringCacheBehavior } from '../../../src/actors/common/ring-cache.js';
import type { InstallReply, RingCacheMessage, RingStatus } from '../../../src/protocol/cluster/ring-cache.js';
import { RingView } from '../../../src/actors/common/ring-view.js';
import { isMemberRecord, isStoredRing, ringKeeperBehavior } from '../../../src/actors/manager/ring-keeper.js';
import type { ClusterStatus, JoinReply, MemberActionReply, RebalanceReply, RingKeeperMessage, StartReply, StartSettings, StorageJoin } from '../../../src/protocol/cluster/ring-keeper.js';
import { ringChecksum } from '../../../src/core/ring/ring.js';
import type { RingDocument } from '../../../src/core/ring/ring-document.js';
import { systemClock } from '../../../src/runtime/clock.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { supervisor, worker, type SupervisorSpec } from '../../../src/runtime/supervisor.js';
import { ActorSystem, type NodeEvent } from '../../../src/runtime/system.js';
import { NodeState } from '../../../src/store/node-state.js';
import { eventually } from '../../support/eventually.js';

const MANAGER = 'manager_0@127.0.0.1';
const STORAGE = ['storage_0@127.0.0.1', 'storage_1@127.0.0.1', 'storage_2@127.0.0.1'];

/** One manager's ring keeper and ring cache in-process, over a real LMDB state directory. */
class Harness {
  readonly system: ActorSystem;
  readonly ringView = new RingView();
  readonly lines: Array<Record<string, unknown>>;
  readonly gatewaysJoined: string[] = [];
  private readonly spec: SupervisorSpec;
  private readonly listeners = new Set<(event: NodeEvent) => void>();

  private constructor(readonly nodeState: NodeState, up: ReadonlySet<string>, ringCheckIntervalMs: number) {
    const { logger, lines } = memoryLogger('info');
    this.lines = lines;
    this.system = new ActorSystem({ node: MANAGER, clock: systemClock, logger });
    this.spec = {
      strategy: 'one_for_one',
      maxRestarts: 3,
      periodMs: 10_000,
      children: [
        worker('ring', ringCacheBehavior({ view: this.ringView, table: nodeState.table('ring', isRingDocument) })),
        supervisor('manager', {
          strategy: 'one_for_one',
          maxRestarts: 3,
          periodMs: 10_000,
          children: [
            worker(
              'ring_keeper',
              ringKeeperBehavior({
                self: { node: MANAGER, address: () => '127.0.0.1:4010' },
                members: nodeState.table('members', isMemberRecord),
                cluster: nodeState.table('cluster', isStoredRing),
                watchNodes: (listener) => {
                  this.listeners.add(listener);
                  return () => this.listeners.delete(listener);
                },
                isUp: (node) => up.has(node),
                addPeer: () => {},
                gatewayJoined: (node) => this.gatewaysJoined.push(node),
                ringCheckIntervalMs,
              }),
            ),
          ],
        }),
      ],
    };
  }


  static async start(dir: string, options: { nodeState?: NodeState; up?: ReadonlySet<string>; ringCheckIntervalMs?: number } = {}): Promise<Harness> {
    const nodeState = options.nodeState ?? NodeState.open(dir, memoryLogger('error').logger);
    const harness = new Harness(nodeState, options.up ?? new Set(), options.ringCheckIntervalMs ?? 60_000);
    await harness.system.startRoot(ROOT_NAME, harness.spec, () => {});
    return harness;
  }

  nodeEvent(event: NodeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  async ask<R>(build: (replyTo: never) => RingKeeperMessage): Promise<R> {
    const reply = await this.system.ask<RingKeeperMessage, R>(ringKeeperRef(MANAGER), build as never, 5_000);
    if (isRuntimeFailure(reply)) throw new Error(`ask failed: ${reply.code} ${reply.message}`);
    return reply as R;
  }

  join(node: string, role = 'storage', storage?: StorageJoin): Promise<JoinReply> {
    const address = `127.0.0.1:${5000 + STORAGE.indexOf(node) + 1}`;
    return this.ask<JoinReply>((replyTo) => ({ type: 'join', node, role, address, ...(storage ? { storage } : {}), replyTo }));
  }

  start(settings: StartSettings): Promise<StartReply> {
    return this.ask<StartReply>((replyTo) => ({ type: 'start', settings, replyTo }));
  }

  status(): Promise<ClusterStatus> {
    return this.ask<ClusterStatus>((replyTo) => ({ type: 'status', replyTo }));
  }

  async ringStatus(): Promise<RingStatus> {
    const reply = await this.system.ask<RingCacheMessage, RingStatus>(ringCacheRef(MANAGER), (replyTo) => ({ type: 'status', replyTo }), 2_000);
    if (isRuntimeFailure(reply)) throw new Error(reply.message);
    return reply;
  }

  async stop(closeState = true): Promise<void> {
    await this.system.stop();
    if (closeState) await this.nodeState.close();
  }
}

describe('manager ring keeper', () => {
  let dir: string;
  let harness: Harness | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-ring-keeper-'));
  });

  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function withAttached(count = 3): Promise<Harness> {
    harness = await Harness.start(dir);
    for (const node of STORAGE.slice(0, count)) expect(await harness.join(node)).to.include({ ok: true });
    return harness;
  }

  it('lists joined storage nodes as attached, with the alias and weight they joined with', async () => {
    const h = await withAttached(2);
    expect(await h.join(STORAGE[2]!, 'storage', { numOfVnodes: 64, rack: 'r2' })).to.include({ ok: true });
    const status = await h.status();
    expect(status.settings).to.equal(null);
    const storage = status.members.filter((member) => member.role === 'storage');
    expect(storage.map((member) => member.state)).to.deep.equal(['attached', 'attached', 'attached']);
    expect(storage[0]!.storage).to.deep.equal({ alias: 'storage_0', numOfVnodes: 168 });
    expect(storage[2]!.storage).to.deep.equal({ alias: 'storage_2', numOfVnodes: 64, rack: 'r2' });
    expect(status.members[0]).to.include({ node: MANAGER, role: 'manager', state: 'running' });
  });

  it('refuses start with impossible quorums or too few nodes, and starts once', async () => {
    const h = await withAttached(3);
    expect(await h.start({ n: 4, w: 2, r: 1, d: 2 })).to.include({ ok: false, code: 'NotEnoughNodes' });
    expect(await h.start({ n: 3, w: 4, r: 1, d: 2 })).to.include({ ok: false, code: 'BadQuorum' });
    expect(await h.start({ n: 3, w: 2, r: 0, d: 2 })).to.include({ ok: false, code: 'BadQuorum' });
    expect(await h.start({ n: 3, w: 2, r: 1, d: 2.5 })).to.include({ ok: false, code: 'BadQuorum' });
    expect((await h.status()).settings, 'a refused start changes nothing').to.equal(null);

    const started = await h.start({ n: 3, w: 2, r: 1, d: 2 });
    expect(started).to.include({ ok: true, epoch: 1 });
    const expected = ringChecksum(STORAGE.map((node) => ({ node, alias: node.split('@')[0]!, numOfVnodes: 168 })), { rackAware: false });
    expect(started.ok && started.checksum).to.equal(expected);
    const status = await h.status();
    expect(status.settings).to.deep.equal({ n: 3, w: 2, r: 1, d: 2, rackAware: false });
    expect(status.members.filter((m) => m.role === 'storage').map((m) => m.state)).to.deep.equal(['running', 'running', 'running']);
    expect(await h.start({ n: 1, w: 1, r: 1, d: 1 })).to.include({ ok: false, code: 'AlreadyStarted' });
  });

  it('refuses start with no storage nodes at all', async () => {
    harness = await Harness.start(dir);
    const reply = await harness.start({ n: 1, w: 1, r: 1, d: 1 });
    expect(reply).to.include({ ok: false, code: 'NotEnoughNodes' });
  });

  it('keeps members, settings and ring across a restart of the actor system and a reopening of the state', async () => {
    const h = await withAttached(3);
    const started = await h.start({ n: 2, w: 1, r: 1, d: 1, rackAware: true });
    if (!started.ok) throw new Error(started.message);
    const before = await h.status();
    await h.stop(false);

    harness = await Harness.start(dir, { nodeState: h.nodeState });
    const afterRestart = await harness.status();
    expect(afterRestart.checksum).to.equal(started.checksum);
    expect(afterRestart.settings).to.deep.equal(before.settings);
    expect(afterRestart.members.map((m) => m.node)).to.deep.equal(before.members.map((m) => m.node));
    // Nobody has reconnected to the restarted manager yet.
    expect(afterRestart.members.filter((m) => m.role === 'storage').map((m) => m.state)).to.deep.equal(['stop', 'stop', 'stop']);
    await harness.stop();

    harness = await Harness.start(dir, { up: new Set([STORAGE[0]!]) });
    const reopened = await harness.status();
    expect(reopened.checksum).to.equal(started.checksum);
    expect(reopened.epoch).to.equal(1);
    expect(reopened.members.filter((m) => m.role === 'storage').map((m) => m.state)).to.deep.equal(['running', 'stop', 'stop']);
  });

  it('takes a ring member back without a ring change, and tracks it going down and up', async () => {
    const h = await withAttached(3);
    const started = await h.start({ n: 3, w: 2, r: 1, d: 2 });
    if (!started.ok) throw new Error(started.message);
    h.nodeEvent({ type: 'nodedown', node: STORAGE[1]! });
    await eventually(async () => (await h.status()).members.find((m) => m.node === STORAGE[1])?.state === 'stop');
    expect(await h.join(STORAGE[1]!, 'storage', { numOfVnodes: 32 })).to.include({ ok: true });
    const status = await h.status();
    expect(status.epoch).to.equal(1);
    expect(status.checksum).to.equal(started.checksum);
    const member = status.members.find((m) => m.node === STORAGE[1])!;
    expect(member.state).to.equal('running');
    expect(member.storage?.numOfVnodes, 'the ring keeps the weight it placed data with').to.equal(168);
    expect(h.lines.some((line) => line.msg === 'storage settings differ from the ring; the ring keeps its own until a rebalance')).to.equal(true);

    h.nodeEvent({ type: 'nodedown', node: STORAGE[2]! });
    await eventually(async () => (await h.status()).members.find((m) => m.node === STORAGE[2])?.state === 'stop');
    h.nodeEvent({ type: 'nodeup', node: STORAGE[2]! });
    await eventually(async () => (await h.status()).members.find((m) => m.node === STORAGE[2])?.state === 'running');
  });

  it('attaches a storage node that joins after start without changing the ring', async () => {
    const h = await withAttached(2);
    const started = await h.start({ n: 2, w: 1, r: 1, d: 1 });
    if (!started.ok) throw new Error(started.message);
    expect(await h.join(STORAGE[2]!)).to.include({ ok: true });
    const status = await h.status();
    expect(status.checksum).to.equal(started.checksum);
    expect(status.members.find((m) => m.node === STORAGE[2])?.state).to.equal('attached');
  });

  it('refuses a second node with the same alias, a ring member changing role, and malformed joins', async () => {
    const h = await withAttached(1);
    expect(await h.join('storage_0@10.0.0.9')).to.include({ ok: false, code: 'AliasInUse' });
    expect(await h.join('storage_9@127.0.0.1', 'storage', { numOfVnodes: 0 })).to.include({ ok: false, code: 'BadJoin' });
    expect(await h.join('no-at-sign', 'storage')).to.include({ ok: false, code: 'BadJoin' });
    expect(await h.join('x@127.0.0.1', 'manager')).to.include({ ok: false, code: 'BadJoin' });
    expect(await h.start({ n: 1, w: 1, r: 1, d: 1 })).to.include({ ok: true });
    expect(await h.join(STORAGE[0]!, 'gateway')).to.include({ ok: false, code: 'RoleMismatch' });
  });

  it('tells the auth actor of a gateway that joins', async () => {
    harness = await Harness.start(dir);
    expect(await harness.join('gateway_0@127.0.0.1', 'gateway')).to.include({ ok: true });
    expect(harness.gatewaysJoined).to.deep.equal(['gateway_0@127.0.0.1']);
    expect((await harness.status()).members.find((m) => m.role === 'gateway')?.state).to.equal('running');
  });

  it('refuses a rebalance while a running node has not reported the current ring, and changes nothing', async () => {
    const h = await withAttached(3);
    const started = await h.start({ n: 3, w: 2, r: 1, d: 2 });
    if (!started.ok) throw new Error(started.message);
    expect(await h.join('storage_3@127.0.0.1')).to.include({ ok: true });
    const report = (node: string) => h.system.dispatch(ringKeeperRef(MANAGER), { type: 'ring_reported', node, epoch: started.epoch, checksum: started.checksum, fromCheck: true });
    // Two storage nodes say they hold the ring; the third and the new one have said nothing yet.
    report(STORAGE[0]!);
    report(STORAGE[1]!);
    const refused = await h.ask<RebalanceReply>((replyTo) => ({ type: 'rebalance', replyTo }));
    expect(refused).to.include({ ok: false, code: 'RingsDiffer' });
    const unchanged = await h.status();
    expect(unchanged).to.include({ epoch: started.epoch, checksum: started.checksum, previousChecksum: null });
    expect(unchanged.members.find((m) => m.node === 'storage_3@127.0.0.1')?.state).to.equal('attached');
    report(STORAGE[2]!);
    report('storage_3@127.0.0.1');
    await eventually(async () => (await h.status()).consistent, 2_000, 'every running member on the ring');
    // Past the ring check: these stand-in nodes never say whether they still hold released data, which is asked next.
    const next = await h.ask<RebalanceReply>((replyTo) => ({ type: 'rebalance', replyTo }));
    expect(next).to.include({ ok: false, code: 'ReleasePending' });
  });

  it('lets a member that is down leave a running rebalance, and refuses to detach a running one meanwhile', async () => {
    harness = await Harness.start(dir);
    const h = harness;
    const NEW = 'storage_3@127.0.0.1';
    for (const node of STORAGE) await h.join(node);
    const started = await h.start({ n: 2, w: 2, r: 1, d: 2 });
    if (!started.ok) throw new Error(started.message);
    expect(await h.join(NEW)).to.include({ ok: true });
    for (const node of [...STORAGE, NEW]) {
      h.system.dispatch(ringKeeperRef(MANAGER), { type: 'ring_reported', node, epoch: started.epoch, checksum: started.checksum, fromCheck: true });
      const idle = { ok: true as const, change: '', state: 'idle' as const, segments: 0, segmentsDone: 0, objects: 0, bytes: 0, bytesPerSec: 0, etaSeconds: 0, rateLimitBytesPerSec: 0, releasePending: false };
      h.system.dispatch(ringKeeperRef(MANAGER), { type: 'handoff_reported', node, status: idle });
    }
    await eventually(async () => (await h.status()).consistent, 2_000, 'every running member on the ring');
    const rebalance = await h.ask<RebalanceReply>((replyTo) => ({ type: 'rebalance', replyTo }));
    expect(rebalance, JSON.stringify(rebalance)).to.include({ ok: true, started: true });
    const previous = (await h.status()).previousChecksum;
    expect(previous).to.equal(started.checksum);

    const detach = (node: string) => h.ask<MemberActionReply>((replyTo) => ({ type: 'member_action', action: 'detach', node, replyTo }));
    expect(await detach(STORAGE[1]!)).to.include({ ok: false, code: 'RebalanceRunning' });
    h.nodeEvent({ type: 'nodedown', node: STORAGE[1]! });
    await eventually(async () => (await h.status()).members.find((m) => m.node === STORAGE[1])?.state === 'stop', 2_000, 'the member seen down');
    expect(await detach(STORAGE[1]!)).to.include({ ok: true, state: 'detached' });
    // Out of the ring and of the cluster at once; the rebalance goes on from the same previous ring.
    const status = await h.status();
    expect(status.members.some((m) => m.node === STORAGE[1])).to.equal(false);
    expect(status.previousChecksum).to.equal(previous);
    const ring = await h.ask<{ ok: true; doc: RingDocument | null }>((replyTo) => ({ type: 'get_ring', replyTo }));
    expect(ring.doc!.current.map((m) => m.node).sort()).to.deep.equal([STORAGE[0]!, STORAGE[2]!, NEW]);
    expect(ring.doc!.previous!.map((m) => m.node)).to.include(STORAGE[1]!);
    expect(h.lines.some((line) => line.msg === 'a node that is down left the ring during a rebalance' && line.member === STORAGE[1])).to.equal(true);
  });

  it('installs the ring on its own node and sends it again when that copy differs', async () => {
    harness = await Harness.start(dir, { ringCheckIntervalMs: 50 });
    const h = harness;
    for (const node of STORAGE) await h.join(node);
    const started = await h.start({ n: 3, w: 2, r: 1, d: 2 });
    if (!started.ok) throw new Error(started.message);
    await eventually(async () => (await h.ringStatus()).checksum === started.checksum, 2_000, 'ring installed on the manager');

    const tampered: RingDocument = { epoch: 1, settings: { n: 1, w: 1, r: 1, d: 1, rackAware: false }, current: [{ node: 'other@127.0.0.1', alias: 'other', numOfVnodes: 8 }], previous: null };
    const installed = await h.system.ask<RingCacheMessage, InstallReply>(ringCacheRef(MANAGER), (replyTo) => ({ type: 'install', doc: tampered, replyTo }), 2_000);
    expect(installed.ok && installed.checksum).to.not.equal(started.checksum);
    await eventually(async () => (await h.ringStatus()).checksum === started.checksum, 3_000, 'ring sent again');
    expect(h.lines.some((line) => line.msg === 'member ring differs; sending it again')).to.equal(true);
    await eventually(async () => (await h.status()).members[0]?.ring?.checksum === started.checksum, 2_000, 'the manager reports the ring');
  });
});
