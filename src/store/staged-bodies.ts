/**
 * Bodies handed from one process to another on the same machine through a file instead of a socket.
 * A gateway beside storage nodes (the `leofs dev` layout, or a gateway on each storage machine) writes
 * a large chunk it received to a staging file of its own and tells the chunk's coordinator where it
 * lies; every replica on that machine reads it from there into its own body file. The bytes then cross
 * no socket: neither the gateway's send nor the coordinator's sends to the other replicas, nor their
 * receives, cost CPU, and no process holds a message of megabytes.
 *
 * A staging file is never synced: a replica acknowledges only once its own copy is durable, and the
 * writer removes the file once the write is answered (a reader that opened it keeps reading).
 *
 * A storage node takes only what looks like a staging file: on its own machine, a regular file named as
 * `StagingArea` names them, not a link, of the size it was told. Anything else is refused, and the
 * writer sends the bytes instead.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, normalize, resolve } from 'node:path';
import type { StagedBodyRef } from '../core/staged-body-ref.js';
import type { Logger } from '../runtime/logger.js';
import { readExactly, readFully, writeAll } from './body-files.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-files.js';

/** `<anything>/staging/<32 hex digits>.staged`: how StagingArea names its files. */
const STAGED_FILE_PATH = /\/staging\/[0-9a-f]{32}\.staged$/;

/**
 * Why a staged body was not taken. `elsewhere` and `unreadable` hold for every body from that writer
 * (another machine, or files this process may not read); the others for this body alone.
 */
export type StagedBodyRefusal = 'elsewhere' | 'unreadable' | 'not-staged' | 'gone' | 'mismatch';

export class StagedBodyRefused extends Error {
  override readonly name = 'StagedBodyRefused';
  constructor(
    readonly reason: StagedBodyRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** Reasons that say a writer should send its bodies to this node as bytes from now on. */
export function refusesEveryStagedBody(reason: StagedBodyRefusal): boolean {
  return reason === 'elsewhere' || reason === 'unreadable';
}

/** What the file system answers a reader that may not read the writer's files. */
const UNREADABLE = new Set(['EACCES', 'EPERM']);
/** What it answers for a path that is not a staging file (a link in its place, a file where a directory should be). */
const NOT_STAGED = new Set(['ELOOP', 'ENOTDIR', 'ENOENT']);

/**
 * A staged body opened for reading by a storage node. The work that reads it is tracked, and the file
 * closed once that is done (`closeAfterUse`).
 */
export class StagedBody {
  private whole: Promise<Buffer> | undefined;
  private readonly uses = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly file: FileHandle,
    readonly ref: StagedBodyRef,
  ) {}

  /** Opens the body `ref` names, or refuses it (StagedBodyRefused) when it is not one this node may take. */
  static async open(ref: StagedBodyRef, machine: string | undefined): Promise<StagedBody> {
    if (machine === undefined || ref.machine !== machine) throw new StagedBodyRefused('elsewhere', 'the staged body is on another machine');
    if (!STAGED_FILE_PATH.test(ref.path) || normalize(ref.path) !== ref.path) throw new StagedBodyRefused('not-staged', `${ref.path} is not named as a staged body`);
    let file: FileHandle;
    try {
      // Not blocking: a FIFO in a staging file's place opens at once (and is refused below) rather than never.
      file = await open(ref.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code === 'ENOENT' && (await isDirectory(dirname(ref.path)))) throw new StagedBodyRefused('gone', `${ref.path} is gone`);
      if (UNREADABLE.has(code)) throw new StagedBodyRefused('unreadable', `${ref.path} cannot be read here (${code})`);
      if (NOT_STAGED.has(code)) throw new StagedBodyRefused('not-staged', `${ref.path} is not a staged body (${code})`);
      throw error;
    }
    try {
      const stats = await file.stat();
      // A writer's own new file: not a link to another (nor another user's, where a node runs as root).
      if (!stats.isFile() || stats.nlink !== 1) throw new StagedBodyRefused('not-staged', `${ref.path} is not a regular file of its own`);
      if (process.getuid !== undefined && stats.uid !== process.getuid()) throw new StagedBodyRefused('unreadable', `${ref.path} belongs to another user`);
      if (stats.size !== ref.sizeBytes) throw new StagedBodyRefused('mismatch', `${ref.path} holds ${stats.size} bytes, not ${ref.sizeBytes}`);
    } catch (error) {
      await file.close();
      throw error;
    }
    return new StagedBody(file, ref);
  }

  get sizeBytes(): number {
    return this.ref.sizeBytes;
  }

  /** Reads `length` bytes from `position` of the body into the start of `target`. */
  async readInto(target: Uint8Array, length: number, position: number): Promise<void> {
    await readFully(this.file, target, length, position, `the staged body ${this.ref.path}`);
  }

  /** The whole body in memory (read once, however often asked), for a replica it must be sent to. */
  bytes(): Promise<Buffer> {
    this.whole ??= readExactly(this.file, 0, this.ref.sizeBytes, `the staged body ${this.ref.path}`);
    return this.whole;
  }

  /** Work that reads the body: the file stays open until it has settled. */
  track(work: Promise<unknown>): void {
    const use = work.catch(() => undefined).finally(() => this.uses.delete(use));
    this.uses.add(use);
  }

  /** Closes the file once every tracked use has settled (uses tracked meanwhile are waited for too). */
  async closeAfterUse(): Promise<void> {
    while (this.uses.size > 0) await Promise.all([...this.uses]);
    if (this.closed) return;
    this.closed = true;
    await this.whole?.catch(() => undefined);
    // Read only: nothing a failed close could lose.
    await this.file.close().catch(() => undefined);
  }
}

/**
 * A writer's staging directory. Files are created 0600 in a 0700 directory: readers must run as the
 * same user (a storage node that cannot read them refuses, and gets the bytes). What a writer that
 * stopped left in it is removed when a later one opens it (`open`, or its first body).
 */
export class StagingArea {
  private readonly dir: string;
  private ready: Promise<void> | undefined;
  private failed = false;
  private readonly startedAtMs = Date.now();

  constructor(
    dir: string,
    readonly machine: string,
    private readonly log: Logger,
  ) {
    this.dir = resolve(dir);
  }

  /**
   * Writes `bytes` to a new staging file, for the caller to discard once its write is answered;
   * undefined when it cannot (the first such failure is logged), and the caller sends the bytes.
   */
  async stage(bytes: Uint8Array): Promise<StagedBodyRef | undefined> {
    try {
      await this.prepared();
      return await this.write(bytes);
    } catch (error) {
      this.failedOnce(error);
      return undefined;
    }
  }

  /** Makes the directory and removes what an earlier writer left in it; never rejects (a failure is logged). */
  async open(): Promise<void> {
    await this.prepared().catch((error: unknown) => this.failedOnce(error));
  }

  /** A directory that could not be made is tried again by the next body. */
  private prepared(): Promise<void> {
    this.ready ??= this.prepare().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private failedOnce(error: unknown): void {
    if (!this.failed) this.log.warn('cannot stage bodies for the storage nodes on this machine; sending them instead', { dir: this.dir, error });
    this.failed = true;
  }

  private async write(bytes: Uint8Array): Promise<StagedBodyRef> {
    const path = join(this.dir, `${randomBytes(16).toString('hex')}.staged`);
    const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PRIVATE_FILE_MODE);
    try {
      await writeAll(file, bytes, 0);
    } catch (error) {
      await unlink(path).catch(() => undefined);
      throw error;
    } finally {
      await file.close();
    }
    return { machine: this.machine, path, sizeBytes: bytes.length };
  }

  discard(ref: StagedBodyRef): void {
    unlink(ref.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') this.log.warn('cannot remove a staged body', { path: ref.path, error });
    });
  }

  private async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      const stats = await stat(path).catch(() => undefined);
      if (stats === undefined || !stats.isFile() || stats.mtimeMs >= this.startedAtMs) continue;
      await unlink(path).catch(() => undefined);
      removed++;
    }
    if (removed > 0) this.log.info('removed staged bodies an earlier process left', { removed, dir: this.dir });
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/**
 * Removes every staging file in `dir`, for a writer that no longer stages: what it left when it staged
 * before is of no use to anyone. Never rejects; a directory that is not there is nothing to do.
 */
export async function removeStagedBodies(dir: string, log: Logger): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  let removed = 0;
  for (const name of names) {
    if (!name.endsWith('.staged')) continue;
    await unlink(join(dir, name)).then(() => removed++, () => undefined);
  }
  if (removed > 0) log.info('removed staged bodies left from when this writer staged', { removed, dir });
}
