/**
 * A whole cluster of real processes on loopback for tests: a manager, storage nodes started (N=3,
 * W=2, R=1, D=2 unless told otherwise) and gateways, each on ports chosen at run time under one
 * temporary directory, with the admin user's keys and an admin client. `stop` kills them all and
 * removes the directory.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdminCommand, AdminResult } from '../../src/protocol/cluster/admin.js';
import { openAdminClient, type AdminClient } from '../../src/cli/admin-client.js';
import { readAdminCredentials, type AdminCredentials } from '../../src/store/admin-credentials.js';
import { eventually } from './eventually.js';
import { NodeProcess } from './node-process.js';
import { DROP_IDLE_CONNECTIONS_EARLY } from './sdk-connections.js';
import { freePorts } from '../../src/cli/free-port.js';
import { runToEnd } from '../../scripts/bench-support/processes.js';

const ADM = fileURLToPath(new URL('../../src/cli/adm-main.js', import.meta.url));
/** A gateway linked to a killed node sees the link close within moments; one that has no link never logs it. */
const LINK_LOSS_NOTICE_MS = 2_000;

export interface AdmRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProcessClusterOptions {
  readonly storageNodes: number;
  readonly gateways: number;
  /** `storage` settings of every storage node's config file. */
  readonly storageSettings?: Readonly<Record<string, unknown>>;
  /** `gateway` settings of every gateway's config file. */
  readonly gatewaySettings?: Readonly<Record<string, unknown>>;
  readonly settings?: { readonly n: number; readonly w: number; readonly r: number; readonly d: number };
  /** The address the manager and gateways listen on for the cluster (default 127.0.0.1). */
  readonly host?: string;
  /** The address storage node `index` listens on (default `host`). */
  readonly storageHost?: (index: number) => string;
  /** A command that storage node `index` is started under (`ip netns exec NS`, say). */
  readonly storageLauncher?: (index: number) => readonly string[];
  /** Every node serves /metrics and /health on a port of its own. */
  readonly metrics?: boolean;
  /** The cluster's cookie (clusters made for one test may each have their own). */
  readonly cookie?: string;
  /** A lone manager gets a port fixed at the start (listed in --managers), so it keeps it when restarted. */
  readonly fixedManagerPort?: boolean;
  /** How many managers form the control plane (default 1). */
  readonly managers?: number;
  /** The address manager `index` listens on (default `host`). */
  readonly managerHost?: (index: number) => string;
  /** A command that manager `index` is started under (`ip netns exec NS`, say). */
  readonly managerLauncher?: (index: number) => readonly string[];
}

export class ProcessCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'leofs-procs-'));
  readonly cookie: string;
  managers: NodeProcess[] = [];
  storage: NodeProcess[] = [];
  gateways: NodeProcess[] = [];
  /** The S3 endpoint of each gateway. */
  endpoints: string[] = [];
  credentials!: AdminCredentials;
  admin!: AdminClient;
  private readonly clients: S3Client[] = [];

  constructor(private readonly options: ProcessClusterOptions) {
    this.cookie = options.cookie ?? 'process-cluster-test-cookie';
  }

  private get common(): string[] {
    return ['--cookie', this.cookie, '--log-level', 'info', ...(this.options.metrics ? ['--metrics-port', '0'] : [])];
  }

  /** The first manager (the only one, unless the cluster was made with several). */
  get manager(): NodeProcess {
    return this.managers[0]!;
  }

  /** Every manager's cluster address, comma-separated, as storage nodes, gateways and leofs-adm take them. */
  get managerAddresses(): string {
    return this.managers.map((manager) => manager.address).join(',');
  }

  async start(): Promise<void> {
    const common = this.common;
    const host = this.options.host ?? '127.0.0.1';
    const count = this.options.managers ?? 1;
    // Managers of a control plane know each other by address, so theirs are fixed before any starts.
    const listed = count > 1 || this.options.fixedManagerPort === true;
    const ports = listed ? await freePorts(count) : [0];
    const managerHost = (i: number): string => this.options.managerHost?.(i) ?? host;
    const controlPlane = listed ? ['--managers', ports.map((port, i) => `${managerHost(i)}:${port}`).join(',')] : [];
    this.managers = ports.map((port, i) => {
      const args = ['--role', 'manager', ...common, ...controlPlane, '--data', this.dataDir(`manager_${i}`)];
      const manager = new NodeProcess(`manager_${i}@${managerHost(i)}`, args, this.options.managerLauncher?.(i) ?? []);
      if (port !== 0) manager.address = `${managerHost(i)}:${port}`;
      return manager;
    });
    await Promise.all(this.managers.map((manager) => manager.start()));
    const created = await Promise.any(this.managers.map((manager) => manager.waitFor((line) => line.msg === 'admin user created', 30_000)));
    const credentials = readAdminCredentials(String(created.credentialsFile));
    if (!credentials) throw new Error(`no admin credentials in ${String(created.credentialsFile)}`);
    this.credentials = credentials;
    const config = join(this.root, 'storage.json');
    writeFileSync(config, JSON.stringify({ storage: this.options.storageSettings ?? {} }));
    this.storage = Array.from(
      { length: this.options.storageNodes },
      (_, i) =>
        new NodeProcess(
          `storage_${i}@${this.options.storageHost?.(i) ?? host}`,
          ['--role', 'storage', ...common, '--config', config, '--manager', this.managerAddresses, '--data', this.dataDir(`storage_${i}`)],
          this.options.storageLauncher?.(i) ?? [],
        ),
    );
    await Promise.all(this.storage.map((node) => node.start()));
    this.admin = await openAdminClient({ manager: this.managerAddresses, cookie: this.cookie, timeoutMs: 60_000 });
    await eventually(async () => {
      const status = await this.admin.run({ command: 'status' });
      return status.ok && status.result.kind === 'cluster_status' && status.result.members.filter((m) => m.role === 'storage' && m.state === 'attached').length === this.storage.length;
    }, 20_000, 'attached storage nodes');
    await this.run({ command: 'start', ...(this.options.settings ?? { n: 3, w: 2, r: 1, d: 2 }), rackAware: false });
    const gatewayConfig = join(this.root, 'gateway.json');
    writeFileSync(gatewayConfig, JSON.stringify({ gateway: this.options.gatewaySettings ?? {} }));
    this.gateways = Array.from(
      { length: this.options.gateways },
      (_, i) => new NodeProcess(`gateway_${i}@${host}`, ['--role', 'gateway', ...common, '--config', gatewayConfig, '--manager', this.managerAddresses, '--data', this.dataDir(`gateway_${i}`), '--http-port', '0']),
    );
    for (const gateway of this.gateways) {
      await gateway.start();
      const listening = await gateway.waitFor((line) => line.msg === 'S3 API listening');
      await gateway.waitFor((line) => line.msg === 'ring installed');
      await gateway.waitFor((line) => line.msg === 'users and buckets updated' || line.msg === 'users and buckets loaded from local state');
      this.endpoints.push(`http://127.0.0.1:${String(listening.httpPort)}`);
    }
  }

  /**
   * Kills storage node `index` with SIGKILL and waits until each gateway linked to it has seen the link
   * go. An unconditional write sent to it in the moment before is answered 503, its outcome unknown,
   * which the clients of these tests do not retry. A gateway with no link to it has nothing to notice:
   * its first request dials, and the failed dial sends the request on.
   */
  async killStorage(index: number): Promise<NodeProcess> {
    const node = this.storage[index]!;
    const seenFrom = this.gateways.map((gateway) => gateway.lines.length);
    await node.kill('SIGKILL');
    await Promise.all(this.gateways.map((gateway, i) =>
      gateway.waitFor((line) => line.msg === 'node down' && line.peer === node.name, LINK_LOSS_NOTICE_MS, seenFrom[i]).catch(() => undefined),
    ));
    return node;
  }

  /** Starts one more storage node (attached: it enters the ring at the next rebalance); `args` are extra flags. */
  async addStorageNode(index: number, ...args: string[]): Promise<NodeProcess> {
    const host = this.options.host ?? '127.0.0.1';
    const node = new NodeProcess(`storage_${index}@${host}`, [
      '--role', 'storage', ...this.common, '--config', join(this.root, 'storage.json'), '--manager', this.managerAddresses, '--data', this.dataDir(`storage_${index}`), ...args,
    ]);
    await node.start();
    this.storage.push(node);
    return node;
  }

  /** Replaces manager `index` by a process started with `extraArgs` too (same name, address and data), not yet started. */
  replaceManager(index: number, ...extraArgs: string[]): NodeProcess {
    const old = this.managers[index]!;
    const replacement = old.withExtraArgs(extraArgs);
    this.managers[index] = replacement;
    return replacement;
  }

  dataDir(node: string): string {
    return join(this.root, node);
  }

  /** An admin command's result; a refusal fails the test with the manager's reason. */
  async run<K extends AdminResult['kind']>(command: AdminCommand): Promise<Extract<AdminResult, { kind: K }>> {
    const reply = await this.admin.run(command);
    if (!reply.ok) throw new Error(`${command.command} refused: ${reply.code} ${reply.message}`);
    return reply.result as Extract<AdminResult, { kind: K }>;
  }

  /** Runs the `leofs-adm` executable against this cluster's manager, the cookie in its environment. */
  adm(...args: string[]): Promise<AdmRun> {
    return runToEnd([ADM, '--manager', this.managerAddresses, ...args], { env: { ...process.env, LEOFS_COOKIE: this.cookie } });
  }

  /** An S3 client of gateway `index` with the given keys (the admin's by default), no retries unless `attempts` says. */
  client(index: number, keys: { readonly accessKeyId: string; readonly secretAccessKey: string } = this.credentials, requestTimeoutMs?: number, attempts = 1): S3Client {
    const endpoint = this.endpoints[index];
    if (endpoint === undefined) throw new Error(`no gateway ${index}`);
    const client = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      maxAttempts: attempts,
      requestHandler: { ...DROP_IDLE_CONNECTIONS_EARLY, ...(requestTimeoutMs === undefined ? {} : { requestTimeout: requestTimeoutMs }) },
      credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
    });
    this.clients.push(client);
    return client;
  }

  async stop(): Promise<void> {
    for (const client of this.clients) client.destroy();
    await this.admin?.close();
    await Promise.all([...this.gateways, ...this.storage, ...this.managers].map((node) => node?.kill('SIGTERM')));
    rmSync(this.root, { recursive: true, force: true });
  }
}
