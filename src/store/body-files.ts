/**
 * Large bodies as files beside the LMDB environment (`<objects>/bodies/<xx>/<name>`), one file per
 * version of an object or chunk. LMDB writes a large value at about a third of the rate of a file
 * written and synced on its own, and copies it through its pages twice; a file costs one write and
 * one fdatasync, and a read is one pread of just the bytes asked for.
 *
 * A body file is complete and on disk (the file synced, then its directory) before the transaction
 * that makes a record point at it commits, and it is unlinked only after the transaction that stops
 * pointing at it has committed. So a crash leaves at worst a file nothing points at, which `sweep`
 * removes at the next start; never a record without its body.
 *
 * Names are the MD5 of the body's data key: fixed length, no characters a file system minds, spread
 * over 256 directories.
 *
 * Bodies are written past the page cache (O_DIRECT) where the file system allows it: a durable write
 * reaches the disk before it is acknowledged anyway, and through the cache it also costs a copy into
 * cache pages and their write-back, several times the CPU of the disk write itself. Reads still go
 * through the page cache, which keeps what is read often.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../runtime/logger.js';
import { AlignedStaging, alignUp, DIRECT_IO_ALIGNMENT } from './aligned-staging.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-files.js';

/**
 * What a body file is written from: bytes in memory, or a body another process on this machine staged
 * in a file (staged-bodies.ts), read piece by piece.
 */
export interface BodySource {
  readonly sizeBytes: number;
  /** Reads `length` bytes from `position` of the body into the start of `target`. */
  readInto(target: Uint8Array, length: number, position: number): Promise<void>;
  /** The whole body in memory (for one too small to live in a file). */
  bytes(): Promise<Uint8Array>;
}

/** The size of a body to be written, whichever form it has. */
export function sizeOfBody(body: Uint8Array | BodySource): number {
  return body instanceof Uint8Array ? body.length : body.sizeBytes;
}

export interface BodyFilesOptions {
  /** Sync files and directories before a write resolves (default). Tests of logic may turn it off. */
  readonly durable?: boolean;
  /** Write bodies past the page cache where the file system allows it (default; only when durable). */
  readonly directWrites?: boolean;
  /** Where direct writes are staged (tests hand in their own). */
  readonly staging?: Pick<AlignedStaging, 'take' | 'give'>;
  /** Opens the files bodies are written to (tests hand in their own). */
  readonly openFile?: (path: string, flags: number, mode: number) => Promise<FileHandle>;
}

/** Staging for direct writes: a body goes through one slot, piece by piece. */
const STAGING_SLOT_BYTES = 2 * 1024 * 1024;
/** As many as the thread pool that runs file writes has threads (libuv's default). */
const STAGING_SLOTS = 4;

export class BodyFiles {
  /** Directories known to exist, and the sync of each one's entries now in progress or wanted. */
  private readonly directories = new Map<string, DirectorySync>();

  private readonly startedAtMs = Date.now();
  private readonly absoluteRoot: string;

  private readonly durable: boolean;
  /** Whether bodies are written past the page cache: until a file system refuses it, when durable. */
  private direct: boolean;
  private readonly staging: Pick<AlignedStaging, 'take' | 'give'>;
  private readonly openFile: (path: string, flags: number, mode: number) => Promise<FileHandle>;

  constructor(
    readonly root: string,
    private readonly log: Logger,
    options: BodyFilesOptions = {},
  ) {
    this.absoluteRoot = resolve(root);
    this.durable = options.durable ?? true;
    this.direct = this.durable && (options.directWrites ?? true);
    this.staging = options.staging ?? new AlignedStaging(STAGING_SLOT_BYTES, STAGING_SLOTS);
    this.openFile = options.openFile ?? open;
  }

  /** Whether the next body is written past the page cache. */
  get writesDirect(): boolean {
    return this.direct;
  }

  /** The file name of the body stored under `dataKey`. */
  nameOf(dataKey: Uint8Array): string {
    return createHash('md5').update(dataKey).digest('hex');
  }

  /**
   * Writes a body whole and makes it durable, file and directory entry both. It is written under a
   * temporary name and renamed into place, so a reader never sees it half written, even when the same
   * version arrives twice (a replica sent it again).
   */
  async write(name: string, body: Uint8Array | BodySource): Promise<void> {
    const directory = await this.directoryOf(name);
    const path = join(directory.path, name);
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      if (!(this.direct && (await this.writeDirect(temporary, body)))) await this.writeBuffered(temporary, body);
      await rename(temporary, path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    if (this.durable) await directory.sync();
  }

  private async writeBuffered(path: string, body: Uint8Array | BodySource): Promise<void> {
    const file = await this.openFile(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PRIVATE_FILE_MODE);
    try {
      if (body instanceof Uint8Array) await writeAll(file, body, 0);
      else await this.copyThrough(file, body);
      if (this.durable) await file.datasync();
    } finally {
      await file.close();
    }
  }

  /**
   * Writes `body` to a new file at `path` past the page cache, through an aligned staging slot, the
   * last block padded and the file then cut to the body's length. False when direct writes cannot be
   * done here (the file system refuses them, or the staging memory cannot be had), with nothing left
   * at `path`: from then on every body goes through the page cache.
   */
  private async writeDirect(path: string, body: Uint8Array | BodySource): Promise<boolean> {
    let slot: Buffer;
    try {
      slot = await this.staging.take();
    } catch (error) {
      this.stopDirect(error);
      return false;
    }
    try {
      const file = await this.openFile(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, PRIVATE_FILE_MODE);
      try {
        const sizeBytes = sizeOfBody(body);
        for (let at = 0; at < sizeBytes; at += slot.length) {
          const length = Math.min(slot.length, sizeBytes - at);
          if (body instanceof Uint8Array) slot.set(body.subarray(at, at + length));
          else await body.readInto(slot, length, at);
          const padded = alignUp(length);
          slot.fill(0, length, padded);
          await writeAligned(file, slot.subarray(0, padded), at);
        }
        if (sizeBytes % DIRECT_IO_ALIGNMENT !== 0) await file.truncate(sizeBytes);
        await file.datasync();
      } finally {
        await file.close();
      }
      return true;
    } catch (error) {
      if (!refusesDirect(error)) throw error;
      // Linux creates the file before it checks the flags: a refusal at the open leaves it too.
      await unlink(path).catch(() => undefined);
      this.stopDirect(error);
      return false;
    } finally {
      this.staging.give(slot);
    }
  }

  /** Copies a body from its source to `file` through a staging slot (the page cache way). */
  private async copyThrough(file: FileHandle, body: BodySource): Promise<void> {
    const slot = await this.staging.take();
    try {
      for (let at = 0; at < body.sizeBytes; at += slot.length) {
        const length = Math.min(slot.length, body.sizeBytes - at);
        await body.readInto(slot, length, at);
        await writeAll(file, slot.subarray(0, length), at);
      }
    } finally {
      this.staging.give(slot);
    }
  }

  private stopDirect(error: unknown): void {
    if (!this.direct) return;
    this.direct = false;
    this.log.warn('body files cannot be written past the page cache here; they are written through it', { root: this.root, error });
  }

  /** `length` bytes from `offset` of a body; undefined when there is no such file. */
  async read(name: string, offset: number, length: number): Promise<Buffer | undefined> {
    let file: FileHandle;
    try {
      file = await open(this.pathFor(name), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return await readExactly(file, offset, length, `body file ${name}`);
    } finally {
      await file.close();
    }
  }

  /** The absolute path of the body file `name` (a reader in another process on this machine reads it there too). */
  pathFor(name: string): string {
    return join(this.absoluteRoot, name.slice(0, 2), name);
  }

  /** Removes a body file whose record is gone; a failure is logged (the next sweep retries). */
  remove(name: string): void {
    unlink(this.pathFor(name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') this.log.warn('cannot remove a body file', { name, error });
    });
  }

  /**
   * Removes every body file whose name is not in `keep`, left by a crash between file and record (or
   * a removal that failed). Files this process wrote are left alone: their records may be on their way.
   */
  async sweep(keep: ReadonlySet<string>): Promise<number> {
    let removed = 0;
    let directories: string[];
    try {
      directories = await readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    for (const directory of directories) {
      for (const name of await readdir(join(this.root, directory))) {
        if (keep.has(name)) continue;
        const path = join(this.root, directory, name);
        const stats = await stat(path).catch(() => undefined);
        if (stats === undefined || stats.mtimeMs >= this.startedAtMs) continue;
        await unlink(path).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }

  private async directoryOf(name: string): Promise<DirectorySync> {
    const path = join(this.root, name.slice(0, 2));
    let directory = this.directories.get(path);
    if (directory === undefined) {
      await mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
      directory = this.directories.get(path) ?? new DirectorySync(path);
      this.directories.set(path, directory);
    }
    return directory;
  }
}

/**
 * Syncs one directory's entries for every file created in it: a caller that arrives while a sync runs
 * waits for the next one (which covers its file), so many files share one fsync of their directory.
 */
class DirectorySync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(readonly path: string) {}

  sync(): Promise<void> {
    if (this.running === undefined) {
      this.running = this.syncNow().finally(() => (this.running = undefined));
      return this.running;
    }
    this.next ??= this.running.then(() => {
      this.next = undefined;
      return this.sync();
    });
    return this.next;
  }

  private async syncNow(): Promise<void> {
    const handle = await open(this.path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** `length` bytes from `offset` of an open file, into a buffer of their own; `what` names it in errors. */
export async function readExactly(file: FileHandle, offset: number, length: number, what: string): Promise<Buffer> {
  const out = Buffer.allocUnsafeSlow(length);
  await readFully(file, out, length, offset, what);
  return out;
}

/** `length` bytes from `position` of an open file, into the start of `target`; `what` names it in errors. */
export async function readFully(file: FileHandle, target: Uint8Array, length: number, position: number, what: string): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(target, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`${what} is shorter than its record says`);
    done += bytesRead;
  }
}

/** What a file system that cannot write past its cache (or not from this alignment) answers. */
function refusesDirect(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EINVAL';
}

/**
 * Writes `block` (a multiple of the alignment) at `position`. A short write goes on from where it
 * stopped, so that a disk that filled up answers with its own error (ENOSPC) on the next call.
 */
async function writeAligned(file: FileHandle, block: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < block.length) {
    const { bytesWritten } = await file.write(block, done, block.length - done, position + done);
    done += bytesWritten;
    if (done < block.length && (bytesWritten === 0 || done % DIRECT_IO_ALIGNMENT !== 0)) {
      throw new Error(`a direct write to a body file stopped after ${done} of ${block.length} bytes`);
    }
  }
}

/** Writes all of `bytes` at `position`. */
export async function writeAll(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}
