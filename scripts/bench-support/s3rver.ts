/**
 * s3rver, a small S3 server on plain files, as the reference a benchmark compares against. It is no
 * dependency of this project: it is installed into a temporary directory for the run, then started
 * on a free loopback port with a data directory of its own. It accepts any well-formed signature;
 * clients sign with its documented credentials.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcess } from './processes.js';
import type { Teardown } from './teardown.js';

export const S3RVER_VERSION = '3.7.1';
export const S3RVER_CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER' } as const;
const INSTALL_TIMEOUT_MS = 180_000;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** Installs s3rver into `dir` with npm and returns the path of its executable script. */
export async function installS3rver(dir: string): Promise<string> {
  const args = ['install', '--prefix', dir, `s3rver@${S3RVER_VERSION}`, '--no-audit', '--no-fund', '--ignore-scripts'];
  const failed = (why: string): Error =>
    new Error(`cannot install s3rver ${S3RVER_VERSION} (npm ${args.join(' ')}): ${why}\nbench:compare fetches s3rver from the npm registry for each run; check that the registry is reachable from this machine.`);
  const output = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
    const npm = spawn('npm', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    npm.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const timer = setTimeout(() => npm.kill('SIGKILL'), INSTALL_TIMEOUT_MS);
    npm.once('error', (error) => {
      clearTimeout(timer);
      reject(failed(`cannot run npm: ${error.message}`));
    });
    npm.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal === 'SIGKILL' ? null : code, text });
    });
  });
  if (output.code === null) throw failed(`npm did not finish within ${INSTALL_TIMEOUT_MS / 1000} s`);
  if (output.code !== 0) throw failed(`npm exited with code ${output.code}:\n${output.text.slice(-2000)}`);
  return join(dir, 'node_modules', 's3rver', 'bin', 's3rver.js');
}

export interface RunningS3rver {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts s3rver on a free loopback port with `dataDir` as its store, and registers its clean-up. */
export async function startS3rver(script: string, dataDir: string, teardown: Teardown): Promise<RunningS3rver> {
  mkdirSync(dataDir, { recursive: true });
  // s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through its
  // legacy provider; without it every truncated V2 listing fails with 500.
  const server = spawn(process.execPath, ['--openssl-legacy-provider', script, '--directory', dataDir, '--address', '127.0.0.1', '--port', '0', '--silent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = teardown.add({
    orderly: async () => {
      await stopProcess(server, 'SIGTERM', STOP_TIMEOUT_MS);
      rmSync(dataDir, { recursive: true, force: true });
    },
    lastResort: () => {
      server.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
  let out = '';
  server.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  server.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const listening = /S3rver listening on [^\s:]+:(\d+)/.exec(out);
      if (listening) return { endpoint: `http://127.0.0.1:${listening[1]}`, stop };
      if (server.exitCode !== null || server.signalCode !== null) throw new Error(`s3rver exited during start-up:\n${out.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`s3rver did not start within ${START_TIMEOUT_MS / 1000} s:\n${out.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
