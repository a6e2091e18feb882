import { expect } from 'chai';
import type { ListingEntry, ListingPage } from '../../../../src/core/listing.js';
import { decodeCbor, encodeCbor } from '../../../../src/protocol/cluster/cbor.js';
import { packListingColumns, unpackListingColumns } from '../../../../src/protocol/cluster/listing-columns.js';
import { packListingPage } from '../../../../src/protocol/cluster/listing-rows.js';

const clock = (wallMs: number, node = 'storage_0@h') => ({ wallMs, counter: wallMs % 3, node });

const plain: ListingEntry = { key: 'a/1', clock: clock(1_764_000_000_123), deleted: false, sizeBytes: 5 * 2 ** 40, etag: '0123456789abcdef0123456789abcdef-12', lastModifiedMs: 1_764_000_000_123 };
const tombstone: ListingEntry = { key: 'a/2 😀', clock: clock(11, 'storage_1@h'), deleted: true, sizeBytes: 0, etag: '', lastModifiedMs: 11 };
const marker: ListingEntry = {
  key: 'a/3', clock: clock(12), deleted: false, deleteMarker: true, sizeBytes: 0, etag: '', lastModifiedMs: 12, versionId: 'v3',
  noncurrent: [{ versionId: 'v2', sizeBytes: 5, etag: 'e2', lastModifiedMs: 9 }, { versionId: 'v1', sizeBytes: 0, etag: '', lastModifiedMs: 8, deleteMarker: true }],
};
const unsettled: ListingEntry = { key: 'é/4', clock: clock(13, 'storage_2@h'), deleted: false, sizeBytes: 1, etag: 'e', lastModifiedMs: 13, unsettled: true, replacedUnknown: true, inFlight: true, previous: plain };
const unsettledFirst: ListingEntry = { key: '', clock: clock(14), deleted: false, sizeBytes: 1, etag: 'e', lastModifiedMs: 14, unsettled: true, previous: null };

const viaWire = (value: unknown): unknown => decodeCbor(encodeCbor(value));

describe('protocol/cluster/listing-columns', () => {
  it('carries every field of every kind of entry, gaps and truncation across the wire', () => {
    const page: ListingPage<ListingEntry> = { entries: [plain, tombstone, marker, unsettled, unsettledFirst], truncated: true, gaps: [{ after: 'a/1', until: 'a/2' }, { after: 'z' }] };
    expect(unpackListingColumns(viaWire(packListingColumns(page)))).to.deep.equal(page);
    const empty: ListingPage<ListingEntry> = { entries: [], truncated: false };
    expect(unpackListingColumns(viaWire(packListingColumns(empty)))).to.deep.equal(empty);
  });

  it('carries the gaps as columns when asked, and reads gaps in either form', () => {
    const gaps = [{ after: 'a/1', until: 'a/2' }, { after: 'a/2 😀', until: 'b' }, { after: 'é/4' }, { after: '', until: '' }];
    const page: ListingPage<ListingEntry> = { entries: [plain, tombstone, unsettled], truncated: false, gaps };
    const packed = packListingColumns(page, true);
    expect(packed.gaps).to.equal(undefined);
    expect(packed.gapLengths?.length).to.equal(gaps.length * 8);
    expect(unpackListingColumns(viaWire(packed))).to.deep.equal(page);
    expect(packListingColumns(page).gaps).to.deep.equal(gaps);
    expect(unpackListingColumns(viaWire(packListingColumns({ entries: [plain], truncated: true }, true)))).to.deep.equal({ entries: [plain], truncated: true });
  });

  it('carries keys and ETags of any length', () => {
    const page: ListingPage<ListingEntry> = { entries: [{ ...plain, key: 'k'.repeat(70_000), etag: 'e'.repeat(70_000) }, { ...plain, key: 'z' }], truncated: false };
    expect(unpackListingColumns(viaWire(packListingColumns(page)))).to.deep.equal(page);
  });

  it('names each clock node once, and carries rare fields only for the entries that have them', () => {
    const packed = packListingColumns({ entries: [plain, tombstone, { ...plain, key: 'b' }, unsettled], truncated: false });
    expect(packed.nodes).to.deep.equal(['storage_0@h', 'storage_1@h', 'storage_2@h']);
    expect(packed.rare?.map(([index]) => index)).to.deep.equal([3]);
    expect(packListingColumns({ entries: [plain], truncated: false }).rare).to.equal(undefined);
  });

  it('encodes a page of a thousand keys into not many more bytes than its rows', () => {
    const entries = Array.from({ length: 1000 }, (_, i) => ({ ...plain, key: `prefix/${String(i).padStart(6, '0')}` }));
    expect(encodeCbor(packListingColumns({ entries, truncated: true })).length).to.be.below(encodeCbor(packListingPage({ entries, truncated: true })).length * 1.5);
  });

  it('refuses gap columns that do not add up', () => {
    const good = viaWire(packListingColumns({ entries: [plain], truncated: false, gaps: [{ after: 'a/1', until: 'a/2' }, { after: 'b' }] }, true)) as Record<string, unknown>;
    const lengths = good.gapLengths as Uint8Array;
    const withLength = (offset: number, length: number): Uint8Array => {
      const copy = Uint8Array.from(lengths);
      new DataView(copy.buffer).setUint32(offset, length, true);
      return copy;
    };
    expect(unpackListingColumns(good)?.gaps).to.deep.equal([{ after: 'a/1', until: 'a/2' }, { after: 'b' }]);
    for (const [why, bad] of [
      ['bounds not text', { ...good, gapBounds: 7 }], ['lengths not bytes', { ...good, gapLengths: [3, 3] }], ['lengths missing', { ...good, gapLengths: undefined }],
      ['lengths cut short', { ...good, gapLengths: lengths.subarray(0, lengths.length - 1) }], ['bounds left over', { ...good, gapBounds: `${String(good.gapBounds)}x` }],
      ['a bound longer than the bounds', { ...good, gapLengths: withLength(4, 1000) }], ['gaps in both forms', { ...good, gaps: [] }],
    ] as const) {
      expect(unpackListingColumns(bad), why).to.equal(undefined);
    }
  });

  it('refuses what is not a page of columns', () => {
    const good = viaWire(packListingColumns({ entries: [plain, marker], truncated: false })) as Record<string, unknown>;
    const fields = good.fields as Uint8Array;
    const withField = (offset: number, write: (view: DataView) => void): Uint8Array => {
      const copy = Uint8Array.from(fields);
      write(new DataView(copy.buffer, offset));
      return copy;
    };
    expect(unpackListingColumns(good)).to.not.equal(undefined);
    for (const [why, bad] of [
      ['nothing', undefined], ['null', null], ['a string', 'page'], ['nodes not a list', { ...good, nodes: 'storage_0@h' }], ['a node not a name', { ...good, nodes: [1] }],
      ['keys not text', { ...good, keys: 5 }], ['etags missing', { ...good, etags: undefined }], ['fields not bytes', { ...good, fields: [1, 2] }],
      ['fields cut short', { ...good, fields: fields.subarray(0, fields.length - 1) }], ['truncated not a flag', { ...good, truncated: 'no' }],
      ['gaps not a list', { ...good, gaps: 'none' }], ['a key longer than the keys', { ...good, fields: withField(0, (view) => view.setUint32(0, 1000, true)) }],
      ['keys left over', { ...good, keys: `${String(good.keys)}x` }], ['etags left over', { ...good, etags: `${String(good.etags)}x` }],
      ['an unknown node', { ...good, fields: withField(0, (view) => view.setUint32(8, 9, true)) }],
      ['a clock that is not a number', { ...good, fields: withField(0, (view) => view.setFloat64(24, Number.NaN, true)) }],
      ['a fractional clock counter', { ...good, fields: withField(0, (view) => view.setFloat64(16, 0.5, true)) }],
      ['a negative size', { ...good, fields: withField(0, (view) => view.setFloat64(32, -1, true)) }],
      ['a date that is no date', { ...good, fields: withField(0, (view) => view.setFloat64(40, Number.POSITIVE_INFINITY, true)) }],
      ['rare fields not pairs', { ...good, rare: [[1]] }], ['rare fields of an entry there is not', { ...good, rare: [[2, { versionId: 'v' }]] }],
      ['rare fields of the wrong kind', { ...good, rare: [[1, { versionId: 7 }]] }], ['rare fields not a map', { ...good, rare: [[1, 'v']] }],
    ] as const) {
      expect(unpackListingColumns(bad), why).to.equal(undefined);
    }
  });
});
