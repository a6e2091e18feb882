/**
 * How the shell reads a command line: words split at white space, with quotes ('...' and "...") and
 * backslashes much as in a POSIX shell (a backslash escapes inside quotes too), each word with where it starts so that `send` can take the rest of
 * the line as its message verbatim; and --eval text cut into commands at semicolons outside quotes.
 */

export interface Word {
  /** The word with its quotes and escapes resolved. */
  readonly text: string;
  /** Offset of its first character in the line. */
  readonly start: number;
}

export type WordsResult = { readonly ok: true; readonly words: readonly Word[] } | { readonly ok: false; readonly problem: string };

export function splitWords(line: string): WordsResult {
  const words: Word[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    let text = '';
    while (i < line.length && !/\s/.test(line[i]!)) {
      const char = line[i]!;
      if (char === '\\' && i + 1 < line.length) {
        text += line[i + 1];
        i += 2;
      } else if (char === "'" || char === '"') {
        const opened = i;
        i++;
        while (i < line.length && line[i] !== char) {
          // A backslash escapes inside quotes too, as in the messages' strings.
          if (line[i] === '\\' && i + 1 < line.length) i++;
          text += line[i];
          i++;
        }
        if (i >= line.length) return { ok: false, problem: `unclosed ${char} at column ${opened + 1}` };
        i++;
      } else {
        text += char;
        i++;
      }
    }
    words.push({ text, start });
  }
  return { ok: true, words };
}

/**
 * Commands of an --eval text, cut at `;` outside quotes; blank ones left out. (A `;` in a message's
 * string is inside quotes; one elsewhere in a message is no JSON anyway.)
 */
export function splitCommands(text: string): string[] {
  const commands: string[] = [];
  let quote: string | undefined;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\' && i + 1 < text.length) {
      current += char + text[i + 1];
      i++;
      continue;
    }
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === ';') {
      commands.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  commands.push(current);
  return commands.map((command) => command.trim()).filter((command) => command.length > 0);
}
