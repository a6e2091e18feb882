/**
 * How the shell reads commands: from --eval (each run in turn, then exit), or line by line from stdin.
 * On a terminal that is a REPL with a prompt, history and tab completion, where Ctrl-C stops the
 * running command (a follow, a --watch) and, at an empty prompt, twice in a row, leaves. From a pipe
 * there is no prompt and no echo: stdout carries results only, so a script can drive the shell.
 * Exit status: 0, or 1 when a command failed (--eval and pipes; a person at a terminal sees each error).
 */
import { createInterface, type Interface } from 'node:readline';
import { completeLine } from './shell-completion.js';
import { runCommandLine, SHELL_COMMAND_NAMES, type CommandContext, type CommandOutcome } from './shell-commands.js';
import { loadHistory, MAX_HISTORY, saveHistory } from './shell-history.js';
import { ADM_COMMAND_NAMES, ADM_NODE_COMMANDS } from './adm-command.js';

const PROMPT = 'leofs> ';
export const EXIT_COMMAND_FAILED = 1;
/** As a shell does when SIGINT ends it. */
export const EXIT_INTERRUPTED = 130;

export type RunnerContext = Omit<CommandContext, 'signal'>;

/** Runs commands one at a time; Ctrl-C aborts the one running. */
class CommandRunner {
  failures = 0;
  private current: AbortController | undefined;

  constructor(private readonly context: RunnerContext) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  async run(line: string): Promise<CommandOutcome> {
    const controller = new AbortController();
    this.current = controller;
    try {
      const outcome = await runCommandLine(line, { ...this.context, signal: controller.signal });
      if (outcome === 'failed') this.failures++;
      return outcome;
    } finally {
      this.current = undefined;
    }
  }

  /** Stops the running command; false when none runs. */
  interrupt(): boolean {
    if (!this.current) return false;
    this.current.abort();
    return true;
  }
}

/** Runs `commands` in order (all of them: a failure is counted, not fatal); SIGINT stops the one running, twice the shell. */
export async function runCommands(commands: readonly string[], context: RunnerContext): Promise<number> {
  const runner = new CommandRunner(context);
  let interruptedIdle = false;
  const onSigint = (): void => {
    if (!runner.interrupt()) interruptedIdle = true;
  };
  process.on('SIGINT', onSigint);
  try {
    for (const command of commands) {
      if (interruptedIdle) return EXIT_INTERRUPTED;
      if ((await runner.run(command)) === 'quit') break;
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return runner.failures > 0 ? EXIT_COMMAND_FAILED : 0;
}

export interface ReadOptions {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  /** stdin and stdout are a terminal: prompt, echo, history and completion. */
  readonly terminal: boolean;
  /** Where history is kept; undefined: none. */
  readonly historyFile: string | undefined;
}

/** Reads and runs lines until the input ends, `quit`, or Ctrl-C twice at an empty prompt. */
export async function runLines(context: RunnerContext, options: ReadOptions): Promise<number> {
  const runner = new CommandRunner(context);
  const { session, output } = context;
  const history = options.terminal && options.historyFile ? loadHistory(options.historyFile) : [];
  const completionFor = async (line: string): Promise<[string[], string]> => {
    const nodes = await session.nodeNames();
    const words = line.trim().split(/\s+/);
    if (words.length >= 2 && (words[0] === 'send' || words[0] === 'actors') && /\s\S*$/.test(line)) await session.actorPathsOf(words[1]!);
    return completeLine(line, {
      commands: SHELL_COMMAND_NAMES,
      admCommands: ADM_COMMAND_NAMES,
      admNodeCommands: ADM_NODE_COMMANDS,
      nodes,
      actorPaths: (node) => session.cachedActorPaths(node),
    });
  };
  const rl: Interface = createInterface({
    input: options.input,
    ...(options.terminal ? { output: options.output } : {}),
    terminal: options.terminal,
    prompt: PROMPT,
    crlfDelay: Infinity,
    ...(options.terminal
      ? {
          history,
          historySize: MAX_HISTORY,
          removeHistoryDuplicates: true,
          completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
            void completionFor(line).then((result) => callback(null, result));
          },
        }
      : {}),
  });
  if (options.terminal && options.historyFile) {
    let warned = false;
    const file = options.historyFile;
    rl.on('history', (lines: string[]) => {
      if (!saveHistory(file, lines) && !warned) {
        warned = true;
        output.note(`cannot write the history to ${file}; going on without`);
      }
    });
  }

  let leaving = false;
  let armed = false;
  const onInterrupt = (): void => {
    if (runner.interrupt()) return;
    if (!options.terminal) {
      leaving = true;
      rl.close();
      return;
    }
    if (rl.line.length > 0) {
      // Like a shell: Ctrl-C drops what was typed.
      rl.write(null, { ctrl: true, name: 'u' });
      armed = false;
      return;
    }
    if (armed) {
      leaving = true;
      rl.close();
      return;
    }
    armed = true;
    options.output.write('\n(Ctrl-C again, Ctrl-D or quit to leave)\n');
    rl.prompt();
  };
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);

  try {
    if (options.terminal) rl.prompt();
    for await (const line of rl) {
      armed = false;
      if ((await runner.run(line)) === 'quit') break;
      if (options.terminal) rl.prompt();
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    rl.close();
  }
  if (leaving && !options.terminal) return EXIT_INTERRUPTED;
  return !options.terminal && runner.failures > 0 ? EXIT_COMMAND_FAILED : 0;
}
