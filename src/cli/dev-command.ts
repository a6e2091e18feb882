/**
 * `leofs dev`: the embedded default cluster on one machine. One manager (or a control plane of several,
 * --managers 3), storage nodes and a gateway run as child processes on loopback, each supervised here:
 * a child that dies is started again on the same port. Logs go to <data>/logs/<node>.log; warnings and errors are echoed to this terminal.
 * Ctrl-C stops every child. A second start reuses the data and the cookie.
 *
 * Everything under the data directory is the user's alone (0700 directories, 0600 files), and the
 * children read the cookie from <data>/cookie, never from their command line, which `ps` shows to all.
 * The gateway's SSE-S3 master key is made on the first start too, in <data>/sse-keys.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { randomHex } from '../core/random-id.js';
import { ADMIN_CREDENTIALS_FILE, readAdminCredentials, type AdminCredentials } from '../store/admin-credentials.js';
import { makePrivateDir, PRIVATE_FILE_MODE, restrictFilesToOwner, writePrivateFile } from '../store/private-files.js';
import { openAdminClient } from './admin-client.js';
import { freePort, freePorts } from './free-port.js';
import { ConfigError } from './config.js';
import { readCookieFile } from './cookie.js';
import { DEV_COOKIE_FILE, DEV_DATA_DIR, DEV_MANAGER_PORT, DEV_MANAGER_PORTS_FILE, DEV_SSE_KEY_FILE, DEV_SSE_KEY_ID } from './dev-defaults.js';
import { MASTER_KEY_BYTES, masterKeyFileText, readMasterKeyFile } from './master-keys.js';
import { processFor } from './role-process.js';

const CLI = fileURLToPath(new URL('./main.js', import.meta.url));
const RESTART_INITIAL_MS = 1_000;
const RESTART_MAX_MS = 30_000;
const STABLE_AFTER_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 30_000;

export interface DevOptions {
  readonly dataDir: string;
  /** The first manager's cluster port; the others get the next ones (0: free ports, kept for later starts). */
  readonly managerPort: number;
  /** How many managers form the control plane (default 1). */
  readonly managers?: number;
  readonly storageNodes: number;
  readonly logLevel: string;
  /** Port of the gateway's S3 API; 8080 when not given. */
  readonly httpPort?: number;
  /** The manager's metrics port, the next ones for the other nodes in order; 0 (default): free ports. */
  readonly metricsPort?: number;
  /** Port of the gateway's NFS v3 service on 127.0.0.1 (0: any free port); undefined: no NFS. */
  readonly nfsPort?: number;
  /** Port of the gateway's unsigned REST API on 127.0.0.1 (0: any free port); undefined: no REST API. */
  readonly restPort?: number;
  /** A config file for the gateway (its `gateway` settings: cache, limits); defaults otherwise. */
  readonly gatewayConfig?: string;
  /** A config file for every storage node (its `storage` settings); defaults otherwise. */
  readonly storageConfig?: string;
  /** Port of the first manager's web console on 127.0.0.1, the others' on the next ports (0: any free ports); undefined: no console. */
  readonly consolePort?: number;
  /** How often the managers sample each member's request counters for the charts (default 10 s). */
  readonly trafficSampleIntervalMs?: number;
}

const DEFAULT_HTTP_PORT = 8080;
/** Who NFS clients of a dev cluster act as: the admin user the manager makes on its first start. */
const DEV_NFS_USER = 'admin';
/** Who REST requests to a dev cluster act as: the same admin user. */
const DEV_REST_USER = 'admin';

export function devCommandOptions(yargs: Argv): Argv {
  return yargs
    .option('data', { type: 'string', default: DEV_DATA_DIR, describe: 'where every node keeps its data and logs' })
    .option('manager-port', { type: 'number', default: DEV_MANAGER_PORT, describe: 'cluster port of the manager; with --managers, of the first, the others take the next ports (0: any free port)' })
    .option('managers', { type: 'number', default: 1, describe: 'how many managers form the control plane (3 survives the loss of any one)' })
    .option('storage-nodes', { type: 'number', default: 3, describe: 'how many storage nodes to run' })
    .option('log-level', { choices: ['debug', 'info', 'warn', 'error'], default: 'info' })
    .option('http-port', { type: 'number', default: DEFAULT_HTTP_PORT, describe: 'port of the S3 API on 127.0.0.1' })
    .option('nfs-port', { type: 'number', describe: 'also serve NFS v3 (MOUNT and NFS on this one port) on 127.0.0.1, every bucket exported to loopback clients as the admin user (0: any free port)' })
    .option('console-port', { type: 'number', describe: "serve the web console from every manager on 127.0.0.1, the first on this port and the others on the next ones, and print their URLs (0: any free ports)" })
    .option('traffic-sample-interval-ms', { type: 'number', describe: "how often the managers sample each node's request counters for the charts of the last hour (default 10000)" })
    .option('rest-port', { type: 'number', describe: 'also serve the unsigned REST API (GET/PUT/HEAD/DELETE /bucket/key) on 127.0.0.1, every loopback client acting as the admin user (0: any free port)' })
    .option('metrics-port', { type: 'number', default: 0, describe: "the manager's /metrics port; the storage nodes and the gateway get the next ones (0: any free ports)" })
    .option('gateway-config', { type: 'string', describe: 'a JSON config file for the gateway, e.g. {"gateway": {"cacheDiskBytes": 1073741824}}' })
    .option('storage-config', { type: 'string', describe: 'a JSON config file for every storage node, e.g. {"storage": {"metaFormat": 1}}' });
}

type Role = 'manager' | 'storage' | 'gateway';

interface StartLine {
  readonly address: string;
}

/** The `metrics` URL of a start line, as `http://host:port/metrics`. */
function metricsPortOf(url: string): number | undefined {
  const match = /:(\d+)\/metrics$/.exec(url);
  return match ? Number(match[1]) : undefined;
}

/** The port of a console URL, http://host:port. */
function consolePortOf(url: string | undefined): number | undefined {
  const match = url === undefined ? null : /:(\d+)$/.exec(url);
  return match ? Number(match[1]) : undefined;
}

/** One supervised child node. */
class ChildNode {
  address = '';
  /** Where its /metrics is; empty while not known. */
  metricsUrl = '';
  /** A gateway's S3 port, as it bound it. */
  httpPort: number | undefined;
  /** A gateway's NFS port, as it bound it. */
  nfsPort: number | undefined;
  /** A gateway's REST port, as it bound it. */
  restPort: number | undefined;
  /** A manager's web console, as it bound it. */
  consoleUrl: string | undefined;
  private child: ChildProcess | undefined;
  private restartMs = RESTART_INITIAL_MS;
  private startedAtMs = 0;
  private stopping = false;
  private readonly log: WriteStream;

  constructor(
    readonly name: string,
    readonly role: Role,
    private readonly args: () => string[],
    /** Its metrics port; a free one is picked on the first start and kept across restarts. */
    private metricsPort: number,
    logDir: string,
    private readonly echo: (line: string) => void,
  ) {
    this.log = createWriteStream(join(logDir, `${name.split('@')[0]}.log`), { flags: 'a', mode: PRIVATE_FILE_MODE });
  }

  /**
   * Starts the process and resolves once it logged its start line. Ports left to choose (0) are picked
   * below the ephemeral range (free-port.ts): a restart reuses them, and an outgoing connection could
   * hold a port the kernel had handed out when the node first bound it.
   */
  async start(wantedPort: number): Promise<StartLine> {
    const port = wantedPort === 0 ? await freePort() : wantedPort;
    if (this.metricsPort === 0) this.metricsPort = await freePort();
    return new Promise((resolveStart, rejectStart) => {
      // Own process group, so a Ctrl-C in the terminal reaches only us and we stop children in order;
      // LEOFS_PARENT_PID makes a child stop once we are gone, however we went.
      const child = spawn(process.execPath, [...processFor(this.role).v8Flags, CLI, 'node', '--role', this.role, '--name', this.name, '--cluster-port', String(port), '--metrics-port', String(this.metricsPort), ...this.args()], {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
        env: { ...process.env, ...processFor(this.role).env, LEOFS_PARENT_PID: String(process.pid) },
      });
      this.child = child;
      this.startedAtMs = Date.now();
      let pending = '';
      let started = false;
      const timer = setTimeout(() => {
        // Stopped, so that a start tried again does not find it holding the ports.
        child.kill('SIGKILL');
        rejectStart(new Error(`${this.name} did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
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
          if (record.msg === 'S3 API listening' && typeof record.httpPort === 'number') this.httpPort = record.httpPort;
          if (record.msg === 'NFS listening' && typeof record.nfsPort === 'number') this.nfsPort = record.nfsPort;
          if (record.msg === 'REST API listening' && typeof record.restPort === 'number') this.restPort = record.restPort;
          if (!started && record.msg === 'node started' && typeof record.address === 'string') {
            started = true;
            clearTimeout(timer);
            this.address = record.address;
            this.metricsUrl = typeof record.metrics === 'string' ? record.metrics : '';
            if (typeof record.console === 'string') this.consoleUrl = record.console;
            this.metricsPort = metricsPortOf(this.metricsUrl) ?? this.metricsPort;
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
    this.restartLater(`exited (code ${code}, signal ${signal})`);
  }

  /** Starts the process again on its ports after a pause that doubles while it keeps failing. */
  private restartLater(why: string): void {
    if (this.stopping) return;
    if (Date.now() - this.startedAtMs > STABLE_AFTER_MS) this.restartMs = RESTART_INITIAL_MS;
    const delayMs = this.restartMs;
    this.restartMs = Math.min(RESTART_MAX_MS, this.restartMs * 2);
    this.echo(`[dev] ${this.name} ${why}; restarting in ${delayMs} ms`);
    const port = Number(this.address.slice(this.address.lastIndexOf(':') + 1));
    setTimeout(() => {
      if (this.stopping) return;
      this.start(port).then(
        () => this.echo(`[dev] ${this.name} is back on ${this.address}`),
        (error: Error) => this.restartLater(`did not start again: ${error.message}`),
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

/**
 * The admin keys the manager kept in its data directory on its first start; a cluster made by an
 * earlier release has them in the dev data directory instead.
 */
function adminCredentials(dataDir: string, managerDirs: readonly string[]): AdminCredentials | undefined {
  for (const managerDir of managerDirs) {
    const found = readAdminCredentials(join(managerDir, ADMIN_CREDENTIALS_FILE));
    if (found) return found;
  }
  return readAdminCredentials(join(dataDir, ADMIN_CREDENTIALS_FILE));
}

function credentialLines(credentials: AdminCredentials | undefined, managerDir: string): string[] {
  if (!credentials) return [`  admin     credentials unknown (no readable ${join(managerDir, ADMIN_CREDENTIALS_FILE)})`];
  return [`  admin     access key id ${credentials.accessKeyId}`, `            secret access key ${credentials.secretAccessKey}`];
}

/** Commands to paste: the aws CLI with the admin keys filled in, when they are known, and leofs-adm. */
function exampleLines(credentials: AdminCredentials | undefined, endpoint: string, adm: string): string[] {
  const aws = credentials ? [`  AWS_ACCESS_KEY_ID=${credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${credentials.secretAccessKey} aws --endpoint-url ${endpoint} s3 ls`] : [];
  return ['', 'try it:', ...aws, `  ${adm}`];
}

/**
 * The managers' cluster ports: from --manager-port on; with port 0 and several managers, free ports
 * picked on the first start and kept in the data directory, since managers know each other by address.
 */
async function managerPorts(dataDir: string, firstPort: number, count: number): Promise<number[]> {
  if (firstPort !== 0) return Array.from({ length: count }, (_, i) => firstPort + i);
  if (count === 1) return [0];
  const file = join(dataDir, DEV_MANAGER_PORTS_FILE);
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim().split(',').map(Number);
    if (kept.length === count && kept.every((port) => Number.isInteger(port) && port > 0 && port < 65_536)) return kept;
    throw new ConfigError(`${file} lists the ports of ${kept.length} managers, not ${count}: start with --managers ${kept.length}, or give --manager-port`);
  }
  const picked = await freePorts(count);
  writePrivateFile(file, picked.join(',') + '\n');
  return picked;
}

/** The leofs-adm command line for this cluster, from this directory: flags only where its defaults differ. */
function admLine(managerAddress: string, cookieFile: string, cwd: string = process.cwd()): string {
  const flags: string[] = [];
  if (managerAddress !== `127.0.0.1:${DEV_MANAGER_PORT}`) flags.push('--manager', managerAddress);
  if (resolve(cookieFile) !== resolve(cwd, DEV_DATA_DIR, DEV_COOKIE_FILE)) flags.push('--cookie-file', shellWord(resolve(cookieFile)));
  return ['npx leofs-adm', ...flags, 'status'].join(' ');
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
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

/** The cookie of this dev cluster and its file, made on first start and reused after. */
function devCookie(dataDir: string): { cookie: string; file: string } {
  const file = join(dataDir, DEV_COOKIE_FILE);
  if (existsSync(file)) {
    const read = readCookieFile(file);
    if (!read.ok) throw new ConfigError(read.problem);
    return { cookie: read.cookie, file };
  }
  // Hex: a cookie that began with '-' would read as flags wherever it is pasted after --cookie.
  const cookie = randomHex(18);
  writePrivateFile(file, cookie + '\n');
  return { cookie, file };
}

/**
 * The gateway's master key file, made with one new key on first start and reused as it is after (an
 * operator may have appended a key), so objects encrypted earlier stay readable.
 */
function devSseKeyFile(dataDir: string): string {
  const file = join(dataDir, DEV_SSE_KEY_FILE);
  if (existsSync(file)) {
    const read = readMasterKeyFile(file);
    if (!read.ok) throw new ConfigError(read.problem);
    return file;
  }
  writePrivateFile(file, masterKeyFileText(DEV_SSE_KEY_ID, randomBytes(MASTER_KEY_BYTES)));
  return file;
}

export async function runDev(options: DevOptions): Promise<void> {
  const dataDir = resolve(options.dataDir);
  const logDir = join(dataDir, 'logs');
  makePrivateDir(dataDir);
  makePrivateDir(logDir);
  restrictFilesToOwner(logDir);
  const { cookie, file: cookieFile } = devCookie(dataDir);
  const sseKeyFile = devSseKeyFile(dataDir);
  const echo = (line: string): void => void process.stderr.write(line + '\n');
  const nodeDir = (name: string): string => join(dataDir, name.split('@')[0]!);
  const common = (name: string): string[] => ['--cookie-file', cookieFile, '--data', nodeDir(name), '--log-level', options.logLevel];

  const managerCount = options.managers ?? 1;
  if (!Number.isInteger(managerCount) || managerCount < 1 || managerCount > 7) throw new ConfigError(`--managers must be 1 to 7 (got ${String(options.managers)})`);
  const metricsPort = (offset: number): number => (options.metricsPort ? options.metricsPort + offset : 0);
  const ports = await managerPorts(dataDir, options.managerPort, managerCount);
  const controlPlane = managerCount > 1 ? ports.map((port) => `127.0.0.1:${port}`) : [];
  const managers: ChildNode[] = ports.map((_, i) => {
    const name = `manager_${i}@127.0.0.1`;
    // Every manager serves the console (a session holds on each); a restart keeps the port it bound first.
    const consoleArgs = (): string[] => {
      if (options.consolePort === undefined) return [];
      const wanted = options.consolePort === 0 ? 0 : options.consolePort + i;
      return ['--console-port', String(consolePortOf(managers[i]!.consoleUrl) ?? wanted)];
    };
    const trafficArgs = options.trafficSampleIntervalMs !== undefined ? ['--traffic-sample-interval-ms', String(options.trafficSampleIntervalMs)] : [];
    return new ChildNode(name, 'manager', () => [...common(name), ...(controlPlane.length > 0 ? ['--managers', controlPlane.join(',')] : []), ...consoleArgs(), ...trafficArgs], metricsPort(i), logDir, echo);
  });
  // Together: a control plane of several is created once a majority of them answer.
  const managerAddresses = (await Promise.all(managers.map((manager, i) => manager.start(ports[i]!)))).map((started) => started.address);
  const managerAddress = managerAddresses.join(',');
  const withManager = (name: string) => () => [...common(name), '--manager', managerAddress];
  const storage = Array.from({ length: options.storageNodes }, (_, i) => {
    const name = `storage_${i}@127.0.0.1`;
    const storageArgs = (): string[] => [...withManager(name)(), ...(options.storageConfig === undefined ? [] : ['--config', options.storageConfig])];
    return new ChildNode(name, 'storage', storageArgs, metricsPort(managerCount + i), logDir, echo);
  });
  const httpPort = options.httpPort ?? DEFAULT_HTTP_PORT;
  // A restart keeps the S3 port the gateway bound first.
  const nfsArgs = (): string[] => options.nfsPort === undefined ? [] : [
    '--protocol', 'nfs', '--nfs-host', '127.0.0.1', '--nfs-port', String(gateway.nfsPort ?? options.nfsPort),
    '--nfs-export', `*=127.0.0.0/8,::1=${DEV_NFS_USER}`,
  ];
  const restArgs = (): string[] => options.restPort === undefined ? [] : [
    '--rest-host', '127.0.0.1', '--rest-port', String(gateway.restPort ?? options.restPort), '--rest-allow', '127.0.0.0/8', '--rest-user', DEV_REST_USER,
  ];
  const gatewayArgs = (): string[] => [...withManager('gateway_0@127.0.0.1')(), '--http-port', String(gateway.httpPort ?? httpPort), '--sse-key-file', sseKeyFile, ...nfsArgs(), ...restArgs(), ...(options.gatewayConfig === undefined ? [] : ['--config', options.gatewayConfig])];
  const gateway: ChildNode = new ChildNode('gateway_0@127.0.0.1', 'gateway', gatewayArgs, metricsPort(managerCount + options.storageNodes), logDir, echo);
  const children = [...managers, ...storage, gateway];

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

  // --http-port 0 lets the gateway pick a port: say the one it bound.
  const s3Endpoint = `http://127.0.0.1:${gateway.httpPort ?? httpPort}`;
  const credentials = adminCredentials(dataDir, managers.map((manager) => nodeDir(manager.name)));
  process.stdout.write(
    [
      'leofs dev cluster is running (Ctrl-C stops it)',
      ...managers.map((manager) => `  manager   ${manager.name}  cluster port ${manager.address}`),
      ...storage.map((node) => `  storage   ${node.name}  cluster port ${node.address}`),
      `  gateway   ${gateway.name}  cluster port ${gateway.address}`,
      `  S3        ${s3Endpoint}`,
      ...(gateway.restPort === undefined ? [] : [`  REST      http://127.0.0.1:${gateway.restPort}  unsigned, as ${DEV_REST_USER}: curl -T FILE http://127.0.0.1:${gateway.restPort}/BUCKET/KEY`]),
      ...managers.flatMap((manager, i) =>
        manager.consoleUrl === undefined ? [] : [`  console   ${manager.consoleUrl}  ${i === 0 ? '(log in with the admin keys below)' : `(${manager.name}; a session holds on every manager)`}`],
      ),
      ...(gateway.nfsPort === undefined ? [] : [`  NFS v3    127.0.0.1:${gateway.nfsPort}  mount -t nfs -o vers=3,tcp,port=${gateway.nfsPort},mountport=${gateway.nfsPort},mountproto=tcp,nolock 127.0.0.1:/BUCKET /mnt`]),
      ...children.map((node) => `  metrics   ${node.name}  ${node.metricsUrl}`),
      `  data      ${dataDir}`,
      `  logs      ${logDir}`,
      `  cookie    ${cookieFile}`,
      `  SSE keys  ${sseKeyFile}`,
      ...credentialLines(credentials, nodeDir(managers[0]!.name)),
      ...exampleLines(credentials, s3Endpoint, admLine(managerAddress, cookieFile)),
      '',
    ].join('\n'),
  );
}
