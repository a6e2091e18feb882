/**
 * The first admin user's keys, kept for the operator in `<manager data>/admin-credentials.json`
 * (mode 0600) instead of the log: logs get shipped and shared, and a secret in them is hard to take
 * back. Written once, when the manager creates that user; `leofs dev` reads it to print the keys.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFile } from './private-files.js';

export const ADMIN_CREDENTIALS_FILE = 'admin-credentials.json';

export interface AdminCredentials {
  readonly userId: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Writes the file in `dataDir` and returns its path. */
export function writeAdminCredentials(dataDir: string, credentials: AdminCredentials): string {
  const path = join(dataDir, ADMIN_CREDENTIALS_FILE);
  const { userId, accessKeyId, secretAccessKey } = credentials;
  writePrivateFile(path, JSON.stringify({ userId, accessKeyId, secretAccessKey }, null, 2) + '\n');
  return path;
}

/** The credentials in the file at `path`; undefined when it is missing or not one of ours. */
export function readAdminCredentials(path: string): AdminCredentials | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { userId, accessKeyId, secretAccessKey } = parsed as Record<string, unknown>;
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') return undefined;
  return { userId: typeof userId === 'string' ? userId : 'admin', accessKeyId, secretAccessKey };
}
