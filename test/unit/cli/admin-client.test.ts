/**
 * The admin client against stand-in managers on loopback: commands run on the leader and follow it,
 * and a failure to connect names the managers tried.
 */
import { expect } from 'chai';
import { CookieRefused, ManagerUnreachable, openAdminClient } from '../../../src/cli/admin-client.js';
import { FAKE_COOKIE, FakeManagers } from '../../support/fake-managers.js';

describe('cli/admin-client with several managers', function () {
  this.timeout(30_000);
  let plane: FakeManagers | undefined;
  afterEach(async () => {
    await plane?.close();
    plane = undefined;
  });

  const ranOn = (reply: unknown): string | undefined => {
    const result = (reply as { ok: boolean; result?: { kind: string; nodes: Array<{ node: string }> } }).result;
    return result?.kind === 'versions' ? result.nodes[0]?.node : undefined;
  };

  it('runs commands on the leader, and on the next one once the leadership moves', async () => {
    plane = await FakeManagers.start(3);
    await plane.elect(2);
    const client = await openAdminClient({ manager: plane.addresses.join(','), cookie: FAKE_COOKIE, timeoutMs: 5_000 });
    try {
      expect(client.managerNode).to.equal('manager_2@127.0.0.1');
      expect(ranOn(await client.run({ command: 'version' }))).to.equal('manager_2@127.0.0.1');
      await plane.elect(0);
      expect(ranOn(await client.run({ command: 'version' }))).to.equal('manager_0@127.0.0.1');
      expect(client.managerNode).to.equal('manager_0@127.0.0.1');
      await plane.elect(1);
      await plane.stop(0);
      expect(ranOn(await client.run({ command: 'version' }))).to.equal('manager_1@127.0.0.1');
    } finally {
      await client.close();
    }
  });

  it('names the managers it tried when none can be reached or none leads', async () => {
    const refusedPort = await freePortAddress();
    const error = await openAdminClient({ manager: [refusedPort, '127.0.0.1:1'], cookie: FAKE_COOKIE, timeoutMs: 2_000 }).then(() => undefined, (thrown: Error) => thrown);
    expect(error).to.be.instanceOf(ManagerUnreachable);
    expect(error?.message).to.match(new RegExp(`^cannot reach the managers at ${refusedPort}, 127\\.0\\.0\\.1:1: no manager leads: 0 of 2 managers answered`));
    const one = await openAdminClient({ manager: '127.0.0.1:1', cookie: FAKE_COOKIE, timeoutMs: 2_000 }).then(() => undefined, (thrown: Error) => thrown);
    expect(one?.message).to.match(/^cannot reach the manager at 127\.0\.0\.1:1: cannot connect/);
    plane = await FakeManagers.start(2);
    const leaderless = await openAdminClient({ manager: plane.addresses, cookie: FAKE_COOKIE, timeoutMs: 2_000 }).then(() => undefined, (thrown: Error) => thrown);
    expect(leaderless).to.be.instanceOf(ManagerUnreachable);
    expect(leaderless?.message).to.include('2 of 2 managers answered, none knows a leader');
  });

  it('says which managers refused the cookie', async () => {
    plane = await FakeManagers.start(2);
    await plane.elect(0);
    const error = await openAdminClient({ manager: plane.addresses, cookie: 'not-the-cookie', timeoutMs: 2_000 }).then(() => undefined, (thrown: Error) => thrown);
    expect(error).to.be.instanceOf(CookieRefused);
    expect(error?.message).to.equal(`the managers at ${plane.addresses.join(', ')} refused the cluster cookie; check --cookie or LEOFS_COOKIE`);
  });
});

/** An address where nothing listens. */
async function freePortAddress(): Promise<string> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}
