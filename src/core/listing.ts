/**
 * The gateway's side of ListObjects (v1, v2) and ListObjectVersions: merge the sorted pages that the
 * storage nodes return into one S3 page. It is a step function so that each round costs only the
 * pages fetched: the gateway fetches from every node, calls `stepListing`, and fetches again from
 * `state.fetch` until the state is done.
 *
 * Two rules keep the result exact. A node whose page was truncated may hold unseen keys after its
 * last key, so nothing past the smallest such key is decided in that round. And once a common prefix
 * is returned, the next fetch starts after every key under it instead of scanning them.
 *
 * With a delimiter, each node also jumps over a common prefix on its own (`collectPage`): once it has
 * listed a key under the prefix that is live on it, it leaves out the rest of the prefix and says so
 * with a gap. A key inside some node's gap is undecided (that node did not say what it holds for it),
 * so the round stops there and the next round lists plainly from that key. Keys that roll up a prefix
 * are almost always live on every replica, so a delimiter listing reads about one key per prefix.
 */
import type { Hlc } from './hlc.js';
import { beyondBmp, compareBmpKeys, compareKeys, keyAfter, prefixSuccessor } from './key-order.js';
import { newerOf, type ObjectMeta } from './object-meta.js';
import { versionIdOf } from './object-versioning.js';

/** What the merge needs of an entry; the gateway's entries carry whatever else it renders. */
export interface Listable {
  readonly key: string;
  readonly clock: Hlc;
  readonly deleted: boolean;
  /** The key's current version is a delete marker: listed only among versions. */
  readonly deleteMarker?: true;
}

export interface ListingEntry extends Listable {
  readonly sizeBytes: number;
  readonly etag: string;
  readonly lastModifiedMs: number;
  /** Where asked for: the current version's S3 id (absent: the null version) and the older versions, newest first. */
  readonly versionId?: string;
  readonly noncurrent?: readonly ListedVersionSummary[];
  /** Set where asked for: the write of this version may still be undone (its quorum is not decided). */
  readonly unsettled?: true;
  /**
   * With `unsettled`: the version that write replaced on the node (null: none), which an undo restores;
   * absent when that is not known.
   */
  readonly previous?: ListingEntry | null;
  /** With `unsettled`: `previous` is not known to be what that write replaced (it arrived later, or is what an undo left). */
  readonly replacedUnknown?: true;
  /** With `unsettled`: the write was taken so lately that its coordinator may still be sending it to other replicas. */
  readonly inFlight?: true;
}

/** An older version of a listed key. */
export interface ListedVersionSummary {
  readonly versionId: string;
  readonly sizeBytes: number;
  readonly etag: string;
  readonly lastModifiedMs: number;
  readonly deleteMarker?: true;
}

/** A record as a node lists it; `withVersions`: with its version ids and older versions. */
export function listingEntryOf(key: string, meta: ObjectMeta, withVersions = false): ListingEntry {
  const entry = { key, clock: meta.clock, deleted: meta.deleted, sizeBytes: meta.sizeBytes, etag: meta.etag, lastModifiedMs: meta.lastModifiedMs };
  // Nodes list a thousand records a page: the common case builds one object, not one per field spread.
  if (!meta.deleteMarker && !(withVersions && (meta.versionId !== undefined || meta.noncurrent !== undefined))) return entry;
  return {
    ...entry,
    ...(meta.deleteMarker ? { deleteMarker: true as const } : {}),
    ...(withVersions && meta.versionId !== undefined ? { versionId: meta.versionId } : {}),
    ...(withVersions && meta.noncurrent !== undefined
      ? {
          noncurrent: meta.noncurrent.map((version) => ({
            versionId: versionIdOf(version), sizeBytes: version.sizeBytes, etag: version.etag, lastModifiedMs: version.lastModifiedMs,
            ...(version.deleteMarker ? { deleteMarker: true as const } : {}),
          })),
        }
      : {}),
  };
}

/** One node's entry for a key, as the merge hands it to a `ChooseVersion`. */
export interface ListedVersion<T extends Listable> {
  /** Index of the node's page in the round's pages. */
  readonly page: number;
  readonly entry: T;
}

/**
 * Picks the version of a key that a listing shows, from every node's entry for it (newest by default);
 * undefined when the key has none.
 */
export type ChooseVersion<T extends Listable> = (versions: readonly ListedVersion<T>[]) => T | undefined;

/** One storage node's answer to a `ListingFetch`. */
export interface ListingPage<T extends Listable = ListingEntry> {
  /**
   * Entries under the prefix at or after `startAt`, tombstones included, keys strictly increasing in
   * UTF-8 byte order (`compareKeys`), at most `limit` of them.
   */
  readonly entries: readonly T[];
  /** More entries follow the last one on this node. */
  readonly truncated: boolean;
  /** Stretches of keys this node left out (in key order, apart, each after one of its entries). */
  readonly gaps?: readonly ListingGap[];
}

/** Keys a node did not list: those after `after` and before `until` (to the end when absent). */
export interface ListingGap {
  readonly after: string;
  readonly until?: string;
}

export interface ListingRequest {
  readonly prefix?: string;
  /** Any string; empty means none, as in S3. */
  readonly delimiter?: string;
  /**
   * Return only keys and common prefixes after this one: S3's marker, start-after, or a decoded
   * continuation token. A common prefix that sorts at or before it is not returned again.
   */
  readonly marker?: string;
  readonly maxKeys: number;
  /** Return tombstones as entries rather than hide them (for repair and admin listings). */
  readonly includeTombstones?: boolean;
  /** Return keys whose current version is a delete marker (ListObjectVersions, emptiness checks). */
  readonly includeDeleteMarkers?: boolean;
  /** Entries carry their version ids and older versions (ListObjectVersions). */
  readonly withVersions?: boolean;
}

/** What to ask every node for next. */
export interface ListingFetch {
  readonly prefix: string;
  /** Inclusive lower bound of the keys to return. */
  readonly startAt: string;
  /** Enough for the keys still wanted plus one to learn whether more follow; larger is allowed. */
  readonly limit: number;
  /** The listing's delimiter: a node may jump over the rest of a common prefix (see `collectPage`). */
  readonly delimiter?: string;
}

export interface ListingResult<T extends Listable = ListingEntry> {
  readonly contents: readonly T[];
  readonly commonPrefixes: readonly string[];
  readonly isTruncated: boolean;
  /** When truncated: the last key or common prefix returned, to be the next request's marker. */
  readonly nextMarker?: string;
}

export interface ListingProgress<T extends Listable = ListingEntry> {
  readonly prefix: string;
  readonly delimiter?: string;
  readonly maxKeys: number;
  readonly includeTombstones: boolean;
  readonly includeDeleteMarkers: boolean;
  readonly contents: readonly T[];
  readonly commonPrefixes: readonly string[];
  /** The last item returned so far, or the request's marker. */
  readonly after?: string;
}

export type ListingState<T extends Listable = ListingEntry> =
  | { readonly phase: 'fetch'; readonly fetch: ListingFetch; readonly progress: ListingProgress<T> }
  | { readonly phase: 'done'; readonly result: ListingResult<T> };

export function startListing<T extends Listable = ListingEntry>(request: ListingRequest): ListingState<T> {
  const { maxKeys } = request;
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new RangeError(`maxKeys must be a non-negative integer, got ${maxKeys}`);
  const prefix = request.prefix ?? '';
  const progress: ListingProgress<T> = {
    prefix,
    ...(request.delimiter ? { delimiter: request.delimiter } : {}),
    maxKeys,
    includeTombstones: request.includeTombstones ?? false,
    includeDeleteMarkers: request.includeDeleteMarkers ?? false,
    contents: [],
    commonPrefixes: [],
    ...(request.marker === undefined ? {} : { after: request.marker }),
  };
  if (maxKeys === 0) return finish(progress, false);
  const afterMarker = request.marker === undefined ? prefix : keyAfter(request.marker);
  return fetchFrom(progress, compareKeys(afterMarker, prefix) > 0 ? afterMarker : prefix);
}

/**
 * Merges one round of pages (one per node, in any order) into the listing. Every key decided in a round
 * is covered by every page of it (see the bound below), so `choose` sees each node's entry for the key,
 * and a node without one has none.
 */
export function stepListing<T extends Listable>(
  state: ListingState<T>,
  pages: readonly ListingPage<T>[],
  choose: ChooseVersion<T> = newestListed,
): ListingState<T> {
  if (state.phase === 'done') return state;
  const { fetch, progress } = state;
  const { prefix, delimiter, maxKeys, includeTombstones, includeDeleteMarkers } = progress;

  // Keys within the BMP, nearly always all of them, are checked and merged by JavaScript's own comparison.
  const order = pages.some((page) => page.entries.some((entry) => beyondBmp(entry.key))) ? compareKeys : compareBmpKeys;
  // Past the smallest last key of a truncated page, some node's keys are still unseen.
  let bound: string | undefined;
  for (const page of pages) {
    checkSorted(page.entries, order);
    // A page starting before the fetch could pull the next fetch backwards and never finish.
    const first = page.entries[0];
    if (first !== undefined && compareKeys(first.key, fetch.startAt) < 0) {
      throw new RangeError(`listing page starts at ${JSON.stringify(first.key)}, before ${JSON.stringify(fetch.startAt)}`);
    }
    checkGaps(page);
    if (!page.truncated) continue;
    const last = page.entries[page.entries.length - 1];
    if (last === undefined) throw new RangeError('a truncated listing page must hold at least one entry');
    if (bound === undefined || compareKeys(last.key, bound) < 0) bound = last.key;
  }

  const merge = kWayMerge(pages, bound, order);
  const inGap = gapCursor(pages);
  const contents = [...progress.contents];
  const commonPrefixes = [...progress.commonPrefixes];
  let after = progress.after;
  let skipTo: string | undefined;
  let moreFollow = false;
  let nothingAfter = false;
  let undecided: string | undefined;
  // Keys leave the merge in increasing order, and so do the items they make: once one item is taken,
  // every later one follows `after` (which is then the item before it).
  let taken = false;

  for (;;) {
    const key = merge.peekKey();
    if (key === undefined) break;
    if (inGap(key)) {
      undecided = key;
      break;
    }
    const newest = choose(merge.takeAll());
    if (!key.startsWith(prefix) || !newest || (newest.deleted && !includeTombstones)) continue;
    if (newest.deleteMarker === true && !newest.deleted && !includeDeleteMarkers) continue;
    const rolledUp = delimiter === undefined ? undefined : commonPrefixOf(key, prefix, delimiter);
    if (rolledUp !== undefined) {
      // Every later key under this prefix rolls up into it too: jump past them all.
      const successor = prefixSuccessor(rolledUp);
      if (successor === undefined) nothingAfter = true;
      else {
        skipTo = successor;
        merge.seek(successor);
      }
    }
    const item = rolledUp ?? key;
    if (taken || after === undefined || compareKeys(item, after) > 0) {
      if (contents.length + commonPrefixes.length >= maxKeys) {
        moreFollow = true;
        break;
      }
      if (rolledUp === undefined) contents.push(newest);
      else commonPrefixes.push(rolledUp);
      after = item;
      taken = true;
    }
    if (nothingAfter) break;
  }

  const next: ListingProgress<T> = { ...progress, contents, commonPrefixes, ...(after === undefined ? {} : { after }) };
  if (moreFollow) return finish(next, true);
  // Some node jumped over this key: every node lists it, and what follows, without jumping.
  if (undecided !== undefined) return fetchFrom(next, undecided, false);
  if (nothingAfter || bound === undefined) return finish(next, false);
  const resumeAt = keyAfter(bound);
  return fetchFrom(next, skipTo !== undefined && compareKeys(skipTo, resumeAt) > 0 ? skipTo : resumeAt);
}

/** The newest of the nodes' entries for a key, by clock. */
export function newestListed<T extends Listable>(versions: readonly ListedVersion<T>[]): T {
  let newest = versions[0]!.entry;
  for (let i = 1; i < versions.length; i++) newest = newerOf(newest, versions[i]!.entry);
  return newest;
}

/** The common prefix `key` rolls up into: up to and including the first delimiter after the prefix. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

/**
 * Longest delimiter sent to nodes: keys are at most 1024 bytes, so a longer one rolls nothing up and
 * nodes have nothing to jump over.
 */
export const MAX_FETCH_DELIMITER_LENGTH = 1024;

/** `jump`: nodes may jump over common prefixes (when the listing has a delimiter). */
function fetchFrom<T extends Listable>(progress: ListingProgress<T>, startAt: string, jump = true): ListingState<T> {
  // A start past every key under the prefix means nothing is left to find.
  if (!startAt.startsWith(progress.prefix) && compareKeys(startAt, progress.prefix) > 0) return finish(progress, false);
  const returned = progress.contents.length + progress.commonPrefixes.length;
  const limit = Math.max(progress.maxKeys - returned, 0) + 1;
  const delimiter = jump && progress.delimiter !== undefined && progress.delimiter.length <= MAX_FETCH_DELIMITER_LENGTH ? { delimiter: progress.delimiter } : {};
  return { phase: 'fetch', fetch: { prefix: progress.prefix, startAt, limit, ...delimiter }, progress };
}

function finish<T extends Listable>(progress: ListingProgress<T>, isTruncated: boolean): ListingState<T> {
  const result: ListingResult<T> = {
    contents: progress.contents,
    commonPrefixes: progress.commonPrefixes,
    isTruncated,
    ...(isTruncated && progress.after !== undefined ? { nextMarker: progress.after } : {}),
  };
  return { phase: 'done', result };
}

function checkGaps(page: ListingPage<Listable>): void {
  const gaps = page.gaps ?? [];
  for (let i = 0; i < gaps.length; i++) {
    const { after, until } = gaps[i]!;
    const apart = until === undefined ? i === gaps.length - 1 : compareKeys(after, until) < 0 && (i === gaps.length - 1 || compareKeys(until, gaps[i + 1]!.after) <= 0);
    if (!apart) throw new RangeError(`listing page gaps overlap or are out of order at ${JSON.stringify(after)}`);
  }
}

/**
 * Whether a key lies in some page's gap. Asked with keys in increasing order, so each page's gaps
 * are passed over once.
 */
function gapCursor(pages: readonly ListingPage<Listable>[]): (key: string) => boolean {
  const at = pages.map(() => 0);
  return (key) =>
    pages.some((page, p) => {
      const gaps = page.gaps ?? [];
      let i = at[p]!;
      while (i < gaps.length && gaps[i]!.until !== undefined && compareKeys(gaps[i]!.until!, key) <= 0) i++;
      at[p] = i;
      const gap = gaps[i];
      return gap !== undefined && compareKeys(gap.after, key) < 0;
    });
}

/**
 * A node's page of a listing from its sorted index: `scan(from)` yields its entries under the prefix
 * from `from` on, in key order (it is asked again after each jump). With a delimiter in the fetch, once
 * the page holds a key that rolls up a common prefix and is live here (not deleted, not a delete
 * marker, not an unsettled write), the rest of that prefix is left out as a gap.
 */
export function collectPage<T extends ListingEntry>(fetch: ListingFetch, scan: (from: string) => Iterable<T>): ListingPage<T> {
  const entries: T[] = [];
  const gaps: ListingGap[] = [];
  const { prefix, delimiter, limit } = fetch;
  let from: string | undefined = compareKeys(fetch.startAt, prefix) < 0 ? prefix : fetch.startAt;
  scanning: while (from !== undefined) {
    const start: string = from;
    from = undefined;
    for (const entry of scan(start)) {
      if (!entry.key.startsWith(prefix)) break scanning;
      if (entries.length >= limit) return { entries, truncated: true, ...(gaps.length > 0 ? { gaps } : {}) };
      entries.push(entry);
      if (delimiter === undefined || entry.deleted || entry.deleteMarker === true || entry.unsettled === true) continue;
      const rolledUp = commonPrefixOf(entry.key, prefix, delimiter);
      if (rolledUp === undefined) continue;
      const successor = prefixSuccessor(rolledUp);
      gaps.push({ after: entry.key, ...(successor === undefined ? {} : { until: successor }) });
      from = successor;
      continue scanning;
    }
  }
  return { entries, truncated: false, ...(gaps.length > 0 ? { gaps } : {}) };
}

function checkSorted(entries: readonly Listable[], order: KeyOrder): void {
  for (let i = 1; i < entries.length; i++) {
    if (order(entries[i - 1]!.key, entries[i]!.key) >= 0) {
      throw new RangeError(`listing page is not strictly sorted at ${JSON.stringify(entries[i]!.key)}`);
    }
  }
}

/** `compareKeys`, or an order that agrees with it on the keys at hand. */
type KeyOrder = (a: string, b: string) => number;

interface KWayMerge<T extends Listable> {
  peekKey(): string | undefined;
  /** Consumes the smallest key from every page that has it and returns each page's entry for it. */
  takeAll(): ListedVersion<T>[];
  /** Drops every entry before `key` (binary search per page). */
  seek(key: string): void;
}

/**
 * A min-heap of page indices ordered by each page's current entry. Entries past `bound` are left out:
 * each page ends at its last entry at or before it (found by halving, not by a comparison per key).
 */
function kWayMerge<T extends Listable>(pages: readonly ListingPage<T>[], bound: string | undefined, order: KeyOrder): KWayMerge<T> {
  const heads = pages.map(() => 0);
  const ends = pages.map(({ entries }) => (bound === undefined ? entries.length : firstNotBefore(entries, 0, (key) => compareKeys(key, bound) <= 0)));
  let heap: number[] = [];
  const keyOf = (page: number): string => pages[page]!.entries[heads[page]!]!.key;
  const less = (a: number, b: number): boolean => order(keyOf(heap[a]!), keyOf(heap[b]!)) < 0;
  const swap = (a: number, b: number): void => {
    const t = heap[a]!;
    heap[a] = heap[b]!;
    heap[b] = t;
  };
  const siftDown = (from: number): void => {
    for (let i = from; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < heap.length && less(l, min)) min = l;
      if (r < heap.length && less(r, min)) min = r;
      if (min === i) return;
      swap(i, min);
      i = min;
    }
  };
  const rebuild = (): void => {
    heap = [];
    for (let p = 0; p < pages.length; p++) if (heads[p]! < ends[p]!) heap.push(p);
    for (let i = (heap.length >>> 1) - 1; i >= 0; i--) siftDown(i);
  };
  const advanceTop = (): ListedVersion<T> => {
    const page = heap[0]!;
    const entry = pages[page]!.entries[heads[page]!]!;
    heads[page] = heads[page]! + 1;
    if (heads[page]! >= ends[page]!) {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    if (heap.length > 0) siftDown(0);
    return { page, entry };
  };
  rebuild();
  return {
    peekKey: () => (heap.length === 0 ? undefined : keyOf(heap[0]!)),
    takeAll: () => {
      const all = [advanceTop()];
      while (heap.length > 0 && keyOf(heap[0]!) === all[0]!.entry.key) all.push(advanceTop());
      return all;
    },
    seek: (key) => {
      // A delimiter listing seeks past each common prefix, usually only an entry or two ahead.
      for (let p = 0; p < pages.length; p++) heads[p] = Math.min(ends[p]!, firstNotBefore(pages[p]!.entries, heads[p]!, (entryKey) => compareKeys(entryKey, key) < 0));
      rebuild();
    },
  };
}

/**
 * The first index at or after `from` whose entry is not `before` (entries before it all are, as in a
 * sorted page): gallops from `from` to bound the search, then halves.
 */
function firstNotBefore(entries: readonly Listable[], from: number, before: (key: string) => boolean): number {
  let low = from;
  let step = 1;
  while (low + step - 1 < entries.length && before(entries[low + step - 1]!.key)) {
    low += step;
    step *= 2;
  }
  let high = Math.min(low + step - 1, entries.length);
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (before(entries[mid]!.key)) low = mid + 1;
    else high = mid;
  }
  return low;
}
