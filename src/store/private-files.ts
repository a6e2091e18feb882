/**
 * A node's data directory holds objects, users' keys and the admin's credentials: only the user the
 * node runs as may read it. Directories are 0700 and files 0600, also those left by an earlier release
 * with wider modes, which are tightened when the node starts.
 */
import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RootDatabaseOptionsWithPath } from 'lmdb';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `path` (and missing parents) readable by the owner only, and narrows it if it existed. */
export function makePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(path, PRIVATE_DIR_MODE);
}

/**
 * LMDB options with the mode of the files lmdb-js creates (it hands `permissionsMode` to mdb_env_open,
 * though its typings do not list it); files of an earlier release are narrowed after opening.
 */
export function privateEnvironment(options: RootDatabaseOptionsWithPath): RootDatabaseOptionsWithPath {
  return { ...options, permissionsMode: PRIVATE_FILE_MODE } as RootDatabaseOptionsWithPath;
}

/** Narrows every regular file directly in `dir` to the owner (LMDB environments, logs). */
export function restrictFilesToOwner(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) chmodSync(join(dir, entry.name), PRIVATE_FILE_MODE);
  }
}

/**
 * Writes `text` to `path` readable by the owner only, whole or not at all: a temporary file beside it,
 * synced, then renamed over it.
 */
export function writePrivateFile(path: string, text: string | Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', PRIVATE_FILE_MODE);
  try {
    // A temporary file left by a crash may have the wrong mode; openSync's mode applies to new files only.
    fchmodSync(fd, PRIVATE_FILE_MODE);
    writeSync(fd, typeof text === 'string' ? Buffer.from(text) : text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** Makes a file that was written without syncing durable (a copy made by LMDB). */
export function syncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
