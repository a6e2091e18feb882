/**
 * A backup of the managers' state: one file holding a consistent snapshot of every replicated table
 * (users' secrets stay sealed with the cluster cookie), written by `leofs-adm backup-manager` and read
 * by `leofs node --role manager --restore`.
 */
import { readFileSync } from 'node:fs';
import type { StateSnapshot } from '../core/consensus/raft-messages.js';
import { decodeCbor, encodeCbor } from '../protocol/cluster/cbor.js';
import { isStateSnapshot } from './consensus-store.js';
import { writePrivateFile } from './private-files.js';

const FORMAT = 'leofs-manager-backup';
const VERSION = 1;

interface BackupFile {
  readonly format: typeof FORMAT;
  readonly version: number;
  readonly createdAtMs: number;
  readonly snapshot: StateSnapshot;
}

/** Written to a temporary file, synced, then renamed: a crash never leaves half a backup under the name. */
export function writeManagerBackup(path: string, snapshot: StateSnapshot, createdAtMs: number): void {
  const file: BackupFile = { format: FORMAT, version: VERSION, createdAtMs, snapshot };
  writePrivateFile(path, encodeCbor(file));
}

export type BackupRead = { readonly ok: true; readonly snapshot: StateSnapshot; readonly createdAtMs: number } | { readonly ok: false; readonly problem: string };

export function readManagerBackup(path: string): BackupRead {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    return { ok: false, problem: `cannot read the backup ${path}: ${(error as Error).message}` };
  }
  let decoded: unknown;
  try {
    decoded = decodeCbor(bytes);
  } catch {
    return { ok: false, problem: `${path} is not a manager backup (it does not decode)` };
  }
  const file = decoded as Partial<BackupFile> | null;
  if (typeof file !== 'object' || file === null || file.format !== FORMAT) return { ok: false, problem: `${path} is not a manager backup` };
  if (file.version !== VERSION) return { ok: false, problem: `${path} is a manager backup of format ${String(file.version)}; this release reads format ${VERSION}` };
  if (!isStateSnapshot(file.snapshot)) return { ok: false, problem: `${path} is a damaged manager backup (its snapshot is malformed)` };
  return { ok: true, snapshot: file.snapshot, createdAtMs: typeof file.createdAtMs === 'number' ? file.createdAtMs : 0 };
}
