/**
 * The results of NFS version 3 procedures (RFC 1813 section 3): each a union on nfsstat3 of what
 * NFS3_OK carries and what a failure still carries (usually attributes for the client's cache), and
 * `encodeNfs3Result`, which writes them as the SUCCESS results of an RPC reply.
 *
 * Build READDIR and READDIRPLUS results with nfs3-readdir.ts, which fits entries into the client's
 * byte budgets.
 */
import {
  writeFattr, writeFh, writeNfsTime, writePostOpAttr, writePostOpFh, writeWccData,
} from './nfs3-xdr.js';
import {
  NFS3_COOKIEVERFSIZE, NFS3_WRITEVERFSIZE, NFSSTAT3, STABLE_HOW,
  type Fattr3, type Nfs3ErrorStatus, type Nfs3Status, type NfsFh3, type NfsTime3, type PostOpAttr, type PostOpFh3,
  type StableHow, type WccData,
} from './nfs3-types.js';
import { UNBOUNDED, XdrWriter } from './xdr.js';

type Failed<Fields> = { readonly status: Nfs3ErrorStatus } & Fields;

export type GetattrResult = { readonly status: 'NFS3_OK'; readonly attributes: Fattr3 } | { readonly status: Nfs3ErrorStatus };

/** The same data whether it succeeds or fails, as for REMOVE, RENAME and LINK. */
export interface SetattrResult {
  readonly status: Nfs3Status;
  readonly wcc: WccData;
}

export type LookupResult =
  | { readonly status: 'NFS3_OK'; readonly object: NfsFh3; readonly objectAttributes: PostOpAttr; readonly dirAttributes: PostOpAttr }
  | Failed<{ readonly dirAttributes: PostOpAttr }>;

export type AccessResult =
  | { readonly status: 'NFS3_OK'; readonly objectAttributes: PostOpAttr; readonly access: number }
  | Failed<{ readonly objectAttributes: PostOpAttr }>;

export type ReadlinkResult =
  | { readonly status: 'NFS3_OK'; readonly symlinkAttributes: PostOpAttr; readonly target: string }
  | Failed<{ readonly symlinkAttributes: PostOpAttr }>;

export type ReadResult =
  /** The count on the wire is `data.length`; large data is sent by reference, not copied. */
  | { readonly status: 'NFS3_OK'; readonly fileAttributes: PostOpAttr; readonly eof: boolean; readonly data: Buffer }
  | Failed<{ readonly fileAttributes: PostOpAttr }>;

export type WriteResult =
  | {
      readonly status: 'NFS3_OK';
      readonly fileWcc: WccData;
      readonly count: number;
      readonly committed: StableHow;
      /** writeverf3: changes when the server may have lost UNSTABLE writes (a restart), so clients resend them. */
      readonly verifier: Buffer;
    }
  | Failed<{ readonly fileWcc: WccData }>;

/** CREATE, MKDIR, SYMLINK and MKNOD. */
export type CreateResult =
  | { readonly status: 'NFS3_OK'; readonly object: PostOpFh3; readonly objectAttributes: PostOpAttr; readonly dirWcc: WccData }
  | Failed<{ readonly dirWcc: WccData }>;

export interface RemoveResult {
  readonly status: Nfs3Status;
  readonly dirWcc: WccData;
}

export interface RenameResult {
  readonly status: Nfs3Status;
  readonly fromDirWcc: WccData;
  readonly toDirWcc: WccData;
}

export interface LinkResult {
  readonly status: Nfs3Status;
  readonly fileAttributes: PostOpAttr;
  readonly linkDirWcc: WccData;
}

export interface ReaddirEntry {
  readonly fileid: bigint;
  readonly name: string;
  readonly cookie: bigint;
}

export interface ReaddirplusEntry extends ReaddirEntry {
  readonly attributes: PostOpAttr;
  readonly handle: PostOpFh3;
}

export type ReaddirResult =
  | {
      readonly status: 'NFS3_OK';
      readonly dirAttributes: PostOpAttr;
      readonly cookieverf: Buffer;
      readonly entries: readonly ReaddirEntry[];
      readonly eof: boolean;
    }
  | Failed<{ readonly dirAttributes: PostOpAttr }>;

export type ReaddirplusResult =
  | {
      readonly status: 'NFS3_OK';
      readonly dirAttributes: PostOpAttr;
      readonly cookieverf: Buffer;
      readonly entries: readonly ReaddirplusEntry[];
      readonly eof: boolean;
    }
  | Failed<{ readonly dirAttributes: PostOpAttr }>;

export type FsstatResult =
  | {
      readonly status: 'NFS3_OK';
      readonly objectAttributes: PostOpAttr;
      readonly totalBytes: bigint;
      readonly freeBytes: bigint;
      /** Free bytes the caller may use. */
      readonly availableBytes: bigint;
      readonly totalFiles: bigint;
      readonly freeFiles: bigint;
      readonly availableFiles: bigint;
      /** Seconds for which these figures will not change; 0 when they may change at any time. */
      readonly invarsec: number;
    }
  | Failed<{ readonly objectAttributes: PostOpAttr }>;

export type FsinfoResult =
  | {
      readonly status: 'NFS3_OK';
      readonly objectAttributes: PostOpAttr;
      readonly rtmax: number;
      readonly rtpref: number;
      readonly rtmult: number;
      readonly wtmax: number;
      readonly wtpref: number;
      readonly wtmult: number;
      readonly dtpref: number;
      readonly maxFileSize: bigint;
      readonly timeDelta: NfsTime3;
      /** FSF3 bits. */
      readonly properties: number;
    }
  | Failed<{ readonly objectAttributes: PostOpAttr }>;

export type PathconfResult =
  | {
      readonly status: 'NFS3_OK';
      readonly objectAttributes: PostOpAttr;
      readonly linkMax: number;
      readonly nameMax: number;
      readonly noTrunc: boolean;
      readonly chownRestricted: boolean;
      readonly caseInsensitive: boolean;
      readonly casePreserving: boolean;
    }
  | Failed<{ readonly objectAttributes: PostOpAttr }>;

export type CommitResult =
  | { readonly status: 'NFS3_OK'; readonly fileWcc: WccData; readonly verifier: Buffer }
  | Failed<{ readonly fileWcc: WccData }>;

export type Nfs3Result =
  | { readonly proc: 'NULL' }
  | { readonly proc: 'GETATTR'; readonly result: GetattrResult }
  | { readonly proc: 'SETATTR'; readonly result: SetattrResult }
  | { readonly proc: 'LOOKUP'; readonly result: LookupResult }
  | { readonly proc: 'ACCESS'; readonly result: AccessResult }
  | { readonly proc: 'READLINK'; readonly result: ReadlinkResult }
  | { readonly proc: 'READ'; readonly result: ReadResult }
  | { readonly proc: 'WRITE'; readonly result: WriteResult }
  | { readonly proc: 'CREATE' | 'MKDIR' | 'SYMLINK' | 'MKNOD'; readonly result: CreateResult }
  | { readonly proc: 'REMOVE' | 'RMDIR'; readonly result: RemoveResult }
  | { readonly proc: 'RENAME'; readonly result: RenameResult }
  | { readonly proc: 'LINK'; readonly result: LinkResult }
  | { readonly proc: 'READDIR'; readonly result: ReaddirResult }
  | { readonly proc: 'READDIRPLUS'; readonly result: ReaddirplusResult }
  | { readonly proc: 'FSSTAT'; readonly result: FsstatResult }
  | { readonly proc: 'FSINFO'; readonly result: FsinfoResult }
  | { readonly proc: 'PATHCONF'; readonly result: PathconfResult }
  | { readonly proc: 'COMMIT'; readonly result: CommitResult };

/** The procedure's results, to be sent as an accepted RPC reply's SUCCESS results. */
export function encodeNfs3Result(result: Nfs3Result): Buffer[] {
  const writer = new XdrWriter();
  if (result.proc !== 'NULL') writeResult(writer, result);
  return writer.toBuffers();
}

function writeResult(w: XdrWriter, { proc, result }: Exclude<Nfs3Result, { proc: 'NULL' }>): void {
  NFSSTAT3.write(w, result.status);
  switch (proc) {
    case 'GETATTR':
      if (result.status === 'NFS3_OK') writeFattr(w, result.attributes);
      return;
    case 'SETATTR':
      return writeWccData(w, result.wcc);
    case 'LOOKUP':
      if (result.status === 'NFS3_OK') {
        writeFh(w, result.object);
        writePostOpAttr(w, result.objectAttributes);
      }
      return writePostOpAttr(w, result.dirAttributes);
    case 'ACCESS':
      writePostOpAttr(w, result.objectAttributes);
      if (result.status === 'NFS3_OK') w.uint32(result.access);
      return;
    case 'READLINK':
      writePostOpAttr(w, result.symlinkAttributes);
      if (result.status === 'NFS3_OK') w.string(result.target, UNBOUNDED);
      return;
    case 'READ':
      writePostOpAttr(w, result.fileAttributes);
      if (result.status === 'NFS3_OK') w.uint32(result.data.length).bool(result.eof).varOpaque(result.data);
      return;
    case 'WRITE':
      writeWccData(w, result.fileWcc);
      if (result.status === 'NFS3_OK') {
        w.uint32(result.count);
        STABLE_HOW.write(w, result.committed);
        w.fixedOpaque(result.verifier, NFS3_WRITEVERFSIZE);
      }
      return;
    case 'CREATE':
    case 'MKDIR':
    case 'SYMLINK':
    case 'MKNOD':
      if (result.status === 'NFS3_OK') {
        writePostOpFh(w, result.object);
        writePostOpAttr(w, result.objectAttributes);
      }
      return writeWccData(w, result.dirWcc);
    case 'REMOVE':
    case 'RMDIR':
      return writeWccData(w, result.dirWcc);
    case 'RENAME':
      writeWccData(w, result.fromDirWcc);
      return writeWccData(w, result.toDirWcc);
    case 'LINK':
      writePostOpAttr(w, result.fileAttributes);
      return writeWccData(w, result.linkDirWcc);
    case 'READDIR':
      writePostOpAttr(w, result.dirAttributes);
      if (result.status !== 'NFS3_OK') return;
      w.fixedOpaque(result.cookieverf, NFS3_COOKIEVERFSIZE);
      w.list(result.entries, (e, entry) => e.uint64(entry.fileid).string(entry.name).uint64(entry.cookie));
      w.bool(result.eof);
      return;
    case 'READDIRPLUS':
      writePostOpAttr(w, result.dirAttributes);
      if (result.status !== 'NFS3_OK') return;
      w.fixedOpaque(result.cookieverf, NFS3_COOKIEVERFSIZE);
      w.list(result.entries, (e, entry) => {
        e.uint64(entry.fileid).string(entry.name).uint64(entry.cookie);
        writePostOpAttr(e, entry.attributes);
        writePostOpFh(e, entry.handle);
      });
      w.bool(result.eof);
      return;
    case 'FSSTAT':
      writePostOpAttr(w, result.objectAttributes);
      if (result.status !== 'NFS3_OK') return;
      w.uint64(result.totalBytes).uint64(result.freeBytes).uint64(result.availableBytes);
      w.uint64(result.totalFiles).uint64(result.freeFiles).uint64(result.availableFiles);
      w.uint32(result.invarsec);
      return;
    case 'FSINFO':
      writePostOpAttr(w, result.objectAttributes);
      if (result.status !== 'NFS3_OK') return;
      w.uint32(result.rtmax).uint32(result.rtpref).uint32(result.rtmult);
      w.uint32(result.wtmax).uint32(result.wtpref).uint32(result.wtmult);
      w.uint32(result.dtpref).uint64(result.maxFileSize);
      writeNfsTime(w, result.timeDelta);
      w.uint32(result.properties);
      return;
    case 'PATHCONF':
      writePostOpAttr(w, result.objectAttributes);
      if (result.status !== 'NFS3_OK') return;
      w.uint32(result.linkMax).uint32(result.nameMax);
      w.bool(result.noTrunc).bool(result.chownRestricted).bool(result.caseInsensitive).bool(result.casePreserving);
      return;
    case 'COMMIT':
      writeWccData(w, result.fileWcc);
      if (result.status === 'NFS3_OK') w.fixedOpaque(result.verifier, NFS3_WRITEVERFSIZE);
      return;
  }
}
