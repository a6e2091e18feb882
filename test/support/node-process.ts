/**
 * Real node processes for cluster tests: started from the built CLI on loopback with a port chosen at
 * run time, their JSON log lines collected, killed and restarted on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/cli/free-port.js';
import { processFor } from '../../src/cli/role-process.js';
import { ROLES, type Role } from '../../src/protocol/cluster/roles.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export class NodeProcess {
  readonly lines: LogLine[] = [];
  address = '';
  /** Its /metrics URL, when started with --metrics-port. */
  metricsUrl: string | undefined;
  private child: ChildProcess | undefined;
  private exitWaiters: Array<(code: number | null) => void> = [];
  private stderrTail = '';

  constructor(
    readonly name: string,
    private readonly args: readonly string[],
    /** A command the node is started under, which execs it (`ip netns exec NS`, say). */
    private readonly launcher: readonly string[] = [],
  ) {}

  /** The same node (name, address, launcher) with more flags, for a start that differs from the others. */
  withExtraArgs(extraArgs: readonly string[]): NodeProcess {
    const copy = new NodeProcess(this.name, [...this.args, ...extraArgs], this.launcher);
    copy.address = this.address;
    return copy;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process (on the port it had before, when restarted) and waits for its start line. */
  async start(timeoutMs = 15_000): Promise<void> {
    // A first start takes a port below the ephemeral range, which no outgoing connection can hold when
    // the node is restarted on it.
    const port = this.address ? this.address.slice(this.address.lastIndexOf(':') + 1) : String(await freePort());
    // Lines of an earlier run stay in `lines`; only this run's start line counts.
    const firstLine = this.lines.length;
    const role = this.args[this.args.indexOf('--role') + 1] as Role;
    const settings = ROLES.includes(role) ? processFor(role) : { v8Flags: [], env: {} };
    const command = [process.execPath, ...settings.v8Flags, CLI, 'node', '--name', this.name, '--cluster-port', port, ...this.args];
    const [program, ...programArgs] = [...this.launcher, ...command];
    const child = spawn(program!, programArgs, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...settings.env },
    });
    this.child = child;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => this.collect(chunk));
    child.on('exit', (code) => {
      for (const waiter of this.exitWaiters.splice(0)) waiter(code);
    });
    const started = await this.waitFor((line) => line.msg === 'node started', timeoutMs, firstLine);
    this.address = String(started.address);
    this.metricsUrl = typeof started.metrics === 'string' ? started.metrics : undefined;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return Promise.resolve(child?.exitCode ?? null);
    const exited = new Promise<number | null>((resolve) => this.exitWaiters.push(resolve));
    child.kill(signal);
    return exited;
  }

  /** Resolves with the first log line (already seen or future) that matches. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs = 10_000, fromIndex = 0): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const poll = (): void => {
        const found = this.lines.slice(fromIndex).find(match);
        if (found) return resolve(found);
        if (!this.running && this.child?.exitCode !== null) return reject(new Error(`${this.name} exited: ${this.stderrTail.slice(-2000)}`));
        if (Date.now() > deadline) return reject(new Error(`${this.name}: no matching log line within ${timeoutMs} ms`));
        setTimeout(poll, 10);
      };
      poll();
    });
  }

  private collect(chunk: string): void {
    this.stderrTail = (this.stderrTail + chunk).slice(-20_000);
    const text = this.pendingText + chunk;
    const parts = text.split('\n');
    this.pendingText = parts.pop() ?? '';
    for (const part of parts) {
      if (!part.startsWith('{')) continue;
      try {
        this.lines.push(JSON.parse(part) as LogLine);
      } catch {
        // Not one of ours; keep it in the tail only.
      }
    }
  }

  private pendingText = '';
}

/** Stops a child process with `signal` (SIGINT, as Ctrl-C would) and waits for it to exit. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
