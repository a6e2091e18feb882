/**
 * A fresh `leofs dev` for a benchmark: started as a child process in its own temporary directory, on
 * ports chosen at run time, and read back from what it prints (S3 endpoint, admin keys, managers'
 * addresses, cookie file) and from the quorum line it logs when it creates the ring. Stopping it stops
 * every node and removes the directory.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, stopProcess } from './processes.js';
import type { Teardown } from './teardown.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const START_TIMEOUT_MS = 120_000;
/** leofs dev stops its nodes one after the other, each within 10 s; past this it is killed. */
const STOP_TIMEOUT_MS = 60_000;

export interface Quorum {
  readonly n: number;
  readonly w: number;
  readonly r: number;
  readonly d: number;
}

export interface DevManager {
  /** Its node name, e.g. manager_0@127.0.0.1. */
  readonly name: string;
  /** host:port of its cluster port. */
  readonly address: string;
}

export interface DevClusterOptions {
  /** leofs dev --managers: how many managers form the control plane (default 1). */
  readonly managers?: number;
  /** Every storage node's `storage` settings (leofs dev --storage-config); defaults otherwise. */
  readonly storage?: Readonly<Record<string, unknown>>;
}

export interface DevCluster {
  /** The gateway's S3 endpoint, e.g. http://127.0.0.1:41234. */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** host:port of the first manager's cluster port. */
  readonly managerAddress: string;
  /** Every manager, in the order of the control plane's list. */
  readonly managers: readonly DevManager[];
  readonly cookieFile: string;
  /** leofs dev's data directory: one directory per node, and logs/<node>.log. */
  readonly dataDir: string;
  readonly quorum: Quorum;
  /**
   * The pid of a node's current process, from the last `node started` line of its log: leofs dev
   * starts a child that died again, so it changes. Undefined before the node first logged it.
   */
  pidOf(node: string): number | undefined;
  /** A node's last `node started` log record (its pid, ports, metrics URL); undefined before it logged one. */
  startRecordOf(node: string): Readonly<Record<string, unknown>> | undefined;
  /** Stops every node and removes the data; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `leofs dev --storage-nodes <storageNodes> --managers <options.managers>` and registers its clean-up with `teardown`. */
export async function startDevCluster(storageNodes: number, teardown: Teardown, options: DevClusterOptions = {}): Promise<DevCluster> {
  const root = mkdtempSync(join(tmpdir(), 'leofs-bench-dev-'));
  const dataDir = join(root, 'dev');
  const httpPort = await freePort();
  const managerCount = options.managers ?? 1;
  const configArgs: string[] = [];
  if (options.storage !== undefined) {
    const storageConfig = join(root, 'storage.json');
    writeFileSync(storageConfig, JSON.stringify({ storage: options.storage }));
    configArgs.push('--storage-config', storageConfig);
  }
  const dev = spawn(process.execPath, [CLI, 'dev', '--data', dataDir, '--manager-port', '0', '--managers', String(managerCount), '--http-port', String(httpPort), '--storage-nodes', String(storageNodes), ...configArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = teardown.add({
    orderly: async () => {
      await stopProcess(dev, 'SIGINT', STOP_TIMEOUT_MS);
      rmSync(root, { recursive: true, force: true });
    },
    lastResort: () => {
      // Its nodes stop by themselves once leofs dev is gone.
      dev.kill('SIGTERM');
      rmSync(root, { recursive: true, force: true });
    },
  });
  let out = '';
  let err = '';
  dev.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  dev.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    // Its own lines and the nodes' warnings and errors, each already marked with where it came from.
    process.stderr.write(chunk);
  });
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!/secret access key\s+\S+/.test(out)) {
      if (dev.exitCode !== null || dev.signalCode !== null) throw new Error(`leofs dev exited during start-up:\n${(out + err).slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`leofs dev did not start within ${START_TIMEOUT_MS / 1000} s:\n${(out + err).slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const quorum = /cluster started with N=(\d+) W=(\d+) R=(\d+) D=(\d+)/.exec(err);
    if (!quorum) throw new Error(`leofs dev did not say which quorum it started the cluster with:\n${err.slice(-3000)}`);
    const managers = [...out.matchAll(/^\s*manager\s+(\S+)\s+cluster port\s+(\S+)/gm)].map((match) => ({ name: match[1]!, address: match[2]! }));
    if (managers.length !== managerCount) throw new Error(`leofs dev printed ${managers.length} managers, not ${managerCount}:\n${out}`);
    const startRecordOf = (node: string): Readonly<Record<string, unknown>> | undefined => lastStartRecord(join(dataDir, 'logs', `${node.split('@')[0]}.log`));
    return {
      endpoint: field(out, /^\s*S3\s+(http:\/\/\S+)/m, 'S3 endpoint'),
      accessKey: field(out, /access key id\s+(\S+)/, 'access key id'),
      secretKey: field(out, /secret access key\s+(\S+)/, 'secret access key'),
      managerAddress: managers[0]!.address,
      managers,
      cookieFile: field(out, /^\s*cookie\s+(\S.*)$/m, 'cookie file').trim(),
      dataDir,
      quorum: { n: Number(quorum[1]), w: Number(quorum[2]), r: Number(quorum[3]), d: Number(quorum[4]) },
      pidOf: (node) => {
        const pid = startRecordOf(node)?.pid;
        return typeof pid === 'number' ? pid : undefined;
      },
      startRecordOf,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The last `node started` record of a node's log: leofs dev restarts a child that died, so it changes. */
function lastStartRecord(logFile: string): Readonly<Record<string, unknown>> | undefined {
  if (!existsSync(logFile)) return undefined;
  let found: Record<string, unknown> | undefined;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{') || !line.includes('"node started"')) continue;
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (record.msg === 'node started') found = record;
    } catch {
      // A line cut off by a kill: the next start writes a whole one.
    }
  }
  return found;
}

function field(text: string, pattern: RegExp, what: string): string {
  const match = pattern.exec(text);
  if (!match) throw new Error(`leofs dev did not print its ${what}:\n${text}`);
  return match[1]!;
}
