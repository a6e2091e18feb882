/**
 * Reads a stored body: whole from its record, or chunk by chunk in pieces with a bounded read-ahead,
 * fetching only the bytes a range needs. Used to answer GETs and as the source of copies.
 *
 * Pieces are smaller than chunks because what a reader holds is what the gateway's memory is made of:
 * ten parallel ranged GETs (as awscli sends) reading whole 5 MiB chunks two ahead hold 100 MiB. A piece
 * received from a storage node arrives in a fresh buffer, garbage until V8 collects it; one read from a
 * file on this machine goes into a buffer lent for it (piece-buffers.ts), read into again once the
 * response has sent it.
 */
import { chunkKeysOf } from '../../core/chunk-layout.js';
import { chunkReads, type ChunkRead } from '../../core/chunks.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import type { ByteRange } from '../../protocol/s3/range.js';
import type { StorageApi } from '../../protocol/cluster/storage-api.js';
import type { BodyMemoryAccount } from './body-memory.js';
import type { GatewayConfig } from './gateway-config.js';
import type { PieceBuffers } from './piece-buffers.js';
import { storageFailureError } from './storage-errors.js';

export interface ReadSource {
  readonly storage: StorageApi;
  /** Pieces held for the reader count against this account. */
  readonly memory: BodyMemoryAccount;
  /** The record whose body is read. */
  readonly meta: ObjectMeta;
  /** The body held in the record itself, for a body that is not chunked. */
  readonly inline: Uint8Array | undefined;
  /** Turns the stored bytes of an encrypted body back into plaintext (server-side-encryption.ts). */
  readonly decrypt?: (chunkIndex: number, offsetInChunk: number, bytes: Uint8Array) => Buffer;
  /**
   * Lends the buffers pieces read from files on this machine go into, for a consumer that gives each
   * piece back once done with it (response-body.ts).
   */
  readonly pieceBuffers?: PieceBuffers;
}

export type ReadSettings = Pick<GatewayConfig, 'readPieceBytes' | 'readAheadPieces'>;

/**
 * The bytes of `range` (the whole body when undefined), in pieces of at most `readPieceBytes`. At most
 * `readAheadPieces` fetches run ahead of the piece being consumed, so memory stays at a few pieces
 * whatever the size.
 */
export function readBody(source: ReadSource, range: ByteRange | undefined, settings: ReadSettings): AsyncGenerator<Buffer> {
  // Everything that can be checked before a byte is sent is checked here, while an error can still
  // be answered properly rather than by cutting the connection mid-body.
  const { meta } = source;
  if (meta.sizeBytes === 0) return pieces([]);
  const first = range?.start ?? 0;
  const last = range?.end ?? meta.sizeBytes - 1;
  if (meta.chunks === undefined) {
    const body = source.inline;
    if (body === undefined || body.length !== meta.sizeBytes) {
      throw new Error(`the stored body of ${meta.key} does not match its size`);
    }
    const slice = Buffer.from(body.buffer, body.byteOffset + first, last - first + 1);
    return pieces([source.decrypt === undefined ? slice : source.decrypt(0, first, slice)]);
  }
  const keys = chunkKeysOf(meta.key, meta.chunks);
  const reads = chunkReads(meta.chunks.chunkSizesBytes, first, last, settings.readPieceBytes);
  return readChunks(source, keys, meta.chunks.chunkSizesBytes, reads, settings.readAheadPieces);
}

async function* pieces(list: readonly Buffer[]): AsyncGenerator<Buffer> {
  yield* list;
}

/** The bytes of one read of a chunk, in a buffer `lender` lends where the storage reads them itself. */
async function fetchPiece(source: ReadSource, keys: readonly string[], sizes: readonly number[], read: ChunkRead, lender: PieceBuffers | undefined): Promise<Buffer | Error> {
  const { meta } = source;
  const { chunkIndex: index, offsetInChunk, lengthBytes } = read;
  const whole = offsetInChunk === 0 && lengthBytes === sizes[index];
  const options = {
    withBody: true,
    ...(whole ? {} : { bodySlice: { offsetBytes: offsetInChunk, lengthBytes } }),
    ...(lender === undefined ? {} : { lendBuffer: (length: number) => lender.take(length) }),
  };
  let result: Awaited<ReturnType<StorageApi['get']>>;
  try {
    result = await source.storage.get('chunk', meta.bucket, keys[index]!, options);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  if (!result.ok) return result.code === 'NotFound' ? new Error(`chunk ${index} of ${meta.key} is missing`) : storageFailureError(result);
  const body = result.body;
  if (body === undefined || body.length !== lengthBytes) return new Error(`chunk ${index} of ${meta.key} has the wrong size`);
  if (source.decrypt !== undefined) return source.decrypt(index, offsetInChunk, body);
  return Buffer.from(body.buffer, body.byteOffset, body.length);
}

async function* readChunks(
  source: ReadSource,
  keys: readonly string[],
  sizes: readonly number[],
  reads: readonly ChunkRead[],
  readAhead: number,
): AsyncGenerator<Buffer> {
  // Never rejects: fetches still running when the reader stops early must not become unhandled. A
  // storage failure is the client's S3 error; a missing or damaged chunk is an internal one, logged.
  // Pieces of encrypted bodies are decrypted into buffers of their own: theirs need no lending.
  const lender = source.decrypt === undefined ? source.pieceBuffers : undefined;
  const fetch = (read: ChunkRead): Promise<Buffer | Error> => fetchPiece(source, keys, sizes, read, lender);
  // Every slice fetched is held until it has been consumed, and counts against the body memory
  // meanwhile: the next one waits for room, those beyond it are fetched ahead only if there is room.
  const ahead: Array<Promise<Buffer | Error>> = [];
  const held: number[] = [];
  let started = 0;
  const start = (): void => {
    const read = reads[started++]!;
    held.push(read.lengthBytes);
    ahead.push(fetch(read));
  };
  try {
    for (let i = 0; i < reads.length; i++) {
      if (ahead.length === 0) {
        await source.memory.acquire(reads[started]!.lengthBytes);
        start();
      }
      while (ahead.length < Math.max(1, readAhead) && started < reads.length && source.memory.tryAcquire(reads[started]!.lengthBytes)) start();
      const piece = await ahead.shift()!;
      if (piece instanceof Error) throw piece;
      yield piece;
      source.memory.release(held.shift()!);
    }
  } finally {
    // A reader stopped early (the client went away) gives back what it held, fetches still running too.
    for (const bytes of held) source.memory.release(bytes);
  }
}
