/**
 * Fitting a directory's entries into the byte budgets of READDIR and READDIRPLUS (RFC 1813 3.3.16,
 * 3.3.17). A client gives the most bytes it will take (`count`, `maxcount`) and the server returns as
 * many whole entries as fit, in order, with `eof` only when the last entry of the directory is among
 * them: the client then asks again from the cookie of the last entry it got.
 *
 * The budget is counted on the encoded reply, nfsstat3 included (the RFC counts the resok structure
 * alone; four bytes of caution cost nothing). A budget too small for the first remaining entry (or for
 * the reply without entries) is NFS3ERR_TOOSMALL, so a client never loops on an empty page.
 */
import { postOpAttrSize, postOpFhSize } from './nfs3-xdr.js';
import { NFS3_COOKIEVERFSIZE, type PostOpAttr } from './nfs3-types.js';
import type { ReaddirEntry, ReaddirplusEntry, ReaddirplusResult, ReaddirResult } from './nfs3-results.js';
import { varOpaqueSize } from './xdr.js';

export interface DirectoryPage<Entry> {
  readonly dirAttributes: PostOpAttr;
  readonly cookieverf: Buffer;
  /** The entries after the client's cookie, in directory order; more than fit is fine. */
  readonly entries: readonly Entry[];
  /** True when no entry of the directory follows the last of `entries`; a page without entries must be the end. */
  readonly reachedEnd: boolean;
}

/** Status, dir_attributes, cookieverf, the list's closing FALSE and eof. */
function fixedBytes(dirAttributes: PostOpAttr): number {
  return 4 + postOpAttrSize(dirAttributes) + NFS3_COOKIEVERFSIZE + 4 + 4;
}

/** An entry3 after its list's TRUE: fileid, name, cookie. Also what READDIRPLUS's dircount counts per entry. */
export function entryBytes(entry: ReaddirEntry): number {
  return 4 + 8 + varOpaqueSize(Buffer.byteLength(entry.name, 'utf8')) + 8;
}

export function entryplusBytes(entry: ReaddirplusEntry): number {
  return entryBytes(entry) + postOpAttrSize(entry.attributes) + postOpFhSize(entry.handle);
}

/** READDIR's reply for a client allowing `count` bytes. */
export function fitReaddir(count: number, page: DirectoryPage<ReaddirEntry>): ReaddirResult {
  const fitted = fit(page, count, entryBytes, Infinity);
  if (!fitted) return { status: 'NFS3ERR_TOOSMALL', dirAttributes: page.dirAttributes };
  return { status: 'NFS3_OK', dirAttributes: page.dirAttributes, cookieverf: page.cookieverf, ...fitted };
}

/**
 * READDIRPLUS's reply for a client allowing `maxcount` bytes in all and `dircount` bytes of directory
 * information. The RFC leaves dircount to the server's judgement; we honour it from the second entry on,
 * so a client's small dircount can shorten a page but never leave it empty.
 */
export function fitReaddirplus(dircount: number, maxcount: number, page: DirectoryPage<ReaddirplusEntry>): ReaddirplusResult {
  const fitted = fit(page, maxcount, entryplusBytes, dircount);
  if (!fitted) return { status: 'NFS3ERR_TOOSMALL', dirAttributes: page.dirAttributes };
  return { status: 'NFS3_OK', dirAttributes: page.dirAttributes, cookieverf: page.cookieverf, ...fitted };
}

/** The longest prefix of the page's entries within both budgets; undefined when not even the first fits. */
function fit<Entry extends ReaddirEntry>(
  page: DirectoryPage<Entry>,
  maxReplyBytes: number,
  sizeOf: (entry: Entry) => number,
  maxDirectoryInfoBytes: number,
): { entries: readonly Entry[]; eof: boolean } | undefined {
  if (page.entries.length === 0 && !page.reachedEnd) throw new RangeError('an empty page must reach the end of the directory');
  let replyBytes = fixedBytes(page.dirAttributes);
  if (replyBytes > maxReplyBytes) return undefined;
  let directoryInfoBytes = 0;
  let taken = 0;
  for (const entry of page.entries) {
    const size = sizeOf(entry);
    const info = entryBytes(entry);
    if (replyBytes + size > maxReplyBytes) break;
    if (taken > 0 && directoryInfoBytes + info > maxDirectoryInfoBytes) break;
    replyBytes += size;
    directoryInfoBytes += info;
    taken++;
  }
  if (taken === 0 && page.entries.length > 0) return undefined;
  return { entries: page.entries.slice(0, taken), eof: page.reachedEnd && taken === page.entries.length };
}
