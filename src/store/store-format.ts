/**
 * The format of a storage node's records, kept in the store's `presence` table under `store-format`:
 * how its metadata and other records are encoded on disk. A release writes the format it uses when it
 * opens a store, and refuses a store of a later format at start, so that a node started again with an
 * earlier release fails with a clear message instead of misreading records it cannot decode (which it
 * would take for absent, and then sweep the bodies they point at). A store written before the mark
 * existed is of format 1, the first.
 */
import type { Database } from 'lmdb';

/** The format this release reads and writes. */
export const STORE_FORMAT = 1;

const FORMAT_KEY = 'store-format';

export class StoreFormatError extends Error {
  constructor(
    readonly found: number,
    directory: string,
  ) {
    super(
      `the store in ${directory} is of format ${found}, written by a later release; this release reads format ${STORE_FORMAT} ` +
        'and earlier. Start the node with the release that wrote it, or a later one; its records were not touched.',
    );
  }
}

/** The format a store was written in: 1 when it has no mark. */
export function storeFormatOf(table: Database<unknown, string>): number {
  const stored = table.get(FORMAT_KEY);
  return Number.isSafeInteger(stored) && (stored as number) >= 1 ? (stored as number) : 1;
}

/**
 * Refuses a store of a later format (StoreFormatError, before any record is written) and marks a store
 * that has no mark, or an earlier one, as of this release's format.
 */
export function settleStoreFormat(table: Database<unknown, string>, directory: string): void {
  const found = storeFormatOf(table);
  if (found > STORE_FORMAT) throw new StoreFormatError(found, directory);
  if (table.get(FORMAT_KEY) !== STORE_FORMAT) table.putSync(FORMAT_KEY, STORE_FORMAT);
}
