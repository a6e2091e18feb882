/**
 * Stores a body as it streams in. A body that fits in one chunk is kept whole for its parent record;
 * a larger one is cut into chunk objects written while the rest still arrives, at most
 * `maxChunksInFlight` at a time: the source is not read while the writes are behind, which is the
 * backpressure that keeps a large upload's memory to a few chunks.
 *
 * A writer given `hashes` feeds them every byte as it stores it. Chunk buffers are shared memory, so
 * it names the bytes it copied into a chunk rather than having them copied again for hashing, and
 * reuses or gives back a buffer only once its bytes were hashed.
 *
 * A writer never leaves chunks behind when it fails: it waits for its writes to settle and deletes
 * every chunk it started. After it succeeded, the caller owns the chunks and must delete them if it
 * does not commit the parent (`deleteChunks`).
 */
import { versionedChunkKey } from '../../core/chunk-layout.js';
import { deleteChunks, type ChunkDeps } from '../common/chunk-deletion.js';
import type { ChunkLayout } from '../../core/object-meta.js';
import { S3Error, toS3Error } from '../../protocol/s3/errors.js';
import type { BodyMemoryAccount } from './body-memory.js';
import type { ChunkBuffers } from './chunk-buffers.js';
import type { BodyHashFeed } from './digest-pool.js';
import { copyIntoShared, sharedBuffer } from './shared-memory.js';
import { storageFailureError } from './storage-errors.js';

export interface BodyTarget {
  readonly bucket: string;
  /** The object key the chunks belong to. */
  readonly key: string;
  /** Names this write's chunks (see chunk-layout.ts). */
  readonly versionId: string;
}

export interface BodyWriterOptions {
  readonly chunkSizeBytes: number;
  readonly maxChunksInFlight: number;
  /** The exact size of the body to come; undefined when only its end will tell (chunked transfer). */
  readonly expectedBytes: number | undefined;
  /** Keep a body of at most one chunk whole instead of writing it as a chunk. */
  readonly allowInline: boolean;
  /** Where the writer feeds every byte it stores, for a body whose size is declared (`expectedBytes`). */
  readonly hashes?: BodyHashFeed | undefined;
}

/** What the object's record carries for a stored body: the body itself, or nothing when it is chunked. */
export function recordBody(stored: StoredBody): Uint8Array | undefined {
  return stored.inline;
}

export interface StoredBody {
  readonly sizeBytes: number;
  /** The whole body, when it is to live in the parent record. */
  readonly inline: Buffer | undefined;
  /** Where the chunks are, when the body was written as chunks. */
  readonly layout: ChunkLayout | undefined;
}


export interface WriterDeps extends ChunkDeps {
  /** The writing request's account at the body memory: chunk buffers count against it. */
  readonly memory: BodyMemoryAccount;
  /** Where chunk buffers come from and go back to; their size is the chunk size. */
  readonly chunkBuffers: ChunkBuffers;
}

export async function writeBody(deps: WriterDeps, target: BodyTarget, source: AsyncIterable<Buffer>, options: BodyWriterOptions): Promise<StoredBody> {
  if (options.expectedBytes === undefined) {
    if (options.hashes !== undefined) throw new Error('a writer hashes only bodies of a declared size');
    return options.allowInline ? writeUnsizedBody(deps, target, source, options) : new ChunkWriter(deps, target, options).write(source);
  }
  if (options.allowInline && options.expectedBytes <= options.chunkSizeBytes) {
    await deps.memory.acquire(options.expectedBytes);
    try {
      const whole = Buffer.allocUnsafe(options.expectedBytes);
      let filled = 0;
      for await (const piece of source) {
        if (filled + piece.length > whole.length) throw new S3Error('InvalidRequest', 'The body is longer than its declared length.');
        piece.copy(whole, filled);
        filled += piece.length;
        const waiting = options.hashes?.update(piece);
        if (waiting !== undefined) await waiting;
      }
      if (filled !== whole.length) throw new S3Error('IncompleteBody');
      return { sizeBytes: filled, inline: whole, layout: undefined };
    } finally {
      deps.memory.release(options.expectedBytes);
    }
  }
  return new ChunkWriter(deps, target, options).write(source);
}

/**
 * A body of unknown size: up to one chunk is held back, and only a body that outgrows it is written as
 * chunks, so a small body still ends up whole in its record.
 */
async function writeUnsizedBody(deps: WriterDeps, target: BodyTarget, source: AsyncIterable<Buffer>, options: BodyWriterOptions): Promise<StoredBody> {
  const head = Buffer.allocUnsafe(options.chunkSizeBytes);
  let filled = 0;
  const pieces = source[Symbol.asyncIterator]();
  for (;;) {
    const next = await pieces.next();
    if (next.done === true) return { sizeBytes: filled, inline: head.subarray(0, filled), layout: undefined };
    const piece = next.value;
    if (filled + piece.length > head.length) {
      return new ChunkWriter(deps, target, options).write(resumed([head.subarray(0, filled), piece], pieces));
    }
    piece.copy(head, filled);
    filled += piece.length;
  }
}

/** `first`, then what is left of `rest`; stopping early stops `rest` too. */
async function* resumed(first: readonly Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* first;
    for (;;) {
      const next = await rest.next();
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    await rest.return?.();
  }
}

class ChunkWriter {
  private readonly sizes: number[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Buffers whose writes have settled, reused so a long upload allocates only a few. */
  private readonly spare: Buffer[] = [];
  /** Chunk buffers taken from the body memory, given back when the write ends. */
  private granted = 0;
  /** Buffers given back whose grants wait for their bytes to be hashed: the account still holds them. */
  private returning = 0;
  private failure: S3Error | undefined;

  constructor(
    private readonly deps: WriterDeps,
    private readonly target: BodyTarget,
    private readonly options: BodyWriterOptions,
  ) {}

  async write(source: AsyncIterable<Buffer>): Promise<StoredBody> {
    const stopGivingBack = this.deps.memory.onContention(() => this.giveBackSpares());
    try {
      return await this.writeChunks(source);
    } finally {
      stopGivingBack();
      const spares = this.spare.splice(0);
      // A spare's bytes may still be hashing; waited for here, as the body's digests wait for them too.
      for (const spare of spares) await this.options.hashes?.hashed(spare);
      this.deps.memory.release(this.granted * this.options.chunkSizeBytes);
      this.granted = 0;
      for (const spare of spares) this.deps.chunkBuffers.give(spare);
    }
  }

  private async writeChunks(source: AsyncIterable<Buffer>): Promise<StoredBody> {
    const chunkSize = this.options.chunkSizeBytes;
    // Taken when bytes arrive for it, so a body that ends on a chunk boundary holds no unused buffer.
    let current: Buffer | undefined;
    let filled = 0;
    let total = 0;
    try {
      for await (const piece of source) {
        total += piece.length;
        const expected = this.options.expectedBytes;
        if (expected !== undefined && total > expected) throw new S3Error('InvalidRequest', 'The body is longer than its declared length.');
        let offset = 0;
        while (offset < piece.length) {
          current ??= await this.buffer();
          const take = Math.min(chunkSize - filled, piece.length - offset);
          this.copy(piece.subarray(offset, offset + take), current, filled);
          filled += take;
          offset += take;
          if (filled === chunkSize) {
            const full = current;
            current = undefined;
            filled = 0;
            await this.launch(full, chunkSize);
          }
        }
      }
      if (this.options.expectedBytes !== undefined && total !== this.options.expectedBytes) throw new S3Error('IncompleteBody');
      if (current !== undefined) {
        const last = current;
        current = undefined;
        await this.launch(last, filled);
      }
      await this.settle();
      if (this.failure !== undefined) throw this.failure;
    } catch (error) {
      // A buffer being filled was never handed to a write.
      if (current !== undefined) this.spare.push(current);
      await this.settle();
      await deleteChunks(this.deps, this.target.bucket, this.target.key, this.layout());
      throw this.failure ?? toS3Error(error);
    }
    return { sizeBytes: total, inline: undefined, layout: this.layout() };
  }

  /** Copies `bytes` into `chunk` at `at`, and feeds them to the hashes where they now lie. */
  private copy(bytes: Buffer, chunk: Buffer, at: number): void {
    copyIntoShared(chunk, at, bytes);
    this.options.hashes?.updateShared(chunk.subarray(at, at + bytes.length));
  }

  private layout(): ChunkLayout {
    return { chunkSizesBytes: [...this.sizes], runs: [{ versionId: this.target.versionId, chunkCount: this.sizes.length }] };
  }

  /**
   * A chunk buffer: a spare one of this writer's, else a new one within the body memory. When the
   * memory is spent, a writer with chunks in flight waits for one of its own to free a buffer, so it
   * always progresses; only a writer that holds nothing waits for others.
   */
  private async buffer(): Promise<Buffer> {
    const size = this.options.chunkSizeBytes;
    for (;;) {
      // A writer whose write failed stops here rather than waiting in line for memory it will not use.
      if (this.failure !== undefined) throw this.failure;
      const spare = this.spare.pop();
      if (spare) {
        await this.options.hashes?.hashed(spare);
        if (this.failure === undefined) return spare;
        this.spare.push(spare);
        throw this.failure;
      }
      if (this.deps.memory.tryAcquire(size)) break;
      if (this.inFlight.size === 0) {
        await this.deps.memory.acquire(size);
        break;
      }
      await Promise.race(this.inFlight);
    }
    this.granted++;
    if (size === this.deps.chunkBuffers.sizeBytes) return this.deps.chunkBuffers.take();
    return this.options.hashes === undefined ? Buffer.allocUnsafe(size) : sharedBuffer(size);
  }

  private async launch(buffer: Buffer, length: number): Promise<void> {
    while (this.inFlight.size >= this.options.maxChunksInFlight) await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
    const index = this.sizes.length;
    this.sizes.push(length);
    const { bucket, key, versionId } = this.target;
    const write: Promise<void> = this.deps.storage
      .put('chunk', { bucket, key: versionedChunkKey(key, versionId, index), sizeBytes: length, etag: '', contentType: '', userMeta: {} }, buffer.subarray(0, length))
      .then(
        (result) => {
          // A failed write may still be reading its buffer (a timed-out ask, a link closing with the
          // chunk queued on it), and so may one sent on after its first coordinator went down with it:
          // such a buffer is never reused.
          if (result.ok) {
            if (result.resent !== true) this.keep(buffer);
            return;
          }
          this.failure ??= storageFailureError(result);
        },
        (error: unknown) => {
          this.failure ??= toS3Error(error);
        },
      )
      .finally(() => this.inFlight.delete(write));
    this.inFlight.add(write);
  }

  /**
   * A buffer whose write has settled: kept for the next chunk, unless others wait while this writer
   * holds more than its share, and it has another buffer to go on with.
   */
  private keep(buffer: Buffer): void {
    if (this.mayGiveBack()) {
      this.giveBack(buffer);
    } else {
      this.spare.push(buffer);
    }
  }

  private giveBackSpares(): void {
    while (this.spare.length > 0 && this.mayGiveBack()) this.giveBack(this.spare.pop()!);
  }

  /**
   * Others wait while this writer holds more than its share, and it has another buffer to go on with.
   * While a buffer given back waits for its hashing the account still counts it, so that one is
   * awaited before the share is judged again.
   */
  private mayGiveBack(): boolean {
    return this.returning === 0 && this.granted > 1 && this.deps.memory.overShare;
  }

  /** Returns `buffer` and its grant once its bytes were hashed: until then it is still read. */
  private giveBack(buffer: Buffer): void {
    this.granted--;
    const returned = (): void => {
      this.deps.memory.release(this.options.chunkSizeBytes);
      this.deps.chunkBuffers.give(buffer);
    };
    const hashing = this.options.hashes?.hashed(buffer);
    if (hashing === undefined) {
      returned();
      return;
    }
    this.returning++;
    void hashing.then(() => {
      this.returning--;
      returned();
    });
  }

  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
