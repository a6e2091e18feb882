import { expect } from 'chai';
import { open } from 'lmdb';
import { Packr } from 'msgpackr';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ADDRESS_FROM_KEY, fillAddress, metaEncoder, type MetaFormat } from '../../../src/store/meta-encoding.js';
import { isObjectMeta, ObjectStore } from '../../../src/store/object-store.js';
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

/** `value` written and read back in `format`; a record's bucket and key filled in from `address`, as its store does. */
function roundTrip(format: MetaFormat, value: unknown, address?: { bucket: string; key: string }): unknown {
  const encoder = metaEncoder(format);
  const found = encoder.decode(encoder.encode(value));
  const fallback = value as { bucket?: unknown; key?: unknown };
  return fillAddress(found, () => address ?? (typeof fallback.bucket === 'string' && typeof fallback.key === 'string' ? { bucket: fallback.bucket, key: fallback.key } : undefined));
}

/** `bytes` random bytes from `next`, in lower-case hex. */
const hexOf = (next: () => number, bytes: number): string => Array.from({ length: bytes }, () => randomInt(next, 256).toString(16).padStart(2, '0')).join('');

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

  it('writes format 3 without what the key says, the commonest values shorter, and reads it back whole once the key is filled in', () => {
    for (const meta of [PLAIN, FULL, TOMBSTONE]) {
      const bytes = metaEncoder(3).encode(meta);
      expect(bytes[0]! & 0xf0, 'a msgpack array').to.equal(0x90);
      const read = metaEncoder(1).decode(bytes) as Record<string, unknown>;
      expect(read['bucket'], 'until filled in').to.equal(ADDRESS_FROM_KEY);
      expect(read['key']).to.equal(ADDRESS_FROM_KEY);
      expect(fillAddress(read, () => ({ bucket: meta.bucket, key: meta.key }))).to.deep.equal(meta);
      expect(roundTrip(3, meta)).to.deep.equal(meta);
      expect(Buffer.from(bytes).includes(Buffer.from(meta.key)), 'the key is not written').to.equal(false);
    }
    const row = new Packr({ useRecords: false }).unpack(metaEncoder(3).encode({ ...PLAIN, contentType: 'application/octet-stream' })) as unknown[];
    expect(row, 'every field of a plain record is a position').to.have.length(11);
    expect(row[3], 'the default content type').to.equal(0);
    expect(row[8], 'a last-modified time equal to the clock').to.equal(null);
    // Well under two thirds of format 2 for a record of an empty object of the default type.
    const empty = { ...PLAIN, contentType: 'application/octet-stream' };
    expect(metaEncoder(3).encode(empty).length).to.be.below(metaEncoder(2).encode(empty).length * 0.65);

    // What is not the common case is written as it is.
    const uncommon: ObjectMeta[] = [
      { ...PLAIN, etag: 'D41D8CD98F00B204E9800998ECF8427E' },
      { ...PLAIN, etag: 'd41d8cd98f00b204e9800998ecf8427' },
      { ...PLAIN, etag: '' },
      { ...PLAIN, contentType: 'application/octet-stream; charset=x' },
      { ...PLAIN, contentType: '' },
      { ...PLAIN, lastModifiedMs: PLAIN.clock.wallMs - 1 },
      { ...PLAIN, lastModifiedMs: 0 },
    ];
    for (const meta of uncommon) expect(roundTrip(3, meta), JSON.stringify(meta)).to.deep.equal(meta);
  });

  it('leaves a record its key cannot complete, and every other value, as it is', () => {
    const read = metaEncoder(3).decode(metaEncoder(3).encode(PLAIN)) as Record<string, unknown>;
    expect(fillAddress(read, () => undefined)).to.have.property('bucket', ADDRESS_FROM_KEY);
    for (const value of [undefined, null, 7, 'text', [3], { bucket: 'b', key: 'k' }]) {
      expect(fillAddress(value, () => ({ bucket: 'x', key: 'y' }))).to.deep.equal(value);
    }
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
      for (const format of [2, 3] as const) {
        const bytes = Buffer.from(metaEncoder(format).encode(value));
        expect(bytes, JSON.stringify(value)).to.deep.equal(Buffer.from(metaEncoder(1).encode(value)));
        expect(metaEncoder(format).decode(bytes)).to.deep.equal(value);
      }
    }
  });

  it('keeps a field named __proto__ as a field, the same way in both formats', () => {
    const odd = { ...PLAIN, ...(JSON.parse('{"__proto__": "x"}') as object) } as ObjectMeta;
    expect(Object.keys(odd)).to.include('__proto__');
    for (const format of [2, 3] as const) {
      expect(roundTrip(format, odd)).to.deep.equal(roundTrip(1, odd));
      expect(Object.getPrototypeOf(roundTrip(format, odd))).to.equal(Object.prototype);
    }
  });

  it('hands on an array that is not a record of format 2 or 3 as it is, for the reader to refuse', () => {
    const encoder = metaEncoder(2);
    expect(encoder.decode(encoder.encode([3, 'b', 'k']))).to.deep.equal([3, 'b', 'k']);
    expect(encoder.decode(encoder.encode([2, 'b']))).to.deep.equal([2, 'b']);
    expect(encoder.decode(encoder.encode([4, ...Array(10).fill(0)]))).to.deep.equal([4, ...Array(10).fill(0)]);
    // Of format 3's length but not its types: a record, which the store's check refuses.
    const wrong = encoder.decode(encoder.encode([3, 'size', 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(isObjectMeta(fillAddress(wrong, () => ({ bucket: 'b', key: 'k' })))).to.equal(false);
  });

  it('reads a record from the start of a larger buffer when told where it ends', () => {
    for (const format of [2, 3] as const) {
      const bytes = metaEncoder(format).encode(FULL);
      const larger = Buffer.concat([bytes, Buffer.from([0xc1, 0xc1, 0xc1])]);
      expect(fillAddress(metaEncoder(format).decode(larger, bytes.length), () => FULL)).to.deep.equal(FULL);
    }
  });

  it('reads back random records the same in every format', () => {
    const next = seededRandom(20261206);
    for (let i = 0; i < 500; i++) {
      const userMeta: Record<string, string> = {};
      for (let j = randomInt(next, 4); j > 0; j--) userMeta[`m${randomInt(next, 100)}`] = 'v'.repeat(randomInt(next, 20));
      const wallMs = randomInt(next, 2 ** 45);
      const meta = {
        ...PLAIN, key: `k/${randomInt(next, 1e9)}`, sizeBytes: randomInt(next, 2 ** 40), userMeta,
        etag: next() < 0.5 ? hexOf(next, 16) : `${hexOf(next, 16)}-${randomInt(next, 100)}`,
        contentType: next() < 0.5 ? 'application/octet-stream' : 'text/plain',
        clock: { wallMs, counter: randomInt(next, 70_000), node: `s${randomInt(next, 9)}` },
        lastModifiedMs: next() < 0.5 ? wallMs : randomInt(next, 2 ** 45),
        deleted: next() < 0.2,
        ...(next() < 0.3 ? { versionId: `v${i}` } : {}),
        ...(next() < 0.2 ? { contentEncoding: 'br' } : {}),
      };
      for (const format of [1, 2, 3] as const) expect(roundTrip(format, meta)).to.deep.equal(meta);
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

  it('lists and reads a store that holds records of every format, and of the release before, the same', async () => {
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
    const third = openStore(3);
    const written3: ObjectMeta = { ...PLAIN, key: 'e-format-3', etag: '0123456789abcdef0123456789abcdef-3', contentEncoding: 'br', userMeta: { color: 'blue' }, lastModifiedMs: PLAIN.lastModifiedMs - 5 };
    const plain3 = { ...PLAIN, key: 'f-format-3', contentType: 'application/octet-stream' };
    await third.apply({ address: at(written3.key), meta: written3, body: Buffer.alloc(0), keepPrevious: false });
    await third.apply({ address: at(plain3.key), meta: plain3, body: Buffer.alloc(0), keepPrevious: false });
    await third.close();

    for (const format of [1, 2, 3] as const) {
      const store = openStore(format);
      try {
        for (const meta of [before, written1, written2, plain2, written3, plain3]) expect(store.getMeta(at(meta.key)), `${meta.key} read with format ${format}`).to.deep.equal(meta);
        const page = store.list('object', 'photos', { prefix: '', startAt: '', limit: 10 });
        expect(page.entries.map((entry) => entry.key)).to.deep.equal(['a-before', 'b-format-1', 'c-format-2', 'd-format-2', 'e-format-3', 'f-format-3']);
        expect(page.entries.map((entry) => entry.deleted)).to.deep.equal([false, false, true, false, false, false]);
        expect(page.entries.map((entry) => entry.etag)).to.deep.equal([PLAIN.etag, PLAIN.etag, '', PLAIN.etag, written3.etag, PLAIN.etag]);
      } finally {
        await store.close();
      }
    }
  });
});
