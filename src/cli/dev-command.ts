/**
 * `leofs dev`: the embedded default cluster on one machine. One manager, storage nodes and a gateway
 * run as child processes on loopback, each supervised here: a child that dies is started again on the
 * same port. Logs go to <data>/logs/<node>.log; warnings and errors are echoed to this terminal.
 * Ctrl-C stops every child. A second start reuses the data and the cookie.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { randomHex } from '../core/random-id.js';
import { openAdminClient } from './admin-client.js';
import { processFor } from './role-process.js';

const CLI = fileURLToPath(new URL('./main.js', import.meta.url));
const RESTART_INITIAL_MS = 1_000;
const RESTART_MAX_MS = 30_000;
const STABLE_AFTER_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 30_000;

export interface DevOptions {
  readonly dataDir: string;
  readonly managerPort: number;
  readonly storageNodes: number;
  readonly logLevel: string;
  /** Port of the gateway's S3 API; 8080 when not given. */
  readonly httpPort?: number;
}

const DEFAULT_HTTP_PORT = 8080;

export function devCommandOptions(yargs: Argv): Argv {
  return yargs
    .option('data', { type: 'string', default: './data/dev', describe: 'where every node keeps its data and logs' })
    .option('manager-port', { type: 'number', default: 4010, describe: 'cluster port of the manager (0: any free port)' })
    .option('storage-nodes', { type: 'number', default: 3, describe: 'how many storage nodes to run' })
    .option('log-level', { choices: ['debug', 'info', 'warn', 'error'], default: 'info' })
    .option('http-port', { type: 'number', default: DEFAULT_HTTP_PORT, describe: 'port of the S3 API on 127.0.0.1' });
}

type Role = 'manager' | 'storage' | 'gateway';

interface StartLine {
  readonly address: string;
}

/** One supervised child node. */
class ChildNode {
  address = '';
  private child: ChildProcess | undefined;
  private restartMs = RESTART_INITIAL_MS;
  private startedAtMs = 0;
  private stopping = false;
  private readonly log: WriteStream;

  constructor(
    readonly name: string,
    readonly role: Role,
    private readonly args: () => string[],
    logDir: string,
    private readonly echo: (line: string) => void,
    private readonly onRecord: (record: Record<string, unknown>) => void = () => {},
  ) {
    this.log = createWriteStream(join(logDir, `${name.split('@')[0]}.log`), { flags: 'a' });
  }

  /** Starts the process and resolves once it logged its start line. */
  start(port: number): Promise<StartLine> {
    return new Promise((resolveStart, rejectStart) => {
      // Own process group, so a Ctrl-C in the terminal reaches only us and we stop children in order;
      // LEOFS_PARENT_PID makes a child stop once we are gone, however we went.
      const child = spawn(process.execPath, [...processFor(this.role).v8Flags, CLI, 'node', '--role', this.role, '--name', this.name, '--cluster-port', String(port), ...this.args()], {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
        env: { ...process.env, ...processFor(this.role).env, LEOFS_PARENT_PID: String(process.pid) },
      });
      this.child = child;
      this.startedAtMs = Date.now();
      let pending = '';
      let started = false;
      const timer = setTimeout(() => rejectStart(new Error(`${this.name} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        this.log.write(chunk);
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const record = parse(line);
          if (!record) {
            if (line.trim()) this.echo(`[${this.name}] ${line}`);
            continue;
          }
          this.onRecord(record);
          if (!started && record.msg === 'node started' && typeof record.address === 'string') {
            started = true;
            clearTimeout(timer);
            this.address = record.address;
            resolveStart({ address: record.address });
          }
          if (record.level === 'warn' || record.level === 'error') this.echo(`[${this.name}] ${record.level}: ${String(record.msg)} ${details(record)}`);
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (!started) rejectStart(new Error(`${this.name} exited during start-up (code ${code}, signal ${signal}); see its log`));
        else this.exited(code, signal);
      });
    });
  }

  /** From now on an exit is expected, not a crash to restart. */
  markStopping(): void {
    this.stopping = true;
  }

  stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        this.log.end();
        done();
      });
      child.kill('SIGTERM');
    });
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    if (Date.now() - this.startedAtMs > STABLE_AFTER_MS) this.restartMs = RESTART_INITIAL_MS;
    const delayMs = this.restartMs;
    this.restartMs = Math.min(RESTART_MAX_MS, this.restartMs * 2);
    this.echo(`[dev] ${this.name} exited (code ${code}, signal ${signal}); restarting in ${delayMs} ms`);
    const port = Number(this.address.slice(this.address.lastIndexOf(':') + 1));
    setTimeout(() => {
      if (this.stopping) return;
      this.start(port).then(
        () => this.echo(`[dev] ${this.name} is back on ${this.address}`),
        (error: Error) => this.echo(`[dev] ${error.message}`),
      );
    }, delayMs);
  }
}

/**
 * Creates the ring once every storage node has attached, on the first start; on later starts the
 * cluster is already started and this only checks that the manager answers.
 */
async function startCluster(managerAddress: string, cookie: string, storageNodes: number, echo: (line: string) => void): Promise<void> {
  const client = await openAdminClient({ manager: managerAddress, cookie, timeoutMs: 10_000 });
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const reply = await client.run({ command: 'status' });
      if (!reply.ok || reply.result.kind !== 'cluster_status') throw new Error(`the manager does not answer: ${reply.ok ? reply.result.kind : reply.message}`);
      if (reply.result.settings) return;
      const attached = reply.result.members.filter((member) => member.role === 'storage' && member.state === 'attached').length;
      if (attached >= storageNodes) break;
      if (Date.now() > deadline) throw new Error(`only ${attached} of ${storageNodes} storage nodes attached within ${START_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const n = Math.min(3, storageNodes);
    const majority = Math.floor(n / 2) + 1;
    const started = await client.run({ command: 'start', n, w: majority, r: 1, d: majority, rackAware: false });
    if (!started.ok) throw new Error(`cannot start the cluster: ${started.message}`);
    echo(`[dev] cluster started with N=${n} W=${majority} R=1 D=${majority}`);
  } finally {
    await client.close();
  }
}

function credentialLines(file: string): string[] {
  try {
    const { accessKeyId, secretAccessKey } = JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId?: unknown; secretAccessKey?: unknown };
    return [`  admin     access key id ${String(accessKeyId)}`, `            secret access key ${String(secretAccessKey)}`];
  } catch {
    return ['  admin     credentials unknown (the manager printed them on its first start)'];
  }
}

/** A command to paste, with the admin keys filled in, when they are known. */
function exampleLines(file: string, endpoint: string): string[] {
  try {
    const { accessKeyId, secretAccessKey } = JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId?: unknown; secretAccessKey?: unknown };
    if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') return [];
    return ['', 'try it:', `  AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey} aws --endpoint-url ${endpoint} s3 ls`];
  } catch {
    return [];
  }
}

function parse(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function details(record: Record<string, unknown>): string {
  const { t: _t, level: _level, msg: _msg, node: _node, ...rest } = record;
  return Object.keys(rest).length > 0 ? JSON.stringify(rest) : '';
}

/** The cookie of this dev cluster, made on first start and reused after. */
function devCookie(dataDir: string): string {
  const file = join(dataDir, 'cookie');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  // Hex: a cookie that began with '-' would read as flags wherever it is pasted after --cookie.
  const cookie = randomHex(18);
  writeFileSync(file, cookie + '\n', { mode: 0o600 });
  return cookie;
}

export async function runDev(options: DevOptions): Promise<void> {
  const dataDir = resolve(options.dataDir);
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const cookie = devCookie(dataDir);
  const echo = (line: string): void => void process.stderr.write(line + '\n');
  // Joined to its flag, so that any kept cookie, even one starting with '-', stays one value.
  const common = (name: string): string[] => [`--cookie=${cookie}`, '--data', join(dataDir, name.split('@')[0]!), '--log-level', options.logLevel];

  const credentialsFile = join(dataDir, 'admin-credentials.json');
  const keepCredentials = (record: Record<string, unknown>): void => {
    // Logged once, on the manager's very first start; kept so that later starts can show them too.
    if (record.msg === 'admin credentials') writeFileSync(credentialsFile, JSON.stringify({ accessKeyId: record.accessKeyId, secretAccessKey: record.secretAccessKey }) + '\n', { mode: 0o600 });
  };
  const manager = new ChildNode('manager_0@127.0.0.1', 'manager', () => common('manager_0@127.0.0.1'), logDir, echo, keepCredentials);
  const managerAddress = (await manager.start(options.managerPort)).address;
  const withManager = (name: string) => () => [...common(name), '--manager', managerAddress];
  const storage = Array.from({ length: options.storageNodes }, (_, i) => {
    const name = `storage_${i}@127.0.0.1`;
    return new ChildNode(name, 'storage', withManager(name), logDir, echo);
  });
  const httpPort = options.httpPort ?? DEFAULT_HTTP_PORT;
  const s3Endpoint = `http://127.0.0.1:${httpPort}`;
  const gateway = new ChildNode('gateway_0@127.0.0.1', 'gateway', () => [...withManager('gateway_0@127.0.0.1')(), '--http-port', String(httpPort)], logDir, echo);
  const children = [manager, ...storage, gateway];

  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    echo('[dev] stopping the cluster');
    for (const child of children) child.markStopping();
    for (const child of [...children].reverse()) await child.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stopAll());
  process.on('SIGTERM', () => void stopAll());

  try {
    await Promise.all(storage.map((node) => node.start(0)));
    await gateway.start(0);
    await startCluster(managerAddress, cookie, storage.length, echo);
  } catch (error) {
    echo(`[dev] ${(error as Error).message}`);
    await stopAll();
    return;
  }

  process.stdout.write(
    [
      'leofs dev cluster is running (Ctrl-C stops it)',
      `  manager   ${manager.name}  cluster port ${managerAddress}`,
      ...storage.map((node) => `  storage   ${node.name}  cluster port ${node.address}`),
      `  gateway   ${gateway.name}  cluster port ${gateway.address}`,
      `  S3        ${s3Endpoint}`,
      `  data      ${dataDir}`,
      `  logs      ${logDir}`,
      `  cookie    ${cookie}`,
      ...credentialLines(credentialsFile),
      ...exampleLines(credentialsFile, s3Endpoint),
      '',
    ].join('\n'),
  );
}
