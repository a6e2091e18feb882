/**
 * WRITE, COMMIT and SETATTR. Writes land in the file's buffer (open-files.ts) and reach the store on
 * COMMIT, with a FILE_SYNC or DATA_SYNC write (answered FILE_SYNC: the whole object is stored), or when
 * the file goes idle. SETATTR is stored before it is answered, as the RFC asks: a size truncates or
 * extends the file, mode, owner and times go to the object's metadata.
 */
import type { CommitResult, SetattrResult, WriteResult } from '../../../protocol/nfs/nfs3-results.js';
import type { NfsTime3, Sattr3, StableHow, WccData } from '../../../protocol/nfs/nfs3-types.js';
import { afterContentChange, setsMetadata, userMetaWith, wccAttrOf } from './attributes.js';
import { NfsError } from './nfs-errors.js';
import type { Scope } from './nfs-scope.js';
import { attributesOf, existingNode, type FsNode } from './nodes.js';
import type { OpenFile } from './open-files.js';
import { fileStoreOf, rewriteMetadata, storeEmpty } from './stored-objects.js';
import { currentObject } from '../object-versions.js';

function sameTime(a: NfsTime3, b: NfsTime3): boolean {
  return a.seconds === b.seconds && a.nseconds === b.nseconds;
}

/**
 * Runs `change` on `key`'s open file, again on a fresh one if it closed meanwhile. A file is opened with
 * the object as it is now, read just before: one stored and closed a moment ago has new bytes.
 */
async function withOpenFile<T>(scope: Scope, node: FsNode & { kind: 'file' }, change: (file: OpenFile) => Promise<T>): Promise<T> {
  const openFiles = scope.caller.deps.openFiles;
  for (;;) {
    let file = openFiles.peek(scope.bucketTag, node.key);
    if (file === undefined || file.closed) {
      const meta = await currentObject(scope.gateway, scope.bucket.name, node.key);
      file = await openFiles.open(fileStoreOf(scope), node.key, meta, {});
    }
    const outcome = await file.locked(async () => (file.closed ? { retry: true as const } : { retry: false as const, value: await change(file) }));
    if (!outcome.retry) return outcome.value;
  }
}

export async function writeFile(scope: Scope, key: string, offset: bigint, stable: StableHow, data: Buffer): Promise<WriteResult> {
  // A file being written is known without asking the cluster: a WRITE costs no storage call until stored.
  const open = scope.caller.deps.openFiles.peek(scope.bucketTag, key);
  const node: FsNode = open !== undefined && !open.closed ? { kind: 'file', key, meta: undefined } : await existingNode(scope, key);
  if (node.kind === 'dir') throw new NfsError('NFS3ERR_ISDIR');
  if (offset + BigInt(data.length) > BigInt(scope.caller.deps.config.maxFileBytes)) throw new NfsError('NFS3ERR_FBIG');
  const before = wccAttrOf(attributesOf(scope, node));
  // The attributes after are read while the file is still held: once let go, it may be stored and
  // closed, and a node without its open file would say size 0.
  const after = await withOpenFile(scope, node, async (file) => {
    await file.write(Number(offset), data);
    if (stable !== 'UNSTABLE') await file.storeNow();
    return attributesOf(scope, node);
  });
  return {
    status: 'NFS3_OK',
    fileWcc: { before, after },
    count: data.length,
    committed: stable === 'UNSTABLE' ? 'UNSTABLE' : 'FILE_SYNC',
    verifier: scope.caller.deps.writeVerifier,
  };
}

export async function commitFile(scope: Scope, key: string): Promise<CommitResult> {
  const node = await existingNode(scope, key);
  // A directory has nothing to commit: ISDIR, as the Linux server answers (RFC 1813 lists no better status).
  if (node.kind === 'dir') throw new NfsError('NFS3ERR_ISDIR');
  const before = wccAttrOf(attributesOf(scope, node));
  const open = scope.caller.deps.openFiles.peek(scope.bucketTag, key);
  if (open !== undefined) await scope.caller.deps.openFiles.flush(open);
  return { status: 'NFS3_OK', fileWcc: { before, after: attributesOf(scope, node) }, verifier: scope.caller.deps.writeVerifier };
}

export async function setAttributes(scope: Scope, key: string, sattr: Sattr3, guardCtime: NfsTime3 | undefined): Promise<SetattrResult> {
  const node = await existingNode(scope, key);
  const attributes = attributesOf(scope, node);
  const before = wccAttrOf(attributes);
  if (guardCtime !== undefined && !sameTime(guardCtime, attributes.ctime)) {
    return { status: 'NFS3ERR_NOT_SYNC', wcc: { before, after: attributes } };
  }
  const nowMs = scope.gateway.clock.now();
  if (node.kind === 'dir') {
    if (sattr.size !== undefined) throw new NfsError('NFS3ERR_ISDIR');
    // The root has no marker to keep attributes in: it keeps the export's.
    if (setsMetadata(sattr) && node.key !== '') {
      await storeEmpty(scope, node.key, userMetaWith(node.marker?.userMeta ?? {}, sattr, 'NF3DIR', nowMs));
    }
    return { status: 'NFS3_OK', wcc: await afterChange(scope, key, before) };
  }
  if (sattr.size !== undefined && sattr.size > BigInt(scope.caller.deps.config.maxFileBytes)) throw new NfsError('NFS3ERR_FBIG');
  const open = scope.caller.deps.openFiles.peek(scope.bucketTag, key);
  if (open === undefined && sattr.size === 0n) {
    // Truncating to nothing (an O_TRUNC open) needs none of the old bytes.
    await storeEmpty(scope, key, userMetaWith(afterContentChange(node.meta?.userMeta ?? {}), sattr, 'NF3REG', nowMs), node.meta);
  } else if (open === undefined && sattr.size === undefined) {
    if (setsMetadata(sattr) && node.meta !== undefined) await rewriteMetadata(scope, node.meta, userMetaWith(node.meta.userMeta, sattr, 'NF3REG', nowMs));
  } else {
    await withOpenFile(scope, node, async (file) => {
      if (sattr.size !== undefined && Number(sattr.size) !== file.size) await file.truncate(Number(sattr.size));
      if (setsMetadata(sattr)) {
        file.userMeta = userMetaWith(file.userMeta, sattr, 'NF3REG', nowMs);
        file.dirty = true;
      }
      await file.storeNow();
    });
  }
  return { status: 'NFS3_OK', wcc: await afterChange(scope, key, before) };
}

async function afterChange(scope: Scope, key: string, before: WccData['before']): Promise<WccData> {
  const node = await existingNode(scope, key).catch(() => undefined);
  return { before, after: node === undefined ? undefined : attributesOf(scope, node) };
}
