/**
 * Read-ahead for clients walking a bucket page by page. Once a node has answered one page of a walk,
 * the next request is nearly known: it starts just after the last key the client was given, at the
 * latest just after the one before the last of this node's page (a node lists one entry more than is
 * wanted, to tell that more follow), earlier when another node's page ended first. The node reads the
 * page that follows its own while the gateway merges and the client reads the current one, so the
 * next request finds its answer ready instead of waiting for the read.
 *
 * What is kept is a run: the entries of the page answered and of the page read after it, the exact
 * scan of the store from the first request's start on. A request of the same walk that starts inside
 * the run and finds enough entries in it is answered from it; the request that was foreseen exactly
 * gets the answer packed ahead. A run serves only while the store's contents have not moved since it
 * was read (ObjectStore.contentsMark): any write in between, to any key, and the page is read again.
 * Nothing is read ahead while a write is in flight, nor for a while after a run was lost to a write:
 * on a node taking writes a run rarely lives to be used, and each would cost a read for nothing.
 *
 * Only walks get one: the first page of a listing (most listings have one page) reads nothing ahead,
 * nor does a listing by delimiter, whose next start depends on the common prefixes the gateway rolled
 * up, nor one asking for more than a client's page.
 */
import type { ListingEntry, ListingFetch, ListingPage } from '../../core/listing.js';
import { compareKeys, keyAfter } from '../../core/key-order.js';
import type { ObjectKind } from '../../core/object-meta.js';
import type { Clock, TimerHandle } from '../../runtime/clock.js';

/** How a node's page is answered (protocol/cluster/storage.ts): answers in different forms are not interchangeable. */
export type ListingForm = 'columns' | 'columns+gaps' | 'packed' | 'rows';

/** One node's listing request, as the router takes it. */
export interface ListingQuery {
  readonly objectKind: ObjectKind;
  readonly bucket: string;
  readonly fetch: ListingFetch;
  readonly markUnsettled: boolean;
  readonly withVersions: boolean;
  readonly form: ListingForm;
}

export interface ReadAheadDeps<Answer> {
  /** Reads one page from the store. */
  readonly read: (query: ListingQuery) => ListingPage<ListingEntry>;
  /** Packs a page into the answer its form asks for. */
  readonly pack: (page: ListingPage<ListingEntry>, query: ListingQuery) => Answer;
  /** ObjectStore.contentsMark: undefined while a write is in flight. */
  readonly contentsMark: () => number | undefined;
  /** Timers set through it end with the actor that owns the read-ahead. */
  readonly clock: Clock;
  /** Counts each answer: from a run or read when asked. */
  readonly answered?: (readAhead: boolean) => void;
}

/** Walks in progress a node reads ahead for; past this, the run read longest ago is dropped. */
const MAX_RUNS = 16;
/** A run no request came for in this long belongs to a walk that stopped. */
const RUN_TTL_MS = 10_000;
/** After a run was lost to a write, nothing is read ahead for this long. */
const PAUSE_AFTER_LOST_MS = 1_000;
/** The largest request read ahead for: a client's page of 1000 keys, and the one that tells more follow. */
const MAX_READ_AHEAD_LIMIT = 1001;

/** A scan of the store from `query.fetch.startAt` on, as it was at `mark`. */
interface Run<Answer> {
  readonly query: ListingQuery;
  readonly entries: readonly ListingEntry[];
  /** Entries follow the run's last. */
  readonly truncated: boolean;
  readonly mark: number;
  readonly readAtMs: number;
  /** The request foreseen, answered ahead. */
  readonly foreseen: { readonly startAt: string; readonly answer: Answer };
}

export class ListingReadAhead<Answer> {
  private runs: Array<Run<Answer>> = [];
  private pausedUntilMs = -Infinity;
  /** Drops the runs whose time is up on a node left idle: one timer while any run is kept. */
  private expiry: TimerHandle | undefined;

  constructor(private readonly deps: ReadAheadDeps<Answer>) {}

  /** The answer to `query`, from a run when one holds it; a walk's next page is then read ahead. */
  answer(query: ListingQuery): Answer {
    const mark = this.deps.contentsMark();
    const ahead = this.fromRun(query, mark);
    if (ahead !== undefined) {
      this.deps.answered?.(true);
      this.readAheadAfter(query, ahead.page, mark);
      return ahead.answer;
    }
    const page = this.deps.read(query);
    this.deps.answered?.(false);
    this.readAheadAfter(query, page, mark);
    return this.deps.pack(page, query);
  }

  /** The page `query` asks for, cut from a run that holds it (the run is used up). */
  private fromRun(query: ListingQuery, mark: number | undefined): { readonly page: ListingPage<ListingEntry>; readonly answer: Answer } | undefined {
    if (this.runs.length === 0) return undefined;
    this.dropStale(mark);
    for (let at = 0; at < this.runs.length; at++) {
      const run = this.runs[at]!;
      if (!sameWalk(run.query, query) || compareKeys(run.query.fetch.startAt, query.fetch.startAt) > 0) continue;
      const page = pageOf(run, query.fetch);
      if (page === undefined) continue;
      this.runs.splice(at, 1);
      const answer = run.foreseen.startAt === query.fetch.startAt ? run.foreseen.answer : this.deps.pack(page, query);
      return { page, answer };
    }
    return undefined;
  }

  /** After `query` was answered with `page`, read at `mark`: reads the walk's next page, if `query` is part of a walk. */
  private readAheadAfter(query: ListingQuery, page: ListingPage<ListingEntry>, mark: number | undefined): void {
    if (mark === undefined || this.deps.clock.elapsed() < this.pausedUntilMs) return;
    const next = nextOfWalk(query, page);
    if (next === undefined) return;
    // Once this turn of the loop is over, and with it the sending of the current answer.
    this.deps.clock.setTimeout(() => this.readAhead(query, page, next, mark), 0);
  }

  private readAhead(query: ListingQuery, page: ListingPage<ListingEntry>, next: ListingQuery, mark: number): void {
    // A write since the page was read: the run would not be one scan.
    if (this.deps.contentsMark() !== mark) return this.lostToWrite();
    let following: ListingPage<ListingEntry>;
    try {
      // One entry more than the foreseen request wants: a request that starts after the page's last
      // entry (a round that goes on after the merge's bound) finds its page in the run too.
      following = this.deps.read({ ...next, fetch: { ...next.fetch, limit: next.fetch.limit + 1 } });
    } catch {
      // Reading ahead is only a guess; the request itself, if it comes, reads again and answers any failure.
      return;
    }
    if (this.deps.contentsMark() !== mark) return this.lostToWrite();
    this.dropStale(mark);
    if (this.runs.length >= MAX_RUNS) this.runs.shift();
    const readAtMs = this.deps.clock.elapsed();
    // The page's last entry is the next page's first.
    const run = { query, entries: [...page.entries.slice(0, -1), ...following.entries], truncated: following.truncated, mark, readAtMs };
    const foreseen = pageOf(run, next.fetch);
    if (foreseen === undefined) return;
    this.runs.push({ ...run, foreseen: { startAt: next.fetch.startAt, answer: this.deps.pack(foreseen, next) } });
    this.expireLater();
  }

  private expireLater(): void {
    this.expiry ??= this.deps.clock.setTimeout(() => {
      this.expiry = undefined;
      this.dropStale(this.deps.contentsMark());
      if (this.runs.length > 0) this.expireLater();
    }, RUN_TTL_MS + 1);
  }

  /** Drops the runs a write made stale, and those of walks that stopped. */
  private dropStale(mark: number | undefined): void {
    const nowMs = this.deps.clock.elapsed();
    if (this.runs.some((run) => run.mark !== mark)) this.lostToWrite();
    this.runs = this.runs.filter((run) => run.mark === mark && run.readAtMs >= nowMs - RUN_TTL_MS);
  }

  private lostToWrite(): void {
    this.pausedUntilMs = this.deps.clock.elapsed() + PAUSE_AFTER_LOST_MS;
  }
}

/**
 * The request that follows `query` in a walk, when its page was `page` and the client was given all
 * but the page's last entry; undefined when `query` is no walk's (a first page, a listing by
 * delimiter, one larger than a client's page) or the page was its last.
 */
export function nextOfWalk(query: ListingQuery, page: ListingPage<ListingEntry>): ListingQuery | undefined {
  const { fetch } = query;
  if (fetch.delimiter !== undefined || fetch.limit > MAX_READ_AHEAD_LIMIT || !page.truncated || compareKeys(fetch.startAt, fetch.prefix) <= 0) return undefined;
  const given = page.entries[page.entries.length - 2];
  if (given === undefined) return undefined;
  return { ...query, fetch: { prefix: fetch.prefix, startAt: keyAfter(given.key), limit: fetch.limit } };
}

/**
 * What a store read for `fetch` would answer, cut from `run` (whose start is at or before
 * `fetch.startAt`), or undefined when the run ends too soon to tell.
 */
function pageOf(run: Pick<Run<unknown>, 'entries' | 'truncated'>, fetch: ListingFetch): ListingPage<ListingEntry> | undefined {
  const { entries } = run;
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareKeys(entries[middle]!.key, fetch.startAt) < 0) low = middle + 1;
    else high = middle;
  }
  const available = entries.length - low;
  // As the store's page: `limit` entries, truncated when one more follows (in the run or past it), or all that are left.
  if (available >= fetch.limit) return { entries: entries.slice(low, low + fetch.limit), truncated: available > fetch.limit || run.truncated };
  if (run.truncated) return undefined;
  return { entries: entries.slice(low), truncated: false };
}

/** Requests of one walk: all but where they start. */
function sameWalk(a: ListingQuery, b: ListingQuery): boolean {
  return (
    a.objectKind === b.objectKind &&
    a.bucket === b.bucket &&
    a.form === b.form &&
    a.markUnsettled === b.markUnsettled &&
    a.withVersions === b.withVersions &&
    a.fetch.prefix === b.fetch.prefix &&
    a.fetch.limit === b.fetch.limit &&
    a.fetch.delimiter === b.fetch.delimiter
  );
}
