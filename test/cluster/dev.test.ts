/**
 * `leofs dev` as another local user would see it: the cookie and the SSE master key on no child's
 * command line, nothing under the data directory readable by others, no secret in a log or in a state
 * file; and `leofs-adm` run from the same directory finds the cluster's cookie by itself.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { runToEnd } from '../../scripts/bench-support/processes.js';
import { ephemeralRangeStart } from '../../src/cli/free-port.js';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';
import { stopChild } from '../support/node-process.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ADM = fileURLToPath(new URL('../../src/cli/adm-main.js', import.meta.url));
const BOB = { accessKeyId: 'BOBDEVKEY0001', secretAccessKey: 'bob-dev-secret-0123456789' };

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The live children of `pid` with their command lines, from /proc. */
function childProcesses(pid: number): Array<{ readonly pid: number; readonly args: string[] }> {
  const out: Array<{ pid: number; args: string[] }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of stat is the parent pid; the command name (field 2) may hold spaces, so count from ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      out.push({ pid: Number(entry), args: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter((arg) => arg.length > 0) });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function walk(root: string): Array<{ path: string; directory: boolean }> {
  const out = [{ path: root, directory: true }];
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) out.push({ path: join(entry.parentPath, entry.name), directory: entry.isDirectory() });
  return out;
}

describe('leofs dev: secrets stay with their user', function () {
  this.timeout(120_000);

  let root: string;
  let data: string;
  let dev: ChildProcess;
  let out = '';
  let env: NodeJS.ProcessEnv;

  before(async function () {
    if (!existsSync('/proc/self/stat')) this.skip();
    root = mkdtempSync(join(tmpdir(), 'leofs-dev-secrets-'));
    data = join(root, 'data', 'dev');
    mkdirSync(join(root, 'home'));
    // Nothing to find the cookie by but what leofs dev leaves behind.
    const { LEOFS_COOKIE: _cookie, LEOFS_COOKIE_FILE: _file, LEOFS_MANAGER: _manager, ...rest } = process.env;
    env = { ...rest, HOME: join(root, 'home') };
    dev = spawn(process.execPath, [CLI, 'dev', '--manager-port', '0', '--http-port', '0', '--storage-nodes', '1'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    dev.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    dev.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await eventually(() => {
      if (dev.exitCode !== null) throw new Error(`leofs dev exited:\n${out}`);
      return /npx leofs-adm.*status/.test(out);
    }, 60_000, `leofs dev up:\n${out}`);
  });

  after(async () => {
    await stopChild(dev);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function adm(args: readonly string[]): Promise<Run> {
    return runToEnd([ADM, ...args], { cwd: root, env });
  }

  const cookie = (): string => readFileSync(join(data, 'cookie'), 'utf8').trim();
  const sseKeyFile = (): string => readFileSync(join(data, 'sse-keys'), 'utf8');
  /** The base64 master key of the one key line. */
  const sseKey = (): string => {
    const lines = sseKeyFile().split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(lines).to.have.length(1);
    const [id, key] = lines[0]!.split(' ');
    expect(id).to.equal('dev-1');
    expect(Buffer.from(key!, 'base64')).to.have.length(32);
    return key!;
  };
  const adminSecret = (): string => /secret access key\s+(\S+)/.exec(out)![1]!;

  it('starts no child with the cookie on its command line', () => {
    const lines = childProcesses(dev.pid!).map((child) => child.args);
    expect(lines.map((args) => args.slice(args.indexOf('--role'), args.indexOf('--role') + 2).join(' ')).sort()).to.deep.equal(['--role gateway', '--role manager', '--role storage']);
    for (const args of lines) {
      expect(args.join(' '), 'the cookie').to.not.include(cookie());
      expect(args.join(' '), 'the SSE master key').to.not.include(sseKey());
      expect(args).to.include('--cookie-file');
      if (args.includes('gateway')) expect(args.slice(args.indexOf('--sse-key-file'))[1]).to.equal(join(data, 'sse-keys'));
    }
  });

  it('prints a leofs-adm line that works from here, and leofs-adm finds the cookie by itself', async () => {
    const line = /npx leofs-adm (.*)status/.exec(out)![1]!.trim().split(' ').filter((word) => word.length > 0);
    expect(line[0]).to.equal('--manager');
    expect(line, 'no cookie in it').to.have.length(2);
    const status = await adm([...line, 'status']);
    expect(status.stderr).to.equal('');
    expect(status.code).to.equal(0);
    expect(status.stdout).to.include('storage_0@127.0.0.1');
    const created = await adm([...line, 'create-user', 'bob', '--access-key', BOB.accessKeyId, '--secret', BOB.secretAccessKey]);
    expect(created.code, created.stderr).to.equal(0);
  });

  it('keeps no secret in a log or a state file, and nothing under the data directory readable by others', async () => {
    // The gateway has stored the snapshot with bob once its log says so.
    await eventually(() => /"msg":"users and buckets updated"[^\n]*"users":2/.test(readFileSync(join(data, 'logs', 'gateway_0.log'), 'utf8')), 20_000, 'bob at the gateway');
    const exited = new Promise((resolve) => dev.once('exit', resolve));
    dev.kill('SIGINT');
    await exited;

    const manager = readFileSync(join(data, 'logs', 'manager_0.log'), 'utf8');
    expect(manager).to.include('"msg":"admin user created"');
    const credentials = join(data, 'manager_0', 'admin-credentials.json');
    expect(JSON.parse(readFileSync(credentials, 'utf8')).secretAccessKey).to.equal(adminSecret());
    const gatewayLog = readFileSync(join(data, 'logs', 'gateway_0.log'), 'utf8');
    expect(gatewayLog).to.match(/"msg":"SSE-S3 master keys loaded"[^\n]*"current":"dev-1"/);
    const key = sseKey();
    for (const { path, directory } of walk(data)) {
      expect((statSync(path).mode & 0o777).toString(8), path).to.equal(directory ? '700' : '600');
      if (directory || path === credentials || path === join(data, 'sse-keys')) continue;
      const bytes = readFileSync(path);
      expect(bytes.includes(Buffer.from(key)), `the SSE master key in ${path}`).to.equal(false);
      expect(bytes.includes(Buffer.from(key, 'base64')), `the SSE master key's bytes in ${path}`).to.equal(false);
      expect(bytes.includes(Buffer.from(adminSecret())), `the admin's secret in ${path}`).to.equal(false);
      expect(bytes.includes(Buffer.from(BOB.secretAccessKey)), `bob's secret in ${path}`).to.equal(false);
    }
    expect(readFileSync(join(data, 'manager_0', 'state', 'data.mdb')).includes(Buffer.from(BOB.accessKeyId)), 'the search finds what is stored').to.equal(true);
  });

  it('keeps the SSE key file as it is on the next start', async () => {
    const before = sseKeyFile();
    let again = '';
    const restarted = spawn(process.execPath, [CLI, 'dev', '--manager-port', '0', '--http-port', '0', '--storage-nodes', '1'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    restarted.stdout!.on('data', (chunk: Buffer) => (again += chunk.toString()));
    restarted.stderr!.on('data', (chunk: Buffer) => (again += chunk.toString()));
    try {
      await eventually(() => {
        if (restarted.exitCode !== null) throw new Error(`leofs dev exited:\n${again}`);
        return /leofs dev cluster is running/.test(again);
      }, 60_000, `leofs dev up again:\n${again}`);
      expect(again).to.include(`SSE keys  ${join(data, 'sse-keys')}`);
      expect(sseKeyFile()).to.equal(before);
      const loaded = readFileSync(join(data, 'logs', 'gateway_0.log'), 'utf8').match(/"msg":"SSE-S3 master keys loaded"/g) ?? [];
      expect(loaded, 'one line per start').to.have.length(2);
    } finally {
      await stopChild(restarted);
    }
  });
});

describe('leofs dev: log levels', function () {
  this.timeout(120_000);

  it('starts a cluster whose nodes log only warnings (it waits for each node\u2019s start line whatever the level)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'leofs-dev-quiet-'));
    const { dev, output } = await runningDev(root, ['--log-level', 'warn'], 60_000);
    try {
      const log = readFileSync(join(root, 'data', 'logs', 'storage_0.log'), 'utf8');
      expect(log).to.include('"msg":"node started"');
      expect(log, 'no other info line').to.not.match(/"level":"info","msg":"(?!node started)/);
      // --http-port 0: the port the gateway bound is learnt from its listening line, logged whatever the level.
      const endpoint = /^\s*S3\s+(http:\/\/\S+)/m.exec(output())?.[1];
      expect(endpoint, 'the S3 endpoint printed').to.match(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
      expect((await fetch(`${endpoint!}/`)).status, 'an unsigned request is answered').to.equal(403);
    } finally {
      await stopChild(dev);
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('leofs dev: a control plane of three managers', function () {
  this.timeout(120_000);

  it('runs three managers, one of them leading, and prints a leofs-adm line that names them all', async () => {
    const root = mkdtempSync(join(tmpdir(), 'leofs-dev-managers-'));
    const { dev, output } = await runningDev(root, ['--managers', '3'], 90_000);
    try {
      const out = output();
      expect(out.match(/^ {2}manager {3}manager_\d@127\.0\.0\.1/gm)).to.have.length(3);
      const managers = /npx leofs-adm --manager (\S+)/.exec(out)![1]!;
      expect(managers.split(',')).to.have.length(3);
      const status = await runToEnd([ADM, '--manager', managers, '--cookie-file', join(root, 'data', 'cookie'), '--json', 'status']);
      expect(status.code, status.stderr).to.equal(0);
      const roles = (JSON.parse(status.stdout) as { managers: Array<{ role: string }> }).managers.map((manager) => manager.role).sort();
      expect(roles).to.deep.equal(['follower', 'follower', 'leader']);
    } finally {
      await stopChild(dev);
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('leofs dev: children started again', function () {
  this.timeout(120_000);

  it('starts a killed child again on its port, and tries again while the port is held, once it is free', async function () {
    if (!existsSync('/proc/self/stat')) this.skip();
    const root = mkdtempSync(join(tmpdir(), 'leofs-dev-restart-'));
    const { dev, output } = await runningDev(root, [], 60_000);
    let holder: Server | undefined;
    try {
      const storage = childProcesses(dev.pid!).find((child) => child.args.includes('storage'))!;
      const port = Number(storage.args[storage.args.indexOf('--cluster-port') + 1]);
      expect(port, 'a port picked below the ephemeral range').to.be.within(1, (ephemeralRangeStart() ?? 65_536) - 1);
      process.kill(storage.pid, 'SIGKILL');
      // Held before the first try (a second after the exit), and given back once a try has failed.
      await eventually(async () => (holder = await listenOn(port).catch(() => undefined)) !== undefined, 900, 'the port let go by the killed child');
      await eventually(() => output().includes('storage_0@127.0.0.1 did not start again'), 30_000, 'a failed try');
      await new Promise((resolve) => holder!.close(resolve));
      holder = undefined;
      await eventually(() => output().includes(`storage_0@127.0.0.1 is back on 127.0.0.1:${port}`), 60_000, 'the child back on its port');
    } finally {
      if (holder) await new Promise((resolve) => holder!.close(resolve));
      await stopChild(dev);
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/** A server on `port` that drops every connection (the cluster's nodes dial the port it holds). */
function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** `leofs dev` with one storage node on free ports, data under `root`, once it says it is running; its output so far. */
async function runningDev(root: string, extraArgs: readonly string[], timeoutMs: number): Promise<{ dev: ChildProcess; output: () => string }> {
  const dev = spawn(process.execPath, [CLI, 'dev', '--data', join(root, 'data'), '--manager-port', '0', '--http-port', '0', '--storage-nodes', '1', ...extraArgs], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  dev.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  dev.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    await eventually(() => {
      if (dev.exitCode !== null) throw new Error(`leofs dev exited:\n${out}`);
      return /leofs dev cluster is running/.test(out);
    }, timeoutMs, 'leofs dev up');
  } catch (error) {
    await stopChild(dev);
    throw new Error(`${(error as Error).message}:\n${out}`);
  }
  return { dev, output: () => out };
}
