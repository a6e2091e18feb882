/**
 * Finds what no one will ever remove otherwise and removes it, through the cluster like any client:
 *
 *   uploads   a multipart upload started longer than `uploadMaxAgeMs` ago is aborted (its record goes);
 *   parts     a part record older than `orphanAgeMs` whose upload is gone (aborted, or completed while
 *             the gateway that discarded its parts died) goes;
 *   chunks    a chunk older than `orphanAgeMs` that no version of its object's record and no part
 *             record of its key names goes: left by a gateway that died mid-upload, or by one that died
 *             before retiring the chunks of a version it replaced.
 *
 * `orphanAgeMs` is far beyond the longest a body may take to arrive, so nothing still being written is
 * ever taken for an orphan. A record is judged only by the first reachable replica of its key, so one
 * node does each; and only when every answer is certain: a failed read keeps the record for the next
 * pass. Records are looked at `sweepKeysPerSecond` at most; after a whole pass the sweeper rests.
 */
import { isVersionId, parseVersionedChunkKey, versionIdsOf } from '../../core/chunk-layout.js';
import { chunkRunsOf } from '../../core/object-versioning.js';
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import { parsePartRecord, parseUploadRecordKey, partRecordsOfKeyPrefix, uploadRecordKey } from '../../core/upload-records.js';
import type { Behavior } from '../../runtime/actor.js';
import { SelfTimer } from '../../runtime/self-timer.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import type { StorageApi } from '../../protocol/cluster/storage-api.js';
import { judgedHere } from './judged-here.js';
import type { StorageContext } from './storage-context.js';

/** Part records read at once while checking what a key's uploads still use. */
const PART_PAGE_KEYS = 1000;

export type SweeperMessage = { readonly type: 'tick' };

/** The sweep walks chunks, then upload and part records, then rests. */
const PHASES: readonly ObjectKind[] = ['chunk', 'upload'];

interface SweeperState {
  readonly timer: SelfTimer<SweeperMessage>;
  phase: number;
  cursor: ObjectAddress | undefined;
  removed: number;
}

export interface SweeperDeps {
  /** The cluster's object API (reads with quorum R, deletes with D), as a gateway uses it. */
  readonly storage: StorageApi;
}

export function orphanSweeperBehavior(context: StorageContext, deps: SweeperDeps): Behavior<SweeperState, SweeperMessage> {
  const { options } = context;
  return {
    accepts: [],
    init(ctx) {
      const state: SweeperState = { timer: new SelfTimer<SweeperMessage>(ctx, { type: 'tick' }, context.pace), phase: 0, cursor: undefined, removed: 0 };
      state.timer.schedule(options.sweepPauseMs);
      return state;
    },
    async receive(state, _message, ctx) {
      const kind = PHASES[state.phase]!;
      const batchKeys = Math.max(1, Math.ceil(options.sweepKeysPerSecond / 10));
      const walk = context.store.walkRecords(kind, state.cursor, batchKeys);
      for (const { address, meta } of walk.records) {
        if (!judgedHere(context, address) || meta.deleted) continue;
        try {
          if (await isOrphan(address, meta, ctx.clock.now())) {
            const deleted = await deps.storage.delete(address.kind, address.bucket, address.key);
            if (deleted.ok) {
              state.removed++;
              ctx.log.info('removed an orphan', { kind: address.kind, bucket: address.bucket, key: address.key });
            }
          }
        } catch (error) {
          ctx.log.warn('cannot judge a record; it stays for the next pass', { kind: address.kind, key: address.key, error });
        }
      }
      state.cursor = walk.last;
      if (walk.last !== undefined) {
        state.timer.schedule((batchKeys * 1000) / options.sweepKeysPerSecond);
        return state;
      }
      state.phase = (state.phase + 1) % PHASES.length;
      if (state.phase === 0) {
        if (state.removed > 0) ctx.log.info('orphan sweep done', { removed: state.removed });
        state.removed = 0;
        state.timer.schedule(options.sweepPauseMs);
      } else {
        state.timer.schedule(0);
      }
      return state;
    },
  };

  async function isOrphan(address: ObjectAddress, meta: ObjectMeta, nowMs: number): Promise<boolean> {
    const ageMs = nowMs - meta.lastModifiedMs;
    if (address.kind === 'chunk') return ageMs > options.orphanAgeMs && (await chunkIsUnused(address));
    const upload = parseUploadRecordKey(address.key);
    if (upload !== undefined) return ageMs > options.uploadMaxAgeMs;
    const part = parsePartRecord(address.key);
    if (part === undefined || ageMs <= options.orphanAgeMs) return false;
    return (await recordOf('upload', address.bucket, uploadRecordKey(part.key, part.uploadId))) === null;
  }

  /** Whether no record names the chunk's version: no version of its object's record, not a part of an upload of its key. */
  async function chunkIsUnused(address: ObjectAddress): Promise<boolean> {
    const chunk = parseVersionedChunkKey(address.key);
    // Chunks keyed by index alone (an earlier layout) cannot be told apart: they stay.
    if (chunk === undefined || !isVersionId(chunk.versionId)) return false;
    const object = await recordOf('object', address.bucket, chunk.key);
    // Any version of the key counts, the older ones of a versioned key too.
    if (object && chunkRunsOf(object).has(chunk.versionId)) return false;
    const prefix = partRecordsOfKeyPrefix(chunk.key);
    let marker: string | undefined;
    for (;;) {
      const listed = await deps.storage.list('upload', address.bucket, { prefix, maxKeys: PART_PAGE_KEYS, ...(marker === undefined ? {} : { marker }) });
      if (!listed.ok) throw new Error(`cannot list the parts of ${chunk.key}: ${listed.code}`);
      for (const entry of listed.result.contents) {
        const part = await recordOf('upload', address.bucket, entry.key);
        if (part && versionIdsOf(part.chunks).has(chunk.versionId)) return false;
      }
      if (!listed.result.isTruncated || listed.result.nextMarker === undefined) return true;
      marker = listed.result.nextMarker;
    }
  }

  /** The current record of a key, null when there is none; anything uncertain throws. */
  async function recordOf(kind: ObjectKind, bucket: string, key: string): Promise<ObjectMeta | null> {
    const result = await deps.storage.get(kind, bucket, key, { withBody: false });
    if (result.ok) return result.meta;
    if (result.code === 'NotFound') return null;
    throw new Error(`cannot read ${key}: ${result.code}`);
  }
}
