/**
 * Where the shell prints: results on stdout (so a script can read them), problems and notes on
 * stderr. Notes say what the shell is doing (following, stopped following); they never mix with results.
 * Control characters other than newline and tab are shown escaped: log lines and crash reasons carry
 * text from clients (object keys, say), which must not drive the operator's terminal.
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
    out: (text) => void stdout.write(`${inert(text)}\n`),
    err: (text) => void stderr.write(`error: ${inert(text)}\n`),
    note: (text) => void stderr.write(`${inert(text)}\n`),
    flush: async () => {
      await drained(stdout);
      await drained(stderr);
    },
  };
}

/** C0 controls but newline and tab, DEL and C1 controls, as \u escapes. */
export function inert(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
