/** Child processes of a benchmark: the ports they are given and how they are stopped. */
import type { ChildProcess } from 'node:child_process';

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
