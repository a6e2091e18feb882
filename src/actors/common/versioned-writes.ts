/**
 * Sending a versioned write (core/object-versioning.ts) as a client does, gateway or background worker.
 * A version whose body is in its record (written before the bucket had versioning) has to move into a
 * chunk before a write can keep it: the replicas refuse such a write with InlineBody, the body is copied
 * here, and the write is sent again naming the copy.
 */
import { newVersionId, versionedChunkKey } from '../../core/chunk-layout.js';
import { compareHlc, type Hlc } from '../../core/hlc.js';
import { carriesBody, type ChunkLayout } from '../../core/object-meta.js';
import { chunkRunsOf, type Rechunked, type VersionedWrite } from '../../core/object-versioning.js';
import type { DeleteResult, PutResult, StorageFailure } from '../../protocol/cluster/storage-api.js';
import { deleteChunks, type ChunkDeps } from './chunk-deletion.js';

/** Rounds of moving a current version's body into a chunk; each is needed only if the key changed meanwhile. */
const MAX_RECHUNK_ROUNDS = 3;

/** Reading or copying the body failed: the write was not sent again; `failure` says why. */
export class VersionedWriteFailure extends Error {
  override readonly name = 'VersionedWriteFailure';
  constructor(readonly failure: StorageFailure) {
    super(failure.message);
  }
}

/**
 * Sends `write`, and while the replicas answer InlineBody, copies the body of the current version they
 * named into a chunk and sends it again naming the copy. Copies that no written record uses are deleted.
 */
export async function sendVersionedWrite<R extends PutResult | DeleteResult>(
  deps: ChunkDeps,
  bucket: string,
  key: string,
  write: VersionedWrite,
  send: (rechunked: Rechunked | undefined) => Promise<R>,
): Promise<R> {
  const copies: ChunkLayout[] = [];
  let rechunked: Rechunked | undefined;
  let result = await send(undefined);
  for (let round = 0; !result.ok && result.code === 'InlineBody' && round < MAX_RECHUNK_ROUNDS; round++) {
    const clock = (result as StorageFailure).inlineClock;
    if (clock === undefined) break;
    rechunked = await copyCurrentBody(deps, bucket, key, clock);
    if (rechunked !== undefined) copies.push(rechunked.layout);
    result = await send(rechunked);
  }
  const written = result.ok ? ('meta' in result ? result.meta : result.written) : undefined;
  // A write whose outcome is unknown may still name its copy: the orphan sweep decides about those.
  const outcomeKnown = result.ok || result.code !== 'Timeout';
  if (outcomeKnown) {
    const used = chunkRunsOf(written);
    for (const layout of copies) {
      if (!(layout.runs ?? []).some((run) => used.has(run.versionId))) await deleteChunks(deps, bucket, key, layout);
    }
  }
  if (!result.ok && result.code === 'InlineBody') {
    deps.log.warn('a versioned write kept meeting a body in its record', { bucket, key, versionId: write.versionId });
    // The key keeps changing under the write: as for any conditional write that could not be decided.
    return { ok: false, code: 'ConditionalConflict', message: `${key} kept changing while its current version's body was moved into a chunk` } as R;
  }
  return result;
}

/**
 * Copies the body of the key's current version (stamped at `clock`) into one chunk. Undefined when the
 * key holds another version by now: the write then meets that one.
 */
async function copyCurrentBody(deps: ChunkDeps, bucket: string, key: string, clock: Hlc): Promise<Rechunked | undefined> {
  const current = await deps.storage.get('object', bucket, key, { withBody: true });
  if (!current.ok) {
    if (current.code === 'NotFound') return undefined;
    throw new VersionedWriteFailure(current);
  }
  if (compareHlc(current.meta.clock, clock) !== 0 || !carriesBody(current.meta) || current.body === undefined) return undefined;
  const runId = newVersionId();
  const chunk = { bucket, key: versionedChunkKey(key, runId, 0), sizeBytes: current.body.length, etag: '', contentType: '', userMeta: {} };
  const stored = await deps.storage.put('chunk', chunk, current.body);
  if (!stored.ok) throw new VersionedWriteFailure(stored);
  return { clock, layout: { chunkSizesBytes: [current.body.length], runs: [{ versionId: runId, chunkCount: 1 }] } };
}
