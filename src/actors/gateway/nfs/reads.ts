/**
 * READ: a file's bytes at an offset. A file being written is read from its buffer; a stored one from
 * the gateway's disk tier when it holds that very version, otherwise through the ranged GET path
 * (body-reader.ts), which fetches only the chunks the range touches, so a READ of a large object costs
 * its own bytes, not the object's.
 */
import type { ObjectMeta } from '../../../core/object-meta.js';
import type { ReadResult } from '../../../protocol/nfs/nfs3-results.js';
import { readCachedBody } from '../disk-cache.js';
import { sameVersion } from '../object-cache.js';
import { expectOk } from '../storage-errors.js';
import { NfsError } from './nfs-errors.js';
import type { Scope } from './nfs-scope.js';
import { attributesOf, existingNode } from './nodes.js';
import { readObjectRange } from './stored-objects.js';

/** The most a READ returns (FSINFO's rtmax). */
export const MAX_READ_BYTES = 1024 * 1024;

export async function readFile(scope: Scope, key: string, offset: bigint, count: number): Promise<ReadResult> {
  const node = await existingNode(scope, key);
  if (node.kind === 'dir') throw new NfsError('NFS3ERR_ISDIR');
  const wanted = Math.min(count, MAX_READ_BYTES);
  const open = scope.caller.deps.openFiles.peek(scope.bucketTag, key);
  if (open !== undefined) {
    const read = await open.locked(async () => (open.closed ? undefined : { data: await open.read(Number(offset), wanted), size: open.size }));
    if (read !== undefined) {
      return { status: 'NFS3_OK', fileAttributes: attributesOf(scope, node), data: read.data, eof: Number(offset) + read.data.length >= read.size };
    }
  }
  const meta = node.meta;
  if (meta === undefined) throw new NfsError('NFS3ERR_STALE');
  const size = meta.sizeBytes;
  const fileAttributes = attributesOf(scope, node);
  if (offset >= BigInt(size) || wanted === 0) return { status: 'NFS3_OK', fileAttributes, data: Buffer.alloc(0), eof: offset >= BigInt(size) };
  const start = Number(offset);
  const end = Math.min(size, start + wanted) - 1;
  let data: Buffer;
  const cached = await fromDiskTier(scope, meta, start, end);
  if (cached !== undefined) {
    data = cached;
  } else if (meta.chunks === undefined && meta.encryption === undefined) {
    // A body kept in its record: only the slice asked for crosses the cluster.
    const got = expectOk(await scope.gateway.storage.get('object', scope.bucket.name, key, { withBody: true, bodySlice: { offsetBytes: start, lengthBytes: end - start + 1 } }));
    if (got.meta.etag !== meta.etag || got.body === undefined) throw new NfsError('NFS3ERR_JUKEBOX', 'the file changed while it was read');
    data = Buffer.from(got.body.buffer, got.body.byteOffset, got.body.length);
  } else {
    const pieces: Buffer[] = [];
    for await (const piece of readObjectRange(scope, meta, undefined, start, end)) pieces.push(piece);
    data = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }
  return { status: 'NFS3_OK', fileAttributes, data, eof: end + 1 >= size };
}

/**
 * Bytes `start`..`end` of `meta` from the disk tier, when it holds this version: the READ has just read
 * the current record, which is the check a cached copy needs in validated mode. READs come in pieces,
 * so they use the tier but do not fill it; a whole GET does. A file is read in many READs, so only the
 * one from its start counts as a hit or a miss. A copy not yet checked since the tier opened is not
 * waited for (its check runs in the background), and one whose body cannot be read is dropped: either
 * way the READ is served from storage.
 */
async function fromDiskTier(scope: Scope, meta: ObjectMeta, start: number, end: number): Promise<Buffer | undefined> {
  const disk = scope.gateway.diskCache;
  if (!disk.accepts(meta)) return undefined;
  const entry = disk.lookup(scope.bucket.name, meta.key, start === 0);
  if (entry === undefined || !sameVersion(entry.meta, meta)) return undefined;
  const file = await disk.openBody(entry, { partial: true });
  if (file === undefined) return undefined;
  const pieces: Buffer[] = [];
  try {
    for await (const piece of readCachedBody(file, meta.sizeBytes, { start, end }, scope.gateway.config.readPieceBytes, scope.memory)) pieces.push(piece);
  } catch (error) {
    scope.caller.log.warn('a disk cache copy could not be read; it is dropped and the READ served from storage', { bucket: meta.bucket, key: meta.key, error });
    disk.discard(entry);
    return undefined;
  }
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}
