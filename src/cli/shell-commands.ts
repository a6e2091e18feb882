/**
 * The shell's commands: one table of name, usage, description and what it does. A command line is
 * split into words (quotes as in a POSIX shell); `send` takes the rest of its line as the message.
 * Every problem is one error line and a failed outcome, never an exception out of here.
 */
import { ADM_COMMAND_NAMES, runAdmCommandLine, type AdmOutput } from './adm-command.js';
import { isRuntimeFailure, type RuntimeFailure } from '../runtime/failures.js';
import { followNode } from './shell-follow.js';
import { actorsUnder, formatActorTree, formatNodes, nodeRows } from './shell-format.js';
import { parseMessage, printableJson } from './shell-json.js';
import type { ShellOutput } from './shell-output.js';
import type { ShellSession } from './shell-session.js';
import { splitWords, type Word } from './shell-words.js';

export type CommandOutcome = 'ok' | 'failed' | 'quit';

export interface CommandContext {
  readonly session: ShellSession;
  readonly output: ShellOutput;
  /** Results as JSON, one document per line. */
  readonly json: boolean;
  /** Aborted by Ctrl-C: the command stops and the shell goes on. */
  readonly signal: AbortSignal;
  /** How long a follow without SECONDS runs; undefined: until Ctrl-C. */
  readonly followForMs: number | undefined;
  /** A person at a terminal: adm's --watch may redraw in place. */
  readonly terminal: boolean;
}

interface ShellCommand {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly usage: string;
  readonly describe: string;
  /** Said by `help NAME` after the description. */
  readonly more?: string;
  /** It stops by itself on Ctrl-C (and cleans up first); other commands are abandoned at once. */
  readonly handlesInterrupt?: boolean;
  /** `words` are the arguments after the command name; `line` the whole line they came from. */
  run(ctx: CommandContext, words: readonly Word[], line: string): Promise<CommandOutcome>;
}

const failed = (ctx: CommandContext, text: string): CommandOutcome => {
  ctx.output.err(text);
  return 'failed';
};

/** A runtime failure as the operator reads it, with what it most likely means. */
function describeFailure(failure: RuntimeFailure): string {
  const hint: Partial<Record<RuntimeFailure['code'], string>> = {
    Timeout: ' (the actor may not answer this message type, or is busy)',
    NodeDown: ' (the node is down or cannot be reached from here)',
  };
  return `${failure.code}: ${failure.message}${hint[failure.code] ?? ''}`;
}

function usageError(ctx: CommandContext, command: ShellCommand): CommandOutcome {
  return failed(ctx, `usage: ${command.usage}`);
}

const COMMANDS: readonly ShellCommand[] = [
  {
    name: 'nodes',
    usage: 'nodes',
    describe: 'every node of the cluster with its role, state and address (as the manager lists them)',
    async run(ctx, words) {
      if (words.length > 0) return usageError(ctx, this);
      const members = await ctx.session.listMembers();
      if (typeof members === 'string') return failed(ctx, members);
      const rows = nodeRows(members);
      ctx.output.out(ctx.json ? JSON.stringify(rows) : formatNodes(rows));
      return 'ok';
    },
  },
  {
    name: 'actors',
    usage: 'actors NODE [PATH]',
    describe: "a node's actors as a tree (or those under PATH): status, incarnation, mailbox depth, crashes and the last crash's reason",
    async run(ctx, words) {
      if (words.length < 1 || words.length > 2) return usageError(ctx, this);
      const node = await ctx.session.resolveNode(words[0]!.text);
      if (!node.ok) return failed(ctx, node.problem);
      const actors = await ctx.session.actors(node.node);
      if (isRuntimeFailure(actors)) return failed(ctx, describeFailure(actors));
      const shown = words[1] ? actorsUnder(actors, words[1].text) : [...actors];
      if (shown.length === 0) return failed(ctx, `no actor under ${words[1]!.text} on ${node.node}`);
      shown.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
      ctx.output.out(ctx.json ? JSON.stringify(shown) : formatActorTree(shown, Date.now()));
      return 'ok';
    },
  },
  {
    name: 'send',
    usage: 'send NODE PATH MESSAGE',
    describe: 'send MESSAGE to the actor at PATH on NODE as an ask, and print its answer',
    more:
      "MESSAGE is JSON, leniently: {type: 'ping', delayMs: 10} works, and a bare word is a message of that type (ping).\n" +
      "The shell adds replyTo. The node's info actor hands the message on guarded: if the actor fails on it,\n" +
      'the answer is BadMessage with the error, and the actor keeps running as it was. Types the actor does not\n' +
      'take from other nodes are refused (BadMessage), unknown paths answer NoProc; no answer within --timeout is Timeout.',
    async run(ctx, words, line) {
      if (words.length < 3) return usageError(ctx, this);
      const message = parseMessage(line.slice(words[2]!.start));
      if (!message.ok) return failed(ctx, `bad message: ${message.problem}`);
      const node = await ctx.session.resolveNode(words[0]!.text);
      if (!node.ok) return failed(ctx, node.problem);
      const path = words[1]!.text;
      if (!path.startsWith('/')) return failed(ctx, `an actor path starts with / (got ${path}); actors ${node.node} lists them`);
      const reply = await ctx.session.deliver(node.node, path, message.value);
      if (isRuntimeFailure(reply)) {
        // The ask went to the node's info actor, which the runtime's text names; the operator asked `path`.
        const failure = reply.code === 'Timeout' ? { ...reply, message: `no answer from ${path} on ${node.node} within ${ctx.session.timeoutMs} ms` } : reply;
        return failed(ctx, describeFailure(failure));
      }
      ctx.output.out(printableJson(reply, ctx.json ? undefined : 2));
      return 'ok';
    },
  },
  {
    name: 'queues',
    usage: 'queues NODE',
    describe: "a storage node's durable queues, anti-entropy and hand-off (adm mq-stats)",
    async run(ctx, words) {
      if (words.length !== 1) return usageError(ctx, this);
      const node = await ctx.session.resolveNode(words[0]!.text);
      if (!node.ok) return failed(ctx, node.problem);
      return runAdm(ctx, ['mq-stats', node.node]);
    },
  },
  {
    name: 'follow',
    usage: 'follow NODE [SECONDS]',
    describe: "print a node's log lines (alarms among them) as they are written, until Ctrl-C or for SECONDS",
    more:
      'Lines come at the level the node logs at (adm update-log-level NODE debug shows more). The node sends them\n' +
      'under a lease the shell renews, at most a few hundred lines a second; what it leaves out is counted.',
    handlesInterrupt: true,
    async run(ctx, words) {
      if (words.length < 1 || words.length > 2) return usageError(ctx, this);
      const seconds = words[1] === undefined ? undefined : Number(words[1].text);
      if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0)) return failed(ctx, `SECONDS must be a positive number (got ${words[1]!.text})`);
      const node = await ctx.session.resolveNode(words[0]!.text);
      if (!node.ok) return failed(ctx, node.problem);
      const forMs = seconds === undefined ? ctx.followForMs : seconds * 1000;
      return (await followNode(ctx.session, node.node, ctx.output, { signal: ctx.signal, forMs, json: ctx.json })) ? 'ok' : 'failed';
    },
  },
  {
    name: 'adm',
    usage: 'adm COMMAND [ARGS...]',
    describe: 'any leofs-adm command, over this shell\'s connection (adm --help lists them)',
    more: `The commands: ${ADM_COMMAND_NAMES.join(', ')}.`,
    async run(ctx, words) {
      const args = words.map((word) => word.text);
      // `adm help [COMMAND]` is yargs' `[COMMAND] --help`.
      return runAdm(ctx, args.length === 0 ? ['--help'] : args[0] === 'help' ? [...args.slice(1), '--help'] : args);
    },
  },
  {
    name: 'help',
    usage: 'help [COMMAND]',
    describe: 'the commands, or one of them in detail',
    async run(ctx, words) {
      if (words.length === 0) {
        ctx.output.out(helpText());
        return 'ok';
      }
      const command = commandNamed(words[0]!.text);
      if (!command) return failed(ctx, `unknown command ${words[0]!.text}; help lists the commands`);
      ctx.output.out([`usage: ${command.usage}`, '', command.describe, ...(command.more ? ['', command.more] : [])].join('\n'));
      return 'ok';
    },
  },
  {
    name: 'quit',
    aliases: ['exit'],
    usage: 'quit',
    describe: 'leave the shell (also exit, or Ctrl-D)',
    async run() {
      return 'quit';
    },
  },
];

/** Every name the shell answers to, for completion. */
export const SHELL_COMMAND_NAMES: readonly string[] = COMMANDS.flatMap((command) => [command.name, ...(command.aliases ?? [])]);

function commandNamed(name: string): ShellCommand | undefined {
  return COMMANDS.find((command) => command.name === name || command.aliases?.includes(name));
}

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((command) => command.usage.length));
  return [
    ...COMMANDS.map((command) => `  ${command.usage.padEnd(width)}  ${command.describe}`),
    '',
    'NODE is a node name (storage_0@127.0.0.1, or storage_0 when that is unique). Tab completes commands, nodes and actor paths.',
  ].join('\n');
}

/** adm with the shell's --json, over the shell's connection; its exit status as an outcome. */
async function runAdm(ctx: CommandContext, args: string[]): Promise<CommandOutcome> {
  const output: AdmOutput = {
    out: async (text) => ctx.output.out(text),
    err: async (text) => ctx.output.err(text),
    redraw: ctx.terminal,
    formatJson: (value) => JSON.stringify(value),
    signal: ctx.signal,
  };
  const withJson = ctx.json && !args.includes('--json') && !args.includes('--help') ? [...args, '--json'] : args;
  return (await runAdmCommandLine(withJson, ctx.session.client, output)) === 0 ? 'ok' : 'failed';
}

/** Runs one line. Blank lines and # comments do nothing. */
export async function runCommandLine(line: string, ctx: CommandContext): Promise<CommandOutcome> {
  const split = splitWords(line);
  if (!split.ok) return failed(ctx, split.problem);
  const [first, ...rest] = split.words;
  if (!first || first.text.startsWith('#')) return 'ok';
  const command = commandNamed(first.text);
  if (!command) return failed(ctx, `unknown command ${first.text}; help lists the commands`);
  // Ctrl-C abandons a command that does not stop by itself; whatever it would print later is dropped.
  let abandoned = false;
  const unlessAbandoned = (print: (text: string) => void) => (text: string): void => {
    if (!abandoned) print(text);
  };
  const output: ShellOutput = {
    out: unlessAbandoned((text) => ctx.output.out(text)),
    err: unlessAbandoned((text) => ctx.output.err(text)),
    note: unlessAbandoned((text) => ctx.output.note(text)),
    flush: () => ctx.output.flush(),
  };
  const commandContext = command.handlesInterrupt ? ctx : { ...ctx, output };
  const running = command.run(commandContext, rest, line).catch((error: unknown) => failed(commandContext, `${first.text} failed: ${error instanceof Error ? error.message : String(error)}`));
  if (command.handlesInterrupt) return running;
  return new Promise<CommandOutcome>((resolve) => {
    const interrupted = (): void => {
      abandoned = true;
      ctx.output.note('interrupted');
      resolve('failed');
    };
    if (ctx.signal.aborted) return interrupted();
    ctx.signal.addEventListener('abort', interrupted, { once: true });
    void running.then((outcome) => {
      ctx.signal.removeEventListener('abort', interrupted);
      resolve(outcome);
    });
  });
}
