/**
 * The web console's doors, over HTTP against a stand-in for the admin actor and a manual clock: a
 * wrong secret, a non-administrator, a change without its CSRF token or from another origin, and a
 * session past its idle time are all refused; nothing but the login page answers without a session.
 * A second console over the same key and the same revocations stands for a second manager.
 */
import { expect } from 'chai';
import { startConsoleServer, type ConsoleServer } from '../../../../src/actors/manager/console/console-server.js';
import type { AdminCommand, AdminReply } from '../../../../src/protocol/cluster/admin.js';
import { ManualClock } from '../../../../src/runtime/clock.js';
import { revocationKey, type SessionRevocation } from '../../../../src/core/console-sessions.js';
import { memoryLogger } from '../../../../src/runtime/logger.js';

const ADMIN = { userId: 'admin', accessKeyId: 'ADMINKEY0001', secret: 'admin-secret-0123456789', role: 'admin' as const };
const NORMAL = { userId: 'alice', accessKeyId: 'ALICEKEY0001', secret: 'alice-secret-0123456789', role: 'normal' as const };
const IDLE_MS = 30 * 60_000;
const MAX_AGE_MS = 12 * 3_600_000;
const SESSION_KEY = Buffer.alloc(32, 3);

describe('web console server', () => {
  const clock = new ManualClock();
  const commands: AdminCommand[] = [];
  /** Each manager's copy of the replicated users, as the console checks it: administrators and the keys they hold. */
  const accounts = new Set<string>([`${ADMIN.userId}/${ADMIN.accessKeyId}`]);
  /** What the consoles log (warnings and up). */
  const log = memoryLogger('warn');
  /** Run while check_credentials is checking a login, when set. */
  let duringCheck: (() => void) | undefined;
  /** The managers' replicated revocations, as the admin commands write them. */
  const revocations = new Map<string, SessionRevocation>();
  let server: ConsoleServer;
  let other: ConsoleServer;

  function revoke(revocation: SessionRevocation): void {
    revocations.set(revocationKey(revocation.kind, revocation.subject), revocation);
  }

  async function run(command: AdminCommand): Promise<AdminReply> {
    commands.push(command);
    switch (command.command) {
      case 'check_credentials': {
        duringCheck?.();
        const user = [ADMIN, NORMAL].find((candidate) => candidate.accessKeyId === command.accessKeyId && candidate.secret === command.secretAccessKey);
        if (user === undefined) return { ok: false, code: 'InvalidCredentials', message: 'wrong' };
        return { ok: true, result: { kind: 'credentials', user: { userId: user.userId, accessKeyId: user.accessKeyId, role: user.role, createdAtMs: 0 } } };
      }
      case 'get_users':
        return { ok: true, result: { kind: 'users', users: [] } };
      case 'create_user':
        return { ok: true, result: { kind: 'user', user: { userId: command.userId, accessKeyId: 'NEWKEY', secretAccessKey: 'new-secret', role: 'normal', createdAtMs: 0 } } };
      case 'add_access_key':
        return { ok: true, result: { kind: 'access_key', userId: command.userId, key: { accessKeyId: 'SECONDKEY0001', secretAccessKey: 'second-secret-0123', createdAtMs: 0 } } };
      case 'get_access_keys':
        return { ok: true, result: { kind: 'access_keys', userId: command.userId, keys: [{ accessKeyId: ADMIN.accessKeyId, createdAtMs: 0 }] } };
      case 'delete_access_key':
        if (command.accessKeyId === 'NOSUCHKEY') return { ok: false, code: 'NoSuchAccessKey', message: 'none' };
        revoke({ kind: 'access_key', subject: command.accessKeyId, beforeMs: clock.now(), untilMs: clock.now() + MAX_AGE_MS });
        return { ok: true, result: { kind: 'done', message: 'deleted' } };
      case 'revoke_console_sessions':
        revoke(command.revocation);
        return { ok: true, result: { kind: 'done', message: 'revoked' } };
      case 'member_action':
        return { ok: true, result: { kind: 'done', message: `${command.node}: ${command.action}` } };
      case 'rebalance':
        return { ok: true, result: { kind: 'rebalance', started: true, epoch: 3, checksum: 1, joined: ['storage_3@127.0.0.1'], left: [], receivers: ['storage_3@127.0.0.1'], segments: 168, rateBytesPerSec: 0 } };
      case 'mq_stats':
        return { ok: true, result: { kind: 'queues', node: command.node, queues: [{ name: 'repair', size: 2, state: 'running' }], antiEntropy: null, handoff: null } };
      case 'actors':
        return { ok: true, result: { kind: 'actors', node: command.node, atMs: 0, actors: [] } };
      case 'recovery_status':
        return { ok: true, result: { kind: 'recovery_status', nodes: [], unreachable: [] } };
      case 'metrics_history': {
        const point = { atMs: 10_000, spanMs: 10_000, requestsPerSecond: 5, receivedBytesPerSecond: 500, sentBytesPerSecond: 900, meanMs: 3, p50Ms: 2, p99Ms: 9 };
        const nodes = [{ node: 'gateway_0@127.0.0.1', role: 'gateway', points: [point] }].filter((entry) => command.node === undefined || entry.node === command.node);
        if (command.node !== undefined && nodes.length === 0) return { ok: false, code: 'UnknownNode', message: `${command.node} is not a member` };
        return { ok: true, result: { kind: 'metrics_history', atMs: 10_000, intervalMs: 10_000, windowMs: 3_600_000, lastSampleAtMs: 10_000, nodes } };
      }
      default:
        return { ok: false, code: 'BadCommand', message: `not in this test: ${command.command}` };
    }
  }

  before(async () => {
    const options = {
      host: '127.0.0.1',
      port: 0,
      run,
      clock,
      logger: log.logger,
      sessionLimits: { idleMs: IDLE_MS, maxAgeMs: MAX_AGE_MS, maxSessions: 16 },
      sessionKey: SESSION_KEY,
      revocations: (key: string) => revocations.get(key),
      account: (userId: string, accessKeyId: string) => accounts.has(`${userId}/${accessKeyId}`),
    };
    server = await startConsoleServer(options);
    other = await startConsoleServer(options);
  });

  after(async () => {
    await server.close();
    await other.close();
  });

  async function login(accessKeyId: string, secretAccessKey: string): Promise<{ location: string | null; cookie: string | null }> {
    const response = await fetch(`${server.url}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ accessKeyId, secretAccessKey }) });
    expect(response.status).to.equal(303);
    const setCookie = response.headers.get('set-cookie');
    return { location: response.headers.get('location'), cookie: setCookie === null ? null : setCookie.split(';')[0]! };
  }

  async function session(cookie: string): Promise<{ csrfToken: string }> {
    const response = await fetch(`${server.url}/api/session`, { headers: { cookie } });
    expect(response.status).to.equal(200);
    return (await response.json()) as { csrfToken: string };
  }

  it('answers nothing but the login page without a session', async () => {
    const page = await fetch(`${server.url}/`, { redirect: 'manual' });
    expect(page.status).to.equal(303);
    expect(page.headers.get('location')).to.equal('/login');
    expect((await fetch(`${server.url}/api/users`)).status).to.equal(401);
    expect((await fetch(`${server.url}/api/events`)).status).to.equal(401);
    expect((await fetch(`${server.url}/assets/app.js`, { redirect: 'manual' })).status).to.equal(303);
    const loginPage = await fetch(`${server.url}/login`);
    expect(loginPage.status).to.equal(200);
    expect(loginPage.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(loginPage.headers.get('content-security-policy')).to.include("script-src 'self'");
    expect(loginPage.headers.get('cache-control')).to.equal('no-store');
    const script = await fetch(`${server.url}/assets/login.js`);
    expect(script.headers.get('content-type')).to.equal('text/javascript; charset=utf-8');
    const etag = script.headers.get('etag')!;
    expect((await fetch(`${server.url}/assets/login.js`, { headers: { 'if-none-match': etag } })).status).to.equal(304);
  });

  it('refuses a wrong secret and a user who is not an administrator, with no cookie, and logs the address but not what was typed', async () => {
    const logged = log.lines.length;
    expect(await login(ADMIN.accessKeyId, 'not-the-secret')).to.deep.equal({ location: '/login?failed=invalid', cookie: null });
    expect(await login(NORMAL.accessKeyId, NORMAL.secret)).to.deep.equal({ location: '/login?failed=invalid', cookie: null });
    const refusals = log.lines.slice(logged).filter((line) => line.msg === 'console login refused');
    expect(refusals).to.have.length(2);
    for (const line of refusals) {
      expect(line).to.have.property('address');
      expect(JSON.stringify(line)).to.not.include(ADMIN.accessKeyId).and.to.not.include(NORMAL.accessKeyId);
    }
  });

  it("ends a session whose user is no longer an administrator or no longer holds its key, on this manager's copy of the users, with no revocation written", async () => {
    const { cookie } = await login(ADMIN.accessKeyId, ADMIN.secret);
    await session(cookie!);
    accounts.delete(`${ADMIN.userId}/${ADMIN.accessKeyId}`);
    try {
      expect((await fetch(`${server.url}/api/users`, { headers: { cookie: cookie! } })).status).to.equal(401);
      expect((await fetch(`${other.url}/api/session`, { headers: { cookie: cookie! } })).status).to.equal(401);
    } finally {
      accounts.add(`${ADMIN.userId}/${ADMIN.accessKeyId}`);
    }
    expect(revocations.size, 'no revocation did it').to.equal(0);
  });

  it('covers a login with a revocation of its user written while its credentials were checked', async () => {
    duringCheck = () => {
      revoke({ kind: 'user', subject: ADMIN.userId, beforeMs: clock.now(), untilMs: clock.now() + MAX_AGE_MS });
      clock.advance(2_000);
    };
    try {
      const { cookie } = await login(ADMIN.accessKeyId, ADMIN.secret);
      expect((await fetch(`${server.url}/api/session`, { headers: { cookie: cookie! } })).status).to.equal(401);
    } finally {
      duringCheck = undefined;
      revocations.delete(revocationKey('user', ADMIN.userId));
    }
    clock.advance(1_000);
  });

  it('lets a session lapse while its page refreshes itself (queues, actors, recovery, cluster), and counts a move to another page as use', async () => {
    const { cookie } = await login(ADMIN.accessKeyId, ADMIN.secret);
    await session(cookie!);
    const poll = async (): Promise<number[]> =>
      Promise.all(['/api/queues?node=storage_0@127.0.0.1', '/api/actors?node=storage_0@127.0.0.1', '/api/recovery', '/api/cluster', '/api/metrics'].map(async (path) => (await fetch(`${server.url}${path}`, { headers: { cookie: cookie! } })).status));
    for (let elapsedMs = 0; elapsedMs < IDLE_MS; elapsedMs += 5 * 60_000) {
      expect(await poll()).to.not.include(401);
      clock.advance(5 * 60_000);
    }
    expect(await poll(), 'idle since the login').to.deep.equal([401, 401, 401, 401, 401]);
    const again = await login(ADMIN.accessKeyId, ADMIN.secret);
    clock.advance(IDLE_MS - 60_000);
    // A move to another page asks /api/session: the idle time starts again.
    await session(again.cookie!);
    clock.advance(IDLE_MS - 60_000);
    expect((await fetch(`${server.url}/api/recovery`, { headers: { cookie: again.cookie! } })).status).to.equal(200);
  });

  it('logs an administrator in with a cookie no script can read, and lets a change through only with its CSRF token', async () => {
    const response = await fetch(`${server.url}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secret }) });
    expect(response.headers.get('location')).to.equal('/');
    expect(response.headers.get('set-cookie')).to.match(/^leofs_console=[\w-]+\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = await session(cookie);
    const create = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${server.url}/api/users/create`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ userId: 'bob' }) });
    const before = commands.length;
    const without = await create({});
    expect(without.status).to.equal(403);
    expect(await without.json()).to.include({ code: 'BadCsrfToken' });
    expect((await create({ 'x-csrf-token': 'forged' })).status).to.equal(403);
    expect((await create({ 'x-csrf-token': csrfToken, origin: 'http://evil.example' })).status).to.equal(403);
    expect(commands.slice(before), 'no command ran').to.deep.equal([]);
    const created = await create({ 'x-csrf-token': csrfToken });
    expect(created.status).to.equal(200);
    expect(await created.json()).to.deep.include({ kind: 'user' });
    expect(commands.at(-1)).to.deep.equal({ command: 'create_user', userId: 'bob', role: 'normal' });
  });

  it('ends a session left idle, and on logout', async () => {
    const { cookie } = await login(ADMIN.accessKeyId, ADMIN.secret);
    await session(cookie!);
    clock.advance(IDLE_MS - 1_000);
    await session(cookie!);
    clock.advance(IDLE_MS);
    const expired = await fetch(`${server.url}/api/users`, { headers: { cookie: cookie! } });
    expect(expired.status).to.equal(401);
    const again = await login(ADMIN.accessKeyId, ADMIN.secret);
    const { csrfToken } = await session(again.cookie!);
    expect((await fetch(`${server.url}/logout`, { method: 'POST', headers: { cookie: again.cookie! } })).status, 'logout needs the token too').to.equal(403);
    const out = await fetch(`${server.url}/logout`, { method: 'POST', headers: { cookie: again.cookie!, 'x-csrf-token': csrfToken } });
    expect(out.status).to.equal(200);
    expect(out.headers.get('set-cookie')).to.include('Max-Age=0');
    expect((await fetch(`${server.url}/api/users`, { headers: { cookie: again.cookie! } })).status).to.equal(401);
  });

  it('holds a session opened on one manager on another, with the same CSRF token, and a logout on either ends it on both', async () => {
    const { cookie } = await login(ADMIN.accessKeyId, ADMIN.secret);
    const { csrfToken } = await session(cookie!);
    clock.advance(1_000);
    const there = await fetch(`${other.url}/api/session`, { headers: { cookie: cookie! } });
    expect(there.status).to.equal(200);
    const renewed = there.headers.get('set-cookie');
    expect(renewed, 'the use is told back in a new token').to.match(/^leofs_console=[\w-]+\.[\w-]{43}; Path=\/; HttpOnly/);
    expect(await there.json()).to.include({ userId: 'admin', csrfToken });
    const created = await fetch(`${other.url}/api/users/create`, { method: 'POST', headers: { cookie: cookie!, 'content-type': 'application/json', 'x-csrf-token': csrfToken }, body: JSON.stringify({ userId: 'erin' }) });
    expect(created.status).to.equal(200);
    // The renewed token is the same session: logging out with it on the second manager ends both.
    const out = await fetch(`${other.url}/logout`, { method: 'POST', headers: { cookie: renewed!.split(';')[0]!, 'x-csrf-token': csrfToken } });
    expect(await out.json()).to.deep.equal({ loggedOut: true, everywhere: true });
    expect(commands.at(-1)).to.deep.include({ command: 'revoke_console_sessions' });
    expect((await fetch(`${server.url}/api/users`, { headers: { cookie: cookie! } })).status).to.equal(401);
    expect((await fetch(`${other.url}/api/users`, { headers: { cookie: cookie! } })).status).to.equal(401);
  });

  it("adds, lists and deletes a user's access keys; deleting the key a session logged in with ends that session", async () => {
    const { cookie } = await login(ADMIN.accessKeyId, ADMIN.secret);
    const { csrfToken } = await session(cookie!);
    const change = (path: string, fields: Record<string, string>): Promise<Response> =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: { cookie: cookie!, 'content-type': 'application/json', 'x-csrf-token': csrfToken }, body: JSON.stringify(fields) });
    const listed = await fetch(`${server.url}/api/access-keys?userId=admin`, { headers: { cookie: cookie! } });
    expect(await listed.json()).to.deep.include({ kind: 'access_keys', userId: 'admin' });
    expect(commands.at(-1)).to.deep.equal({ command: 'get_access_keys', userId: 'admin' });
    expect((await fetch(`${server.url}/api/access-keys`, { headers: { cookie: cookie! } })).status, 'no user named').to.equal(400);
    const added = await change('/api/access-keys/create', { userId: 'admin' });
    expect(((await added.json()) as { key: { secretAccessKey: string } }).key.secretAccessKey).to.equal('second-secret-0123');
    expect(commands.at(-1)).to.deep.equal({ command: 'add_access_key', userId: 'admin' });
    const refused = await change('/api/access-keys/delete', { userId: 'admin', accessKeyId: 'NOSUCHKEY' });
    expect(refused.status).to.equal(404);
    expect((await fetch(`${server.url}/api/users`, { headers: { cookie: cookie! } })).status, 'a refused deletion ends nothing').to.equal(200);
    expect((await change('/api/access-keys/delete', { userId: 'admin', accessKeyId: ADMIN.accessKeyId })).status).to.equal(200);
    expect(commands.at(-1)).to.deep.equal({ command: 'delete_access_key', userId: 'admin', accessKeyId: ADMIN.accessKeyId });
    expect((await fetch(`${server.url}/api/users`, { headers: { cookie: cookie! } })).status, 'its key is gone').to.equal(401);
    expect((await fetch(`${other.url}/api/users`, { headers: { cookie: cookie! } })).status, 'on every manager').to.equal(401);
    // The stand-in still takes the deleted key: logins after the deletion are sessions it does not name.
    clock.advance(1);
  });

  it('suspends, resumes and detaches nodes and starts a rebalance through the admin commands, only with the CSRF token', async () => {
    const { cookie } = await login(ADMIN.accessKeyId, ADMIN.secret);
    const { csrfToken } = await session(cookie!);
    const change = (path: string, fields: Record<string, string>, token: string | null = csrfToken): Promise<Response> =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { cookie: cookie!, 'content-type': 'application/json', ...(token === null ? {} : { 'x-csrf-token': token }) },
        body: JSON.stringify(fields),
      });
    const before = commands.length;
    expect((await change('/api/nodes/action', { action: 'detach', node: 'storage_1@127.0.0.1' }, null)).status).to.equal(403);
    expect((await change('/api/rebalance/start', {}, null)).status).to.equal(403);
    const bad = await change('/api/nodes/action', { action: 'format', node: 'storage_1@127.0.0.1' });
    expect(bad.status).to.equal(400);
    expect(await bad.json()).to.include({ code: 'BadField' });
    expect((await change('/api/nodes/action', { action: 'suspend' })).status, 'no node named').to.equal(400);
    expect(commands.slice(before), 'no command ran').to.deep.equal([]);
    for (const action of ['suspend', 'resume', 'detach', 'rollback']) {
      const done = await change('/api/nodes/action', { action, node: 'storage_1@127.0.0.1' });
      expect(done.status).to.equal(200);
      expect(commands.at(-1)).to.deep.equal({ command: 'member_action', action, node: 'storage_1@127.0.0.1' });
    }
    const started = await change('/api/rebalance/start', {});
    expect(await started.json()).to.deep.include({ kind: 'rebalance', started: true });
    expect(commands.at(-1)).to.deep.equal({ command: 'rebalance' });
    expect(await (await fetch(`${server.url}/api/recovery`, { headers: { cookie: cookie! } })).json()).to.deep.equal({ kind: 'recovery_status', nodes: [], unreachable: [] });
  });

  it("reads a node's queues and actors through mq_stats and actors, and needs the node named", async () => {
    const { cookie } = await login(ADMIN.accessKeyId, ADMIN.secret);
    const get = (path: string): Promise<Response> => fetch(`${server.url}${path}`, { headers: { cookie: cookie! } });
    expect(await (await get('/api/queues?node=storage_0%40127.0.0.1')).json()).to.deep.include({ kind: 'queues', node: 'storage_0@127.0.0.1' });
    expect(commands.at(-1)).to.deep.equal({ command: 'mq_stats', node: 'storage_0@127.0.0.1' });
    expect(await (await get('/api/actors?node=storage_0%40127.0.0.1')).json()).to.deep.include({ kind: 'actors', node: 'storage_0@127.0.0.1' });
    expect(commands.at(-1)).to.deep.equal({ command: 'actors', node: 'storage_0@127.0.0.1' });
    expect((await get('/api/queues')).status).to.equal(400);
    expect((await get('/api/actors?node=')).status).to.equal(400);
    expect((await fetch(`${server.url}/api/actors?node=storage_0%40127.0.0.1`)).status, 'no session').to.equal(401);
  });

  it('reads the last hour of requests through metrics_history, without counting as a use of the session', async () => {
    const { cookie } = await login(ADMIN.accessKeyId, ADMIN.secret);
    const get = (path: string): Promise<Response> => fetch(`${server.url}${path}`, { headers: { cookie: cookie! } });
    const all = (await (await get('/api/metrics')).json()) as { kind: string; nodes: Array<{ node: string; points: Array<{ requestsPerSecond: number }> }> };
    expect(all.kind).to.equal('metrics_history');
    expect(all.nodes.map((entry) => entry.points[0]!.requestsPerSecond)).to.deep.equal([5]);
    expect(commands.at(-1)).to.deep.equal({ command: 'metrics_history' });
    expect((await get('/api/metrics?node=gateway_0%40127.0.0.1')).status).to.equal(200);
    expect(commands.at(-1)).to.deep.equal({ command: 'metrics_history', node: 'gateway_0@127.0.0.1' });
    expect((await get('/api/metrics?node=ghost%40127.0.0.1')).status).to.equal(404);
    expect((await fetch(`${server.url}/api/metrics`)).status, 'no session').to.equal(401);
    // Polled for longer than the idle time, the charts alone do not keep the session.
    for (let polled = 0; polled < IDLE_MS; polled += IDLE_MS / 4) {
      clock.advance(IDLE_MS / 4);
      await get('/api/metrics');
    }
    expect((await get('/api/metrics')).status).to.equal(401);
  });

  it('refuses logins, as unavailable, while its manager does not know the session key yet', async () => {
    const early = await startConsoleServer({ host: '127.0.0.1', port: 0, run, clock, logger: log.logger, sessionKey: () => undefined, account: () => true });
    try {
      const response = await fetch(`${early.url}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secret }) });
      expect(response.headers.get('location')).to.equal('/login?failed=unavailable');
      expect(response.headers.get('set-cookie')).to.equal(null);
      // A session opened elsewhere is neither taken nor refused as gone: the operator is told to wait.
      const { cookie } = await login(ADMIN.accessKeyId, ADMIN.secret);
      const waiting = await fetch(`${early.url}/api/session`, { headers: { cookie: cookie! } });
      expect(waiting.status).to.equal(503);
      expect(waiting.headers.get('retry-after')).to.equal('1');
      expect(((await waiting.json()) as { code: string }).code).to.equal('NotReady');
      expect((await fetch(`${early.url}/api/session`)).status, 'no cookie at all').to.equal(401);
      // A page asked for meanwhile leads to the login page, which says why; the cookie is kept.
      const page = await fetch(`${early.url}/`, { headers: { cookie: cookie! }, redirect: 'manual' });
      expect(page.headers.get('location')).to.equal('/login?failed=unavailable');
      expect(page.headers.get('set-cookie')).to.equal(null);
    } finally {
      await early.close();
    }
  });

  it('makes an address wait after five failed logins', async () => {
    for (let i = 0; i < 5; i++) await login(ADMIN.accessKeyId, `wrong-${i}`);
    expect((await login(ADMIN.accessKeyId, ADMIN.secret)).location).to.equal('/login?failed=throttled');
    clock.advance(61_000);
    expect((await login(ADMIN.accessKeyId, ADMIN.secret)).location).to.equal('/');
  });
});
