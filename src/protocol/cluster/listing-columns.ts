/**
 * A storage node's listing page as columns, the form it crosses the cluster in when the request asks
 * for it: every key in one string, every ETag in another, and the fixed fields of each entry in one
 * byte string, so that encoding and decoding a page is a few large copies instead of a thousand small
 * arrays. A page of a thousand entries packs and encodes in about a fifth, and decodes and unpacks in
 * about a third, of the time its rows (listing-rows.ts) take.
 *
 * Each entry's fixed fields, FIELD_BYTES little-endian bytes:
 *
 *   key length (u32, UTF-16 units), ETag length (u32, UTF-16 units), node index (u32), flags (u32),
 *   clock counter (f64), clock wallMs (f64), sizeBytes (f64), lastModifiedMs (f64)
 *
 * Flags and the rare fields are those of the rows; the rare fields travel as [entry index, fields]
 * pairs for the few entries that have any.
 *
 * A delimiter listing's page has a gap after nearly every entry. When the request asks for it, the
 * gaps travel as columns too: their bounds in one string, and each gap's `after` and `until` lengths
 * as two u32 (NO_UNTIL when the gap runs to the end of the prefix).
 */
import type { ListingEntry, ListingGap, ListingPage } from '../../core/listing.js';
import { entryFrom, flagsOf, isGap, rareFieldsOf, type RareFields } from './listing-rows.js';

export interface ListingColumns {
  readonly nodes: readonly string[];
  readonly keys: string;
  readonly etags: string;
  readonly fields: Uint8Array;
  readonly rare?: ReadonlyArray<readonly [number, RareFields]>;
  readonly truncated: boolean;
  readonly gaps?: readonly ListingGap[];
  readonly gapBounds?: string;
  readonly gapLengths?: Uint8Array;
}

const FIELD_BYTES = 48;
const GAP_BYTES = 8;
const NO_UNTIL = 0xffffffff;

/** `gapColumns`: the gaps as columns too, for readers that take them (earlier releases read objects). */
export function packListingColumns(page: ListingPage<ListingEntry>, gapColumns = false): ListingColumns {
  const { entries } = page;
  const nodes: string[] = [];
  const nodeIndex = new Map<string, number>();
  const fields = Buffer.allocUnsafe(entries.length * FIELD_BYTES);
  const view = new DataView(fields.buffer, fields.byteOffset, fields.length);
  const keys = new Array<string>(entries.length);
  const etags = new Array<string>(entries.length);
  const rare: Array<readonly [number, RareFields]> = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    let index = nodeIndex.get(entry.clock.node);
    if (index === undefined) {
      index = nodes.push(entry.clock.node) - 1;
      nodeIndex.set(entry.clock.node, index);
    }
    keys[i] = entry.key;
    etags[i] = entry.etag;
    const at = i * FIELD_BYTES;
    view.setUint32(at, entry.key.length, true);
    view.setUint32(at + 4, entry.etag.length, true);
    view.setUint32(at + 8, index, true);
    view.setUint32(at + 12, flagsOf(entry), true);
    view.setFloat64(at + 16, entry.clock.counter, true);
    view.setFloat64(at + 24, entry.clock.wallMs, true);
    view.setFloat64(at + 32, entry.sizeBytes, true);
    view.setFloat64(at + 40, entry.lastModifiedMs, true);
    const fieldsOfEntry = rareFieldsOf(entry);
    if (fieldsOfEntry !== undefined) rare.push([i, fieldsOfEntry]);
  }
  return {
    nodes, keys: keys.join(''), etags: etags.join(''), fields, truncated: page.truncated,
    ...(rare.length > 0 ? { rare } : {}),
    ...(page.gaps === undefined ? {} : gapColumns ? packGaps(page.gaps) : { gaps: page.gaps }),
  };
}

function packGaps(gaps: readonly ListingGap[]): Pick<ListingColumns, 'gapBounds' | 'gapLengths'> {
  const bounds = new Array<string>(gaps.length);
  const lengths = Buffer.allocUnsafe(gaps.length * GAP_BYTES);
  for (let i = 0; i < gaps.length; i++) {
    const { after, until } = gaps[i]!;
    bounds[i] = until === undefined ? after : after + until;
    lengths.writeUInt32LE(after.length, i * GAP_BYTES);
    lengths.writeUInt32LE(until === undefined ? NO_UNTIL : until.length, i * GAP_BYTES + 4);
  }
  return { gapBounds: bounds.join(''), gapLengths: lengths };
}

/** The gaps that columns stand for (none: an empty list); undefined when they are damaged. */
function unpackGaps(gaps: unknown, gapBounds: unknown, gapLengths: unknown): ListingGap[] | undefined {
  if (gapBounds === undefined && gapLengths === undefined) {
    if (gaps === undefined) return [];
    return Array.isArray(gaps) && gaps.every(isGap) ? gaps : undefined;
  }
  if (gaps !== undefined || typeof gapBounds !== 'string' || !(gapLengths instanceof Uint8Array) || gapLengths.length % GAP_BYTES !== 0) return undefined;
  const view = new DataView(gapLengths.buffer, gapLengths.byteOffset, gapLengths.length);
  const unpacked = new Array<ListingGap>(gapLengths.length / GAP_BYTES);
  let at = 0;
  for (let i = 0; i < unpacked.length; i++) {
    const afterEnd = at + view.getUint32(i * GAP_BYTES, true);
    const untilLength = view.getUint32(i * GAP_BYTES + 4, true);
    const end = untilLength === NO_UNTIL ? afterEnd : afterEnd + untilLength;
    if (end > gapBounds.length) return undefined;
    const after = gapBounds.slice(at, afterEnd);
    unpacked[i] = untilLength === NO_UNTIL ? { after } : { after, until: gapBounds.slice(afterEnd, end) };
    at = end;
  }
  return at === gapBounds.length ? unpacked : undefined;
}

/** The page packed columns stand for; undefined when they are not such columns (a damaged or foreign reply). */
export function unpackListingColumns(packed: unknown): ListingPage<ListingEntry> | undefined {
  if (typeof packed !== 'object' || packed === null) return undefined;
  const { nodes, keys, etags, fields, rare, truncated, gaps: gapMaps, gapBounds, gapLengths } = packed as Partial<ListingColumns>;
  if (!Array.isArray(nodes) || !nodes.every((node) => typeof node === 'string') || typeof keys !== 'string' || typeof etags !== 'string') return undefined;
  if (!(fields instanceof Uint8Array) || fields.length % FIELD_BYTES !== 0 || typeof truncated !== 'boolean') return undefined;
  const gaps = unpackGaps(gapMaps, gapBounds, gapLengths);
  if (gaps === undefined) return undefined;
  const count = fields.length / FIELD_BYTES;
  const rareByEntry = rareFieldsByEntry(rare, count);
  if (rareByEntry === undefined) return undefined;
  const view = new DataView(fields.buffer, fields.byteOffset, fields.length);
  const entries = new Array<ListingEntry>(count);
  let keyAt = 0;
  let etagAt = 0;
  for (let i = 0; i < count; i++) {
    const at = i * FIELD_BYTES;
    const keyEnd = keyAt + view.getUint32(at, true);
    const etagEnd = etagAt + view.getUint32(at + 4, true);
    const node = nodes[view.getUint32(at + 8, true)];
    if (keyEnd > keys.length || etagEnd > etags.length || node === undefined) return undefined;
    const clock = { wallMs: view.getFloat64(at + 24, true), counter: view.getFloat64(at + 16, true), node };
    const entry = entryFrom(keys.slice(keyAt, keyEnd), clock, view.getUint32(at + 12, true), view.getFloat64(at + 32, true), etags.slice(etagAt, etagEnd), view.getFloat64(at + 40, true), rareByEntry.get(i));
    if (entry === undefined) return undefined;
    entries[i] = entry;
    keyAt = keyEnd;
    etagAt = etagEnd;
  }
  if (keyAt !== keys.length || etagAt !== etags.length) return undefined;
  return { entries, truncated, ...(gaps.length === 0 ? {} : { gaps }) };
}

/** The rare fields by entry index; undefined when they are not [index, fields] pairs of entries there are. */
function rareFieldsByEntry(rare: unknown, count: number): Map<number, unknown> | undefined {
  const byEntry = new Map<number, unknown>();
  if (rare === undefined) return byEntry;
  if (!Array.isArray(rare)) return undefined;
  for (const pair of rare) {
    if (!Array.isArray(pair) || pair.length !== 2 || !Number.isInteger(pair[0]) || pair[0] < 0 || pair[0] >= count) return undefined;
    byEntry.set(pair[0] as number, pair[1]);
  }
  return byEntry;
}
