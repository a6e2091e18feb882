import { expect } from 'chai';
import { open } from 'lmdb';
import { Packr } from 'msgpackr';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { metaEncoder, type MetaFormat } from '../../../src/store/meta-encoding.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import { currentEnvironmentPath } from '../../../src/store/store-environment.js';
import { metaKey, type ObjectAddress } from '../../../src/store/store-keys.js';
import { randomInt, seededRandom } from '../core/seeded-random.js';

const PLAIN: ObjectMeta = {
  bucket: 'photos', key: 'dir/a.jpg', sizeBytes: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e', contentType: 'image/jpeg', userMeta: {},
  clock: { wallMs: 1_764_979_200_000, counter: 3, node: 'storage_1@127.0.0.1' }, lastModifiedMs: 1_764_979_200_000, ringChecksum: 4_123_456_789, deleted: false,
};

/** Every optional field a record may carry, as the gateway and storage nodes write them. */
const FULL = {
  ...PLAIN,
  key: 'ключ/日本/🙂 and spaces',
  sizeBytes: 17 * 1024 * 1024,
  etag: '0123456789abcdef0123456789abcdef-3',
  contentEncoding: 'gzip', contentDisposition: 'attachment; filename="a.jpg"', cacheControl: 'max-age=60', expires: 'Thu, 01 Jan 2037 00:00:00 GMT', contentLanguage: 'en',
  userMeta: { color: 'blue', 'two-words': 'a b', empty: '' },
  checksums: { crc32c: 'AAAAAA==' },
  chunks: { chunkSizesBytes: [5_242_880, 5_242_880, 6_291_456], runs: [{ writeId: 'w1', chunkCount: 3 }] },
  multipart: { parts: [{ partNumber: 1, sizeBytes: 5_242_880, etag: 'e1' }], uploadId: 'up-1', initiator: 'alice', checksumAlgorithm: 'CRC32C' },
  writeId: 'write-7', versionId: 'v-123', deleteMarker: true, retention: { mode: 'GOVERNANCE', untilMs: 1_900_000_000_000 }, legalHold: true,
  tags: { team: 'a' }, encryption: { kind: 'SSE-S3', keyId: 'k1', iv: 'aXY=' }, acl: { owner: 'alice', grants: [{ grantee: { kind: 'user', id: 'bob' }, permission: 'READ' }] },
  noncurrent: [{ sizeBytes: 1, etag: 'x', contentType: '', userMeta: {}, lastModifiedMs: 5, versionId: 'v-1' }],
} as unknown as ObjectMeta;

const TOMBSTONE: ObjectMeta = { ...PLAIN, deleted: true, etag: '', contentType: '' };

function roundTrip(format: MetaFormat, value: unknown): unknown {
  const encoder = metaEncoder(format);
  return encoder.decode(encoder.encode(value));
}

describe('store/meta-encoding', () => {
  it('writes metadata records by position in format 2, and reads them back whole', () => {
    for (const meta of [PLAIN, FULL, TOMBSTONE]) {
      const bytes = metaEncoder(2).encode(meta);
      expect(bytes[0]! & 0xf0, 'a msgpack array').to.equal(0x90);
      expect(metaEncoder(1).decode(bytes)).to.deep.equal(meta);
      expect(roundTrip(2, meta)).to.deep.equal(meta);
    }
    // Every field of a plain record is one of the positions: no map follows them.
    expect(new Packr({ useRecords: false }).unpack(metaEncoder(2).encode(PLAIN))).to.have.length(13);
    // The fields every record has take no names: a record of an empty object is a fraction of its format 1 size.
    expect(metaEncoder(2).encode(PLAIN).length).to.be.below(metaEncoder(1).encode(PLAIN).length / 2);
  });

  it('reads format 1 as lmdb-js wrote it on its own, and writes what is not a metadata record in format 1', () => {
    for (const meta of [PLAIN, FULL, TOMBSTONE]) expect(roundTrip(1, meta)).to.deep.equal(meta);
    const others: unknown[] = [
      42, 'text', null, [1, 2], { some: 'record' },
      { ...PLAIN, clock: { ...PLAIN.clock, extra: 1 } },
      { ...PLAIN, sizeBytes: '12' },
      { ...PLAIN, deleted: undefined },
    ];
    for (const value of others) {
      const bytes = Buffer.from(metaEncoder(2).encode(value));
      expect(bytes, JSON.stringify(value)).to.deep.equal(Buffer.from(metaEncoder(1).encode(value)));
      expect(metaEncoder(2).decode(bytes)).to.deep.equal(value);
    }
  });

  it('keeps a field named __proto__ as a field, the same way in both formats', () => {
    const odd = { ...PLAIN, ...(JSON.parse('{"__proto__": "x"}') as object) } as ObjectMeta;
    expect(Object.keys(odd)).to.include('__proto__');
    expect(roundTrip(2, odd)).to.deep.equal(roundTrip(1, odd));
    expect(Object.getPrototypeOf(roundTrip(2, odd))).to.equal(Object.prototype);
  });

  it('hands on an array that is not a record of format 2 as it is, for the reader to refuse', () => {
    const encoder = metaEncoder(2);
    expect(encoder.decode(encoder.encode([3, 'b', 'k']))).to.deep.equal([3, 'b', 'k']);
    expect(encoder.decode(encoder.encode([2, 'b']))).to.deep.equal([2, 'b']);
  });

  it('reads a record from the start of a larger buffer when told where it ends', () => {
    const bytes = metaEncoder(2).encode(FULL);
    const larger = Buffer.concat([bytes, Buffer.from([0xc1, 0xc1, 0xc1])]);
    expect(metaEncoder(2).decode(larger, bytes.length)).to.deep.equal(FULL);
  });

  it('reads back random records the same in both formats', () => {
    const next = seededRandom(20261206);
    for (let i = 0; i < 500; i++) {
      const userMeta: Record<string, string> = {};
      for (let j = randomInt(next, 4); j > 0; j--) userMeta[`m${randomInt(next, 100)}`] = 'v'.repeat(randomInt(next, 20));
      const meta = {
        ...PLAIN, key: `k/${randomInt(next, 1e9)}`, sizeBytes: randomInt(next, 2 ** 40), userMeta,
        clock: { wallMs: randomInt(next, 2 ** 45), counter: randomInt(next, 70_000), node: `s${randomInt(next, 9)}` },
        deleted: next() < 0.2,
        ...(next() < 0.3 ? { versionId: `v${i}` } : {}),
        ...(next() < 0.2 ? { contentEncoding: 'br' } : {}),
      };
      expect(roundTrip(2, meta)).to.deep.equal(meta);
      expect(roundTrip(1, meta)).to.deep.equal(meta);
    }
  });
});

describe('store/meta-encoding in an object store', function () {
  this.timeout(30_000);
  let dir: string;
  const at = (key: string): ObjectAddress => ({ kind: 'object', bucket: 'photos', key });
  const openStore = (metaFormat: MetaFormat): ObjectStore => ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, durable: false, metaFormat });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-meta-format-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists and reads a store that holds records of both formats, and of the release before, the same', async () => {
    // Records as a release before this encoding wrote them: lmdb-js's own encoding.
    await openStore(1).close();
    const root = open({ path: currentEnvironmentPath(join(dir, 'objects')), maxDbs: 16 });
    const before = { ...PLAIN, key: 'a-before' };
    await root.openDB({ name: 'meta', keyEncoding: 'binary' }).put(metaKey(at(before.key)), before);
    await root.close();

    const first = openStore(1);
    const written1: ObjectMeta = { ...PLAIN, key: 'b-format-1', contentEncoding: 'gzip', userMeta: { x: 'y' }, tags: { team: 'a' } };
    await first.apply({ address: at(written1.key), meta: written1, body: Buffer.alloc(0), keepPrevious: false });
    await first.close();
    const second = openStore(2);
    const written2 = { ...TOMBSTONE, key: 'c-format-2' };
    const plain2 = { ...PLAIN, key: 'd-format-2', userMeta: { a: 'b' } };
    await second.apply({ address: at(written2.key), meta: written2, body: Buffer.alloc(0), keepPrevious: false });
    await second.apply({ address: at(plain2.key), meta: plain2, body: Buffer.alloc(0), keepPrevious: false });
    await second.close();

    for (const format of [1, 2] as const) {
      const store = openStore(format);
      try {
        for (const meta of [before, written1, written2, plain2]) expect(store.getMeta(at(meta.key)), `${meta.key} read with format ${format}`).to.deep.equal(meta);
        const page = store.list('object', 'photos', { prefix: '', startAt: '', limit: 10 });
        expect(page.entries.map((entry) => entry.key)).to.deep.equal(['a-before', 'b-format-1', 'c-format-2', 'd-format-2']);
        expect(page.entries.map((entry) => entry.deleted)).to.deep.equal([false, false, true, false]);
      } finally {
        await store.close();
      }
    }
  });
});
