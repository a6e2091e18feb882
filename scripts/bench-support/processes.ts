/** Child processes of a benchmark: the ports they are given and how they are stopped. */
import { spawn, type ChildProcess } from 'node:child_process';

/** A port free on loopback right now, for a server that reports the port it was given, not the one it got for 0. */
export { freePort } from '../../src/cli/free-port.js';

/** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** How a process that ran to its end ended, and what it wrote. */
export interface ProcessRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs node with `args` to its end. The output is taken once the pipes have closed, not at the exit,
 * when the last of it may still be in them. A process still running after `limitMs` is killed.
 */
export function runToEnd(args: readonly string[], options: { readonly env?: NodeJS.ProcessEnv; readonly cwd?: string; readonly limitMs?: number } = {}): Promise<ProcessRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}), ...(options.cwd ? { cwd: options.cwd } : {}) });
    const limit = options.limitMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.limitMs);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
    // A process that could not be started may never close.
    child.on('error', (error) => {
      clearTimeout(limit);
      resolve({ code: null, stdout, stderr: `${stderr}${error.message}` });
    });
  });
}
