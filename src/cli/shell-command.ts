/**
 * `leofs shell`: the remote actor shell. It joins the cluster as an admin node, as leofs-adm does (same
 * flags for the manager, the cookie and TLS), and reads commands: from --eval, from a pipe, or at a
 * prompt. See shell-commands.ts for what it can do, shell-repl.ts for how it reads.
 */
import { homedir } from 'node:os';
import type { Argv } from 'yargs';
import { adminConnectionOptions, connectFromFlags, EXIT_REFUSED } from './admin-connection.js';
import { historyPath } from './shell-history.js';
import { streamOutput } from './shell-output.js';
import { runCommands, runLines } from './shell-repl.js';
import { ShellSession } from './shell-session.js';
import { splitCommands } from './shell-words.js';

const DEFAULT_TIMEOUT_MS = 10_000;
/** Admin commands ask other nodes in turn; they get at least what leofs-adm gives them. */
const MIN_ADMIN_TIMEOUT_MS = 30_000;

export function shellCommandOptions(yargs: Argv): Argv {
  return adminConnectionOptions(yargs)
    .option('eval', { alias: 'e', type: 'string', array: true, describe: 'run these commands (repeat the flag, or separate them with ;) and exit: 1 if one failed' })
    .option('json', { type: 'boolean', default: false, describe: 'print results as JSON, one document per line' })
    .option('timeout', { type: 'number', default: DEFAULT_TIMEOUT_MS, describe: `milliseconds to wait for an actor's answer (admin commands wait at least ${MIN_ADMIN_TIMEOUT_MS})` })
    .option('follow-for', { type: 'number', describe: 'seconds a follow runs when not told (default: until Ctrl-C)' })
    .example('leofs shell', 'a prompt, next to `leofs dev`')
    .example("leofs shell -e 'nodes; actors storage_0'", 'run commands and exit')
    .example("leofs shell -e \"send storage_0 /node/info {type: 'ping'}\"", "ask an actor and print its answer")
    .example('echo "follow storage_0 10" | leofs shell', 'commands from a pipe: results on stdout, no prompt')
    .epilogue('Inside, help lists the commands. History is kept in ~/.leofs_shell_history.');
}

type Args = Readonly<Record<string, unknown>>;

function whereFrom(managers: readonly string[]): string {
  return managers.length === 1 ? `at ${managers[0]}` : `(the leader of ${managers.join(', ')})`;
}

/** Runs the shell; its exit status. */
export async function runShell(args: Args): Promise<number> {
  const output = streamOutput(process.stdout, process.stderr);
  // A reader that went away (`| head`) ends the shell, not with a stack trace.
  process.stdout.on('error', () => process.exit(0));
  const timeoutMs = Number(args.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    output.err(`--timeout must be a number of milliseconds above 0 (got ${String(args.timeout)})`);
    return EXIT_REFUSED;
  }
  const followFor = args['follow-for'] === undefined ? undefined : Number(args['follow-for']);
  if (followFor !== undefined && !(Number.isFinite(followFor) && followFor > 0)) {
    output.err(`--follow-for must be a number of seconds above 0 (got ${String(args['follow-for'])})`);
    return EXIT_REFUSED;
  }
  const connected = await connectFromFlags(args, { timeoutMs: Math.max(timeoutMs, MIN_ADMIN_TIMEOUT_MS), namePrefix: 'shell' });
  if (!connected.ok) {
    output.err(connected.problem);
    return connected.exitCode;
  }
  const { connection } = connected;
  const session = await ShellSession.open(connected.client, timeoutMs);
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const evals = (args.eval as readonly string[] | undefined) ?? [];
  const context = { session, output, json: args.json === true, followForMs: followFor === undefined ? undefined : followFor * 1000, terminal: terminal && evals.length === 0 };
  try {
    if (evals.length > 0) return await runCommands(evals.flatMap(splitCommands), context);
    if (terminal) output.out(`connected to ${session.client.managerNode} ${whereFrom(connection.managers)} as ${session.self}; help lists the commands`);
    return await runLines(context, { input: process.stdin, output: process.stdout, terminal, historyFile: terminal ? historyPath(process.env, homedir()) : undefined });
  } finally {
    await session.close();
    await output.flush();
  }
}
