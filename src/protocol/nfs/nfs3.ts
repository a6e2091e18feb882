/**
 * The calls of NFS version 3 (RFC 1813 section 3), program 100003: one closed union of every procedure
 * with its decoded arguments, read by `decodeNfs3Call` from the arguments of an RPC call.
 *
 * Decoding is as strict as the XDR (and as Linux's server): an enum value outside its type, a handle
 * longer than 64 bytes or a WRITE whose count disagrees with its data is GARBAGE_ARGS. What the XDR
 * allows but the server may refuse (an empty handle, a name too long) is left to the handlers, which
 * answer it with an nfsstat3. Bytes after the arguments are ignored.
 */
import {
  readCreateHow, readDirOpArgs, readFh, readMknodData, readName, readNfsTime, readSattr,
} from './nfs3-xdr.js';
import {
  NFS3_COOKIEVERFSIZE, STABLE_HOW,
  type CreateHow3, type DirOpArgs3, type MknodData3, type NfsFh3, type NfsTime3, type Sattr3, type StableHow,
} from './nfs3-types.js';
import { decodeArgs, procedureUnavailable, type ArgsDecoding } from './rpc.js';
import { UNBOUNDED, XdrError, type XdrReader } from './xdr.js';

/** Procedure names in procedure-number order. */
export const NFS3_PROCEDURES = [
  'NULL', 'GETATTR', 'SETATTR', 'LOOKUP', 'ACCESS', 'READLINK', 'READ', 'WRITE', 'CREATE', 'MKDIR', 'SYMLINK',
  'MKNOD', 'REMOVE', 'RMDIR', 'RENAME', 'LINK', 'READDIR', 'READDIRPLUS', 'FSSTAT', 'FSINFO', 'PATHCONF', 'COMMIT',
] as const;
export type Nfs3Procedure = (typeof NFS3_PROCEDURES)[number];

export interface GetattrArgs {
  readonly object: NfsFh3;
}

export interface SetattrArgs {
  readonly object: NfsFh3;
  readonly newAttributes: Sattr3;
  /** sattrguard3: when set, change only if the object's ctime is still this (else NFS3ERR_NOT_SYNC). */
  readonly guardCtime: NfsTime3 | undefined;
}

export interface LookupArgs {
  readonly what: DirOpArgs3;
}

export interface AccessArgs {
  readonly object: NfsFh3;
  /** ACCESS3 bits the client asks about. */
  readonly access: number;
}

export interface ReadlinkArgs {
  readonly symlink: NfsFh3;
}

export interface ReadArgs {
  readonly file: NfsFh3;
  readonly offset: bigint;
  readonly count: number;
}

export interface WriteArgs {
  readonly file: NfsFh3;
  readonly offset: bigint;
  readonly stable: StableHow;
  /** A view into the record; the call's `count` was checked equal to its length. */
  readonly data: Buffer;
}

export interface CreateArgs {
  readonly where: DirOpArgs3;
  readonly how: CreateHow3;
}

export interface MkdirArgs {
  readonly where: DirOpArgs3;
  readonly attributes: Sattr3;
}

export interface SymlinkArgs {
  readonly where: DirOpArgs3;
  readonly attributes: Sattr3;
  /** symlink_data: the path the link points to. */
  readonly target: string;
}

export interface MknodArgs {
  readonly where: DirOpArgs3;
  readonly what: MknodData3;
}

export interface RemoveArgs {
  readonly object: DirOpArgs3;
}

export interface RenameArgs {
  readonly from: DirOpArgs3;
  readonly to: DirOpArgs3;
}

export interface LinkArgs {
  readonly file: NfsFh3;
  readonly link: DirOpArgs3;
}

export interface ReaddirArgs {
  readonly dir: NfsFh3;
  /** 0 for the first entry, else the cookie of the last entry the client has. */
  readonly cookie: bigint;
  readonly cookieverf: Buffer;
  /** Most bytes the READDIR3resok may take. */
  readonly count: number;
}

export interface ReaddirplusArgs {
  readonly dir: NfsFh3;
  readonly cookie: bigint;
  readonly cookieverf: Buffer;
  /** Most bytes of directory information (names, ids, cookies: not attributes or handles). */
  readonly dircount: number;
  /** Most bytes the READDIRPLUS3resok may take. */
  readonly maxcount: number;
}

export interface FsrootArgs {
  readonly fsroot: NfsFh3;
}

export interface PathconfArgs {
  readonly object: NfsFh3;
}

export interface CommitArgs {
  readonly file: NfsFh3;
  readonly offset: bigint;
  /** 0 means to the end of the file. */
  readonly count: number;
}

export type Nfs3Call =
  | { readonly proc: 'NULL' }
  | { readonly proc: 'GETATTR'; readonly args: GetattrArgs }
  | { readonly proc: 'SETATTR'; readonly args: SetattrArgs }
  | { readonly proc: 'LOOKUP'; readonly args: LookupArgs }
  | { readonly proc: 'ACCESS'; readonly args: AccessArgs }
  | { readonly proc: 'READLINK'; readonly args: ReadlinkArgs }
  | { readonly proc: 'READ'; readonly args: ReadArgs }
  | { readonly proc: 'WRITE'; readonly args: WriteArgs }
  | { readonly proc: 'CREATE'; readonly args: CreateArgs }
  | { readonly proc: 'MKDIR'; readonly args: MkdirArgs }
  | { readonly proc: 'SYMLINK'; readonly args: SymlinkArgs }
  | { readonly proc: 'MKNOD'; readonly args: MknodArgs }
  | { readonly proc: 'REMOVE'; readonly args: RemoveArgs }
  | { readonly proc: 'RMDIR'; readonly args: RemoveArgs }
  | { readonly proc: 'RENAME'; readonly args: RenameArgs }
  | { readonly proc: 'LINK'; readonly args: LinkArgs }
  | { readonly proc: 'READDIR'; readonly args: ReaddirArgs }
  | { readonly proc: 'READDIRPLUS'; readonly args: ReaddirplusArgs }
  | { readonly proc: 'FSSTAT'; readonly args: FsrootArgs }
  | { readonly proc: 'FSINFO'; readonly args: FsrootArgs }
  | { readonly proc: 'PATHCONF'; readonly args: PathconfArgs }
  | { readonly proc: 'COMMIT'; readonly args: CommitArgs };

/** Decodes the arguments of NFS v3 procedure number `procedure`. Never throws. */
export function decodeNfs3Call(procedure: number, args: Buffer): ArgsDecoding<Nfs3Call> {
  const proc = NFS3_PROCEDURES[procedure];
  if (proc === undefined) return procedureUnavailable(procedure);
  return decodeArgs(args, (reader) => readCall(proc, reader));
}

function readCall(proc: Nfs3Procedure, reader: XdrReader): Nfs3Call {
  switch (proc) {
    case 'NULL':
      return { proc };
    case 'GETATTR':
      return { proc, args: { object: readFh(reader) } };
    case 'SETATTR': {
      const object = readFh(reader);
      const newAttributes = readSattr(reader);
      return { proc, args: { object, newAttributes, guardCtime: reader.optional(readNfsTime) } };
    }
    case 'LOOKUP':
      return { proc, args: { what: readDirOpArgs(reader) } };
    case 'ACCESS': {
      const object = readFh(reader);
      return { proc, args: { object, access: reader.uint32() } };
    }
    case 'READLINK':
      return { proc, args: { symlink: readFh(reader) } };
    case 'READ': {
      const file = readFh(reader);
      const offset = reader.uint64();
      return { proc, args: { file, offset, count: reader.uint32() } };
    }
    case 'WRITE':
      return { proc, args: readWriteArgs(reader) };
    case 'CREATE': {
      const where = readDirOpArgs(reader);
      return { proc, args: { where, how: readCreateHow(reader) } };
    }
    case 'MKDIR': {
      const where = readDirOpArgs(reader);
      return { proc, args: { where, attributes: readSattr(reader) } };
    }
    case 'SYMLINK': {
      const where = readDirOpArgs(reader);
      const attributes = readSattr(reader);
      return { proc, args: { where, attributes, target: readName(reader) } };
    }
    case 'MKNOD': {
      const where = readDirOpArgs(reader);
      return { proc, args: { where, what: readMknodData(reader) } };
    }
    case 'REMOVE':
    case 'RMDIR':
      return { proc, args: { object: readDirOpArgs(reader) } };
    case 'RENAME': {
      const from = readDirOpArgs(reader);
      return { proc, args: { from, to: readDirOpArgs(reader) } };
    }
    case 'LINK': {
      const file = readFh(reader);
      return { proc, args: { file, link: readDirOpArgs(reader) } };
    }
    case 'READDIR': {
      const dir = readFh(reader);
      const cookie = reader.uint64();
      const cookieverf = reader.fixedOpaque(NFS3_COOKIEVERFSIZE);
      return { proc, args: { dir, cookie, cookieverf, count: reader.uint32() } };
    }
    case 'READDIRPLUS': {
      const dir = readFh(reader);
      const cookie = reader.uint64();
      const cookieverf = reader.fixedOpaque(NFS3_COOKIEVERFSIZE);
      const dircount = reader.uint32();
      return { proc, args: { dir, cookie, cookieverf, dircount, maxcount: reader.uint32() } };
    }
    case 'FSSTAT':
    case 'FSINFO':
      return { proc, args: { fsroot: readFh(reader) } };
    case 'PATHCONF':
      return { proc, args: { object: readFh(reader) } };
    case 'COMMIT': {
      const file = readFh(reader);
      const offset = reader.uint64();
      return { proc, args: { file, offset, count: reader.uint32() } };
    }
  }
}

function readWriteArgs(reader: XdrReader): WriteArgs {
  const file = readFh(reader);
  const offset = reader.uint64();
  const count = reader.uint32();
  const stable = STABLE_HOW.read(reader);
  const data = reader.varOpaque(UNBOUNDED);
  if (data.length !== count) throw new XdrError('BadValue', `WRITE count ${count} with ${data.length} bytes of data`);
  return { file, offset, stable, data };
}
