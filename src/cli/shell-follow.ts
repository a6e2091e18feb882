/**
 * `follow NODE`: the node's log lines, printed as they come, until Ctrl-C (or a set time). The node
 * sends them to the shell's follower actor under a lease that the shell renews every third of it; if
 * the shell dies, the lease lapses and the node stops by itself. Lines the node left out (its limits
 * on lines per second and queued bytes) are counted in a note.
 */
import type { LogLinesMessage } from '../protocol/cluster/node-info.js';
import type { ShellOutput } from './shell-output.js';
import type { ShellSession } from './shell-session.js';
import { formatLogLine } from './shell-format.js';

export const FOLLOW_LEASE_MS = 15_000;
/** How long leaving waits for the node to take note. */
const UNFOLLOW_TIMEOUT_MS = 2_000;

export interface FollowOptions {
  readonly signal: AbortSignal;
  /** Stops by itself after this long; undefined: only the signal stops it. */
  readonly forMs: number | undefined;
  /** Raw JSON lines instead of formatted ones. */
  readonly json: boolean;
  readonly leaseMs?: number;
}

/** Follows `node` until stopped; false when the node refused or could not be asked. */
export async function followNode(session: ShellSession, node: string, output: ShellOutput, options: FollowOptions): Promise<boolean> {
  const leaseMs = options.leaseMs ?? FOLLOW_LEASE_MS;
  session.printFollowed({ node, onBatch: (batch) => printBatch(batch, output, options.json) });
  const first = await session.follow(node, leaseMs);
  if (!first.ok) {
    session.printFollowed(undefined);
    output.err(`${node} will not send its log: ${first.message} (${first.code})`);
    return false;
  }
  const until = options.forMs === undefined ? 'Ctrl-C stops' : `for ${options.forMs / 1000} s or until Ctrl-C`;
  output.note(`following the log of ${node} at its level (at most ${first.linesPerSecond} lines/s); ${until}`);
  let renewing = false;
  let failing = false;
  const renew = setInterval(() => {
    if (renewing) return;
    renewing = true;
    void session.follow(node, leaseMs).then((reply) => {
      renewing = false;
      if (!reply.ok && !failing) output.note(`cannot renew the follow of ${node}: ${reply.message} (${reply.code}); still trying`);
      else if (reply.ok && failing) output.note(`following ${node} again`);
      failing = !reply.ok;
    });
  }, Math.max(1_000, Math.floor(first.leaseMs / 3)));
  await stopped(options.signal, options.forMs);
  clearInterval(renew);
  await session.unfollow(node, UNFOLLOW_TIMEOUT_MS);
  session.printFollowed(undefined);
  output.note(`stopped following ${node}`);
  return true;
}

function printBatch(batch: LogLinesMessage, output: ShellOutput, json: boolean): void {
  for (const line of batch.lines) output.out(json ? line : formatLogLine(line));
  if (batch.dropped > 0) output.note(`(${batch.dropped} lines of ${batch.node} left out: over its rate or queue limit for followers)`);
}

function stopped(signal: AbortSignal, forMs: number | undefined): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = forMs === undefined ? undefined : setTimeout(done, forMs);
    signal.addEventListener('abort', done, { once: true });
  });
}
