/**
 * A manager and its cookie as an operator meets them: taken from a private file, warned about on the
 * command line, and a changed cookie refused at start because the users' secrets were sealed with the
 * old one.
 */
import { expect } from 'chai';
import { runToEnd } from '../../scripts/bench-support/processes.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, NodeProcess } from '../support/node-process.js';

describe('manager: the cluster cookie', function () {
  this.timeout(60_000);

  let root: string;
  let manager: NodeProcess | undefined;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'leofs-manager-cookie-'));
  });

  afterEach(async () => {
    await manager?.kill('SIGTERM');
    manager = undefined;
    rmSync(root, { recursive: true, force: true });
  });

  function cookieFile(name: string, cookie: string): string {
    const path = join(root, name);
    writeFileSync(path, cookie + '\n', { mode: 0o600 });
    return path;
  }

  /** Runs a node that is expected to exit by itself; one still running after the limit is killed. */
  function runToExit(args: readonly string[], limitMs = 15_000): Promise<{ code: number | null; stderr: string }> {
    return runToEnd([CLI, 'node', ...args], { limitMs });
  }

  it('takes the cookie from a file, warns about one on the command line, and refuses to start with another cookie', async () => {
    const data = join(root, 'manager_0');
    const original = cookieFile('cookie', 'the-original-cookie');
    manager = new NodeProcess('manager_0@127.0.0.1', ['--role', 'manager', '--cookie-file', original, '--data', data]);
    await manager.start();
    await manager.waitFor((line) => line.msg === 'admin user created');
    expect(manager.lines.filter((line) => line.level === 'warn' && String(line.msg).includes('cookie'))).to.deep.equal([]);
    await manager.kill('SIGTERM');

    const changed = await runToExit(['--role', 'manager', '--name', 'manager_0@127.0.0.1', '--cluster-port', '0', '--cookie-file', cookieFile('other', 'another-cookie'), '--data', data]);
    expect(changed.code).to.equal(2);
    expect(changed.stderr).to.include('cannot be decrypted with this cluster cookie').and.include('(admin)');

    manager = new NodeProcess('manager_0@127.0.0.1', ['--role', 'manager', '--cookie', 'the-original-cookie', '--data', data]);
    await manager.start();
    expect(manager.lines.some((line) => line.level === 'warn' && String(line.msg).includes('cookie is on the command line'))).to.equal(true);
    expect(manager.lines.filter((line) => line.msg === 'admin user created'), 'the same users, no new admin').to.deep.equal([]);
  });
});
