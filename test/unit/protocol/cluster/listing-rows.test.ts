import { expect } from 'chai';
import type { ListingEntry, ListingPage } from '../../../../src/core/listing.js';
import { decodeCbor, encodeCbor } from '../../../../src/protocol/cluster/cbor.js';
import { packListingPage, unpackListingPage } from '../../../../src/protocol/cluster/listing-rows.js';

const clock = (wallMs: number, node = 'storage_0@h') => ({ wallMs, counter: wallMs % 3, node });

const plain: ListingEntry = { key: 'a/1', clock: clock(10), deleted: false, sizeBytes: 4096, etag: '0123456789abcdef0123456789abcdef', lastModifiedMs: 10 };
const tombstone: ListingEntry = { key: 'a/2', clock: clock(11, 'storage_1@h'), deleted: true, sizeBytes: 0, etag: '', lastModifiedMs: 11 };
const marker: ListingEntry = {
  key: 'a/3', clock: clock(12), deleted: false, deleteMarker: true, sizeBytes: 0, etag: '', lastModifiedMs: 12, versionId: 'v3',
  noncurrent: [{ versionId: 'v2', sizeBytes: 5, etag: 'e2', lastModifiedMs: 9 }, { versionId: 'v1', sizeBytes: 0, etag: '', lastModifiedMs: 8, deleteMarker: true }],
};
const unsettled: ListingEntry = { key: 'é/4', clock: clock(13, 'storage_2@h'), deleted: false, sizeBytes: 1, etag: 'e', lastModifiedMs: 13, unsettled: true, replacedUnknown: true, inFlight: true, previous: plain };
const unsettledFirst: ListingEntry = { key: 'z', clock: clock(14), deleted: false, sizeBytes: 1, etag: 'e', lastModifiedMs: 14, unsettled: true, previous: null };

const viaWire = (value: unknown): unknown => decodeCbor(encodeCbor(value));

describe('protocol/cluster/listing-rows', () => {
  it('carries every field of every kind of entry, gaps and truncation across the wire', () => {
    const page: ListingPage<ListingEntry> = { entries: [plain, tombstone, marker, unsettled, unsettledFirst], truncated: true, gaps: [{ after: 'a/1', until: 'a/2' }, { after: 'z' }] };
    expect(unpackListingPage(viaWire(packListingPage(page)))).to.deep.equal(page);
    const empty: ListingPage<ListingEntry> = { entries: [], truncated: false };
    expect(unpackListingPage(viaWire(packListingPage(empty)))).to.deep.equal(empty);
  });

  it('names each clock node once', () => {
    const packed = packListingPage({ entries: [plain, tombstone, { ...plain, key: 'b' }, unsettled], truncated: false });
    expect(packed.nodes).to.deep.equal(['storage_0@h', 'storage_1@h', 'storage_2@h']);
  });

  it('is smaller than the page as maps', () => {
    const entries = Array.from({ length: 1000 }, (_, i) => ({ ...plain, key: `prefix/${String(i).padStart(6, '0')}` }));
    expect(encodeCbor(packListingPage({ entries, truncated: true })).length).to.be.below(encodeCbor({ entries, truncated: true }).length / 2);
  });

  it('refuses what is not a packed page', () => {
    const good = packListingPage({ entries: [plain], truncated: false }) as unknown as Record<string, unknown>;
    const row = (good.rows as unknown[][])[0]!;
    for (const bad of [
      undefined, null, 'page', [], { ...good, nodes: 'storage_0@h' }, { ...good, nodes: [1] }, { ...good, rows: {} }, { ...good, truncated: 'no' },
      { ...good, gaps: 'none' }, { ...good, rows: [row.slice(0, 7)] }, { ...good, rows: [[...row, {}, 'extra']] }, { ...good, rows: [[1, ...row.slice(1)]] },
      { ...good, rows: [[row[0], '10', ...row.slice(2)]] }, { ...good, rows: [[...row.slice(0, 3), 5, ...row.slice(4)]] }, { ...good, rows: [[...row, 'rare']] },
      { ...good, rows: ['row'] }, { ...good, gaps: [{ until: 'b' }] }, { ...good, gaps: [{ after: 'a', until: 5 }] },
      { ...good, rows: [[...row, { versionId: 7 }]] }, { ...good, rows: [[...row, { noncurrent: [{ versionId: 'v' }] }]] },
      { ...good, rows: [[...row, { previous: { key: 'a' } }]] }, { ...good, rows: [[...row, { previous: { ...plain, clock: { wallMs: 'x' } } }]] },
      { ...good, rows: [[row[0], Number.NaN, ...row.slice(2)]] }, { ...good, rows: [[...row.slice(0, 5), -1, ...row.slice(6)]] },
      { ...good, rows: [[...row.slice(0, 7), Number.POSITIVE_INFINITY]] },
    ]) {
      expect(unpackListingPage(bad), JSON.stringify(bad)).to.equal(undefined);
    }
  });
});
