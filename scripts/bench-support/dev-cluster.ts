/**
 * A fresh `leofs dev` for a benchmark: started as a child process in its own temporary directory, on
 * ports chosen at run time, and read back from what it prints (S3 endpoint, admin keys, manager
 * address, cookie file) and from the quorum line it logs when it creates the ring. Stopping it stops
 * every node and removes the directory.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export interface DevCluster {
  /** The gateway's S3 endpoint, e.g. http://127.0.0.1:41234. */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** host:port of the manager's cluster port. */
  readonly managerAddress: string;
  readonly cookieFile: string;
  readonly quorum: Quorum;
  /** Stops every node and removes the data; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `leofs dev --storage-nodes <storageNodes>` and registers its clean-up with `teardown`. */
export async function startDevCluster(storageNodes: number, teardown: Teardown): Promise<DevCluster> {
  const root = mkdtempSync(join(tmpdir(), 'leofs-bench-dev-'));
  const httpPort = await freePort();
  const dev = spawn(process.execPath, [CLI, 'dev', '--data', join(root, 'dev'), '--manager-port', '0', '--http-port', String(httpPort), '--storage-nodes', String(storageNodes)], {
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
    return {
      endpoint: field(out, /^\s*S3\s+(http:\/\/\S+)/m, 'S3 endpoint'),
      accessKey: field(out, /access key id\s+(\S+)/, 'access key id'),
      secretKey: field(out, /secret access key\s+(\S+)/, 'secret access key'),
      managerAddress: field(out, /^\s*manager\s+\S+\s+cluster port\s+(\S+)/m, 'manager address'),
      cookieFile: field(out, /^\s*cookie\s+(\S.*)$/m, 'cookie file').trim(),
      quorum: { n: Number(quorum[1]), w: Number(quorum[2]), r: Number(quorum[3]), d: Number(quorum[4]) },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function field(text: string, pattern: RegExp, what: string): string {
  const match = pattern.exec(text);
  if (!match) throw new Error(`leofs dev did not print its ${what}:\n${text}`);
  return match[1]!;
}
