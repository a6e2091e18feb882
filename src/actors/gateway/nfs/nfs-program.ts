/**
 * The NFS v3 program: one handler per procedure, each in its own scope. A failure becomes the
 * procedure's nfsstat3 (nfs-errors.ts), with the optional attributes left out; nothing a call does
 * escapes it. READLINK, SYMLINK, MKNOD and LINK are NFS3ERR_NOTSUPP: keys have no links.
 */
import type { Nfs3Call } from '../../../protocol/nfs/nfs3.js';
import type { Nfs3Result } from '../../../protocol/nfs/nfs3-results.js';
import { FSF3, NO_WCC, type Nfs3ErrorStatus } from '../../../protocol/nfs/nfs3-types.js';
import { accessRights } from './access-rights.js';
import { readdir, readdirplus } from './directory-listing.js';
import { nfsStatusOf, NfsError } from './nfs-errors.js';
import { openHandle, type NfsCaller } from './nfs-scope.js';
import { attributesOf, existingNode, lookupChild } from './nodes.js';
import { MAX_READ_BYTES, readFile } from './reads.js';
import { createFile, makeDirectory, removeDirectory, removeFile, rename } from './namespace-changes.js';
import { commitFile, setAttributes, writeFile } from './writes.js';
import { NFS3_MAXNAMLEN } from '../../../protocol/nfs/nfs3-types.js';

/** FSINFO's wtmax: the most one WRITE carries. */
export const MAX_WRITE_BYTES = 1024 * 1024;
/** What FSSTAT reports: the cluster's capacity is not known here, so plenty. */
const REPORTED_BYTES = 1n << 50n;
const REPORTED_FILES = 1n << 40n;

export async function nfsCall(caller: NfsCaller, call: Nfs3Call): Promise<Nfs3Result> {
  try {
    return await answer(caller, call);
  } catch (error) {
    const { status, unexpected } = nfsStatusOf(error);
    if (unexpected) caller.log.error('an NFS call failed', { proc: call.proc, error });
    else caller.log.debug('an NFS call failed', { proc: call.proc, status, message: error instanceof Error ? error.message : String(error) });
    return failure(call, status);
  }
}

async function answer(caller: NfsCaller, call: Nfs3Call): Promise<Nfs3Result> {
  switch (call.proc) {
    case 'NULL':
      return { proc: 'NULL' };
    case 'GETATTR': {
      const { scope, key } = openHandle(caller, call.args.object, 'list');
      return { proc: 'GETATTR', result: { status: 'NFS3_OK', attributes: attributesOf(scope, await existingNode(scope, key)) } };
    }
    case 'SETATTR': {
      const { scope, key } = openHandle(caller, call.args.object, 'write');
      return { proc: 'SETATTR', result: await setAttributes(scope, key, call.args.newAttributes, call.args.guardCtime) };
    }
    case 'LOOKUP': {
      const { scope, key } = openHandle(caller, call.args.what.dir, 'list');
      const dir = await existingNode(scope, key);
      if (dir.kind !== 'dir') throw new NfsError('NFS3ERR_NOTDIR');
      const dirAttributes = attributesOf(scope, dir);
      const found = await lookupChild(scope, key, call.args.what.name);
      if (found === undefined) return { proc: 'LOOKUP', result: { status: 'NFS3ERR_NOENT', dirAttributes } };
      const object = await caller.deps.handles.handleFor(scope.bucketTag, found.key);
      return { proc: 'LOOKUP', result: { status: 'NFS3_OK', object, objectAttributes: attributesOf(scope, found), dirAttributes } };
    }
    case 'ACCESS': {
      const { scope, key } = openHandle(caller, call.args.object, 'list');
      const node = await existingNode(scope, key);
      return { proc: 'ACCESS', result: { status: 'NFS3_OK', objectAttributes: attributesOf(scope, node), access: accessRights(scope, node, call.args.access) } };
    }
    case 'READ': {
      const { scope, key } = openHandle(caller, call.args.file, 'read');
      return { proc: 'READ', result: await readFile(scope, key, call.args.offset, call.args.count) };
    }
    case 'WRITE': {
      const { scope, key } = openHandle(caller, call.args.file, 'write');
      return { proc: 'WRITE', result: await writeFile(scope, key, call.args.offset, call.args.stable, call.args.data) };
    }
    case 'CREATE': {
      const { scope, key } = openHandle(caller, call.args.where.dir, 'write');
      return { proc: 'CREATE', result: await createFile(scope, key, call.args.where.name, call.args.how) };
    }
    case 'MKDIR': {
      const { scope, key } = openHandle(caller, call.args.where.dir, 'write');
      return { proc: 'MKDIR', result: await makeDirectory(scope, key, call.args.where.name, call.args.attributes) };
    }
    case 'REMOVE': {
      const { scope, key } = openHandle(caller, call.args.object.dir, 'list');
      return { proc: 'REMOVE', result: await removeFile(scope, key, call.args.object.name) };
    }
    case 'RMDIR': {
      const { scope, key } = openHandle(caller, call.args.object.dir, 'list');
      return { proc: 'RMDIR', result: await removeDirectory(scope, key, call.args.object.name) };
    }
    case 'RENAME': {
      const from = openHandle(caller, call.args.from.dir, 'list');
      const to = openHandle(caller, call.args.to.dir, 'write');
      return { proc: 'RENAME', result: await rename(from.scope, from.key, call.args.from.name, to.scope, to.key, call.args.to.name) };
    }
    case 'READDIR': {
      const { scope, key } = openHandle(caller, call.args.dir, 'list');
      const dir = await existingNode(scope, key);
      if (dir.kind !== 'dir') throw new NfsError('NFS3ERR_NOTDIR');
      return { proc: 'READDIR', result: await readdir(scope, dir, call.args.cookie, call.args.cookieverf, call.args.count) };
    }
    case 'READDIRPLUS': {
      const { scope, key } = openHandle(caller, call.args.dir, 'list');
      const dir = await existingNode(scope, key);
      if (dir.kind !== 'dir') throw new NfsError('NFS3ERR_NOTDIR');
      return { proc: 'READDIRPLUS', result: await readdirplus(scope, dir, call.args.cookie, call.args.cookieverf, call.args.dircount, call.args.maxcount) };
    }
    case 'FSSTAT': {
      const { scope, key } = openHandle(caller, call.args.fsroot, 'list');
      const objectAttributes = attributesOf(scope, await existingNode(scope, key));
      return {
        proc: 'FSSTAT',
        result: {
          status: 'NFS3_OK', objectAttributes, totalBytes: REPORTED_BYTES, freeBytes: REPORTED_BYTES, availableBytes: REPORTED_BYTES,
          totalFiles: REPORTED_FILES, freeFiles: REPORTED_FILES, availableFiles: REPORTED_FILES, invarsec: 0,
        },
      };
    }
    case 'FSINFO': {
      const { scope, key } = openHandle(caller, call.args.fsroot, 'list');
      const objectAttributes = attributesOf(scope, await existingNode(scope, key));
      return {
        proc: 'FSINFO',
        result: {
          status: 'NFS3_OK', objectAttributes,
          rtmax: MAX_READ_BYTES, rtpref: MAX_READ_BYTES, rtmult: 4096,
          wtmax: MAX_WRITE_BYTES, wtpref: MAX_WRITE_BYTES, wtmult: 4096,
          dtpref: 64 * 1024, maxFileSize: BigInt(caller.deps.config.maxFileBytes), timeDelta: { seconds: 0, nseconds: 1_000_000 },
          properties: FSF3.HOMOGENEOUS | FSF3.CANSETTIME,
        },
      };
    }
    case 'PATHCONF': {
      const { scope, key } = openHandle(caller, call.args.object, 'list');
      const objectAttributes = attributesOf(scope, await existingNode(scope, key));
      return {
        proc: 'PATHCONF',
        result: { status: 'NFS3_OK', objectAttributes, linkMax: 1, nameMax: NFS3_MAXNAMLEN, noTrunc: true, chownRestricted: true, caseInsensitive: false, casePreserving: true },
      };
    }
    case 'COMMIT': {
      const { scope, key } = openHandle(caller, call.args.file, 'write');
      return { proc: 'COMMIT', result: await commitFile(scope, key) };
    }
    case 'READLINK':
    case 'SYMLINK':
    case 'MKNOD':
    case 'LINK':
      throw new NfsError('NFS3ERR_NOTSUPP');
  }
}

/** The procedure's failure result: the status, and no optional data. */
export function failure(call: Exclude<Nfs3Call, { proc: 'NULL' }> | Nfs3Call, status: Nfs3ErrorStatus): Nfs3Result {
  switch (call.proc) {
    case 'NULL':
      return { proc: 'NULL' };
    case 'GETATTR':
      return { proc: call.proc, result: { status } };
    case 'SETATTR':
      return { proc: call.proc, result: { status, wcc: NO_WCC } };
    case 'LOOKUP':
      return { proc: call.proc, result: { status, dirAttributes: undefined } };
    case 'ACCESS':
    case 'FSSTAT':
    case 'FSINFO':
    case 'PATHCONF':
      return { proc: call.proc, result: { status, objectAttributes: undefined } } as Nfs3Result;
    case 'READLINK':
      return { proc: call.proc, result: { status, symlinkAttributes: undefined } };
    case 'READ':
      return { proc: call.proc, result: { status, fileAttributes: undefined } };
    case 'WRITE':
    case 'COMMIT':
      return { proc: call.proc, result: { status, fileWcc: NO_WCC } } as Nfs3Result;
    case 'CREATE':
    case 'MKDIR':
    case 'SYMLINK':
    case 'MKNOD':
      return { proc: call.proc, result: { status, dirWcc: NO_WCC } };
    case 'REMOVE':
    case 'RMDIR':
      return { proc: call.proc, result: { status, dirWcc: NO_WCC } };
    case 'RENAME':
      return { proc: call.proc, result: { status, fromDirWcc: NO_WCC, toDirWcc: NO_WCC } };
    case 'LINK':
      return { proc: call.proc, result: { status, fileAttributes: undefined, linkDirWcc: NO_WCC } };
    case 'READDIR':
    case 'READDIRPLUS':
      return { proc: call.proc, result: { status, dirAttributes: undefined } } as Nfs3Result;
  }
}
