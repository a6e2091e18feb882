import { expect } from 'chai';
import { FrequencySketch } from '../../../src/actors/gateway/cache-admission.js';
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

  it('counts uses in a bounded table, never fewer than were made, and halves every count as it ages', () => {
    const sketch = new FrequencySketch(1024);
    const keys = Array.from({ length: 100 }, (_, i) => `key/${i}`);
    keys.forEach((key, i) => {
      for (let use = 0; use < i % 5; use++) sketch.record(key);
    });
    expect(keys.every((key, i) => sketch.frequency(key) >= i % 5)).to.equal(true);
    expect(keys.filter((key, i) => sketch.frequency(key) === i % 5).length, 'nearly all of 100 keys counted exactly in 1024 slots').to.be.at.least(90);
    // Counts stop at 15.
    for (let use = 0; use < 40; use++) sketch.record('popular');
    expect(sketch.frequency('popular')).to.equal(15);
    // Ten uses per slot later, every count was halved once.
    const small = new FrequencySketch(4);
    for (let use = 0; use < 6; use++) small.record('a');
    expect(small.frequency('a')).to.equal(6);
    for (let use = 0; use < 34; use++) small.record('b');
    expect(small.frequency('a')).to.be.at.most(3);
  });

  it('keeps, when full, only objects used more often than the one they would push out', () => {
    // Room for three entries of 1000-byte bodies.
    const cache = new ObjectCache(3 * 2024, 2000);
    const offerTwice = (key: string): boolean => (cache.offer(meta(key, 1000), Buffer.alloc(1000)), cache.offer(meta(key, 1000), Buffer.alloc(1000)));
    expect(['a', 'b', 'c'].map(offerTwice)).to.deep.equal([true, true, true]);
    // Used as often as the least recently used entry: refused, and nothing is evicted.
    expect(offerTwice('d')).to.equal(false);
    expect(cache.stats.entries).to.equal(3);
    // Used more often: taken in, in place of the least recently used.
    expect(cache.offer(meta('d', 1000), Buffer.alloc(1000))).to.equal(true);
    expect(cache.get('b', 'a')).to.equal(undefined);
    expect(cache.get('b', 'd')).to.not.equal(undefined);
  });

  it('serves part of a loop over more objects than it holds from memory, where a plain LRU serves none', () => {
    const loop = (cache: ObjectCache): number => {
      const keys = Array.from({ length: 40 }, (_, i) => `loop/${i}`);
      let hits = 0;
      for (let turn = 0; turn < 4; turn++) {
        for (const key of keys) {
          if (cache.get('b', key) !== undefined) hits++;
          else cache.offer(meta(key, 1000), Buffer.alloc(1000));
        }
      }
      return hits;
    };
    // Room for ten of the forty.
    expect(loop(lru(10 * 2024, 2000))).to.equal(0);
    expect(loop(new ObjectCache(10 * 2024, 2000))).to.be.at.least(15);
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
