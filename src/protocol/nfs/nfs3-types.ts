/**
 * The data types of NFS version 3 (RFC 1813 section 2.5 and 2.6), as TypeScript values: enums as closed
 * unions of their RFC names, optional XDR data as `| undefined`, 64-bit quantities as bigint, opaque data
 * as Buffers (views into the record they were read from: copy what you keep).
 */
import { XdrEnum } from './xdr.js';

export const NFS3_PROGRAM = 100003;
export const NFS3_VERSION = 3;

export const NFS3_FHSIZE = 64;
export const NFS3_COOKIEVERFSIZE = 8;
export const NFS3_CREATEVERFSIZE = 8;
export const NFS3_WRITEVERFSIZE = 8;
/** Longest file name we accept (Linux's NAME_MAX): handlers answer longer ones NFS3ERR_NAMETOOLONG. */
export const NFS3_MAXNAMLEN = 255;
/** Longest name or symlink path we decode at all (filename3 and nfspath3 are unbounded in the XDR). */
export const NFS3_MAXPATHLEN = 4096;

export const NFSSTAT3 = new XdrEnum('nfsstat3', {
  NFS3_OK: 0,
  NFS3ERR_PERM: 1,
  NFS3ERR_NOENT: 2,
  NFS3ERR_IO: 5,
  NFS3ERR_NXIO: 6,
  NFS3ERR_ACCES: 13,
  NFS3ERR_EXIST: 17,
  NFS3ERR_XDEV: 18,
  NFS3ERR_NODEV: 19,
  NFS3ERR_NOTDIR: 20,
  NFS3ERR_ISDIR: 21,
  NFS3ERR_INVAL: 22,
  NFS3ERR_FBIG: 27,
  NFS3ERR_NOSPC: 28,
  NFS3ERR_ROFS: 30,
  NFS3ERR_MLINK: 31,
  NFS3ERR_NAMETOOLONG: 63,
  NFS3ERR_NOTEMPTY: 66,
  NFS3ERR_DQUOT: 69,
  NFS3ERR_STALE: 70,
  NFS3ERR_REMOTE: 71,
  NFS3ERR_BADHANDLE: 10001,
  NFS3ERR_NOT_SYNC: 10002,
  NFS3ERR_BAD_COOKIE: 10003,
  NFS3ERR_NOTSUPP: 10004,
  NFS3ERR_TOOSMALL: 10005,
  NFS3ERR_SERVERFAULT: 10006,
  NFS3ERR_BADTYPE: 10007,
  NFS3ERR_JUKEBOX: 10008,
});
export type Nfs3Status = keyof typeof NFSSTAT3.codes;
export type Nfs3ErrorStatus = Exclude<Nfs3Status, 'NFS3_OK'>;

export const FTYPE3 = new XdrEnum('ftype3', {
  NF3REG: 1, NF3DIR: 2, NF3BLK: 3, NF3CHR: 4, NF3LNK: 5, NF3SOCK: 6, NF3FIFO: 7,
});
export type Ftype3 = keyof typeof FTYPE3.codes;

export const STABLE_HOW = new XdrEnum('stable_how', { UNSTABLE: 0, DATA_SYNC: 1, FILE_SYNC: 2 });
export type StableHow = keyof typeof STABLE_HOW.codes;

export const TIME_HOW = new XdrEnum('time_how', { DONT_CHANGE: 0, SET_TO_SERVER_TIME: 1, SET_TO_CLIENT_TIME: 2 });
export type TimeHow = keyof typeof TIME_HOW.codes;

export const CREATEMODE3 = new XdrEnum('createmode3', { UNCHECKED: 0, GUARDED: 1, EXCLUSIVE: 2 });
export type CreateMode3 = keyof typeof CREATEMODE3.codes;

/** ACCESS request and answer bits. */
export const ACCESS3 = {
  READ: 0x0001, LOOKUP: 0x0002, MODIFY: 0x0004, EXTEND: 0x0008, DELETE: 0x0010, EXECUTE: 0x0020,
} as const;

/** FSINFO `properties` bits. */
export const FSF3 = { LINK: 0x0001, SYMLINK: 0x0002, HOMOGENEOUS: 0x0008, CANSETTIME: 0x0010 } as const;

export interface NfsTime3 {
  readonly seconds: number;
  readonly nseconds: number;
}

export interface SpecData3 {
  readonly specdata1: number;
  readonly specdata2: number;
}

export interface Fattr3 {
  readonly type: Ftype3;
  /** Permission bits and set-id/sticky bits, without the file type. */
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: bigint;
  /** Bytes of disk the file takes. */
  readonly used: bigint;
  readonly rdev: SpecData3;
  readonly fsid: bigint;
  readonly fileid: bigint;
  readonly atime: NfsTime3;
  readonly mtime: NfsTime3;
  readonly ctime: NfsTime3;
}

/** post_op_attr: the attributes after an operation, if the server has them. */
export type PostOpAttr = Fattr3 | undefined;

export interface WccAttr {
  readonly size: bigint;
  readonly mtime: NfsTime3;
  readonly ctime: NfsTime3;
}

/** pre_op_attr: the attributes a client's cache checks before an operation's change. */
export type PreOpAttr = WccAttr | undefined;

/** Weak cache consistency data: the object before and after a change. */
export interface WccData {
  readonly before: PreOpAttr;
  readonly after: PostOpAttr;
}

export const NO_WCC: WccData = { before: undefined, after: undefined };

/** nfs_fh3: opaque, at most NFS3_FHSIZE bytes. */
export type NfsFh3 = Buffer;

/** post_op_fh3: a new object's handle, if the server gives it. */
export type PostOpFh3 = NfsFh3 | undefined;

export type SetTime =
  | { readonly how: 'DONT_CHANGE' }
  | { readonly how: 'SET_TO_SERVER_TIME' }
  | { readonly how: 'SET_TO_CLIENT_TIME'; readonly time: NfsTime3 };

/** sattr3: the attributes a client asks to set; undefined leaves one unchanged. */
export interface Sattr3 {
  readonly mode: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly size: bigint | undefined;
  readonly atime: SetTime;
  readonly mtime: SetTime;
}

export interface DirOpArgs3 {
  readonly dir: NfsFh3;
  readonly name: string;
}

export type CreateHow3 =
  | { readonly mode: 'UNCHECKED'; readonly attributes: Sattr3 }
  | { readonly mode: 'GUARDED'; readonly attributes: Sattr3 }
  /** createverf3: NFS3_CREATEVERFSIZE bytes the server keeps with the file to recognise a retransmission. */
  | { readonly mode: 'EXCLUSIVE'; readonly verifier: Buffer };

export type MknodData3 =
  | { readonly type: 'NF3CHR' | 'NF3BLK'; readonly attributes: Sattr3; readonly spec: SpecData3 }
  | { readonly type: 'NF3SOCK' | 'NF3FIFO'; readonly attributes: Sattr3 }
  | { readonly type: 'NF3REG' | 'NF3DIR' | 'NF3LNK' };
