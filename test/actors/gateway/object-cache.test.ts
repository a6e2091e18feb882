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

  it('counts uses in a bounded table, never fewer than were made, and halves every count when aged', () => {
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
    sketch.age();
    expect(sketch.frequency('popular')).to.equal(7);
    expect(sketch.frequency('key/4')).to.be.at.most(2);
  });

  it('halves its counts after ten uses per entry it holds, so objects popular a while ago give way', () => {
    const cache = new ObjectCache(3 * 2024, 2000);
    const use = (key: string): void => {
      if (cache.get('b', key) === undefined) cache.offer(meta(key, 1000), Buffer.alloc(1000));
    };
    for (const key of ['a', 'b', 'c']) for (let n = 0; n < 20; n++) use(key);
    expect(cache.stats.entries).to.equal(3);
    // Read as often as the cached ones were, a new object is refused until its count reaches theirs.
    for (let n = 0; n < 6; n++) use('d');
    expect(cache.get('b', 'd')).to.equal(undefined);
    // 10,240 uses later (ten per entry, for at least 1,024 entries), their counts were halved and d's too;
    // a new object read more often than that since is taken in.
    for (let n = 0; n < 10_240; n++) use(`once/${n}`);
    for (let n = 0; n < 9; n++) use('e');
    expect(cache.get('b', 'e')).to.not.equal(undefined);
  });

  it('takes in an object whose count reached the top in place of the least recently used of equals', () => {
    const cache = new ObjectCache(3 * 2024, 2000);
    const use = (key: string): void => {
      if (cache.get('b', key) === undefined) cache.offer(meta(key, 1000), Buffer.alloc(1000));
    };
    for (const key of ['a', 'b', 'c']) for (let n = 0; n < 20; n++) use(key);
    for (let n = 0; n < 14; n++) use('d');
    expect(cache.get('b', 'd'), 'used 14 times against 15').to.equal(undefined);
    use('d');
    expect(cache.get('b', 'd')).to.not.equal(undefined);
    expect(cache.get('b', 'a')).to.equal(undefined);
  });

  it('compares an object with every entry it would push out, not only the least recently used', () => {
    // Room for two entries of 1,000-byte bodies and a small one (each charged its record and 512 bytes too).
    const cache = new ObjectCache(5_000, 2_000);
    const use = (key: string, size: number): void => {
      if (cache.get('b', key) === undefined) cache.offer(meta(key, size), Buffer.alloc(size));
    };
    for (let n = 0; n < 2; n++) use('small', 10);
    for (let n = 0; n < 10; n++) use('x', 1_000);
    for (let n = 0; n < 10; n++) use('y', 1_000);
    expect(cache.stats.entries).to.equal(3);
    // 'large' needs the room of the small entry (used twice) and of x (used ten times): refused.
    for (let n = 0; n < 3; n++) use('large', 1_900);
    expect(cache.get('b', 'large')).to.equal(undefined);
    expect(cache.get('b', 'x')).to.not.equal(undefined);
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
