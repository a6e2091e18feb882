/**
 * Chunk maths for large objects. Each chunk is its own ring object, so a large body spreads over the
 * cluster and a range read touches only the chunks it needs.
 */

export const DEFAULT_CHUNK_SIZE_BYTES = 5 * 1024 * 1024;

/** Chunk `index` of `key` is stored under `key + "\n" + index`. */
export function chunkKey(key: string, index: number): string {
  checkIndex(index);
  return `${key}\n${index}`;
}

/** The parent key and index of a chunk key, or undefined for a key that is not one. */
export function parseChunkKey(chunk: string): { readonly key: string; readonly index: number } | undefined {
  const cut = chunk.lastIndexOf('\n');
  if (cut < 0) return undefined;
  const digits = chunk.slice(cut + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(digits)) return undefined;
  const index = Number(digits);
  if (!Number.isSafeInteger(index)) return undefined;
  return { key: chunk.slice(0, cut), index };
}

export function chunkCount(totalBytes: number, chunkSizeBytes: number = DEFAULT_CHUNK_SIZE_BYTES): number {
  checkSizes(totalBytes, chunkSizeBytes);
  return Math.ceil(totalBytes / chunkSizeBytes);
}

/** The size table of a body of `totalBytes` cut at `chunkSizeBytes`: full chunks, then the remainder. */
export function fixedChunkSizes(totalBytes: number, chunkSizeBytes: number = DEFAULT_CHUNK_SIZE_BYTES): number[] {
  const count = chunkCount(totalBytes, chunkSizeBytes);
  const sizes = new Array<number>(count).fill(chunkSizeBytes);
  if (count > 0) sizes[count - 1] = totalBytes - (count - 1) * chunkSizeBytes;
  return sizes;
}

export interface ChunkRead {
  readonly chunkIndex: number;
  readonly offsetInChunk: number;
  readonly lengthBytes: number;
}

/**
 * The chunk slices that make up bytes `firstByte..lastByte` (inclusive, as in an HTTP Range) of an
 * object with the given chunk size table, in order, none longer than `maxReadBytes`.
 */
export function chunkReads(chunkSizesBytes: readonly number[], firstByte: number, lastByte: number, maxReadBytes = Infinity): ChunkRead[] {
  if (!(maxReadBytes >= 1)) throw new RangeError(`a read must be allowed at least one byte, got ${maxReadBytes}`);
  let totalBytes = 0;
  for (const size of chunkSizesBytes) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
    totalBytes += size;
  }
  if (!Number.isSafeInteger(firstByte) || !Number.isSafeInteger(lastByte) || firstByte < 0 || lastByte < firstByte || lastByte >= totalBytes) {
    throw new RangeError(`byte range ${firstByte}-${lastByte} is outside an object of ${totalBytes} bytes`);
  }
  const reads: ChunkRead[] = [];
  let chunkStart = 0;
  for (let chunkIndex = 0; chunkIndex < chunkSizesBytes.length && chunkStart <= lastByte; chunkIndex++) {
    const size = chunkSizesBytes[chunkIndex]!;
    const chunkEnd = chunkStart + size - 1;
    if (chunkEnd >= firstByte) {
      const to = Math.min(lastByte, chunkEnd);
      for (let from = Math.max(firstByte, chunkStart); from <= to; from += maxReadBytes) {
        reads.push({ chunkIndex, offsetInChunk: from - chunkStart, lengthBytes: Math.min(maxReadBytes, to - from + 1) });
      }
    }
    chunkStart += size;
  }
  return reads;
}

/** Where a streamed body stands: the chunk being filled and how many bytes it already holds. */
export interface ChunkCursor {
  readonly chunkIndex: number;
  readonly filledBytes: number;
}

export const CHUNK_CURSOR_START: ChunkCursor = { chunkIndex: 0, filledBytes: 0 };

export interface ChunkPiece {
  readonly chunkIndex: number;
  /** Offset of the piece in the buffer that arrived. */
  readonly sourceOffset: number;
  readonly lengthBytes: number;
  /** This piece fills its chunk, which can now be written. */
  readonly completesChunk: boolean;
}

/**
 * Cuts a buffer of `lengthBytes` arriving from a body of unknown length into chunk pieces. The last
 * chunk of the body is whatever is filled when the stream ends (`cursor.filledBytes`, if non-zero).
 */
export function cutIncoming(
  cursor: ChunkCursor,
  lengthBytes: number,
  chunkSizeBytes: number = DEFAULT_CHUNK_SIZE_BYTES,
): { readonly pieces: ChunkPiece[]; readonly next: ChunkCursor } {
  checkSizes(lengthBytes, chunkSizeBytes);
  if (cursor.filledBytes < 0 || cursor.filledBytes >= chunkSizeBytes) {
    throw new RangeError(`cursor holds ${cursor.filledBytes} bytes of a ${chunkSizeBytes}-byte chunk`);
  }
  const pieces: ChunkPiece[] = [];
  let { chunkIndex, filledBytes } = cursor;
  let sourceOffset = 0;
  while (sourceOffset < lengthBytes) {
    const take = Math.min(chunkSizeBytes - filledBytes, lengthBytes - sourceOffset);
    const completesChunk = filledBytes + take === chunkSizeBytes;
    pieces.push({ chunkIndex, sourceOffset, lengthBytes: take, completesChunk });
    sourceOffset += take;
    if (completesChunk) {
      chunkIndex++;
      filledBytes = 0;
    } else {
      filledBytes += take;
    }
  }
  return { pieces, next: { chunkIndex, filledBytes } };
}

/** Chunks a streamed body occupies once it ends at `cursor`. */
export function streamChunkCount(cursor: ChunkCursor): number {
  return cursor.chunkIndex + (cursor.filledBytes > 0 ? 1 : 0);
}

function checkSizes(totalBytes: number, chunkSizeBytes: number): void {
  if (!Number.isSafeInteger(chunkSizeBytes) || chunkSizeBytes < 1) {
    throw new RangeError(`chunk size must be a positive integer, got ${chunkSizeBytes}`);
  }
  if (!Number.isSafeInteger(totalBytes) || totalBytes < 0) throw new RangeError(`byte count must be a non-negative integer, got ${totalBytes}`);
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`chunk index must be a non-negative integer, got ${index}`);
}
