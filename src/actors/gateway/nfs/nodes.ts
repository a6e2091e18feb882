/**
 * Keys as a file tree. A key `a/b/c` is the file `c` in directory `a/b`; a directory exists while any
 * key has its prefix (`a/b/...`) or its marker object `a/b/` exists. A file being written over NFS
 * exists (with its buffered size) before it is stored.
 */
import type { ObjectMeta } from '../../../core/object-meta.js';
import type { Fattr3 } from '../../../protocol/nfs/nfs3-types.js';
import { MAX_KEY_BYTES } from '../../../protocol/s3/router.js';
import { currentObject } from '../object-versions.js';
import { expectOk } from '../storage-errors.js';
import { directoryAttributes, fileAttributes, type StoredAttributes } from './attributes.js';
import { NfsError } from './nfs-errors.js';
import type { Scope } from './nfs-scope.js';
import { NFS3_MAXNAMLEN } from '../../../protocol/nfs/nfs3-types.js';

export type FsNode =
  | { readonly kind: 'file'; readonly key: string; readonly meta: ObjectMeta | undefined }
  | { readonly kind: 'dir'; readonly key: string; readonly marker: ObjectMeta | undefined };

export function isDirectoryKey(key: string): boolean {
  return key === '' || key.endsWith('/');
}

/** The directory holding `key` ('' for the bucket's root and what is directly in it). */
export function parentOf(key: string): string {
  const trimmed = key.endsWith('/') ? key.slice(0, -1) : key;
  const cut = trimmed.lastIndexOf('/');
  return cut < 0 ? '' : trimmed.slice(0, cut + 1);
}

/** The last part of a key's path. */
export function nameOf(key: string): string {
  const trimmed = key.endsWith('/') ? key.slice(0, -1) : key;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** A name a new file or directory may take: NAMETOOLONG, INVAL or EXIST (for `.` and `..`) otherwise. */
export function checkNewName(dirKey: string, name: string): void {
  if (name === '.' || name === '..') throw new NfsError('NFS3ERR_EXIST');
  if (name === '' || name.includes('/') || name.includes('\0')) throw new NfsError('NFS3ERR_INVAL');
  if (Buffer.byteLength(name, 'utf8') > NFS3_MAXNAMLEN) throw new NfsError('NFS3ERR_NAMETOOLONG');
  // A directory's marker is one byte longer than its name.
  if (Buffer.byteLength(dirKey + name, 'utf8') + 1 > MAX_KEY_BYTES) throw new NfsError('NFS3ERR_NAMETOOLONG');
}

export async function findNode(scope: Scope, key: string): Promise<FsNode | undefined> {
  if (isDirectoryKey(key)) return findDirectory(scope, key);
  const meta = await currentObject(scope.gateway, scope.bucket.name, key);
  if (meta !== undefined) return { kind: 'file', key, meta };
  if (scope.caller.deps.openFiles.peek(scope.bucketTag, key) !== undefined) return { kind: 'file', key, meta: undefined };
  return undefined;
}

/** The node a handle names; NFS3ERR_STALE when it is gone. */
export async function existingNode(scope: Scope, key: string): Promise<FsNode> {
  const node = await findNode(scope, key);
  if (node === undefined) throw new NfsError('NFS3ERR_STALE');
  return node;
}

export async function findDirectory(scope: Scope, dirKey: string): Promise<FsNode | undefined> {
  if (dirKey === '') return { kind: 'dir', key: '', marker: undefined };
  const marker = await currentObject(scope.gateway, scope.bucket.name, dirKey);
  if (marker !== undefined) return { kind: 'dir', key: dirKey, marker };
  return (await hasChildren(scope, dirKey)) ? { kind: 'dir', key: dirKey, marker: undefined } : undefined;
}

/** Whether any key but the marker has the prefix `dirKey`. */
export async function hasChildren(scope: Scope, dirKey: string): Promise<boolean> {
  const listed = expectOk(await scope.gateway.storage.list('object', scope.bucket.name, { prefix: dirKey, maxKeys: 2 }), 'NoSuchBucket');
  return listed.result.contents.some((entry) => entry.key !== dirKey) || listed.result.commonPrefixes.length > 0;
}

/**
 * `name` in the directory `dirKey`: a file first, then a directory, as S3 tools resolve a path. With
 * both a key `a` and keys under `a/`, `a` is the file, here and in READDIR (directory-listing.ts).
 */
export async function lookupChild(scope: Scope, dirKey: string, name: string): Promise<FsNode | undefined> {
  if (name === '.') return findDirectory(scope, dirKey);
  if (name === '..') return findDirectory(scope, parentOf(dirKey));
  if (name === '' || name.includes('/') || name.includes('\0')) return undefined;
  if (Buffer.byteLength(name, 'utf8') > NFS3_MAXNAMLEN) throw new NfsError('NFS3ERR_NAMETOOLONG');
  const file = await findNode(scope, dirKey + name);
  if (file !== undefined) return file;
  return findDirectory(scope, `${dirKey}${name}/`);
}

export function attributesOf(scope: Scope, node: FsNode): Fattr3 {
  const owner = { uid: scope.export.uid, gid: scope.export.gid };
  if (node.kind === 'dir') {
    const base: StoredAttributes = node.marker === undefined
      ? { bucketTag: scope.bucketTag, key: node.key, sizeBytes: 0, lastModifiedMs: scope.bucket.createdAtMs, userMeta: undefined, owner }
      : { bucketTag: scope.bucketTag, key: node.key, sizeBytes: 0, lastModifiedMs: node.marker.lastModifiedMs, userMeta: node.marker.userMeta, owner };
    return directoryAttributes(base);
  }
  const open = scope.caller.deps.openFiles.peek(scope.bucketTag, node.key);
  if (open !== undefined && !open.closed) {
    return fileAttributes({ bucketTag: scope.bucketTag, key: node.key, sizeBytes: open.size, lastModifiedMs: open.modifiedMs, userMeta: open.userMeta, owner });
  }
  const meta = node.meta;
  return fileAttributes({
    bucketTag: scope.bucketTag, key: node.key, sizeBytes: meta?.sizeBytes ?? 0, lastModifiedMs: meta?.lastModifiedMs ?? 0, userMeta: meta?.userMeta, owner,
  });
}

/** Attributes of the node at `key`, undefined when it is gone (post_op_attr is optional). */
export async function attributesAt(scope: Scope, key: string): Promise<Fattr3 | undefined> {
  try {
    const node = await findNode(scope, key);
    return node === undefined ? undefined : attributesOf(scope, node);
  } catch {
    return undefined;
  }
}
