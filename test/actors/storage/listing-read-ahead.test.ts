import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListingReadAhead, nextOfWalk, type ListingQuery } from '../../../src/actors/storage/listing-read-ahead.js';
import { keyAfter } from '../../../src/core/key-order.js';
import type { ListingEntry, ListingPage } from '../../../src/core/listing.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore } from '../../../src/store/object-store.js';

describe('storage/listing-read-ahead', () => {
  let dir: string;
  let store: ObjectStore;
  let clock: ManualClock;
  let wallMs: number;
  let answers: boolean[];
  /** An answer names the request it was packed for, so that one packed for another shows. */
  type Answer = ListingPage<ListingEntry> & { readonly packedFor: string };
  let readAhead: ListingReadAhead<Answer>;

  const meta = (key: string): ObjectMeta => {
    const clockNow = { wallMs: ++wallMs, counter: 0, node: 'a' };
    return { bucket: 'b', key, sizeBytes: 0, etag: '', contentType: '', userMeta: {}, clock: clockNow, lastModifiedMs: clockNow.wallMs, ringChecksum: 0, deleted: false };
  };
  const put = (key: string) => store.apply({ address: { kind: 'object', bucket: 'b', key }, meta: meta(key), keepPrevious: false });
  const key = (i: number): string => `k${String(i).padStart(3, '0')}`;
  const read = (query: ListingQuery) => store.list(query.objectKind, query.bucket, query.fetch, query.markUnsettled, query.withVersions);
  const pack = (page: ListingPage<ListingEntry>, query: ListingQuery): Answer => ({ ...page, packedFor: `${query.form} ${query.fetch.prefix} ${query.fetch.startAt} ${query.fetch.limit}` });
  /** What a read of the store answers now. */
  const fresh = (query: ListingQuery): Answer => pack(read(query), query);
  /** A request as a gateway makes it: pages of `wanted` keys, each node asked for one more. */
  const query = (startAt: string, wanted = 10, extra: Partial<ListingQuery['fetch']> = {}): ListingQuery => ({
    objectKind: 'object', bucket: 'b', fetch: { prefix: '', startAt, limit: wanted + 1, ...extra }, markUnsettled: true, withVersions: false, form: 'columns',
  });
  /** Asks, then lets the turn end (the read ahead runs then). */
  const ask = (request: ListingQuery): Answer => {
    const page = readAhead.answer(request);
    clock.advance(1);
    return page;
  };
  const keysOf = (page: ListingPage<ListingEntry>): string[] => page.entries.map((entry) => entry.key);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-read-ahead-'));
    store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, durable: false });
    clock = new ManualClock();
    wallMs = 1000;
    answers = [];
    readAhead = new ListingReadAhead({ read, pack, contentsMark: () => store.contentsMark, clock, answered: (ahead) => answers.push(ahead) });
    for (let i = 0; i < 50; i++) await put(key(i));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the pages of a walk from what it read ahead, each as a read of the store answers it', () => {
    let request = query('');
    const walked: string[] = [];
    for (;;) {
      const page = ask(request);
      expect(page).to.deep.equal(fresh(request));
      walked.push(...keysOf(page).slice(0, 10));
      if (!page.truncated) break;
      request = query(keyAfter(page.entries[9]!.key));
    }
    expect(walked).to.deep.equal(Array.from({ length: 50 }, (_, i) => key(i)));
    // The first page reads nothing ahead; the second is the first a walk is known by.
    expect(answers).to.deep.equal([false, false, true, true, true]);
  });

  it('reads again once the store changed, and the page holds the change', async () => {
    ask(query(''));
    ask(query(keyAfter(key(9))));
    await put(`${key(25)}a`);
    await store.apply({ address: { kind: 'object', bucket: 'b', key: key(27) }, meta: { ...meta(key(27)), deleted: true }, keepPrevious: false });
    const next = query(keyAfter(key(19)));
    const page = ask(next);
    expect(keysOf(page)).to.include(`${key(25)}a`);
    expect(page).to.deep.equal(fresh(next));
    expect(answers.at(-1)).to.equal(false);
  });

  it('answers a request that starts earlier than foreseen from the same read (another node page ended first)', () => {
    ask(query(''));
    ask(query(keyAfter(key(9))));
    const earlier = query(keyAfter(key(14)));
    expect(ask(earlier)).to.deep.equal(fresh(earlier));
    expect(answers.at(-1)).to.equal(true);
  });

  it('reads again for a request the read ahead cannot tell the end of, or of another walk', () => {
    ask(query(''));
    ask(query(keyAfter(key(9))));
    const others: ListingQuery[] = [query(keyAfter(key(19)), 30), { ...query(keyAfter(key(19))), bucket: 'c' }, { ...query(keyAfter(key(19))), withVersions: true }, { ...query(keyAfter(key(19))), form: 'rows' }, { ...query(keyAfter(key(19))), markUnsettled: false }, { ...query(keyAfter(key(19))), objectKind: 'chunk' }];
    for (const other of others) {
      expect(ask(other)).to.deep.equal(fresh(other));
      expect(answers.at(-1)).to.equal(false);
    }
  });

  it('reads nothing ahead for a first page, a listing by delimiter or a last page', () => {
    const first = readAhead.answer(query(''));
    expect(first.truncated).to.equal(true);
    expect(clock.pendingTimers).to.equal(0);
    readAhead.answer(query(keyAfter(key(9)), 10, { delimiter: '/' }));
    expect(clock.pendingTimers).to.equal(0);
    const last = readAhead.answer(query(keyAfter(key(44))));
    expect(last.truncated).to.equal(false);
    expect(clock.pendingTimers).to.equal(0);
    expect(nextOfWalk(query(keyAfter(key(9))), { entries: [], truncated: false })).to.equal(undefined);
  });

  it('forgets a read ahead no request came for in ten seconds', () => {
    ask(query(''));
    ask(query(keyAfter(key(9))));
    clock.advance(10_001);
    ask(query(keyAfter(key(19))));
    expect(answers.at(-1)).to.equal(false);
  });

  it('answers from the same read a round that goes on past the last entry of the node page', () => {
    ask(query(''));
    ask(query(keyAfter(key(9))));
    const pastLast = query(keyAfter(key(20)));
    expect(ask(pastLast)).to.deep.equal(fresh(pastLast));
    expect(answers.at(-1)).to.equal(true);
  });

  it('walks a prefix as a read of the store does, keys outside it left out', async () => {
    for (let i = 0; i < 25; i++) await put(`p/${key(i)}`);
    await put('q');
    const under = (startAt: string): ListingQuery => ({ ...query(startAt, 5), fetch: { prefix: 'p/', startAt, limit: 6 } });
    let request = under('p/');
    const walked: string[] = [];
    for (;;) {
      const page = ask(request);
      expect(page).to.deep.equal(fresh(request));
      walked.push(...keysOf(page).slice(0, 5));
      if (!page.truncated) break;
      request = under(keyAfter(page.entries[4]!.key));
    }
    expect(walked).to.deep.equal(Array.from({ length: 25 }, (_, i) => `p/${key(i)}`));
    expect(answers).to.deep.equal([false, false, true, true, true]);
  });

  it('reads nothing ahead for a second after a read ahead was lost to a write', async () => {
    ask(query(''));
    ask(query(keyAfter(key(9))));
    await put(`${key(25)}a`);
    // Timers pending now: the one that drops the run lost to the write once its time is up.
    const pending = clock.pendingTimers;
    readAhead.answer(query(keyAfter(key(19))));
    expect(answers.at(-1)).to.equal(false);
    expect(clock.pendingTimers).to.equal(pending);
    clock.advance(1_000);
    readAhead.answer(query(keyAfter(key(29))));
    expect(clock.pendingTimers).to.equal(pending + 1);
  });

  it('keeps nothing it read while a write was in flight', async () => {
    ask(query(''));
    const written = put(`${key(25)}a`);
    ask(query(keyAfter(key(9))));
    await written;
    const next = query(keyAfter(key(19)));
    expect(ask(next)).to.deep.equal(fresh(next));
    expect(answers.at(-1)).to.equal(false);
  });
});
