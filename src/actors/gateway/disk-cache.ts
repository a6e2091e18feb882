/**
 * The gateway's disk tier: copies of large objects (chunked ones too) in files under one directory,
 * least recently used first out, bounded in bytes. It is filled while a GET streams the object to its
 * client (`fill`), never by holding a body in memory, and read back piece by piece (`readCachedBody`).
 *
 * What is on disk, per entry: `<id>.json`, its record (the object's metadata, the body file's name,
 * size and MD5), and the body file it names. A fill writes the body to `tmp/`, syncs it, checks it
 * against the object's size and ETag, moves it into place, then writes the record the same way: the
 * rename of the record is what makes an entry exist, and it happens only once the body is whole and
 * synced. So a crash (a SIGKILL, a power cut) leaves at worst a body without a record or a file in
 * `tmp/`, both removed when the cache opens, and a record that does not parse or whose body is missing
 * or of the wrong size is dropped then too: all of that costs a directory listing and a stat per entry.
 * What a crash cannot explain, a body damaged on the disk since, is caught by its MD5, checked once per
 * entry when it is first read after the cache opens rather than for every entry at start-up (which for a
 * large tier would hold the gateway's start for minutes). Only a read of a whole body waits for that
 * check; a read of part of one (a Range GET, an NFS READ) is sent to storage while the check runs in the
 * background, and at most CONCURRENT_CHECKS checks run at once. Nothing torn or damaged is ever served.
 *
 * Like the memory tier, an entry is only a candidate: the reader decides (by cache mode) whether to
 * check it with the storage node before serving it.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectMeta } from '../../core/object-meta.js';
import { ownRecord } from '../../protocol/cluster/cbor.js';
import type { ObjectCacheStats } from '../../protocol/cluster/http-listener.js';
import type { ByteRange } from '../../protocol/s3/range.js';
import type { Clock } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/logger.js';
import { readFully } from '../../store/body-files.js';
import type { BodyMemoryAccount } from './body-memory.js';
import type { PieceBuffers } from './piece-buffers.js';

export interface DiskCacheSettings {
  readonly dir: string;
  /** 0 turns the tier off. */
  readonly maxBytes: number;
  readonly maxObjectBytes: number;
  /** Objects this size or smaller belong to the memory tier, unless they are chunked. */
  readonly minObjectBytes: number;
}

/** One cached object. */
export interface DiskEntry {
  readonly meta: ObjectMeta;
  /** When the entry was stored or last found current (clock ms): what HTTP-cache mode's TTL counts from. */
  readonly checkedAtMs: number;
}

interface IndexEntry extends DiskEntry {
  readonly bodyFile: string;
  readonly md5: string;
  /** The body's MD5 was computed from the bytes written (a fill) or checked on disk since the cache opened. */
  readonly verified: boolean;
}

/** What `<id>.json` holds. */
interface EntryRecord {
  readonly version: 1;
  readonly meta: ObjectMeta;
  readonly bodyFile: string;
  readonly sizeBytes: number;
  readonly md5: string;
  readonly storedAtMs: number;
}

const RECORD_SUFFIX = '.json';
/** Bodies read whole at once to check their MD5: each reads its whole file, so few at a time. */
const CONCURRENT_CHECKS = 2;
const BODY_SUFFIX = '.body';
const TMP_DIR = 'tmp';

export class DiskCache {
  /** Insertion order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, IndexEntry>();
  private readonly fills = new Map<string, DiskFill>();
  /** Disk changes of one id run one after another, so a removal never overtakes a later install. */
  private readonly queues = new Map<string, Promise<void>>();
  /** First reads after opening whose body is being checked against its MD5, by id: later readers wait on the same check. */
  private readonly verifying = new Map<string, Promise<boolean>>();
  private checksRunning = 0;
  /** Checks waiting for one of the CONCURRENT_CHECKS places, first come first run. */
  private readonly checksWaiting: Array<() => void> = [];
  private opening: Promise<void> | undefined;
  private opened = false;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private sequence = 0;

  constructor(
    readonly settings: DiskCacheSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.settings.maxBytes > 0;
  }

  /**
   * Rebuilds the index from the directory, keeping only whole entries; idempotent. Until it is done the
   * tier neither serves nor fills.
   */
  open(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    this.opening ??= this.rebuild().then(
      () => {
        this.opened = true;
      },
      (error: unknown) => {
        this.log.error('the disk cache could not be opened; it stays off', { dir: this.settings.dir, error });
      },
    );
    return this.opening;
  }

  /** Whether a GET of this object should leave a copy here. */
  accepts(meta: ObjectMeta): boolean {
    return this.opened
      && meta.encryption === undefined
      && meta.sizeBytes > 0
      && meta.sizeBytes <= this.settings.maxObjectBytes
      && meta.sizeBytes <= this.settings.maxBytes
      && (meta.chunks !== undefined || meta.sizeBytes > this.settings.minObjectBytes);
  }

  /**
   * The entry for a key, marked as recently used; the caller decides whether to check it first. Counted
   * as a hit or a miss unless `counted` is false (a reader that asks again for each piece of one read).
   */
  lookup(bucket: string, key: string, counted = true): DiskEntry | undefined {
    if (!this.opened) return undefined;
    const id = entryId(bucket, key);
    const found = this.entries.get(id);
    if (found === undefined) {
      if (counted) this.misses++;
      return undefined;
    }
    if (counted) this.hits++;
    this.entries.delete(id);
    this.entries.set(id, found);
    return found;
  }

  /** The storage node confirmed the entry is current at `nowMs`. */
  refresh(bucket: string, key: string, nowMs: number): void {
    const id = entryId(bucket, key);
    const found = this.entries.get(id);
    if (found !== undefined) this.entries.set(id, { ...found, checkedAtMs: nowMs });
  }

  /**
   * The entry's body file, open for reading; undefined when it went meanwhile, or when it is read for the
   * first time since the cache opened and its body does not match its MD5 (the entry is dropped). A read
   * of part of the body (`partial`) does not wait for that check: it is started in the background and the
   * reader told to read from storage. An open file stays readable if it is evicted while it is read.
   */
  async openBody(entry: DiskEntry, options: { readonly partial?: boolean } = {}): Promise<FileHandle | undefined> {
    const id = entryId(entry.meta.bucket, entry.meta.key);
    const found = this.entries.get(id);
    if (found === undefined || found.meta !== entry.meta) return undefined;
    if (!found.verified) {
      const check = this.verify(id, found);
      if (options.partial === true || !(await check)) return undefined;
    }
    try {
      return await open(join(this.settings.dir, found.bodyFile), 'r');
    } catch {
      this.removeIfBody(id, found.bodyFile);
      return undefined;
    }
  }

  /**
   * Drops `entry` because its body could not be read, if it is still the entry of its key: a fill that
   * replaced it meanwhile brought a body file of its own (and its own metadata record).
   */
  discard(entry: DiskEntry): void {
    const id = entryId(entry.meta.bucket, entry.meta.key);
    const found = this.entries.get(id);
    if (found !== undefined && found.meta === entry.meta) this.removeIfBody(id, found.bodyFile);
  }

  private removeIfBody(id: string, bodyFile: string): void {
    if (this.entries.get(id)?.bodyFile === bodyFile) this.remove(id);
  }

  /**
   * Starts copying the body of `meta` as it is read; undefined when it does not belong here or a copy
   * of it is already being made.
   */
  fill(meta: ObjectMeta): DiskFill | undefined {
    if (!this.accepts(meta)) return undefined;
    const id = entryId(meta.bucket, meta.key);
    if (this.fills.has(id)) return undefined;
    const name = `${id}.${this.clock.now().toString(36)}.${(this.sequence++).toString(36)}`;
    const fill = new DiskFill(this, ownRecord(meta), id, name, this.settings.dir);
    this.fills.set(id, fill);
    return fill;
  }

  invalidate(bucket: string, key: string): void {
    // Every write through the gateway lands here; an empty tier (or none configured) skips the hashing.
    if (this.entries.size === 0 && this.fills.size === 0) return;
    const id = entryId(bucket, key);
    this.fills.get(id)?.cancel();
    this.remove(id);
  }

  /** Drops every copy of the bucket's objects, those being written too. */
  invalidateBucket(bucket: string): void {
    for (const fill of [...this.fills.values()]) if (fill.meta.bucket === bucket) fill.cancel();
    for (const [id, entry] of [...this.entries]) if (entry.meta.bucket === bucket) this.remove(id);
  }

  /** Drops everything (purge-cache). */
  purge(): void {
    for (const fill of this.fills.values()) fill.cancel();
    for (const id of [...this.entries.keys()]) this.remove(id);
  }

  /** Checks an entry found on disk at opening against its MD5, once; a damaged one is dropped. */
  private verify(id: string, found: IndexEntry): Promise<boolean> {
    const pending = this.verifying.get(id);
    if (pending !== undefined) return pending;
    const digest = this.checkSlot(() => md5OfFile(join(this.settings.dir, found.bodyFile)));
    const check = digest.then((md5) => md5 === found.md5, () => false).then((whole) => {
      this.verifying.delete(id);
      const now = this.entries.get(id);
      // Replaced or dropped meanwhile: this body is no longer the entry's.
      if (now === undefined || now.bodyFile !== found.bodyFile) return false;
      if (whole) {
        this.entries.set(id, { ...now, verified: true });
      } else {
        this.log.warn('a disk cache entry did not match its MD5 and was dropped', { bucket: found.meta.bucket, key: found.meta.key });
        this.remove(id);
      }
      return whole;
    });
    this.verifying.set(id, check);
    return check;
  }

  /** Runs `work` once fewer than CONCURRENT_CHECKS checks are running. */
  private async checkSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.checksRunning >= CONCURRENT_CHECKS) await new Promise<void>((resolve) => this.checksWaiting.push(resolve));
    else this.checksRunning++;
    try {
      return await work();
    } finally {
      const next = this.checksWaiting.shift();
      // The place passes straight to the next check waiting, so none overtakes it.
      if (next !== undefined) next();
      else this.checksRunning--;
    }
  }

  /** Checks of bodies against their MD5 running or waiting to run. */
  get checksPending(): number {
    return this.verifying.size;
  }

  get stats(): ObjectCacheStats {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }

  /** Resolves when the disk changes and body checks started so far are done (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.queues.size > 0 || this.verifying.size > 0) await Promise.all([...this.queues.values(), ...this.verifying.values()]);
  }

  /** @internal A fill ended, stored or not. */
  fillEnded(fill: DiskFill): void {
    if (this.fills.get(fill.id) === fill) this.fills.delete(fill.id);
  }

  /** @internal Makes a verified body file an entry: its record is written, then it is indexed. */
  install(fill: DiskFill, bodyFile: string, md5: string): Promise<void> {
    return this.serial(fill.id, async () => {
      if (fill.cancelled) {
        await unlinkQuietly(join(this.settings.dir, bodyFile));
        return;
      }
      const storedAtMs = this.clock.now();
      const record: EntryRecord = { version: 1, meta: fill.meta, bodyFile, sizeBytes: fill.meta.sizeBytes, md5, storedAtMs };
      await writeDurably(this.settings.dir, `${fill.id}${RECORD_SUFFIX}`, Buffer.from(JSON.stringify(record)));
      const previous = this.entries.get(fill.id);
      if (previous !== undefined) {
        this.entries.delete(fill.id);
        this.bytes -= previous.meta.sizeBytes;
        if (previous.bodyFile !== bodyFile) await unlinkQuietly(join(this.settings.dir, previous.bodyFile));
      }
      if (fill.cancelled) {
        // Invalidated while its record was being written: the removal queued behind us finds nothing indexed.
        await unlinkQuietly(join(this.settings.dir, `${fill.id}${RECORD_SUFFIX}`));
        await unlinkQuietly(join(this.settings.dir, bodyFile));
        return;
      }
      this.entries.set(fill.id, { meta: fill.meta, checkedAtMs: storedAtMs, bodyFile, md5, verified: true });
      this.bytes += fill.meta.sizeBytes;
      this.evict();
    });
  }

  private evict(): void {
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.settings.maxBytes) break;
      this.remove(oldest);
    }
  }

  private remove(id: string): void {
    const found = this.entries.get(id);
    if (found === undefined) return;
    this.entries.delete(id);
    this.bytes -= found.meta.sizeBytes;
    void this.serial(id, async () => {
      // The record goes first: a body without one is an orphan, removed when the cache opens.
      await unlinkQuietly(join(this.settings.dir, `${id}${RECORD_SUFFIX}`));
      await unlinkQuietly(join(this.settings.dir, found.bodyFile));
    });
  }

  private serial(id: string, work: () => Promise<void>): Promise<void> {
    const before = this.queues.get(id) ?? Promise.resolve();
    const next = before.then(work).catch((error: unknown) => this.log.warn('a disk cache change failed', { error }));
    this.queues.set(id, next);
    void next.then(() => {
      if (this.queues.get(id) === next) this.queues.delete(id);
    });
    return next;
  }

  private async rebuild(): Promise<void> {
    const { dir } = this.settings;
    await rm(join(dir, TMP_DIR), { recursive: true, force: true });
    await mkdir(join(dir, TMP_DIR), { recursive: true });
    const names = await readdir(dir);
    const found: IndexEntry[] = [];
    const referenced = new Set<string>();
    let dropped = 0;
    for (const name of names.filter((n) => n.endsWith(RECORD_SUFFIX))) {
      const entry = await this.checkEntry(name);
      if (entry === undefined) {
        dropped++;
        await unlinkQuietly(join(dir, name));
        continue;
      }
      found.push(entry);
      referenced.add(entry.bodyFile);
    }
    for (const name of names.filter((n) => n.endsWith(BODY_SUFFIX) && !referenced.has(n))) await unlinkQuietly(join(dir, name));
    found.sort((a, b) => a.checkedAtMs - b.checkedAtMs);
    for (const entry of found) {
      this.entries.set(entryId(entry.meta.bucket, entry.meta.key), entry);
      this.bytes += entry.meta.sizeBytes;
    }
    this.evict();
    this.log.info('disk cache opened', { dir, entries: this.entries.size, bytes: this.bytes, dropped });
  }

  /**
   * A record and its body as found on disk, or undefined when either is not whole. The body's bytes are
   * not read here: its MD5 is checked when it is first read.
   */
  private async checkEntry(recordName: string): Promise<IndexEntry | undefined> {
    const { dir } = this.settings;
    try {
      const record = JSON.parse(await readFile(join(dir, recordName), 'utf8')) as EntryRecord;
      if (record.version !== 1 || `${entryId(record.meta.bucket, record.meta.key)}${RECORD_SUFFIX}` !== recordName) return undefined;
      const bodyPath = join(dir, record.bodyFile);
      const { size } = await stat(bodyPath);
      if (size !== record.sizeBytes || size !== record.meta.sizeBytes || typeof record.md5 !== 'string') return undefined;
      return { meta: record.meta, checkedAtMs: record.storedAtMs, bodyFile: record.bodyFile, md5: record.md5, verified: false };
    } catch {
      return undefined;
    }
  }
}

/**
 * One copy in the making: the pieces of a body, in order, into a file in `tmp/`. `complete` checks it
 * and hands it to the cache; anything else (`abandon`, a write failing, an invalidation meanwhile)
 * leaves nothing behind.
 */
export class DiskFill {
  cancelled = false;
  private file: Promise<FileHandle> | undefined;
  private writtenBytes = 0;
  private failed = false;
  private readonly whole: Hash = createHash('md5');
  /** Part by part for a multipart ETag: the part being hashed, and the digests of those before it. */
  private readonly partSizes: readonly number[] | undefined;
  private part: { index: number; remaining: number; hash: Hash } | undefined;
  private readonly partDigests: Buffer[] = [];
  private readonly tmpPath: string;

  constructor(
    private readonly cache: DiskCache,
    readonly meta: ObjectMeta,
    readonly id: string,
    private readonly name: string,
    private readonly dir: string,
  ) {
    this.tmpPath = join(dir, TMP_DIR, `${name}${BODY_SUFFIX}`);
    const parts = meta.multipart?.parts;
    this.partSizes = /-\d+$/.test(meta.etag) && parts !== undefined && parts.length > 0 ? parts.map((p) => p.sizeBytes) : undefined;
  }

  cancel(): void {
    this.cancelled = true;
  }

  /** Appends the next piece of the body; a failure only means no copy is kept. */
  async write(piece: Uint8Array): Promise<void> {
    if (this.failed || this.cancelled) return;
    try {
      this.file ??= open(this.tmpPath, 'w');
      const handle = await this.file;
      this.hash(piece);
      let offset = 0;
      while (offset < piece.length) {
        const { bytesWritten } = await handle.write(piece, offset, piece.length - offset, this.writtenBytes + offset);
        offset += bytesWritten;
      }
      this.writtenBytes += piece.length;
    } catch {
      this.failed = true;
    }
  }

  /** The whole body was written: keeps it if it is the object's size and ETag. */
  async complete(): Promise<boolean> {
    try {
      if (this.failed || this.cancelled || this.file === undefined || this.writtenBytes !== this.meta.sizeBytes) return false;
      const md5 = this.whole.digest('hex');
      if (this.etagOf(md5) !== this.meta.etag) return false;
      const handle = await this.file;
      await handle.sync();
      await handle.close();
      this.file = undefined;
      const bodyFile = `${this.name}${BODY_SUFFIX}`;
      await rename(this.tmpPath, join(this.dir, bodyFile));
      await this.cache.install(this, bodyFile, md5);
      return !this.cancelled;
    } catch {
      return false;
    } finally {
      await this.discard();
    }
  }

  /** The body will not be whole (the client went away, a read failed). */
  async abandon(): Promise<void> {
    this.failed = true;
    await this.discard();
  }

  private async discard(): Promise<void> {
    this.cache.fillEnded(this);
    const file = this.file;
    this.file = undefined;
    if (file !== undefined) await file.then((handle) => handle.close(), () => undefined).catch(() => undefined);
    await unlinkQuietly(this.tmpPath);
  }

  private hash(piece: Uint8Array): void {
    this.whole.update(piece);
    const sizes = this.partSizes;
    if (sizes === undefined) return;
    let offset = 0;
    while (offset < piece.length) {
      if (this.part === undefined || this.part.remaining === 0) {
        if (this.part !== undefined) this.partDigests.push(this.part.hash.digest());
        const index = this.part === undefined ? 0 : this.part.index + 1;
        this.part = { index, remaining: sizes[index] ?? Number.POSITIVE_INFINITY, hash: createHash('md5') };
      }
      const take = Math.min(this.part.remaining, piece.length - offset);
      this.part.hash.update(piece.subarray(offset, offset + take));
      this.part.remaining -= take;
      offset += take;
    }
  }

  /** The ETag a body of this MD5 has: its MD5, or for a multipart object the MD5 of its parts' MD5s. */
  private etagOf(md5: string): string {
    const sizes = this.partSizes;
    if (sizes === undefined) return md5;
    const digests = [...this.partDigests];
    if (this.part !== undefined) digests.push(this.part.hash.digest());
    if (digests.length !== sizes.length) return '';
    return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${sizes.length}`;
  }
}

/**
 * The bytes of `range` (all when undefined) of a cached body, in pieces of at most `pieceBytes`, each
 * counted against the reader's body memory until it is consumed, read into buffers `lent` lends when
 * given (for a consumer that gives them back). Closes the file when done or stopped.
 */
export async function* readCachedBody(
  file: FileHandle,
  sizeBytes: number,
  range: ByteRange | undefined,
  pieceBytes: number,
  memory: BodyMemoryAccount,
  lent?: PieceBuffers,
): AsyncGenerator<Buffer> {
  let position = range?.start ?? 0;
  const end = (range?.end ?? sizeBytes - 1) + 1;
  try {
    while (position < end) {
      const length = Math.min(pieceBytes, end - position);
      await memory.acquire(length);
      try {
        const piece = lent?.take(length) ?? Buffer.allocUnsafe(length);
        await readFully(file, piece, length, position, 'a cached body');
        yield piece;
        position += length;
      } finally {
        memory.release(length);
      }
    }
  } finally {
    await file.close().catch(() => undefined);
  }
}

/** A file name for a key: fixed length, safe on any file system. */
function entryId(bucket: string, key: string): string {
  return createHash('sha256').update(bucket).update('\u0000').update(key).digest('hex').slice(0, 40);
}

/** Writes `name` in `dir` so that it is either whole or absent after a crash. */
async function writeDurably(dir: string, name: string, bytes: Buffer): Promise<void> {
  const tmp = join(dir, TMP_DIR, `${name}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, name));
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const piece of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(piece as Buffer);
  return hash.digest('hex');
}

/**
 * Passes a body's pieces on as they come while `fill` copies them; once the last one has passed, the
 * copy is completed by `finish` (in the background: the client does not wait for the sync). A body
 * not read to its end (the client went away, a read failed) leaves no copy.
 */
export async function* copyWhileSending(pieces: AsyncIterable<Buffer>, fill: DiskFill, lent: PieceBuffers, finish: (complete: () => Promise<void>) => void): AsyncGenerator<Buffer> {
  let whole = false;
  try {
    for await (const piece of pieces) {
      // The copy holds a lent piece until it is written, however soon the response is done with it.
      lent.hold(piece);
      const written = fill.write(piece).finally(() => lent.give(piece));
      yield piece;
      await written;
    }
    whole = true;
  } finally {
    if (whole) {
      finish(async () => {
        await fill.complete();
      });
    } else {
      await fill.abandon();
    }
  }
}
