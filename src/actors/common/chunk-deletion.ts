/**
 * Deleting the chunks of a body that no record names any more, through the cluster like any client:
 * what the gateway does after a version is replaced or removed, and what background workers that
 * change records do after them.
 */
import { chunkKeysOf } from '../../core/chunk-layout.js';
import type { ChunkLayout } from '../../core/object-meta.js';
import { mapBounded } from '../../runtime/bounded.js';
import type { Logger } from '../../runtime/logger.js';
import type { StorageApi } from '../../protocol/cluster/storage-api.js';

export interface ChunkDeps {
  readonly storage: StorageApi;
  readonly log: Logger;
}

const DELETE_CONCURRENCY = 4;

/**
 * Deletes the chunks of `layout`, best effort: a chunk that cannot be deleted now is logged and left
 * for an operator (it is unreachable, never wrong). Never throws.
 */
export async function deleteChunks(deps: ChunkDeps, bucket: string, key: string, layout: ChunkLayout | undefined): Promise<void> {
  if (layout === undefined || layout.chunkSizesBytes.length === 0) return;
  let keys: string[];
  try {
    keys = chunkKeysOf(key, layout);
  } catch (error) {
    deps.log.error('cannot name the chunks of a layout to delete them', { bucket, key, error });
    return;
  }
  let failed = 0;
  await mapBounded(keys, DELETE_CONCURRENCY, async (chunk) => {
    try {
      const result = await deps.storage.delete('chunk', bucket, chunk);
      if (!result.ok) failed++;
    } catch {
      failed++;
    }
  });
  if (failed > 0) deps.log.warn('some chunks could not be deleted; they are unreachable', { bucket, key, chunks: keys.length, failed });
}
