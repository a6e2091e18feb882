/**
 * What an LMDB environment's file would shrink to if compacted (lmdb-copy.ts copies every record into a
 * fresh environment), estimated from the sizes of its records: the share of the file a compaction would
 * give back is what decides whether one pays (actors/storage/compactor.ts).
 *
 * LMDB keeps a record in a leaf page as a node of an 8-byte header, the key and the value, plus 2 bytes
 * of the page's index; a node larger than about half a page keeps only an 8-byte page number in the
 * leaf and its value on pages of its own (a 16-byte header, then the value). Pages have a 16-byte
 * header. A copy written in key order fills its leaf pages to about nine tenths, and its branch pages
 * add about one leaf page in a hundred; a table with records has a root page besides.
 *
 * Values are read only for their length: the tables are opened with a decoder that returns it, which
 * lmdb-js hands its read buffer without copying it.
 */
import type { DatabaseOptions, RootDatabase } from 'lmdb';
import { recordBatches } from './lmdb-copy.js';

const PAGE_HEADER_BYTES = 16;
const NODE_HEADER_BYTES = 8;
const INDEX_BYTES = 2;
const PAGE_NUMBER_BYTES = 8;
/** How full a compacted copy's leaf pages are. */
const COPY_LEAF_FILL = 0.92;
/** Branch pages per leaf page of a copy. */
const BRANCH_PAGES_PER_LEAF = 0.01;
/** The two meta pages, and a root page for the table of table names. */
const FIXED_PAGES = 3;
/** A value's length, for lmdb-js as a table's encoder (only ever used to read). */
const LENGTH_ONLY = { decode: (_bytes: Uint8Array, length: number): number => length };

export interface CompactedEstimate {
  /** Records in the environment's tables. */
  readonly records: number;
  /** Bytes its file would take once compacted. */
  readonly bytes: number;
}

/**
 * Reads the sizes of every record of the tables `names` (values are not decoded), a batch at a time
 * (lmdb-copy.ts `recordBatches`), calling `between()` after each and stopping if `signal` is aborted.
 */
export async function estimateCompactedBytes(root: RootDatabase, names: readonly string[], between: () => Promise<void>, signal?: AbortSignal): Promise<CompactedEstimate> {
  const pageSize = (root.getStats() as { pageSize: number }).pageSize;
  // LMDB's own bound (me_nodemax) on a node kept whole in its leaf.
  const largestNode = (((pageSize - PAGE_HEADER_BYTES) / 2) & ~1) - 2;
  let records = 0;
  let pages = FIXED_PAGES;
  for (const name of names) {
    const options: DatabaseOptions & { name: string; encoder: typeof LENGTH_ONLY } = { name, keyEncoding: 'binary', encoder: LENGTH_ONLY };
    const table = root.openDB(options);
    let leafBytes = 0;
    let overflowPages = 0;
    for await (const batch of recordBatches(table, (key, value) => [key.length, value as number] as const, between, signal)) {
      for (const [keyBytes, valueBytes] of batch) {
        const node = NODE_HEADER_BYTES + keyBytes + valueBytes;
        if (node <= largestNode) {
          leafBytes += node + INDEX_BYTES;
        } else {
          leafBytes += NODE_HEADER_BYTES + keyBytes + PAGE_NUMBER_BYTES + INDEX_BYTES;
          overflowPages += Math.ceil((PAGE_HEADER_BYTES + valueBytes) / pageSize);
        }
      }
      records += batch.length;
    }
    if (leafBytes === 0) continue;
    const leafPages = Math.ceil(leafBytes / ((pageSize - PAGE_HEADER_BYTES) * COPY_LEAF_FILL));
    pages += 1 + leafPages + Math.ceil(leafPages * BRANCH_PAGES_PER_LEAF) + overflowPages;
  }
  return { records, bytes: pages * pageSize };
}
