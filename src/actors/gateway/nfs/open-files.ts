/**
 * Files being written over NFS. A client writes a file in many WRITE calls at offsets, in any order and
 * several at once; the store keeps whole objects. So an open file's bytes are gathered here, per key,
 * and stored as one object (through the S3 PUT's chunking) on COMMIT, on a FILE_SYNC or DATA_SYNC
 * write, on SETATTR, and when no WRITE has touched the file for `idleFlushMs`, after which the buffer
 * is let go.
 *
 * Memory is bounded: a file is held in memory up to `fileMemoryBytes` while all open files together
 * stay within `memoryBytes`; beyond either it spills to a sparse temporary file in `spillDir` on the
 * gateway's disk, so a file of any size costs the page cache, not the heap. The spilled files together
 * stay within `maxSpillBytes` of disk, counted by their sizes (a sparse file's holes are stored as zeros
 * in the end, so they count): beyond it a write is NFS3ERR_NOSPC. No file grows past `maxFileBytes`
 * (NFS3ERR_FBIG). At most `maxOpenFiles` are open; opening one more first stores and closes the least
 * recently written.
 *
 * Writing into an object that already has bytes (an append, a change in the middle) first copies the
 * object into the buffer. UNSTABLE writes live only here until stored: the write verifier (new at
 * every start) tells clients when a restart lost them, and they write them again.
 */
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomHex } from '../../../core/random-id.js';
import type { ObjectMeta } from '../../../core/object-meta.js';
import type { Clock, TimerHandle } from '../../../runtime/clock.js';
import type { Logger } from '../../../runtime/logger.js';
import { afterContentChange } from './attributes.js';
import { NfsError, nfsStatusOf } from './nfs-errors.js';

/** Where an open file's bytes come from and go to: its bucket, as the last writer may reach it (stored-objects.ts). */
export interface FileStore {
  /** The bucket's incarnation tag (file-handles.ts). */
  readonly bucketTag: string;
  /** `template`: the version the file was opened from, whose fields the stored object keeps. */
  store(key: string, sizeBytes: number, pieces: AsyncIterable<Buffer>, userMeta: Readonly<Record<string, string>>, template: ObjectMeta | undefined): Promise<ObjectMeta>;
  read(meta: ObjectMeta, start: number, end: number): AsyncIterable<Buffer>;
}

export interface OpenFilesOptions {
  readonly memoryBytes: number;
  readonly fileMemoryBytes: number;
  readonly maxSpillBytes: number;
  readonly maxFileBytes: number;
  readonly maxOpenFiles: number;
  readonly idleFlushMs: number;
  readonly spillDir: string;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Pieces an open file is read and stored in. */
const PIECE_BYTES = 1024 * 1024;
/** Stores of one file that fail for a reason a retry does not cure, before its writes are dropped. */
const MAX_FAILED_STORES = 3;

export class OpenFile {
  size = 0;
  modifiedMs: number;
  userMeta: Record<string, string>;
  dirty = false;
  /** Stores of the file that failed in a row. */
  failedStores = 0;
  /** The store as the last call that wrote reaches it: whose rights the object is stored with. */
  scope: FileStore;
  /** The version the file was opened from (the last one stored from it since). */
  template: ObjectMeta | undefined;
  private memory: Buffer | undefined = Buffer.alloc(0);
  private spill: { readonly handle: FileHandle; readonly path: string } | undefined;
  /** The spill disk this file holds in the owner's account: the spill file's size. */
  private spillBytes = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: TimerHandle | undefined;
  closed = false;

  constructor(
    private readonly owner: OpenFiles,
    readonly id: string,
    readonly key: string,
    scope: FileStore,
    userMeta: Readonly<Record<string, string>>,
    nowMs: number,
    template: ObjectMeta | undefined,
  ) {
    this.scope = scope;
    this.template = template;
    this.userMeta = { ...userMeta };
    this.modifiedMs = nowMs;
  }

  /** Runs `action` when every earlier one has finished: one change of the file at a time. */
  locked<T>(action: () => Promise<T>): Promise<T> {
    const run = this.chain.then(action, action);
    this.chain = run.catch(() => undefined);
    return run;
  }

  async write(offset: number, data: Buffer): Promise<void> {
    const end = offset + data.length;
    this.owner.checkFileSize(end);
    if (this.memory !== undefined && end > this.memory.length && !this.growMemory(end)) await this.spillToDisk(end);
    if (this.memory !== undefined) {
      if (offset > this.size) this.memory.fill(0, this.size, offset);
      data.copy(this.memory, offset);
    } else {
      this.holdOnDisk(Math.max(this.size, end));
      await this.spill!.handle.write(data, 0, data.length, offset);
    }
    this.size = Math.max(this.size, end);
    this.touched();
  }

  async read(offset: number, count: number): Promise<Buffer> {
    const end = Math.min(this.size, offset + count);
    if (end <= offset) return Buffer.alloc(0);
    if (this.memory !== undefined) return Buffer.from(this.memory.subarray(offset, end));
    const out = Buffer.alloc(end - offset);
    await this.spill!.handle.read(out, 0, out.length, offset);
    return out;
  }

  async truncate(size: number): Promise<void> {
    this.owner.checkFileSize(size);
    if (size > this.size) {
      if (this.memory !== undefined && !this.growMemory(size)) await this.spillToDisk(size);
      if (this.memory !== undefined) this.memory.fill(0, this.size, size);
    }
    if (this.spill !== undefined) {
      if (size > this.spillBytes) this.holdOnDisk(size);
      await this.spill.handle.truncate(size);
      this.holdOnDisk(size);
    }
    this.size = size;
    this.touched();
  }

  /** The file's bytes, in pieces, for storing. */
  async *pieces(): AsyncGenerator<Buffer> {
    for (let at = 0; at < this.size; at += PIECE_BYTES) yield await this.read(at, Math.min(PIECE_BYTES, this.size - at));
  }

  /** Stores the file if it has changes; the caller holds the lock. */
  async storeNow(): Promise<ObjectMeta | undefined> {
    if (!this.dirty) return undefined;
    const meta = await this.scope.store(this.key, this.size, this.pieces(), this.userMeta, this.template);
    this.template = meta;
    this.dirty = false;
    this.failedStores = 0;
    return meta;
  }

  private touched(): void {
    this.userMeta = afterContentChange(this.userMeta);
    this.dirty = true;
    this.modifiedMs = this.owner.clock.now();
    this.owner.touch(this);
  }

  armTimer(delayMs: number, onIdle: () => void): void {
    this.timer?.cancel();
    this.timer = this.owner.clock.setTimeout(onIdle, delayMs);
  }

  private growMemory(size: number): boolean {
    const memory = this.memory!;
    if (size <= memory.length) return true;
    const capacity = Math.min(this.owner.fileMemoryBytes, Math.max(size, memory.length * 2, 64 * 1024));
    if (size > capacity || !this.owner.reserve(capacity - memory.length)) return false;
    const grown = Buffer.alloc(capacity);
    memory.copy(grown, 0, 0, this.size);
    this.memory = grown;
    return true;
  }

  /** Sets the spill disk this file holds to `bytes`; NFS3ERR_NOSPC when the owner has no more. */
  private holdOnDisk(bytes: number): void {
    if (bytes > this.spillBytes && !this.owner.reserveSpill(bytes - this.spillBytes)) throw new NfsError('NFS3ERR_NOSPC');
    if (bytes < this.spillBytes) this.owner.releaseSpill(this.spillBytes - bytes);
    this.spillBytes = bytes;
  }

  /** Moves the bytes to a spill file that will hold `size` bytes. */
  private async spillToDisk(size: number): Promise<void> {
    this.holdOnDisk(Math.max(this.size, size));
    const path = join(this.owner.spillDir, `${this.id}.spill`);
    await mkdir(this.owner.spillDir, { recursive: true, mode: 0o700 });
    const handle = await open(path, 'w+', 0o600);
    const memory = this.memory!;
    if (this.size > 0) await handle.write(memory, 0, this.size, 0);
    this.spill = { handle, path };
    this.memory = undefined;
    this.owner.release(memory.length);
  }

  /** Lets go of the buffer; the caller holds the lock. */
  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    if (this.memory !== undefined) this.owner.release(this.memory.length);
    this.memory = undefined;
    const spill = this.spill;
    this.spill = undefined;
    this.holdOnDisk(0);
    if (spill !== undefined) {
      await spill.handle.close().catch(() => undefined);
      await rm(spill.path, { force: true });
    }
  }
}

export class OpenFiles {
  /** By `bucketTag\0key`, least recently written first. */
  private readonly files = new Map<string, OpenFile>();
  private readonly opening = new Map<string, Promise<OpenFile>>();
  private memoryUsed = 0;
  private spillUsed = 0;
  readonly clock: Clock;
  readonly spillDir: string;
  readonly fileMemoryBytes: number;

  constructor(private readonly options: OpenFilesOptions) {
    this.clock = options.clock;
    this.spillDir = options.spillDir;
    this.fileMemoryBytes = options.fileMemoryBytes;
  }

  get count(): number {
    return this.files.size;
  }

  /** Removes what a previous run left in the spill directory (its writes are lost; clients send them again). */
  async clearSpills(): Promise<void> {
    await rm(this.spillDir, { recursive: true, force: true });
  }

  /** Whether a file of this key is open, in any bucket: its handle's pair is kept (file-handles.ts). */
  holdsKey(key: string): boolean {
    for (const id of this.files.keys()) if (id.slice(id.indexOf('\0') + 1) === key) return true;
    return false;
  }

  peek(bucketTag: string, key: string): OpenFile | undefined {
    return this.files.get(`${bucketTag}\0${key}`);
  }

  /**
   * The open file of `key`, opened if need be with the object's current bytes (`meta`, undefined when
   * there is none) and `userMeta` for a new one.
   */
  async open(scope: FileStore, key: string, meta: ObjectMeta | undefined, userMeta: Readonly<Record<string, string>>): Promise<OpenFile> {
    const id = `${scope.bucketTag}\0${key}`;
    const found = this.files.get(id);
    if (found !== undefined) {
      found.scope = scope;
      return found;
    }
    const pending = this.opening.get(id);
    if (pending !== undefined) return pending;
    const opened = this.openNew(id, scope, key, meta, userMeta).finally(() => this.opening.delete(id));
    this.opening.set(id, opened);
    return opened;
  }

  private async openNew(id: string, scope: FileStore, key: string, meta: ObjectMeta | undefined, userMeta: Readonly<Record<string, string>>): Promise<OpenFile> {
    // Files still being opened count: each will take a place.
    const othersOpening = (): number => this.opening.size - (this.opening.has(id) ? 1 : 0);
    while (this.files.size + othersOpening() >= this.options.maxOpenFiles) {
      // The least recently written that can be stored makes room; one whose store fails is passed over.
      let freed = false;
      for (const candidate of [...this.files.values()]) {
        if (await this.tryStoreAndClose(candidate)) {
          freed = true;
          break;
        }
        // A file that failed for good was dropped, which made room too.
        if (this.files.size + othersOpening() < this.options.maxOpenFiles) break;
      }
      if (!freed && this.files.size + othersOpening() >= this.options.maxOpenFiles) throw new NfsError('NFS3ERR_JUKEBOX', 'no open file could be stored to make room');
    }
    const file = new OpenFile(this, randomHex(12), key, scope, meta?.userMeta ?? userMeta, this.clock.now(), meta);
    if (meta !== undefined && meta.sizeBytes > 0) {
      try {
        let at = 0;
        for await (const piece of scope.read(meta, 0, meta.sizeBytes - 1)) {
          await file.write(at, piece);
          at += piece.length;
        }
      } catch (error) {
        await file.close();
        throw error;
      }
      file.dirty = false;
      file.modifiedMs = meta.lastModifiedMs;
    }
    this.files.set(id, file);
    this.touch(file);
    return file;
  }

  /** Stores `file` now if it has changes (COMMIT, a stable WRITE, SETATTR). */
  flush(file: OpenFile): Promise<ObjectMeta | undefined> {
    return file.locked(() => file.storeNow());
  }

  /** Forgets `key`'s open file without storing it (its object was removed or renamed). */
  async discard(bucketTag: string, key: string): Promise<void> {
    const file = this.peek(bucketTag, key);
    if (file === undefined) return;
    this.files.delete(`${bucketTag}\0${key}`);
    await file.locked(() => file.close());
  }

  /** Stores every open file and lets them go (the listener stops); what cannot be stored is logged and lost. */
  async closeAll(): Promise<void> {
    for (const file of [...this.files.values()]) {
      try {
        await this.storeAndClose(file);
      } catch (error) {
        this.options.log.error('an NFS file could not be stored as the listener stopped; its unstored writes are lost', { key: file.key, error });
        this.forget(file);
        await file.locked(() => file.close());
      }
    }
  }

  touch(file: OpenFile): void {
    const id = `${file.scope.bucketTag}\0${file.key}`;
    if (this.files.get(id) !== file) return;
    // Map order is insertion order: moved to the end, it is the most recently written.
    this.files.delete(id);
    this.files.set(id, file);
    file.armTimer(this.options.idleFlushMs, () => void this.idle(file));
  }

  reserve(bytes: number): boolean {
    if (this.memoryUsed + bytes > this.options.memoryBytes) return false;
    this.memoryUsed += bytes;
    return true;
  }

  release(bytes: number): void {
    this.memoryUsed -= bytes;
  }

  reserveSpill(bytes: number): boolean {
    if (this.spillUsed + bytes > this.options.maxSpillBytes) return false;
    this.spillUsed += bytes;
    return true;
  }

  releaseSpill(bytes: number): void {
    this.spillUsed -= bytes;
  }

  /** The spill disk held by open files, holes counted. */
  get spillBytes(): number {
    return this.spillUsed;
  }

  /** NFS3ERR_FBIG for a file that would grow past `maxFileBytes`. */
  checkFileSize(bytes: number): void {
    if (bytes > this.options.maxFileBytes) throw new NfsError('NFS3ERR_FBIG');
  }

  private async idle(file: OpenFile): Promise<void> {
    // Kept on failure, to be tried again: the client was told its UNSTABLE writes are safe only once COMMIT says so.
    if (!(await this.tryStoreAndClose(file)) && !file.closed) file.armTimer(this.options.idleFlushMs, () => void this.idle(file));
  }

  /** Stores and closes `file`; false if the store failed, after which a file failing for good is dropped. */
  private async tryStoreAndClose(file: OpenFile): Promise<boolean> {
    try {
      await this.storeAndClose(file);
      return true;
    } catch (error) {
      file.failedStores++;
      const { status } = nfsStatusOf(error);
      if (status !== 'NFS3ERR_JUKEBOX' && file.failedStores >= MAX_FAILED_STORES) {
        this.options.log.error('an NFS file could not be stored and was dropped; its unstored writes are lost', { key: file.key, status, failedStores: file.failedStores, error });
        this.forget(file);
        await file.locked(() => file.close());
      } else {
        this.options.log.warn('an NFS file could not be stored; trying again later', { key: file.key, status, failedStores: file.failedStores, error });
      }
      return false;
    }
  }

  private forget(file: OpenFile): void {
    const id = `${file.scope.bucketTag}\0${file.key}`;
    if (this.files.get(id) === file) this.files.delete(id);
  }

  private async storeAndClose(file: OpenFile): Promise<void> {
    const id = `${file.scope.bucketTag}\0${file.key}`;
    await file.locked(async () => {
      if (file.closed) return;
      await file.storeNow();
      if (this.files.get(id) === file) this.files.delete(id);
      await file.close();
    });
  }
}
