/**
 * The shell's command history, kept across sessions in ~/.leofs_shell_history (HOME honoured), one
 * command a line, oldest first, at most MAX_HISTORY lines, readable by its owner only: commands may
 * hold what an operator would rather not share. A history that cannot be read or written is no history,
 * not a reason to stop.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HISTORY_FILE_NAME = '.leofs_shell_history';
export const MAX_HISTORY = 1_000;

export function historyPath(env: NodeJS.ProcessEnv, home: string): string {
  return join(env.HOME || home, HISTORY_FILE_NAME);
}

/** The saved commands, newest first (as readline keeps them). */
export function loadHistory(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .slice(-MAX_HISTORY)
    .reverse();
}

/** Saves `newestFirst`; false when the file cannot be written. */
export function saveHistory(path: string, newestFirst: readonly string[]): boolean {
  const lines = newestFirst.slice(0, MAX_HISTORY).filter((line) => !line.includes('\n')).reverse();
  try {
    writeFileSync(path, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
    return true;
  } catch {
    return false;
  }
}
