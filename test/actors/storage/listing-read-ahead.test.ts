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
  let readAhead: ListingReadAhead<ListingPage<ListingEntry>>;

  const meta = (key: string): ObjectMeta => {
    const clockNow = { wallMs: ++wallMs, counter: 0, node: 'a' };
    return { bucket: 'b', key, sizeBytes: 0, etag: '', contentType: '', userMeta: {}, clock: clockNow, lastModifiedMs: clockNow.wallMs, ringChecksum: 0, deleted: false };
  };
  const put = (key: string) => store.apply({ address: { kind: 'object', bucket: 'b', key }, meta: meta(key), keepPrevious: false });
  const key = (i: number): string => `k${String(i).padStart(3, '0')}`;
  const read = (query: ListingQuery) => store.list(query.objectKind, query.bucket, query.fetch, query.markUnsettled, query.withVersions);
  /** A request as a gateway makes it: pages of `wanted` keys, each node asked for one more. */
  const query = (startAt: string, wanted = 10, extra: Partial<ListingQuery['fetch']> = {}): ListingQuery => ({
    objectKind: 'object', bucket: 'b', fetch: { prefix: '', startAt, limit: wanted + 1, ...extra }, markUnsettled: true, withVersions: false, form: 'rows',
  });
  /** Asks, then lets the turn end (the read ahead runs then). */
  const ask = (request: ListingQuery): ListingPage<ListingEntry> => {
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
    readAhead = new ListingReadAhead({ read, pack: (page) => page, contentsMark: () => store.contentsMark, clock, answered: (ahead) => answers.push(ahead) });
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
      expect(page).to.deep.equal(read(request));
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
    expect(page).to.deep.equal(read(next));
    expect(answers.at(-1)).to.equal(false);
  });

  it('answers a request that starts earlier than foreseen from the same read (another node page ended first)', () => {
    ask(query(''));
    ask(query(keyAfter(key(9))));
    const earlier = query(keyAfter(key(14)));
    expect(ask(earlier)).to.deep.equal(read(earlier));
    expect(answers.at(-1)).to.equal(true);
  });

  it('reads again for a request the read ahead cannot tell the end of, or of another walk', () => {
    ask(query(''));
    ask(query(keyAfter(key(9))));
    for (const other of [query(keyAfter(key(19)), 30), { ...query(keyAfter(key(19))), bucket: 'c' }, { ...query(keyAfter(key(19))), withVersions: true }, { ...query(keyAfter(key(19))), form: 'columns' }]) {
      expect(ask(other)).to.deep.equal(read(other));
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

  it('keeps nothing it read while a write was in flight', async () => {
    ask(query(''));
    const written = put(`${key(25)}a`);
    ask(query(keyAfter(key(9))));
    await written;
    const next = query(keyAfter(key(19)));
    expect(ask(next)).to.deep.equal(read(next));
    expect(answers.at(-1)).to.equal(false);
  });
});

describe('store/object-store: contentsMark', () => {
  it('moves when a write begins and again once it has committed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leofs-contents-mark-'));
    const store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, durable: false });
    try {
      const clock = { wallMs: 5, counter: 0, node: 'a' };
      const before = store.contentsMark;
      const write = store.apply({ address: { kind: 'object', bucket: 'b', key: 'k' }, meta: { bucket: 'b', key: 'k', sizeBytes: 0, etag: '', contentType: '', userMeta: {}, clock, lastModifiedMs: 5, ringChecksum: 0, deleted: false }, keepPrevious: false });
      const begun = store.contentsMark;
      expect(begun).to.not.equal(before);
      await write;
      expect(store.contentsMark).to.not.equal(begun);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
