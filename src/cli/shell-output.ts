/**
 * Where the shell prints: results on stdout (so a script can read them), problems and notes on
 * stderr. Notes say what the shell is doing (following, stopped following); they never mix with results.
 */
export interface ShellOutput {
  /** A result: a table, a reply, a log line. */
  out(text: string): void;
  /** A command failed: why. */
  err(text: string): void;
  /** Something for the person at the keyboard, not for the script reading stdout. */
  note(text: string): void;
  /** Resolves once everything written has been handed to the streams. */
  flush(): Promise<void>;
}

export function streamOutput(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): ShellOutput {
  const drained = (stream: NodeJS.WritableStream): Promise<void> => new Promise((resolve) => stream.write('', () => resolve()));
  return {
    out: (text) => void stdout.write(`${text}\n`),
    err: (text) => void stderr.write(`error: ${text}\n`),
    note: (text) => void stderr.write(`${text}\n`),
    flush: async () => {
      await drained(stdout);
      await drained(stderr);
    },
  };
}
