import { expect } from 'chai';
import { SecondOfferAdmission } from '../../../src/actors/gateway/cache-admission.js';
import { ObjectCache, sameVersion } from '../../../src/actors/gateway/object-cache.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { decodeCbor, encodeCbor } from '../../../src/protocol/cluster/cbor.js';
import { manyShortFields, retainedBytesPerItem } from '../../support/retained-heap.js';

function meta(key: string, size: number, counter = 0): ObjectMeta {
  return {
    bucket: 'b', key, sizeBytes: size, etag: `etag-${key}-${counter}`, contentType: 'x', userMeta: {},
    clock: { wallMs: 1, counter, node: 'n' }, lastModifiedMs: 1, ringChecksum: 0, deleted: false,
  };
}

/** A cache that takes every object in on its first offer: what its budget and eviction do, alone. */
function lru(maxBytes: number, maxObjectBytes: number): ObjectCache {
  return new ObjectCache(maxBytes, maxObjectBytes, 0);
}

describe('actors/gateway/object-cache', () => {
  it('takes an object in on its second offer, so one read once passes it by', () => {
    const cache = new ObjectCache(1_000_000, 100);
    expect(cache.offer(meta('once', 10), Buffer.alloc(10))).to.equal(false);
    expect(cache.offer(meta('twice', 10), Buffer.alloc(10))).to.equal(false);
    expect(cache.stats.entries).to.equal(0);
    expect(cache.offer(meta('twice', 10), Buffer.alloc(10))).to.equal(true);
    expect(cache.get('b', 'twice')).to.not.equal(undefined);
    // A new version of a cached object replaces it at once.
    expect(cache.offer(meta('twice', 20, 1), Buffer.alloc(20))).to.equal(true);
    expect(cache.get('b', 'twice')?.meta.sizeBytes).to.equal(20);
    expect(cache.get('b', 'once')).to.equal(undefined);
  });

  it('remembers keys offered once in a bounded table, forgetting one whose slot another takes', () => {
    const admission = new SecondOfferAdmission(1);
    expect(admission.admits('a')).to.equal(false);
    expect(admission.admits('a')).to.equal(true);
    expect(admission.admits('b')).to.equal(false);
    expect(admission.admits('a'), 'b took the only slot').to.equal(false);
    expect(admission.admits('a')).to.equal(true);
    const roomy = new SecondOfferAdmission(1000);
    const keys = Array.from({ length: 100 }, (_, i) => `key/${i}`);
    for (const key of keys) roomy.admits(key);
    expect(keys.filter((key) => roomy.admits(key)).length, 'nearly all of 100 keys in 1024 slots').to.be.at.least(90);
  });

  it('keeps small bodies within its byte budget, evicting the least recently used', () => {
    const cache = lru(3 * (1000 + 1024), 2000);
    for (const key of ['a', 'b', 'c']) cache.offer(meta(key, 1000), Buffer.alloc(1000));
    expect(cache.stats.entries).to.equal(3);
    expect(cache.get('b', 'a')).not.to.equal(undefined);
    cache.offer(meta('d', 1000), Buffer.alloc(1000));
    expect(cache.get('b', 'b')).to.equal(undefined);
    expect(cache.get('b', 'a')).not.to.equal(undefined);
    expect(cache.stats.bytes).to.be.at.most(3 * 2024);
  });

  it('does not keep large, chunked or uncacheable bodies', () => {
    const cache = lru(1_000_000, 100);
    cache.offer(meta('big', 101), Buffer.alloc(101));
    cache.offer({ ...meta('chunked', 10), chunks: { chunkSizesBytes: [10] } }, Buffer.alloc(10));
    expect(cache.stats.entries).to.equal(0);
    const off = lru(0, 100);
    off.offer(meta('x', 1), Buffer.alloc(1));
    expect(off.stats.entries).to.equal(0);
  });

  it('drops entries on invalidate and purge, and keeps the byte count exact', () => {
    const cache = lru(1_000_000, 100);
    cache.offer(meta('a', 10), Buffer.alloc(10));
    cache.offer(meta('a', 20, 1), Buffer.alloc(20));
    const alone = lru(1_000_000, 100);
    alone.offer(meta('a', 20, 1), Buffer.alloc(20));
    expect(cache.stats).to.deep.include({ entries: 1, bytes: alone.stats.bytes });
    expect(alone.stats.bytes, 'its body, its record and the rest').to.be.within(20 + 512 + 200, 20 + 512 + 600);
    cache.invalidate('b', 'a');
    expect(cache.stats).to.deep.include({ entries: 0, bytes: 0 });
    cache.offer(meta('z', 10), Buffer.alloc(10));
    cache.purge();
    expect(cache.stats).to.deep.include({ entries: 0, bytes: 0 });
  });

  it('keeps a body that owns its memory as it is, and copies one sliced from a larger buffer', () => {
    const cache = lru(1_000_000, 100);
    const owned = Buffer.alloc(64, 1);
    cache.offer(meta('owned', 64), owned);
    expect(cache.get('b', 'owned')?.body).to.equal(owned);
    const frame = Buffer.alloc(1000, 2);
    const slice = frame.subarray(100, 164);
    cache.offer(meta('slice', 64), slice);
    const kept = cache.get('b', 'slice')!.body;
    expect(kept.buffer).not.to.equal(frame.buffer);
    expect(kept.byteLength).to.equal(kept.buffer.byteLength);
    expect(Buffer.from(kept).equals(slice)).to.equal(true);
  });

  it('charges a record by its size, user metadata and versions included', () => {
    const cache = lru(1_000_000, 100);
    cache.offer(meta('plain', 4), Buffer.alloc(4));
    const plain = cache.stats.bytes;
    const userMeta = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`name-${i}`, 'v'.repeat(90)]));
    cache.offer({ ...meta('rich', 4), userMeta }, Buffer.alloc(4));
    expect(cache.stats.bytes - plain - plain, '20 values of 90 characters').to.be.above(20 * 90);
  });

  it('keeps records apart from the frames they were decoded from', () => {
    const count = 3000;
    const cache = lru(1_000_000_000, 100);
    const perEntryBytes = retainedBytesPerItem(count, (index) => {
      // A storage node's answer: the record among many short strings, which the decoder may take out as one run.
      const reply = decodeCbor(encodeCbor({ ok: true, meta: meta(`small/${index}`, 4), extra: manyShortFields(index) })) as { meta: ObjectMeta };
      expect(cache.offer(reply.meta, Buffer.alloc(4))).to.equal(true);
    });
    expect(cache.get('b', `small/${count - 1}`)?.meta).to.deep.equal(meta(`small/${count - 1}`, 4));
    // A record, its 4-byte body and its map entry take a few hundred bytes; one that kept its frame's
    // strings alive would take well over a thousand more.
    expect(perEntryBytes).to.be.below(1000);
  });

  it('tells versions apart by clock as well as by content', () => {
    expect(sameVersion(meta('a', 1), meta('a', 1))).to.equal(true);
    expect(sameVersion(meta('a', 1), { ...meta('a', 1), clock: { wallMs: 2, counter: 0, node: 'n' } })).to.equal(false);
    expect(sameVersion(meta('a', 1), { ...meta('a', 1), etag: 'other' })).to.equal(false);
  });
});
