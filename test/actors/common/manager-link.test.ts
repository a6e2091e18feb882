/**
 * The manager link against stand-in managers on loopback: it finds the leader whichever addresses it
 * is given, asks it, follows it when another is elected or it goes down, says plainly when no manager
 * leads, and treats a lone manager of an earlier release as the leader.
 */
import { expect } from 'chai';
import { ManagerLink, NoLeader } from '../../../src/actors/common/manager-link.js';
import type { AuthMessage } from '../../../src/protocol/cluster/auth.js';
import { authRef } from '../../../src/protocol/cluster/paths.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../../../src/runtime/node.js';
import { FAKE_COOKIE, FakeManagers } from '../../support/fake-managers.js';

describe('the manager link', function () {
  this.timeout(30_000);
  let plane: FakeManagers;
  let client: ClusterNode;

  beforeEach(async () => {
    client = await startClusterNode({ node: 'client@127.0.0.1', cookie: FAKE_COOKIE, logger: memoryLogger('error').logger });
  });
  afterEach(async () => {
    await client.stop();
    await plane?.close();
  });

  const linkTo = (addresses: readonly string[], probeTimeoutMs = 1_000): ManagerLink =>
    new ManagerLink({ addresses, connect: (address) => client.transport.connect(address), api: client.system, clock: client.clock, probeTimeoutMs });
  const listBuckets = (link: ManagerLink, timeoutMs = 5_000) => link.askLeader<AuthMessage, 'list_buckets'>(authRef, { type: 'list_buckets' }, timeoutMs);

  it('finds the leader by asking every manager, and then keeps it without asking again', async () => {
    plane = await FakeManagers.start(3);
    await plane.elect(1);
    const link = linkTo(plane.addresses);
    expect(link.known).to.equal(undefined);
    expect(await link.leader()).to.equal('manager_1@127.0.0.1');
    const asked = plane.leaderAsks;
    expect(await link.leader()).to.equal('manager_1@127.0.0.1');
    expect(plane.leaderAsks).to.equal(asked);
    const reply = await listBuckets(link);
    expect(reply).to.deep.equal({ ok: true, buckets: [] });
    expect(plane.authAsks).to.deep.equal(['manager_1@127.0.0.1']);
  });

  it('reaches a leader it was not given, where a follower says it is', async () => {
    plane = await FakeManagers.start(2);
    await plane.elect(1);
    const link = linkTo([plane.addresses[0]!]);
    expect(await link.leader()).to.equal('manager_1@127.0.0.1');
    expect(await listBuckets(link)).to.deep.equal({ ok: true, buckets: [] });
  });

  it('believes a newer term over a cut-off leader that still thinks it leads', async () => {
    plane = await FakeManagers.start(3);
    await plane.elect(2);
    plane.managers[0]!.override = { role: 'leader', leader: 'manager_0@127.0.0.1', term: 1 };
    expect(await linkTo(plane.addresses).leader()).to.equal('manager_2@127.0.0.1');
  });

  it('asks the new leader when the one it knew stepped down (NoProc) or went down (NodeDown)', async () => {
    plane = await FakeManagers.start(3);
    await plane.elect(0);
    const link = linkTo(plane.addresses);
    await listBuckets(link);
    await plane.elect(1);
    expect(await listBuckets(link)).to.deep.equal({ ok: true, buckets: [] });
    expect(link.known).to.equal('manager_1@127.0.0.1');
    await plane.elect(2);
    await plane.stop(1);
    expect(await listBuckets(link)).to.deep.equal({ ok: true, buckets: [] });
    expect(plane.authAsks).to.deep.equal(['manager_0@127.0.0.1', 'manager_1@127.0.0.1', 'manager_2@127.0.0.1']);
  });

  it('keeps trying within the time it was given while no manager leads', async () => {
    plane = await FakeManagers.start(2);
    await plane.elect(0);
    const link = linkTo(plane.addresses);
    await listBuckets(link);
    await plane.elect(null);
    setTimeout(() => void plane.elect(1), 300);
    expect(await listBuckets(link, 5_000)).to.deep.equal({ ok: true, buckets: [] });
    expect(link.known).to.equal('manager_1@127.0.0.1');
  });

  it('waits for an election when asked to, and not for managers that cannot be reached', async () => {
    plane = await FakeManagers.start(2);
    const link = linkTo(plane.addresses);
    setTimeout(() => void plane.elect(1), 300);
    expect(await link.awaitLeader(5_000)).to.equal('manager_1@127.0.0.1');
    const started = Date.now();
    const error = await linkTo(['127.0.0.1:1']).awaitLeader(5_000).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).to.be.instanceOf(NoLeader);
    expect(Date.now() - started).to.be.below(2_000);
  });

  it('confirms the known leader with one question, and finds the next one when it no longer leads', async () => {
    plane = await FakeManagers.start(3);
    await plane.elect(0);
    const link = linkTo(plane.addresses);
    await link.leader();
    const asked = plane.leaderAsks;
    expect(await link.confirm()).to.equal('manager_0@127.0.0.1');
    expect(plane.leaderAsks).to.equal(asked + 1);
    await plane.elect(2);
    expect(await link.confirm()).to.equal('manager_2@127.0.0.1');
  });

  it('says how many managers answered when none knows a leader', async () => {
    plane = await FakeManagers.start(3);
    await plane.stop(2);
    const link = linkTo(plane.addresses);
    const error = await link.leader().then(
      () => expect.fail('a leader was found'),
      (thrown: unknown) => thrown,
    );
    expect(error).to.be.instanceOf(NoLeader);
    expect((error as Error).message).to.match(/^no manager leads: 2 of 3 managers answered, none knows a leader \(127\.0\.0\.1:\d+: cannot connect/);
    const failure = await listBuckets(link, 1_000);
    expect(failure).to.include({ ok: false, code: 'NodeDown' });
  });

  it('takes a lone manager of an earlier release, which has no consensus actor, as the leader', async () => {
    plane = await FakeManagers.start(1, { legacy: true });
    const link = linkTo(plane.addresses);
    expect(await link.leader()).to.equal('manager_0@127.0.0.1');
    expect(await link.confirm()).to.equal('manager_0@127.0.0.1');
    expect(await listBuckets(link)).to.deep.equal({ ok: true, buckets: [] });
  });

  it('does not guess among several managers that cannot say who leads', async () => {
    plane = await FakeManagers.start(2, { legacy: true });
    const error = await linkTo(plane.addresses).leader().then(() => undefined, (thrown: unknown) => thrown as Error);
    expect(error?.message).to.match(/0 of 2 managers answered.*NoProc/);
  });
});
