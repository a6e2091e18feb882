/**
 * `leofs shell` against real processes: driven through --eval and through its stdin (a pipe), as a
 * script would. One small cluster (a manager and a storage node) for the whole file; a manager whose
 * cluster port speaks TLS for the TLS flags.
 */
import { expect } from 'chai';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { runToEnd } from '../../scripts/bench-support/processes.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../support/eventually.js';
import { CLI, NodeProcess, stopChild } from '../support/node-process.js';
import { ProcessCluster } from '../support/process-cluster.js';

interface ShellRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A shell process; `output()` is what it printed so far. */
interface RunningShell {
  readonly child: ChildProcess;
  output(): ShellRun;
  exited: Promise<ShellRun>;
}

const SHELL_LIMIT_MS = 30_000;

function startShell(args: readonly string[], options: { readonly env?: NodeJS.ProcessEnv; readonly stdin?: string } = {}): RunningShell {
  const child = spawn(process.execPath, [CLI, 'shell', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // A shell that hangs fails its test instead of the whole run.
  const limit = setTimeout(() => child.kill('SIGKILL'), SHELL_LIMIT_MS);
  // 'close', not 'exit': the output may still be in the pipes when the process has exited.
  const exited = new Promise<ShellRun>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    }),
  );
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  return { child, output: () => ({ code: child.exitCode, stdout, stderr }), exited };
}

describe('leofs shell against real processes', function () {
  this.timeout(120_000);

  const cluster = new ProcessCluster({ storageNodes: 1, gateways: 0, settings: { n: 1, w: 1, r: 1, d: 1 } });
  const home = mkdtempSync(join(tmpdir(), 'leofs-shell-home-'));
  let storage: string;

  before(async () => {
    await cluster.start();
    storage = cluster.storage[0]!.name;
  });
  after(async () => {
    await cluster.stop();
    rmSync(home, { recursive: true, force: true });
  });

  /** The shell against the cluster's manager, the cookie in its environment. */
  const shell = (args: readonly string[], stdin?: string): RunningShell =>
    startShell(['--manager', cluster.manager.address, ...args], { env: { LEOFS_COOKIE: cluster.cookie, HOME: home }, ...(stdin === undefined ? {} : { stdin }) });
  const run = (args: readonly string[], stdin?: string): Promise<ShellRun> => shell(args, stdin).exited;

  it('lists every node with its role, state and address', async () => {
    const result = await run(['--eval', 'nodes']);
    expect(result.code, result.stderr).to.equal(0);
    const lines = result.stdout.replace(/\n+$/, '').split('\n');
    expect(lines[0]).to.match(/^ node\s+\| role\s+\| state\s+\| address$/);
    expect(lines.find((line) => line.includes('manager_0@127.0.0.1'))).to.include('manager').and.include('running').and.include(cluster.manager.address);
    expect(lines.find((line) => line.includes(storage))).to.include('storage').and.include('running').and.include(cluster.storage[0]!.address);
  });

  it("reads commands from a pipe, prints no prompt, and shows a node's actors as a tree", async () => {
    const result = await run([], 'actors storage_0\n\n# a comment\nactors storage_0 /node/info\n');
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.not.include('leofs>');
    expect(result.stderr).to.equal('');
    const [tree, subtree] = result.stdout.split(/\n(?= actor )/);
    expect(tree).to.match(/^ actor\s+\| status\s+\| incarnation\s+\| mailbox\s+\| crashes\s+\| last crash/);
    expect(tree).to.match(/\n \/node\s+\| running\s+\| 1\s+\| \d+\s+\| 0\s+\|/);
    expect(tree).to.match(/\n ├─ info\s+\| running/);
    expect(tree).to.match(/\n ├─ storage\s+\| running/);
    expect(tree).to.match(/\n └─ watchdog\s+\| running/);
    expect(tree).to.match(/\n │  ├─ replicator\s+\| running/);
    expect(subtree!.trim().split('\n')).to.have.length(3);
  });

  it('sends an actor a message and prints its answer; a message that breaks the actor gets an error and leaves it running as it was', async () => {
    const ping = await run(['--eval', 'send storage_0 /node/info ping']);
    expect(ping.code, ping.stderr).to.equal(0);
    expect(JSON.parse(ping.stdout)).to.include({ ok: true, node: storage, role: 'storage' });

    const directory = async (): Promise<{ incarnation: number; crashes: number }> => {
      const listed = await run(['--json', '--eval', `actors ${storage} /node/directory`]);
      expect(listed.code, listed.stderr).to.equal(0);
      return JSON.parse(listed.stdout)[0];
    };
    const before = await directory();
    // A push of members that are not members: the directory leaves them out (it answers no push), and runs on.
    const broken = await run(['--timeout', '500', '--eval', "send storage_0 /node/directory {type: 'members', members: [null, 7]}"]);
    expect(broken.code).to.equal(1);
    expect(broken.stderr).to.match(/^error: Timeout: /);
    expect(await directory(), 'the same incarnation, no crash').to.deep.equal(before);
    await cluster.storage[0]!.waitFor((line) => line.level === 'warn' && line.msg === 'left out malformed members of a push' && line.actor === '/node/directory');

    const refused = await run(['--eval', "send storage_0 /node/info {type: 'flush_log'}; send storage_0 /node/nowhere ping"]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.include('error: BadMessage: /node/info does not accept flush_log').and.include('error: NoProc: no actor at /node/nowhere');
  });

  it("shows a storage node's queues", async () => {
    const result = await run(['--eval', 'queues storage_0']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include(`[Queues of ${storage}]`);
    expect(result.stdout).to.match(/repair\s+\|\s+(idling|running)/);
  });

  it("follows a node's log for a while: lines it writes meanwhile are printed", async () => {
    const following = shell(['--eval', 'follow storage_0 4']);
    await eventually(() => following.output().stderr.includes(`following the log of ${storage}`), 10_000, 'the follow to start');
    const changed = await cluster.adm('update-log-level', storage, 'info');
    expect(changed.code, changed.stderr).to.equal(0);
    await eventually(() => following.output().stdout.includes('log level changed'), 5_000, 'the line to come');
    const result = await following.exited;
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^\d\d:\d\d:\d\d\.\d{3} INFO  \/node\/info log follower added/);
    expect(result.stdout).to.match(/\n\d\d:\d\d:\d\d\.\d{3} INFO  \/node\/info log level changed to=info\n/);
    expect(result.stderr).to.include(`stopped following ${storage}`);
    await cluster.storage[0]!.waitFor((line) => line.msg === 'log follower left');
  });

  it('stops following on SIGINT (Ctrl-C) and exits', async () => {
    const following = shell(['--json', '--eval', 'follow storage_0']);
    await eventually(() => following.output().stdout.includes('log follower added'), 10_000, 'the first line');
    await stopChild(following.child, 'SIGINT');
    const result = await following.exited;
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stderr).to.include(`stopped following ${storage}`);
    expect(JSON.parse(result.stdout.trim().split('\n')[0]!)).to.include({ msg: 'log follower added', level: 'info' });
  });

  it('runs leofs-adm commands', async () => {
    const result = await run([], 'adm status\nadm mq-stats storage_0@127.0.0.1\n');
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include('[System Configuration]').and.include('[Node State]').and.include(storage);
    expect(result.stdout).to.include(`[Queues of ${storage}]`);
    const wrong = await run(['--eval', 'adm frobnicate; adm mq-suspend storage_0@127.0.0.1 nonsense']);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.include('error: Unknown argument: frobnicate').and.include('UnknownQueue');
  });

  it('prints JSON that parses, one document per command', async () => {
    const result = await run(['--json', '--eval', 'nodes; actors storage_0; send storage_0 /node/info ping; queues storage_0; adm status']);
    expect(result.code, result.stderr).to.equal(0);
    const documents = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(documents).to.have.length(5);
    expect(documents[0].map((row: { node: string }) => row.node)).to.deep.equal(['manager_0@127.0.0.1', storage]);
    expect(documents[1].find((actor: { path: string }) => actor.path === '/node/info')).to.include({ status: 'running', crashes: 0 });
    expect(documents[2]).to.include({ ok: true, node: storage });
    expect(documents[3]).to.include({ kind: 'queues', node: storage });
    expect(documents[4]).to.include({ kind: 'cluster_status' });
  });

  it('answers bad input with an error line and goes on with the next command', async () => {
    const result = await run([], 'frobnicate\nactors nobody\nsend storage_0 /node/info {type: ping\nsend storage_0 node/info ping\nfollow storage_0 -1\nsend storage_0 "open\nnodes\n');
    expect(result.code).to.equal(1);
    expect(result.stderr.trim().split('\n')).to.deep.equal([
      'error: unknown command frobnicate; help lists the commands',
      `error: unknown node nobody; the nodes are manager_0@127.0.0.1, ${storage}`,
      'error: bad message: unexpected word ping (quote strings) at column 8',
      `error: an actor path starts with / (got node/info); actors ${storage} lists them`,
      'error: SECONDS must be a positive number (got -1)',
      'error: unclosed " at column 16',
    ]);
    expect(result.stdout).to.include(storage);
    expect(cluster.storage[0]!.running && cluster.manager.running, 'no node was hurt').to.equal(true);
  });

  it('says when it cannot reach the manager or the cookie is wrong', async () => {
    const wrongCookie = await startShell(['--manager', cluster.manager.address, '--eval', 'nodes'], { env: { LEOFS_COOKIE: 'not-the-cookie', HOME: home } }).exited;
    expect(wrongCookie.code).to.equal(1);
    expect(wrongCookie.stderr).to.include('refused the cluster cookie');
    const nobody = await startShell(['--manager', '127.0.0.1:1', '--eval', 'nodes'], { env: { LEOFS_COOKIE: cluster.cookie, HOME: home } }).exited;
    expect(nobody.code).to.equal(2);
    expect(nobody.stderr).to.include('cannot reach the manager at 127.0.0.1:1');
  });
});

describe('leofs shell and leofs-adm with a cluster port that speaks TLS', function () {
  this.timeout(60_000);

  const root = mkdtempSync(join(tmpdir(), 'leofs-shell-tls-'));
  const cookie = 'shell-tls-test-cookie';
  let manager: NodeProcess;
  let config: string;

  before(async () => {
    const cert = join(root, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(root, 'key.pem'), '-out', cert], { stdio: 'ignore' });
    config = join(root, 'manager.json');
    writeFileSync(config, JSON.stringify({ tls: { certFile: cert, keyFile: join(root, 'key.pem'), caFile: cert } }));
    manager = new NodeProcess('manager_0@127.0.0.1', ['--role', 'manager', '--cookie', cookie, '--config', config, '--data', join(root, 'manager_0')]);
    await manager.start();
  });
  after(async () => {
    await manager?.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  });

  const env = { LEOFS_COOKIE: cookie, HOME: root };

  it('connects with the CA given by --tls-ca or found in a node config, and not without it', async () => {
    const withCa = await startShell(['--manager', manager.address, '--tls-ca', join(root, 'cert.pem'), '--eval', 'nodes'], { env }).exited;
    expect(withCa.code, withCa.stderr).to.equal(0);
    expect(withCa.stdout).to.include('manager_0@127.0.0.1');
    const withConfig = await startShell(['--manager', manager.address, '--config', config, '--json', '--eval', 'adm status'], { env }).exited;
    expect(withConfig.code, withConfig.stderr).to.equal(0);
    expect(JSON.parse(withConfig.stdout)).to.include({ kind: 'cluster_status' });
    const plain = await startShell(['--manager', manager.address, '--eval', 'nodes'], { env }).exited;
    expect(plain.code).to.equal(2);
    const unknownCa = await startShell(['--manager', manager.address, '--tls', '--eval', 'nodes'], { env }).exited;
    expect(unknownCa.code).to.equal(2);
    expect(unknownCa.stderr).to.include('cannot reach the manager');
  });

  it('lets leofs-adm use the same flags', async () => {
    const adm = await runToEnd([CLI, 'adm', '--manager', manager.address, '--tls-ca', join(root, 'cert.pem'), 'status'], { env: { ...process.env, ...env } });
    expect(adm.code, adm.stderr).to.equal(0);
    expect(adm.stdout).to.include('[System Configuration]');
  });
});
