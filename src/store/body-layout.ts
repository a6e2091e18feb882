/**
 * How a body is laid out in LMDB. A value too large for a leaf page goes on whole overflow pages whose
 * first bytes are a page header, so a body of exactly N pages (a 4 KiB object, a 5 MiB chunk) would
 * take N + 1 of them: twice the disk, and twice the writes, for a 4 KiB object. Such a body keeps its
 * last few bytes in a separate small row (its tail), and its head fills the N pages exactly.
 */

/** The header of an overflow page in the LMDB build lmdb-js ships (its MDB_page_header). */
export const OVERFLOW_PAGE_HEADER_BYTES = 24;

/** How many bytes of a `length`-byte body to store as its head; the rest, if any, is its tail. */
export function bodyHeadBytes(length: number, pageSize: number): number {
  // Up to half a page a value may sit in a leaf, where no page is wasted.
  if (length <= pageSize / 2) return length;
  const pages = Math.ceil(length / pageSize);
  const pageBytes = pages * pageSize - OVERFLOW_PAGE_HEADER_BYTES;
  return length <= pageBytes ? length : pageBytes;
}
