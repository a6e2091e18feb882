import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta, VersionFields } from '../../../src/core/object-meta.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';
import { EMPTY_BUCKET_SIZE } from '../../../src/core/bucket-stats.js';

const clock = (wallMs: number): Hlc => ({ wallMs, counter: 0, node: 'n1' });

function meta(address: ObjectAddress, sizeBytes: number, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return {
    bucket: address.bucket,
    key: address.key,
    sizeBytes,
    etag: 'e',
    contentType: 'application/octet-stream',
    userMeta: {},
    clock: clock(10),
    lastModifiedMs: 10,
    ringChecksum: 1,
    deleted: false,
    ...extra,
  };
}

function version(versionId: string, sizeBytes: number, extra: Partial<VersionFields> = {}): VersionFields {
  return { sizeBytes, etag: 'v', contentType: 'application/octet-stream', userMeta: {}, lastModifiedMs: 5, versionId, ...extra };
}

describe('store/object-store bucket sizes', () => {
  let dir: string;
  let store: ObjectStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-bucket-sizes-'));
    store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, durable: false });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function put(address: ObjectAddress, record: ObjectMeta, body?: Buffer): Promise<void> {
    const applied = await store.apply({ address, meta: record, ...(body ? { body } : {}), keepPrevious: false });
    expect(applied.applied, `${address.bucket}/${address.key}`).to.equal(true);
  }

  const object = (bucket: string, key: string): ObjectAddress => ({ kind: 'object', bucket, key });
  const everything = (): boolean => true;

  /** Two namespaces holding small and chunked objects, a tombstone, a delete marker and older versions. */
  async function fill(): Promise<void> {
    await put(object('photos~aaaaaaaaaaaa', 'small'), meta(object('photos~aaaaaaaaaaaa', 'small'), 3), Buffer.from('abc'));
    // A chunked object: its record carries the whole size; its chunks are records of their own, not counted again.
    const chunked = object('photos~aaaaaaaaaaaa', 'large');
    await put(chunked, meta(chunked, 10_000, { chunks: { chunkSizesBytes: [6_000, 4_000] } }));
    for (const [index, size] of [6_000, 4_000].entries()) {
      const chunk: ObjectAddress = { kind: 'chunk', bucket: 'photos~aaaaaaaaaaaa', key: `large\n1\n${index}` };
      await put(chunk, meta(chunk, size), Buffer.alloc(size));
    }
    const gone = object('photos~aaaaaaaaaaaa', 'gone');
    await put(gone, meta(gone, 0, { deleted: true }));
    // A versioned key whose current version is a delete marker: no object, but its older versions take space.
    const marked = object('photos~aaaaaaaaaaaa', 'marked');
    await put(marked, meta(marked, 0, { versionId: 'a'.repeat(32), deleteMarker: true, noncurrent: [version('b'.repeat(32), 700), version('c'.repeat(32), 0, { deleteMarker: true })] }));
    // A live versioned key with one older version.
    const kept = object('logs~bbbbbbbbbbbb', 'kept');
    await put(kept, meta(kept, 50, { versionId: 'd'.repeat(32), noncurrent: [version('e'.repeat(32), 20)] }), Buffer.alloc(50));
    // An upload in progress is not an object.
    const upload: ObjectAddress = { kind: 'upload', bucket: 'logs~bbbbbbbbbbbb', key: 'pending' };
    await put(upload, meta(upload, 0));
  }

  it('counts live current versions as objects and every version with a body as bytes, per namespace', async () => {
    await fill();
    const sizes = await store.bucketSizes({ counts: everything, batchKeys: 2 });
    expect(Object.fromEntries(sizes)).to.deep.equal({
      'photos~aaaaaaaaaaaa': { objects: 2, bytes: 3 + 10_000 + 700, noncurrentVersions: 1, noncurrentBytes: 700 },
      'logs~bbbbbbbbbbbb': { objects: 1, bytes: 70, noncurrentVersions: 1, noncurrentBytes: 20 },
    });
  });

  it('walks one namespace alone when asked, in batches of any size', async () => {
    await fill();
    for (const batchKeys of [1, 3, 1_000]) {
      const sizes = await store.bucketSizes({ namespace: 'logs~bbbbbbbbbbbb', counts: everything, batchKeys });
      expect(Object.fromEntries(sizes), `batches of ${batchKeys}`).to.deep.equal({ 'logs~bbbbbbbbbbbb': { objects: 1, bytes: 70, noncurrentVersions: 1, noncurrentBytes: 20 } });
    }
    expect((await store.bucketSizes({ namespace: 'none', counts: everything })).size).to.equal(0);
  });

  it('counts only the keys it is told to, and nothing of a deleted namespace', async () => {
    await fill();
    const seen: string[] = [];
    const sizes = await store.bucketSizes({
      counts: (namespace, key) => {
        seen.push(`${namespace}/${key}`);
        return key === 'small';
      },
      batchKeys: 2,
    });
    expect(seen, 'object records only: no chunk, no upload').to.have.members(['photos~aaaaaaaaaaaa/small', 'photos~aaaaaaaaaaaa/large', 'photos~aaaaaaaaaaaa/gone', 'photos~aaaaaaaaaaaa/marked', 'logs~bbbbbbbbbbbb/kept']);
    expect(Object.fromEntries(sizes)).to.deep.equal({ 'photos~aaaaaaaaaaaa': { ...EMPTY_BUCKET_SIZE, objects: 1, bytes: 3 } });

    await store.markDeleted([{ namespace: 'photos~aaaaaaaaaaaa', deletedAtMs: 1 }]);
    expect([...(await store.bucketSizes({ counts: everything })).keys()]).to.deep.equal(['logs~bbbbbbbbbbbb']);
    expect((await store.bucketSizes({ namespace: 'photos~aaaaaaaaaaaa', counts: everything })).size).to.equal(0);
  });
});
