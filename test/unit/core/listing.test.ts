import { expect } from 'chai';
import type { Hlc } from '../../../src/core/hlc.js';
import { compareHlc } from '../../../src/core/hlc.js';
import {
  collectPage, commonPrefixOf, startListing, stepListing, type ListingEntry, type ListingFetch, type ListingPage, type ListingRequest,
  type ListingResult, type ListingState,
} from '../../../src/core/listing.js';
import { randomInt, seededRandom } from './seeded-random.js';

/** UTF-8 byte order, computed independently of the code under test. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

type Node = readonly ListingEntry[];

function entry(key: string, wallMs: number, options: { deleted?: boolean; node?: string; counter?: number } = {}): ListingEntry {
  const clock: Hlc = { wallMs, counter: options.counter ?? 0, node: options.node ?? 's0' };
  return { key, clock, deleted: options.deleted ?? false, sizeBytes: key.length, etag: `${key}@${wallMs}`, lastModifiedMs: wallMs };
}

function node(...entries: ListingEntry[]): Node {
  return [...entries].sort((a, b) => byteOrder(a.key, b.key));
}

/**
 * A storage node answering from its sorted index as the store does, jumping over common prefixes when
 * the fetch has a delimiter; `limit` lets a test shrink pages below the asked limit.
 */
function servePage(data: Node, fetch: ListingFetch, limit: number): ListingPage {
  return collectPage({ ...fetch, limit }, (from) => entriesFrom(data, from));
}

function* entriesFrom(data: Node, from: string): Generator<ListingEntry> {
  let low = 0;
  let high = data.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (byteOrder(data[mid]!.key, from) < 0) low = mid + 1;
    else high = mid;
  }
  for (let i = low; i < data.length; i++) yield data[i]!;
}

interface Run {
  readonly result: ListingResult;
  readonly rounds: number;
  readonly servedEntries: number;
}

function runListing(nodes: readonly Node[], request: ListingRequest, capOf: (fetch: ListingFetch) => number = (f) => f.limit): Run {
  let state: ListingState = startListing(request);
  let rounds = 0;
  let servedEntries = 0;
  while (state.phase === 'fetch') {
    rounds++;
    if (rounds > 100_000) throw new Error('listing does not terminate');
    const { fetch } = state;
    const pages = nodes.map((data) => servePage(data, fetch, Math.max(1, Math.min(fetch.limit, capOf(fetch)))));
    servedEntries += pages.reduce((sum, p) => sum + p.entries.length, 0);
    state = stepListing(state, pages);
  }
  return { result: state.result, rounds, servedEntries };
}

/** The whole data set, merged, filtered, grouped and sorted at once. */
function referenceListing(nodes: readonly Node[], request: ListingRequest): ListingResult {
  const prefix = request.prefix ?? '';
  const delimiter = request.delimiter || undefined;
  const newest = new Map<string, ListingEntry>();
  for (const data of nodes) {
    for (const e of data) {
      const seen = newest.get(e.key);
      if (seen === undefined || compareHlc(e.clock, seen.clock) > 0) newest.set(e.key, e);
    }
  }
  const items = new Map<string, ListingEntry | undefined>();
  for (const [key, e] of newest) {
    if (!key.startsWith(prefix) || (e.deleted && request.includeTombstones !== true)) continue;
    const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
    if (cut < 0) items.set(key, e);
    else items.set(key.slice(0, cut + delimiter!.length), undefined);
  }
  const ordered = [...items.keys()]
    .filter((item) => request.marker === undefined || byteOrder(item, request.marker) > 0)
    .sort(byteOrder);
  const taken = ordered.slice(0, request.maxKeys);
  const isTruncated = ordered.length > request.maxKeys;
  return {
    contents: taken.filter((item) => items.get(item) !== undefined).map((item) => items.get(item)!),
    commonPrefixes: taken.filter((item) => items.get(item) === undefined),
    isTruncated,
    ...(isTruncated && taken.length > 0 ? { nextMarker: taken[taken.length - 1]! } : {}),
  };
}

const keysOf = (r: ListingResult): string[] => r.contents.map((e) => e.key);

describe('core/listing', () => {
  describe('merging replicas', () => {
    const a = node(entry('doc1', 10), entry('doc2', 30, { node: 'a' }), entry('doc4', 10));
    const b = node(entry('doc2', 20), entry('doc3', 10), entry('doc4', 40, { deleted: true }));
    const c = node(entry('doc1', 10), entry('doc3', 50, { node: 'c' }), entry('doc5', 5));

    it('keeps the newest version of each key and drops deleted keys', () => {
      const { result } = runListing([a, b, c], { maxKeys: 1000 });
      expect(result.contents.map((e) => e.etag)).to.deep.equal(['doc1@10', 'doc2@30', 'doc3@50', 'doc5@5']);
      expect(result.commonPrefixes).to.deep.equal([]);
      expect(result.isTruncated).to.equal(false);
      expect(result).to.not.have.property('nextMarker');
    });

    it('lets a newer write win over an older tombstone', () => {
      const older = node(entry('k', 10, { deleted: true }));
      const newer = node(entry('k', 11));
      expect(keysOf(runListing([older, newer], { maxKeys: 10 }).result)).to.deep.equal(['k']);
      expect(keysOf(runListing([newer, node(entry('k', 12, { deleted: true }))], { maxKeys: 10 }).result)).to.deep.equal([]);
    });

    it('breaks equal clocks by node name', () => {
      const x = node(entry('k', 10, { node: 'storage_a' }));
      const y = node({ ...entry('k', 10, { node: 'storage_b' }), etag: 'from-b' });
      expect(runListing([x, y], { maxKeys: 10 }).result.contents[0]!.etag).to.equal('from-b');
      expect(runListing([y, x], { maxKeys: 10 }).result.contents[0]!.etag).to.equal('from-b');
    });

    it('hands every node\u2019s entry for a key to the chooser, which may pick any or none', () => {
      const seen: string[] = [];
      let state: ListingState = startListing({ maxKeys: 10 });
      const pages = [a, b, c].map((data) => ({ entries: data, truncated: false }));
      state = stepListing(state, pages, (versions) => {
        seen.push(`${versions[0]!.entry.key}:${versions.map(({ page }) => page).sort().join('')}`);
        if (versions[0]!.entry.key === 'doc3') return undefined;
        return versions.map(({ entry }) => entry).reduce((oldest, e) => (compareHlc(e.clock, oldest.clock) < 0 ? e : oldest));
      });
      expect(seen).to.deep.equal(['doc1:02', 'doc2:01', 'doc3:12', 'doc4:01', 'doc5:2']);
      expect(state.phase === 'done' && state.result.contents.map((e) => e.etag)).to.deep.equal(['doc1@10', 'doc2@20', 'doc4@10', 'doc5@5']);
    });

    it('can return tombstones for repair listings', () => {
      const { result } = runListing([a, b, c], { maxKeys: 1000, includeTombstones: true });
      expect(result.contents.map((e) => [e.key, e.deleted])).to.deep.equal([
        ['doc1', false], ['doc2', false], ['doc3', false], ['doc4', true], ['doc5', false],
      ]);
    });

    it('pages with max-keys 1 through the same sequence', () => {
      const seen: string[] = [];
      let marker: string | undefined;
      for (;;) {
        const { result } = runListing([a, b, c], { maxKeys: 1, ...(marker === undefined ? {} : { marker }) });
        seen.push(...keysOf(result));
        expect(result.contents.length).to.be.at.most(1);
        if (!result.isTruncated) break;
        marker = result.nextMarker;
        expect(marker).to.equal(seen[seen.length - 1]);
      }
      expect(seen).to.deep.equal(['doc1', 'doc2', 'doc3', 'doc5']);
    });
  });

  describe('prefixes and delimiters', () => {
    const data = node(
      entry('a.txt', 1), entry('photos/2023/x.jpg', 1), entry('photos/2024/y.jpg', 1), entry('photos/2024/z.jpg', 1),
      entry('photos/index.html', 1), entry('photos/', 1), entry('photosynthesis', 1), entry('videos/v.mp4', 1),
      entry('gone/only.txt', 9, { deleted: true }),
    );

    it('rolls keys up to common prefixes at the first delimiter after the prefix', () => {
      const { result } = runListing([data], { maxKeys: 1000, delimiter: '/' });
      expect(keysOf(result)).to.deep.equal(['a.txt', 'photosynthesis']);
      // A prefix whose every key is deleted does not appear.
      expect(result.commonPrefixes).to.deep.equal(['photos/', 'videos/']);
    });

    it('lists one level under a prefix', () => {
      const { result } = runListing([data], { maxKeys: 1000, prefix: 'photos/', delimiter: '/' });
      expect(keysOf(result)).to.deep.equal(['photos/', 'photos/index.html']);
      expect(result.commonPrefixes).to.deep.equal(['photos/2023/', 'photos/2024/']);
    });

    it('lists a prefix without a delimiter', () => {
      const { result } = runListing([data], { maxKeys: 1000, prefix: 'photos' });
      expect(keysOf(result)).to.deep.equal([
        'photos/', 'photos/2023/x.jpg', 'photos/2024/y.jpg', 'photos/2024/z.jpg', 'photos/index.html', 'photosynthesis',
      ]);
    });

    it('accepts any delimiter string, and treats an empty one as none', () => {
      const dashed = node(entry('a--b--c', 1), entry('a--d', 1), entry('a-e', 1), entry('b', 1));
      const { result } = runListing([dashed], { maxKeys: 1000, delimiter: '--' });
      expect(keysOf(result)).to.deep.equal(['a-e', 'b']);
      expect(result.commonPrefixes).to.deep.equal(['a--']);
      expect(keysOf(runListing([dashed], { maxKeys: 1000, delimiter: '' }).result)).to.have.length(4);
      expect(commonPrefixOf('a--b--c', 'a--', '--')).to.equal('a--b--');
      expect(commonPrefixOf('a--b', 'a--b', '--')).to.equal(undefined);
    });

    it('counts keys and common prefixes together against max-keys', () => {
      const { result } = runListing([data], { maxKeys: 3, delimiter: '/' });
      expect(keysOf(result)).to.deep.equal(['a.txt', 'photosynthesis']);
      expect(result.commonPrefixes).to.deep.equal(['photos/']);
      expect(result.isTruncated).to.equal(true);
      expect(result.nextMarker).to.equal('photosynthesis');
      const again = runListing([data], { maxKeys: 2, delimiter: '/' }).result;
      expect(again.isTruncated).to.equal(true);
      expect(again.nextMarker).to.equal('photos/');
      const rest = runListing([data], { maxKeys: 1000, delimiter: '/', marker: 'photos/' }).result;
      expect(keysOf(rest)).to.deep.equal(['photosynthesis']);
      expect(rest.commonPrefixes).to.deep.equal(['videos/']);
    });

    it('does not return a common prefix again after a marker inside it', () => {
      const { result } = runListing([data], { maxKeys: 1000, delimiter: '/', marker: 'photos/2023/x.jpg' });
      expect(keysOf(result)).to.deep.equal(['photosynthesis']);
      expect(result.commonPrefixes).to.deep.equal(['videos/']);
    });

    it('orders by UTF-8 bytes, as S3 and the storage index do', () => {
      const unicode = node(entry('\uffff', 1), entry('😀', 1), entry('é', 1), entry('z', 1));
      expect(keysOf(runListing([unicode], { maxKeys: 1000 }).result)).to.deep.equal(['z', 'é', '\uffff', '😀']);
      expect(keysOf(runListing([unicode], { maxKeys: 1000, marker: '\uffff' }).result)).to.deep.equal(['😀']);
    });
  });

  describe('truncated pages', () => {
    it('decides nothing past the last key of a truncated page', () => {
      const a = node(entry('k01', 1), entry('k02', 1), entry('k03', 1), entry('k04', 1));
      const b = node(entry('k02x', 1), entry('k05', 1));
      let state: ListingState = startListing({ maxKeys: 10 });
      expect(state.phase === 'fetch' && state.fetch).to.deep.equal({ prefix: '', startAt: '', limit: 11 });
      if (state.phase !== 'fetch') throw new Error('expected a fetch');
      state = stepListing(state, [servePage(a, state.fetch, 2), servePage(b, state.fetch, 10)]);
      if (state.phase !== 'fetch') throw new Error('expected another fetch');
      // k02x and k05 are known but k03 may precede them: only k01, k02 are decided.
      expect(keysOf({ ...state.progress, isTruncated: false })).to.deep.equal(['k01', 'k02']);
      expect(state.fetch.startAt).to.equal('k02\u0000');
      expect(state.fetch.limit).to.equal(9);
      state = stepListing(state, [servePage(a, state.fetch, 10), servePage(b, state.fetch, 10)]);
      expect(state.phase).to.equal('done');
      if (state.phase === 'done') expect(keysOf(state.result)).to.deep.equal(['k01', 'k02', 'k02x', 'k03', 'k04', 'k05']);
    });

    it('says it is truncated only when another item exists', () => {
      const a = node(entry('a', 1), entry('b', 1), entry('c', 1, { deleted: true }), entry('d', 1, { deleted: true }));
      const exact = runListing([a], { maxKeys: 2 }, () => 2);
      expect(exact.result.isTruncated).to.equal(false);
      expect(keysOf(exact.result)).to.deep.equal(['a', 'b']);
      expect(exact.rounds).to.be.greaterThan(1);
      const more = runListing([node(...a, entry('e', 1))], { maxKeys: 2 }, () => 2);
      expect(more.result.isTruncated).to.equal(true);
      expect(more.result.nextMarker).to.equal('b');
    });

    it('skips every key under a returned common prefix instead of scanning it', () => {
      const entries: ListingEntry[] = [entry('aaa', 1), entry('zzz', 1)];
      for (let i = 0; i < 10_000; i++) entries.push(entry(`big/${String(i).padStart(5, '0')}`, 1));
      const replicas = [node(...entries), node(...entries), node(...entries)];
      const run = runListing(replicas, { maxKeys: 1000, delimiter: '/' });
      expect(keysOf(run.result)).to.deep.equal(['aaa', 'zzz']);
      expect(run.result.commonPrefixes).to.deep.equal(['big/']);
      expect(run.servedEntries).to.be.below(3 * 1001 * 2);

      const small = runListing(replicas, { maxKeys: 2, delimiter: '/' }, () => 3);
      expect(small.result.commonPrefixes).to.deep.equal(['big/']);
      expect(small.result.isTruncated).to.equal(true);
      expect(small.servedEntries).to.be.below(30);
      expect(small.rounds).to.be.below(5);
    });

    it('lets each node jump over a common prefix once it lists a live key under it', () => {
      const entries: ListingEntry[] = [entry('a/0', 1, { deleted: true })];
      for (let p = 0; p < 3; p++) for (let i = 1; i <= 50; i++) entries.push(entry(`${'abc'[p]}/${i}`, 1));
      const page = collectPage({ prefix: '', startAt: '', limit: 10, delimiter: '/' }, (from) => entriesFrom(node(...entries), from));
      // The tombstone does not roll its prefix up on its own; the first live key does.
      expect(page.entries.map((e) => e.key)).to.deep.equal(['a/0', 'a/1', 'b/1', 'c/1']);
      expect(page.gaps).to.deep.equal([{ after: 'a/1', until: 'a0' }, { after: 'b/1', until: 'b0' }, { after: 'c/1', until: 'c0' }]);
      expect(page.truncated).to.equal(false);

      const many: ListingEntry[] = [];
      for (let p = 0; p < 1200; p++) for (let i = 0; i < 10; i++) many.push(entry(`p${String(p).padStart(4, '0')}/${i}`, 1));
      const replica = node(...many);
      const run = runListing([replica, replica, replica], { maxKeys: 1000, delimiter: '/' });
      expect(run.result.commonPrefixes).to.have.length(1000);
      expect(run.result.isTruncated).to.equal(true);
      expect(run.rounds).to.equal(1);
      expect(run.servedEntries).to.equal(3 * 1001);
    });

    it('decides a key some node jumped over by listing it plainly on every node', () => {
      // Each replica missed the other's delete: neither key is live, so no common prefix is listed.
      const a = node(entry('x/1', 5, { deleted: true }), entry('x/2', 1), entry('y', 1));
      const b = node(entry('x/1', 1), entry('x/2', 5, { deleted: true }), entry('y', 1));
      const fetches: ListingFetch[] = [];
      let state: ListingState = startListing({ maxKeys: 10, delimiter: '/' });
      while (state.phase === 'fetch') {
        const { fetch } = state;
        fetches.push(fetch);
        state = stepListing(state, [a, b].map((data) => servePage(data, fetch, fetch.limit)));
      }
      expect(state.result.commonPrefixes).to.deep.equal([]);
      expect(keysOf(state.result)).to.deep.equal(['y']);
      expect(fetches.map((f) => [f.startAt, f.delimiter])).to.deep.equal([['', '/'], ['x/2', undefined]]);
    });

    it('refuses gaps that overlap or are out of order', () => {
      const state = startListing({ maxKeys: 10, delimiter: '/' });
      const entries = [entry('a/1', 1), entry('b/1', 1)];
      expect(() => stepListing(state, [{ entries, truncated: false, gaps: [{ after: 'b/1', until: 'b0' }, { after: 'a/1', until: 'a0' }] }])).to.throw(RangeError);
      expect(() => stepListing(state, [{ entries, truncated: false, gaps: [{ after: 'a/1' }, { after: 'b/1', until: 'b0' }] }])).to.throw(RangeError);
      expect(() => stepListing(state, [{ entries, truncated: false, gaps: [{ after: 'b0', until: 'b/1' }] }])).to.throw(RangeError);
    });

    it('skips a prefix the marker is inside of without scanning it', () => {
      const entries: ListingEntry[] = [entry('zzz', 1)];
      for (let i = 0; i < 5000; i++) entries.push(entry(`big/${String(i).padStart(5, '0')}`, 1));
      const run = runListing([node(...entries)], { maxKeys: 10, delimiter: '/', marker: 'big/00001' }, () => 4);
      expect(keysOf(run.result)).to.deep.equal(['zzz']);
      expect(run.result.commonPrefixes).to.deep.equal([]);
      expect(run.servedEntries).to.be.below(20);
    });
  });

  describe('edges', () => {
    it('returns nothing for max-keys 0 without fetching', () => {
      const state = startListing({ maxKeys: 0 });
      expect(state).to.deep.equal({ phase: 'done', result: { contents: [], commonPrefixes: [], isTruncated: false } });
    });

    it('ends without fetching when the marker is past the prefix', () => {
      expect(startListing({ maxKeys: 5, prefix: 'photos/', marker: 'zebra' }).phase).to.equal('done');
      const inside = startListing({ maxKeys: 5, prefix: 'photos/', marker: 'photos/b' });
      expect(inside.phase === 'fetch' && inside.fetch.startAt).to.equal('photos/b\u0000');
      const before = startListing({ maxKeys: 5, prefix: 'photos/', marker: 'a' });
      expect(before.phase === 'fetch' && before.fetch.startAt).to.equal('photos/');
    });

    it('handles no nodes and empty nodes', () => {
      expect(runListing([], { maxKeys: 5 }).result).to.deep.equal({ contents: [], commonPrefixes: [], isTruncated: false });
      expect(runListing([node(), node()], { maxKeys: 5 }).result.isTruncated).to.equal(false);
    });

    it('refuses malformed pages and requests', () => {
      const state = startListing({ maxKeys: 5 });
      expect(() => stepListing(state, [{ entries: [entry('b', 1), entry('a', 1)], truncated: false }])).to.throw(RangeError, /sorted/);
      expect(() => stepListing(state, [{ entries: [entry('a', 1), entry('a', 2)], truncated: false }])).to.throw(RangeError, /sorted/);
      expect(() => stepListing(state, [{ entries: [], truncated: true }])).to.throw(RangeError, /at least one/);
      expect(() => startListing({ maxKeys: -1 })).to.throw(RangeError);
      const later = startListing({ maxKeys: 5, marker: 'm' });
      expect(() => stepListing(later, [{ entries: [entry('a', 1)], truncated: true }])).to.throw(RangeError, /before/);
    });

    it('leaves a finished state alone', () => {
      const done = startListing({ maxKeys: 0 });
      expect(stepListing(done, [{ entries: [entry('a', 1)], truncated: false }])).to.equal(done);
    });
  });

  describe('against a brute-force reference on random data', () => {
    const ALPHABET = ['a', 'b', '/', '-', 'é', '\uffff', '😀'];
    const PREFIXES = ['', 'a', 'a/', 'b-', '😀', 'zz'];
    const DELIMITERS = [undefined, '/', '-', 'a/', '😀'];
    const MAX_KEYS = [1, 2, 3, 7, 1000];

    function randomKey(next: () => number): string {
      let key = '';
      for (let i = 1 + randomInt(next, 6); i > 0; i--) key += ALPHABET[randomInt(next, ALPHABET.length)]!;
      return key;
    }

    function randomCluster(next: () => number): Node[] {
      const nodeCount = 1 + randomInt(next, 5);
      const data: ListingEntry[][] = Array.from({ length: nodeCount }, () => []);
      // Two versions never share a clock: a coordinator stamps each write with a fresh one.
      let counter = 0;
      for (let k = randomInt(next, 120); k > 0; k--) {
        const key = randomKey(next);
        for (let n = 0; n < nodeCount; n++) {
          if (data[n]!.some((e) => e.key === key) || next() < 0.4) continue;
          data[n]!.push(entry(key, 1 + randomInt(next, 4), { deleted: next() < 0.3, node: `s${randomInt(next, 3)}`, counter: counter++ }));
        }
      }
      return data.map((entries) => node(...entries));
    }

    it('returns what sorting the whole data set returns', () => {
      const seed = 20240601;
      const next = seededRandom(seed);
      for (let trial = 0; trial < 600; trial++) {
        const nodes = randomCluster(next);
        const request: ListingRequest = {
          maxKeys: MAX_KEYS[randomInt(next, MAX_KEYS.length)]!,
          prefix: PREFIXES[randomInt(next, PREFIXES.length)]!,
          ...(next() < 0.7 ? { delimiter: DELIMITERS[randomInt(next, DELIMITERS.length)]! } : {}),
          ...(next() < 0.3 ? { marker: randomKey(next) } : {}),
          ...(next() < 0.1 ? { includeTombstones: true } : {}),
        };
        const caps = nodes.map(() => 1 + randomInt(next, 4));
        let call = 0;
        const { result } = runListing(nodes, request, () => caps[call++ % caps.length]!);
        expect(result, `seed ${seed} trial ${trial} ${JSON.stringify(request)}`).to.deep.equal(referenceListing(nodes, request));
      }
    });

    it('pages through everything by following nextMarker', () => {
      const seed = 77;
      const next = seededRandom(seed);
      for (let trial = 0; trial < 150; trial++) {
        const nodes = randomCluster(next);
        const prefix = PREFIXES[randomInt(next, PREFIXES.length)]!;
        const delimiter = DELIMITERS[randomInt(next, DELIMITERS.length)];
        const base = { prefix, ...(delimiter === undefined ? {} : { delimiter }) };
        const everything = referenceListing(nodes, { ...base, maxKeys: 1_000_000 });
        const keys: string[] = [];
        const commonPrefixes: string[] = [];
        let marker: string | undefined;
        for (let page = 0; ; page++) {
          expect(page, `seed ${seed} trial ${trial}`).to.be.below(1000);
          const { result } = runListing(nodes, { ...base, maxKeys: 1 + randomInt(next, 3), ...(marker === undefined ? {} : { marker }) }, () => 2);
          keys.push(...keysOf(result));
          commonPrefixes.push(...result.commonPrefixes);
          if (!result.isTruncated) break;
          marker = result.nextMarker;
        }
        expect(keys, `seed ${seed} trial ${trial}`).to.deep.equal(keysOf(everything));
        expect(commonPrefixes, `seed ${seed} trial ${trial}`).to.deep.equal(everything.commonPrefixes);
      }
    });
  });
});
