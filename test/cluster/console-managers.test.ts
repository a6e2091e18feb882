/**
 * The web console with several managers (`leofs dev --managers 2 --console-port 0`, every manager
 * serving it): a session opened on one manager holds on the other, with the same cookie and CSRF
 * token, and a logout on one ends it on both once the managers' replicated state carries it.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
import { stopChild } from '../support/node-process.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('web console on several managers', function () {
  this.timeout(120_000);

  let root: string;
  let dev: ChildProcess | undefined;
  let out = '';
  let consoles: string[];
  let keys: { accessKeyId: string; secretAccessKey: string };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'leofs-console-managers-'));
    const { LEOFS_COOKIE: _cookie, LEOFS_COOKIE_FILE: _file, LEOFS_MANAGER: _manager, ...env } = process.env;
    const args = ['dev', '--managers', '2', '--storage-nodes', '1', '--manager-port', '0', '--http-port', '0', '--console-port', '0', '--log-level', 'warn'];
    dev = spawn(process.execPath, [CLI, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    dev.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    dev.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await eventually(() => {
      if (dev!.exitCode !== null) throw new Error(`leofs dev exited:\n${out}`);
      return /npx leofs-adm.*status/.test(out);
    }, 90_000, `leofs dev up:\n${out}`);
    consoles = [...out.matchAll(/console\s+(http:\/\/127\.0\.0\.1:\d+)/g)].map((match) => match[1]!);
    keys = { accessKeyId: /access key id (\S+)/.exec(out)![1]!, secretAccessKey: /secret access key (\S+)/.exec(out)![1]! };
  });

  after(async () => {
    await stopChild(dev);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function sessionOn(url: string, cookie: string): Promise<{ status: number; body: { userId?: string; csrfToken?: string } }> {
    const response = await fetch(`${url}/api/session`, { headers: { cookie } });
    return { status: response.status, body: (await response.json()) as { userId?: string; csrfToken?: string } };
  }

  it('serves the console from each manager', () => {
    expect(consoles).to.have.length(2);
    expect(new Set(consoles).size).to.equal(2);
  });

  it('holds a session opened on one manager on the other, and ends it on both at a logout', async () => {
    const [first, second] = consoles as [string, string];
    const login = await fetch(`${first}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ ...keys }) });
    expect(login.headers.get('location')).to.equal('/');
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const here = await sessionOn(first, cookie);
    // The second manager may still be deriving the session key, or applying the admin user the leader
    // wrote: it holds the session once its replicated state is there, and never refuses it as gone.
    let there = await sessionOn(second, cookie);
    await eventually(async () => (there = await sessionOn(second, cookie)).status === 200, 10_000, 'the second manager holds the session');
    expect(here.body.csrfToken).to.be.a('string');
    expect(there.body).to.include({ userId: 'admin', csrfToken: here.body.csrfToken });
    // A change on the second manager, with the token the first one gave.
    const created = await fetch(`${second}/api/users/create`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': here.body.csrfToken! },
      body: JSON.stringify({ userId: 'dana' }),
    });
    expect(created.status).to.equal(200);
    const logout = await fetch(`${first}/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': here.body.csrfToken! } });
    expect(await logout.json()).to.deep.equal({ loggedOut: true, everywhere: true });
    expect((await sessionOn(first, cookie)).status).to.equal(401);
    await eventually(async () => (await sessionOn(second, cookie)).status === 401, 10_000, 'the logout reached the second manager');
    expect((await fetch(`${second}/api/users`, { headers: { cookie } })).status).to.equal(401);
  });
});
