/**
 * READ: a file's bytes at an offset. A file being written is read from its buffer; a stored one through
 * the ranged GET path (body-reader.ts), which fetches only the chunks the range touches, so a READ of a
 * large object costs its own bytes, not the object's.
 */
import type { ReadResult } from '../../../protocol/nfs/nfs3-results.js';
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
  if (meta.chunks === undefined && meta.encryption === undefined) {
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
