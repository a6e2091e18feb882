/**
 * The format of a storage node's records, kept in the store's `presence` table under `store-format`:
 * the latest encoding any of its records may be in (meta-encoding.ts). A release raises the mark to the
 * format it writes when it opens a store, before it writes a record in it, and refuses a store of a later
 * format than it reads at start, so that a node started again with an earlier release fails with a clear
 * message instead of misreading records it cannot decode (it would take them for absent, and then sweep
 * what they point at). A store written before the mark existed is of format 1, the first.
 */
import type { Database } from 'lmdb';
import type { MetaFormat } from './meta-encoding.js';

/** The latest format this release reads; it reads every earlier one too. */
export const LATEST_STORE_FORMAT: MetaFormat = 2;

const FORMAT_KEY = 'store-format';

export class StoreFormatError extends Error {
  constructor(
    readonly found: number,
    directory: string,
  ) {
    super(
      `the store in ${directory} is of format ${found}, written by a later release; this release reads formats up to ${LATEST_STORE_FORMAT}. ` +
        'Start the node with the release that wrote it, or a later one; its records were not touched.',
    );
  }
}

/** The format a store was written in: 1 when it has no mark. */
export function storeFormatOf(table: Database<unknown, string>): number {
  const stored = table.get(FORMAT_KEY);
  return Number.isSafeInteger(stored) && (stored as number) >= 1 ? (stored as number) : 1;
}

/**
 * Refuses a store of a later format than this release reads (StoreFormatError, before any record is
 * written), and raises the mark to `writes` where it is lower, or missing. It is never lowered: records
 * of the later format stay where they are.
 */
export function settleStoreFormat(table: Database<unknown, string>, directory: string, writes: MetaFormat): void {
  const found = storeFormatOf(table);
  if (found > LATEST_STORE_FORMAT) throw new StoreFormatError(found, directory);
  const marked = Math.max(found, writes);
  if (table.get(FORMAT_KEY) !== marked) table.putSync(FORMAT_KEY, marked);
}
