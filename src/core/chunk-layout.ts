/**
 * Where the chunks of a large object live. Chunk `i` of the write with version id `v` of key `k` is the
 * ring object `k\n<v>\n<i>` of kind 'chunk'.
 *
 * The version id is in the key, rather than DESIGN's plain `k\n<i>`, because two writes of one key can
 * be in flight at once (an overwrite racing a reader, two clients uploading the same key, a part
 * uploaded twice): with index-only keys the later write would overwrite chunks the earlier one's
 * metadata still points at, and a failed upload's clean-up would delete chunks of the version that
 * won. With the id, every write owns its chunks, and the parent metadata names the ids it uses.
 */
import { randomHex } from './random-id.js';
import { chunkKey } from './chunks.js';
import type { ChunkLayout, ChunkRun } from './object-meta.js';

const VERSION_ID = /^[0-9a-f]{24}$/;

/** A fresh id for one body write: 96 random bits, hex, so it never holds a newline. */
export function newVersionId(): string {
  return randomHex(12);
}

export function isVersionId(value: string): boolean {
  return VERSION_ID.test(value);
}

export function versionedChunkKey(key: string, versionId: string, index: number): string {
  if (!isVersionId(versionId)) throw new RangeError(`not a chunk version id: ${JSON.stringify(versionId)}`);
  return chunkKey(`${key}\n${versionId}`, index);
}

/** The parent key, version id and index of a versioned chunk key, or undefined for any other key. */
export function parseVersionedChunkKey(chunk: string): { readonly key: string; readonly versionId: string; readonly index: number } | undefined {
  const last = chunk.lastIndexOf('\n');
  if (last < 0) return undefined;
  const middle = chunk.lastIndexOf('\n', last - 1);
  if (middle < 0) return undefined;
  const versionId = chunk.slice(middle + 1, last);
  const digits = chunk.slice(last + 1);
  if (!isVersionId(versionId) || !/^(0|[1-9][0-9]*)$/.test(digits)) return undefined;
  const index = Number(digits);
  return Number.isSafeInteger(index) ? { key: chunk.slice(0, middle), versionId, index } : undefined;
}

/** The ring key of every chunk of `layout`, in body order. */
export function chunkKeysOf(key: string, layout: ChunkLayout): string[] {
  if (layout.runs === undefined) return layout.chunkSizesBytes.map((_, i) => chunkKey(key, i));
  const keys: string[] = [];
  for (const run of layout.runs) {
    for (let i = 0; i < run.chunkCount; i++) keys.push(versionedChunkKey(key, run.versionId, i));
  }
  if (keys.length !== layout.chunkSizesBytes.length) {
    throw new RangeError(`chunk runs name ${keys.length} chunks but the size table has ${layout.chunkSizesBytes.length}`);
  }
  return keys;
}

/** Concatenates layouts (parts into a multipart object) without copying any chunk. */
export function concatLayouts(layouts: readonly ChunkLayout[]): ChunkLayout {
  const chunkSizesBytes: number[] = [];
  const runs: ChunkRun[] = [];
  for (const layout of layouts) {
    if (layout.runs === undefined) throw new RangeError('only versioned layouts can be concatenated');
    chunkSizesBytes.push(...layout.chunkSizesBytes);
    runs.push(...layout.runs);
  }
  return { chunkSizesBytes, runs };
}

/** The version ids a layout's chunks are stored under. */
export function versionIdsOf(layout: ChunkLayout | undefined): ReadonlySet<string> {
  return new Set((layout?.runs ?? []).map((run) => run.versionId));
}
