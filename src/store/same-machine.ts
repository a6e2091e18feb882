/**
 * Reads of a storage node's body files by another process on the same machine. A gateway that runs
 * beside the storage nodes (the embedded layout, or a small cluster with a gateway on each storage
 * machine) reads the bodies they keep in files itself: the bytes then cross no socket, and the storage
 * node's read and send and the gateway's receive cost nothing. A storage node says where a body lies
 * only to a reader that names the same machine as its own; the reader reads only what looks like a body
 * file and has the size it was told, and any failure sends it back to the ordinary read.
 *
 * A machine is named by the kernel's boot id, the mount namespace and the root directory: processes
 * that share all three see the same files at the same paths (containers on one host share the boot id,
 * not the mounts; a chrooted process shares the mounts, not the root).
 */
import { constants, readFileSync, readlinkSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { normalize } from 'node:path';
import { isBodyFileRef, type BodyFileRef } from '../core/body-file-ref.js';
import { readExactly, readFully } from './body-files.js';

let identity: string | null | undefined;

/** This process's machine, as a reader or a storage node names it; undefined where it cannot be told. */
export function machineIdentity(): string | undefined {
  if (identity === undefined) {
    try {
      const root = statSync('/');
      identity = `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}/${readlinkSync('/proc/self/ns/mnt')}/${root.dev}:${root.ino}`;
    } catch {
      identity = null;
    }
  }
  return identity ?? undefined;
}

/** `<anything>/bodies/<xx>/<32 hex digits starting xx>`: how body-files.ts names its files. */
const BODY_FILE_PATH = /\/bodies\/([0-9a-f]{2})\/\1[0-9a-f]{30}$/;

/** What no body file could be: a reference to anything else means the files cannot be trusted here. */
export class NotABodyFile extends Error {}
/** A body file of another size than its storage node said: this read's alone (the file is damaged). */
export class BodyFileMismatch extends Error {}

/**
 * The bytes `ref` points at. Throws NotABodyFile when it does not point at a regular file named as
 * body files are, BodyFileMismatch when the file is not the size it was said to be, and the file
 * system's error (ENOENT when the file was removed meanwhile, because a newer version replaced it)
 * when it cannot be read. Read into `into` when it is as long as the bytes pointed at.
 */
export async function readBodyFile(ref: BodyFileRef, into?: Buffer): Promise<Buffer> {
  if (!isBodyFileRef(ref) || normalize(ref.path) !== ref.path || !BODY_FILE_PATH.test(ref.path)) throw new NotABodyFile(`${String(ref.path)} is not a body file`);
  // Not blocking: a FIFO in a body file's place opens at once (and is refused below) rather than never.
  const file = await open(ref.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = await file.stat();
    if (!stats.isFile()) throw new NotABodyFile(`${ref.path} is not a regular file`);
    if (stats.size !== ref.fileBytes) throw new BodyFileMismatch(`${ref.path} holds ${stats.size} bytes, not ${ref.fileBytes}`);
    if (into === undefined || into.length !== ref.length) return await readExactly(file, ref.offset, ref.length, ref.path);
    await readFully(file, into, ref.length, ref.offset, ref.path);
    return into;
  } finally {
    await file.close();
  }
}
