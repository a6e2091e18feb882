/**
 * The format of a storage node's records, kept in the store's `presence` table under `store-format`:
 * the latest encoding any of its records may be in (meta-encoding.ts). A release raises the mark to the
 * format it writes when it opens a store, before it writes a record in it, and refuses a store of a later
 * format than it reads at start, so that a node started again with an earlier release fails with a clear
 * message instead of misreading records it cannot decode (it would take them for absent, and then sweep
 * what they point at). A store written before the mark existed is of format 1, the first. A mark that is
 * not a format (damaged, or written by a release that keeps it otherwise) is refused as well, and left
 * as it is: guessing low could let records of a later format be misread.
 */
import type { Database } from 'lmdb';
import type { MetaFormat } from './meta-encoding.js';

/** The latest format this release reads; it reads every earlier one too. */
export const LATEST_STORE_FORMAT: MetaFormat = 3;

const FORMAT_KEY = 'store-format';

export class StoreFormatError extends Error {
  constructor(directory: string, found: string) {
    super(
      `the store in ${directory} is of ${found}; this release reads formats up to ${LATEST_STORE_FORMAT}. ` +
        'Start the node with the release that wrote it, or a later one; none of its records was changed.',
    );
  }
}

/** The format a store's mark says; undefined when it has none; StoreFormatError when the mark is not a format. */
function markOf(table: Database<unknown, string>, directory: string): number | undefined {
  let stored: unknown;
  try {
    stored = table.get(FORMAT_KEY);
  } catch {
    throw new StoreFormatError(directory, 'a format its mark does not say (the mark does not decode)');
  }
  if (stored === undefined) return undefined;
  if (typeof stored !== 'number' || !Number.isSafeInteger(stored) || stored < 1) throw new StoreFormatError(directory, `a format its mark does not say (${describe(stored)})`);
  return stored;
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/**
 * Refuses a store of a later or unknown format than this release reads (StoreFormatError, before any
 * record is written), and raises the mark to `writes` where it is lower, or missing. It is never
 * lowered: records of the later format stay where they are.
 */
export function settleStoreFormat(table: Database<unknown, string>, directory: string, writes: MetaFormat): void {
  const mark = markOf(table, directory);
  // A store with no mark was written before the mark existed, in format 1.
  const found = mark ?? 1;
  if (found > LATEST_STORE_FORMAT) throw new StoreFormatError(directory, `format ${found}, written by a later release`);
  const marked = Math.max(found, writes);
  if (mark !== marked) table.putSync(FORMAT_KEY, marked);
}
