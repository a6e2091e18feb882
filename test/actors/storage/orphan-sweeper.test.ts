/**
 * The orphan sweep in an in-process cluster: chunks nothing names, abandoned uploads and parts of
 * uploads that are gone are removed once old enough; what objects and uploads still use, and whatever
 * is young enough to be part of an upload in progress, stays.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { versionedChunkKey } from '../../../src/core/chunk-layout.js';
import { compareHlc } from '../../../src/core/hlc.js';
import type { ObjectKind, ObjectMeta } from '../../../src/core/object-meta.js';
import { preferenceList } from '../../../src/core/ring/ring.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import { newUploadId, partRecordKey, uploadRecordKey } from '../../../src/core/upload-records.js';
import { eventually, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'photos~0123456789abcdef';
const HOUR_MS = 3_600_000;
const v = (n: number): string => String(n).padStart(24, '0');

describe('storage orphan sweep (in-process cluster)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster;

  before(async () => {
    const tuning = { orphanAgeMs: 60_000, uploadMaxAgeMs: 2 * HOUR_MS, sweepKeysPerSecond: 10_000, sweepPauseMs: 100 };
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false }, () => ({ tuning }));
    await cluster.start();
  });
  after(async () => {
    await cluster?.stop();
  });

  /** Stores a record on every replica as if written `ageMs` ago (the coordinator would stamp now). */
  async function plant(kind: ObjectKind, key: string, ageMs: number, extra: Partial<ObjectMeta> = {}, body?: Buffer): Promise<void> {
    const wallMs = Date.now() - ageMs;
    const meta: ObjectMeta = {
      bucket: BUCKET, key, sizeBytes: body?.length ?? 0, etag: 'e', contentType: '', userMeta: {},
      clock: { wallMs, counter: 0, node: 'elsewhere' }, lastModifiedMs: wallMs, ringChecksum: cluster.doc.epoch, deleted: false, ...extra,
    };
    const replicas = preferenceList(cluster.clientRing.current!.current, keyPosition(BUCKET, key), 3);
    for (const node of replicas) {
      const applied = await cluster.node(node).role!.context.store.apply({ address: { kind, bucket: BUCKET, key }, meta, keepPrevious: false, ...(body ? { body } : {}) });
      // Between two plants, the replicas' own repairs may have copied the version here already, or
      // (for what is planted old enough) the sweep of a replica planted first removed it, and the
      // tombstone it wrote, later than the planted version, reached this one.
      if (!applied.applied) {
        const holdsLater = 'current' in applied && compareHlc(applied.current, meta.clock) >= 0;
        expect(holdsLater, `${kind} ${key} on ${node}: ${JSON.stringify(applied)}`).to.equal(true);
      }
    }
  }

  const chunk = (key: string, version: number, index = 0): string => versionedChunkKey(key, v(version), index);
  const layout = (version: number, count = 1) => ({ chunkSizesBytes: Array.from({ length: count }, () => 10), runs: [{ versionId: v(version), chunkCount: count }] });
  const exists = async (kind: ObjectKind, key: string): Promise<boolean> => (await cluster.client.get(kind, BUCKET, key)).ok;

  it('removes what nothing names once old enough, and keeps the rest', async () => {
    const old = 2 * 60_000;
    const body = randomBytes(10);
    // An object and the chunks its record names. Records go first, so that no sweep finds their chunks unnamed.
    await plant('object', 'kept', old, { sizeBytes: 10, chunks: layout(1) });
    await plant('chunk', chunk('kept', 1), old, {}, body);
    // Chunks of an upload whose gateway died before the object's record was written.
    for (const i of [0, 1]) await plant('chunk', chunk('dead', 2, i), old, {}, body);
    // A key overwritten by a version whose writer died before it retired the old chunks.
    await plant('object', 'over', old, { sizeBytes: 10, chunks: layout(4) });
    await plant('chunk', chunk('over', 3), old, {}, body);
    await plant('chunk', chunk('over', 4), old, {}, body);
    // An upload abandoned long ago, with a part and its chunk.
    const abandoned = newUploadId();
    await plant('upload', uploadRecordKey('pending', abandoned), 3 * HOUR_MS, { multipart: { parts: [], uploadId: abandoned } });
    await plant('upload', partRecordKey('pending', abandoned, 1), 3 * HOUR_MS, { sizeBytes: 10, chunks: layout(5) });
    await plant('chunk', chunk('pending', 5), 3 * HOUR_MS, {}, body);
    // An upload in progress: its record is recent, its part older than orphanAgeMs.
    const active = newUploadId();
    await plant('upload', uploadRecordKey('active', active), 30 * 60_000, { multipart: { parts: [], uploadId: active } });
    await plant('upload', partRecordKey('active', active, 1), old, { sizeBytes: 10, chunks: layout(6) });
    await plant('chunk', chunk('active', 6), old, {}, body);
    // A chunk just written, whose record may be on its way.
    await plant('chunk', chunk('young', 7), 1_000, {}, body);

    await eventually(async () => !(await exists('chunk', chunk('dead', 2, 0))) && !(await exists('chunk', chunk('dead', 2, 1))) && !(await exists('chunk', chunk('over', 3))), 20_000, 'orphan chunks removed');
    await eventually(async () => !(await exists('upload', uploadRecordKey('pending', abandoned))), 20_000, 'abandoned upload aborted');
    await eventually(async () => !(await exists('upload', partRecordKey('pending', abandoned, 1))), 20_000, 'its part removed');
    await eventually(async () => !(await exists('chunk', chunk('pending', 5))), 20_000, 'its chunk removed');
    for (const [kind, key] of [
      ['chunk', chunk('kept', 1)], ['object', 'kept'], ['chunk', chunk('over', 4)], ['object', 'over'],
      ['upload', uploadRecordKey('active', active)], ['upload', partRecordKey('active', active, 1)], ['chunk', chunk('active', 6)], ['chunk', chunk('young', 7)],
    ] as const) {
      expect(await exists(kind, key), `${kind} ${key.replace(/\n/g, '/')} stays`).to.equal(true);
    }
  });
});
