/**
 * A snapshot of the managers' tables cut into pages that each fit in one cluster frame, and put back
 * together: a control plane with many buckets (each with its policy, rules and tags) outgrows a frame
 * long before it outgrows a manager.
 */
import type { StateSnapshot } from './raft-messages.js';

export type SnapshotTables = StateSnapshot['tables'];

/**
 * Cuts the tables into pages of about `maxPageBytes` (as `sizeOf` measures a record); a record larger
 * than that gets a page of its own. There is always at least one page, so an empty state is sent too.
 */
export function splitTables(tables: SnapshotTables, maxPageBytes: number, sizeOf: (record: readonly [string, unknown]) => number): SnapshotTables[] {
  const pages: Array<Record<string, Array<readonly [string, unknown]>>> = [];
  let page: Record<string, Array<readonly [string, unknown]>> = {};
  let pageBytes = 0;
  for (const [table, records] of Object.entries(tables)) {
    for (const record of records) {
      const size = sizeOf(record);
      if (pageBytes > 0 && pageBytes + size > maxPageBytes) {
        pages.push(page);
        page = {};
        pageBytes = 0;
      }
      (page[table] ??= []).push(record);
      pageBytes += size;
    }
  }
  pages.push(page);
  return pages;
}

/** The tables of every page, in page order. */
export function joinTables(pages: readonly SnapshotTables[]): SnapshotTables {
  const tables: Record<string, Array<readonly [string, unknown]>> = {};
  for (const page of pages) for (const [table, records] of Object.entries(page)) (tables[table] ??= []).push(...records);
  return tables;
}

/** How many records the tables hold, for messages. */
export function recordCount(tables: SnapshotTables): number {
  return Object.values(tables).reduce((sum, records) => sum + records.length, 0);
}
