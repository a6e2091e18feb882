/**
 * CREATE, MKDIR, REMOVE, RMDIR and RENAME as changes of keys. A new file is an empty object at once, so
 * other clients (and S3) see it before its bytes come; a directory made empty is a marker object
 * `dir/`. Removing the last entry of a directory that had no marker writes one, so the directory a client
 * still holds does not vanish with its last file.
 *
 * The store has no rename: a file is copied to its new key, then its old key deleted; a directory's rename
 * moves every key under its prefix, a page at a time. Neither is atomic: a rename cut short by a failure
 * leaves keys under both names (nothing is lost), and the client's retry moves the rest.
 */
import type { ObjectMeta } from '../../../core/object-meta.js';
import { mapBounded } from '../../../runtime/bounded.js';
import type { CreateResult, RemoveResult, RenameResult } from '../../../protocol/nfs/nfs3-results.js';
import type { CreateHow3, Sattr3 } from '../../../protocol/nfs/nfs3-types.js';
import { removeObject } from '../handlers/delete-object.js';
import { expectOk } from '../storage-errors.js';
import { META_CREATE_VERIFIER, NO_SATTR, userMetaWith, wccAttrOf } from './attributes.js';
import { NfsError } from './nfs-errors.js';
import { alsoAllowed, type Scope } from './nfs-scope.js';
import { attributesAt, attributesOf, checkNewName, findDirectory, hasChildren, isDirectoryKey, lookupChild, type FsNode } from './nodes.js';
import { copyObject, storeEmpty } from './stored-objects.js';

/** Keys moved at once by a directory rename. */
const RENAME_CONCURRENCY = 8;
const RENAME_PAGE_KEYS = 500;

async function directoryNode(scope: Scope, dirKey: string): Promise<FsNode> {
  if (!isDirectoryKey(dirKey)) throw new NfsError('NFS3ERR_NOTDIR');
  const dir = await findDirectory(scope, dirKey);
  if (dir === undefined) throw new NfsError('NFS3ERR_STALE');
  return dir;
}

/** New objects belong to the caller (its AUTH_SYS ids) unless the call names an owner. */
function ownedAttributes(scope: Scope, sattr: Sattr3): Sattr3 {
  const ids = scope.caller.ids;
  return { ...sattr, uid: sattr.uid ?? ids?.uid, gid: sattr.gid ?? ids?.gid };
}

async function dirWcc(scope: Scope, dir: FsNode): Promise<{ before: ReturnType<typeof wccAttrOf>; after: Awaited<ReturnType<typeof attributesAt>> }> {
  return { before: wccAttrOf(attributesOf(scope, dir)), after: undefined };
}

async function created(scope: Scope, key: string, dir: FsNode, before: ReturnType<typeof wccAttrOf>): Promise<CreateResult> {
  const handle = await scope.caller.deps.handles.handleFor(scope.bucketTag, key);
  return { status: 'NFS3_OK', object: handle, objectAttributes: await attributesAt(scope, key), dirWcc: { before, after: await attributesAt(scope, dir.key) } };
}

export async function createFile(scope: Scope, dirKey: string, name: string, how: CreateHow3): Promise<CreateResult> {
  const dir = await directoryNode(scope, dirKey);
  checkNewName(dirKey, name);
  const key = dirKey + name;
  alsoAllowed(scope, 'write', key);
  const { before } = await dirWcc(scope, dir);
  const existing = await lookupChild(scope, dirKey, name);
  const nowMs = scope.gateway.clock.now();
  const verifier = how.mode === 'EXCLUSIVE' ? how.verifier.toString('hex') : undefined;
  if (existing?.kind === 'dir') throw new NfsError('NFS3ERR_EXIST');
  if (existing !== undefined) {
    if (how.mode === 'GUARDED') throw new NfsError('NFS3ERR_EXIST');
    // A retransmitted EXCLUSIVE CREATE finds the verifier it left.
    if (how.mode === 'EXCLUSIVE') {
      if (existing.meta?.userMeta[META_CREATE_VERIFIER] !== verifier) throw new NfsError('NFS3ERR_EXIST');
      return created(scope, key, dir, before);
    }
    if (how.attributes.size === 0n) {
      await scope.caller.deps.openFiles.discard(scope.bucketTag, key);
      await storeEmpty(scope, key, userMetaWith(existing.meta?.userMeta ?? {}, how.attributes, 'NF3REG', nowMs), existing.meta);
    }
    return created(scope, key, dir, before);
  }
  const attributes = how.mode === 'EXCLUSIVE' ? NO_SATTR : how.attributes;
  const userMeta = userMetaWith({}, ownedAttributes(scope, attributes), 'NF3REG', nowMs);
  if (verifier !== undefined) userMeta[META_CREATE_VERIFIER] = verifier;
  // GUARDED and EXCLUSIVE promise the file is new: the key's replicas decide, so of two such creates at once one gets EXIST.
  try {
    await storeEmpty(scope, key, userMeta, undefined, how.mode === 'UNCHECKED' ? undefined : { ifNoneMatch: '*' });
  } catch (error) {
    // The same EXCLUSIVE CREATE sent again while the first was being stored finds its own verifier.
    const found = how.mode === 'EXCLUSIVE' ? await lookupChild(scope, dirKey, name) : undefined;
    if (found?.kind !== 'file' || found.meta?.userMeta[META_CREATE_VERIFIER] !== verifier) throw error;
  }
  return created(scope, key, dir, before);
}

export async function makeDirectory(scope: Scope, dirKey: string, name: string, sattr: Sattr3): Promise<CreateResult> {
  const dir = await directoryNode(scope, dirKey);
  checkNewName(dirKey, name);
  const key = `${dirKey}${name}/`;
  alsoAllowed(scope, 'write', key);
  const { before } = await dirWcc(scope, dir);
  if ((await lookupChild(scope, dirKey, name)) !== undefined) throw new NfsError('NFS3ERR_EXIST');
  // Of two MKDIRs of one name at once, one gets EXIST.
  await storeEmpty(scope, key, userMetaWith({}, ownedAttributes(scope, sattr), 'NF3DIR', scope.gateway.clock.now()), undefined, { ifNoneMatch: '*' });
  return created(scope, key, dir, before);
}

/** Deletes one key, as DeleteObject does. */
async function deleteKey(scope: Scope, key: string): Promise<void> {
  await removeObject(scope.gateway, scope.bucket, { bucket: scope.bucket.name, key, versionId: undefined }, undefined, false);
}

/** A directory left without entries keeps existing as a marker. */
async function keepDirectory(scope: Scope, dirKey: string): Promise<void> {
  if (dirKey === '' || (await findDirectory(scope, dirKey)) !== undefined) return;
  await storeEmpty(scope, dirKey, {});
}

export async function removeFile(scope: Scope, dirKey: string, name: string): Promise<RemoveResult> {
  const dir = await directoryNode(scope, dirKey);
  const { before } = await dirWcc(scope, dir);
  const node = await lookupChild(scope, dirKey, name);
  if (node === undefined || name === '.' || name === '..') throw new NfsError('NFS3ERR_NOENT');
  if (node.kind === 'dir') throw new NfsError('NFS3ERR_ISDIR');
  alsoAllowed(scope, 'delete', node.key);
  await scope.caller.deps.openFiles.discard(scope.bucketTag, node.key);
  await deleteKey(scope, node.key);
  await keepDirectory(scope, dirKey);
  return { status: 'NFS3_OK', dirWcc: { before, after: await attributesAt(scope, dirKey) } };
}

export async function removeDirectory(scope: Scope, dirKey: string, name: string): Promise<RemoveResult> {
  const dir = await directoryNode(scope, dirKey);
  const { before } = await dirWcc(scope, dir);
  if (name === '.') throw new NfsError('NFS3ERR_INVAL');
  if (name === '..') throw new NfsError('NFS3ERR_NOTEMPTY');
  const node = await lookupChild(scope, dirKey, name);
  if (node === undefined) throw new NfsError('NFS3ERR_NOENT');
  if (node.kind !== 'dir') throw new NfsError('NFS3ERR_NOTDIR');
  alsoAllowed(scope, 'delete', node.key);
  if (await hasChildren(scope, node.key)) throw new NfsError('NFS3ERR_NOTEMPTY');
  if (node.marker !== undefined) await deleteKey(scope, node.key);
  await keepDirectory(scope, dirKey);
  return { status: 'NFS3_OK', dirWcc: { before, after: await attributesAt(scope, dirKey) } };
}

/** Stores what is buffered for `key`, so a copy of it has every byte written. */
async function settle(scope: Scope, key: string): Promise<void> {
  const open = scope.caller.deps.openFiles.peek(scope.bucketTag, key);
  if (open !== undefined) await scope.caller.deps.openFiles.flush(open);
}

/** A move reads and deletes its source and writes its target: each key's own rights, as S3 would judge them. */
function checkMove(scope: Scope, from: string, to: string): void {
  alsoAllowed(scope, 'read', from);
  alsoAllowed(scope, 'delete', from);
  alsoAllowed(scope, 'write', to);
}

async function moveKey(scope: Scope, from: string, to: string): Promise<ObjectMeta | undefined> {
  checkMove(scope, from, to);
  await settle(scope, from);
  // The target's open file goes first: stored later, it would overwrite the copy.
  await scope.caller.deps.openFiles.discard(scope.bucketTag, to);
  const copied = await copyObject(scope, from, to);
  if (copied === undefined) return undefined;
  await scope.caller.deps.openFiles.discard(scope.bucketTag, from);
  await deleteKey(scope, from);
  return copied;
}

export async function rename(scope: Scope, fromDirKey: string, fromName: string, toScope: Scope, toDirKey: string, toName: string): Promise<RenameResult> {
  if (toScope.bucketTag !== scope.bucketTag) throw new NfsError('NFS3ERR_XDEV');
  const fromDir = await directoryNode(scope, fromDirKey);
  const toDir = await directoryNode(scope, toDirKey);
  const fromBefore = wccAttrOf(attributesOf(scope, fromDir));
  const toBefore = wccAttrOf(attributesOf(scope, toDir));
  if (fromName === '.' || fromName === '..') throw new NfsError('NFS3ERR_INVAL');
  const source = await lookupChild(scope, fromDirKey, fromName);
  if (source === undefined) throw new NfsError('NFS3ERR_NOENT');
  checkNewName(toDirKey, toName);
  const target = await lookupChild(scope, toDirKey, toName);
  alsoAllowed(scope, 'read', source.key);
  alsoAllowed(scope, 'delete', source.key);
  if (source.kind === 'file') {
    const to = toDirKey + toName;
    alsoAllowed(scope, 'write', to);
    if (target?.kind === 'dir') throw new NfsError('NFS3ERR_ISDIR');
    if (to !== source.key) await moveKey(scope, source.key, to);
  } else {
    const to = `${toDirKey}${toName}/`;
    alsoAllowed(scope, 'write', to);
    if (target?.kind === 'file') throw new NfsError('NFS3ERR_NOTDIR');
    if (to.startsWith(source.key) && to !== source.key) throw new NfsError('NFS3ERR_INVAL');
    if (target !== undefined && to !== source.key && (await hasChildren(scope, to))) throw new NfsError('NFS3ERR_NOTEMPTY');
    if (to !== source.key) await moveDirectory(scope, source.key, to);
  }
  await keepDirectory(scope, fromDirKey);
  return {
    status: 'NFS3_OK',
    fromDirWcc: { before: fromBefore, after: await attributesAt(scope, fromDirKey) },
    toDirWcc: { before: toBefore, after: await attributesAt(scope, toDirKey) },
  };
}

/** Moves every key under `from` to the same place under `to`, a page at a time. */
async function moveDirectory(scope: Scope, from: string, to: string): Promise<void> {
  // Each page starts after the last key of the one before, so a key that cannot be moved (gone
  // meanwhile, say) is passed over rather than listed again forever; `to` never lies below `from`.
  let marker: string | undefined;
  for (;;) {
    const listed = expectOk(await scope.gateway.storage.list('object', scope.bucket.name, { prefix: from, maxKeys: RENAME_PAGE_KEYS, ...(marker !== undefined ? { marker } : {}) }), 'NoSuchBucket').result;
    const keys = listed.contents.map((entry) => entry.key);
    if (keys.length === 0) return;
    marker = keys[keys.length - 1];
    // A key below the directory the user may not move stops the rename before any key of the page moves.
    for (const key of keys) checkMove(scope, key, to + key.slice(from.length));
    await mapBounded(keys, RENAME_CONCURRENCY, (key) => moveKey(scope, key, to + key.slice(from.length)));
  }
}
