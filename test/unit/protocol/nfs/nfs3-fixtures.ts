/** NFS v3 values shared by the tests, each beside its bytes laid out by hand from RFC 1813. */
import type { Fattr3, Sattr3, WccData } from '../../../../src/protocol/nfs/nfs3-types.js';
import { bytes, opaque, u32, u64 } from './wire.js';

export const FILE_ATTRIBUTES: Fattr3 = {
  type: 'NF3REG',
  mode: 0o644,
  nlink: 1,
  uid: 1000,
  gid: 1000,
  size: 5000n,
  used: 8192n,
  rdev: { specdata1: 0, specdata2: 0 },
  fsid: 7n,
  fileid: 42n,
  atime: { seconds: 1_700_000_000, nseconds: 1 },
  mtime: { seconds: 1_700_000_001, nseconds: 2 },
  ctime: { seconds: 1_700_000_002, nseconds: 3 },
};

/** fattr3: type, mode, nlink, uid, gid, size, used, rdev, fsid, fileid, atime, mtime, ctime. */
export const FILE_ATTRIBUTES_BYTES = bytes(
  u32(1, 0o644, 1, 1000, 1000),
  u64(5000n),
  u64(8192n),
  u32(0, 0),
  u64(7n),
  u64(42n),
  u32(1_700_000_000, 1, 1_700_000_001, 2, 1_700_000_002, 3),
);

export const DIR_ATTRIBUTES: Fattr3 = { ...FILE_ATTRIBUTES, type: 'NF3DIR', mode: 0o755, nlink: 2, size: 4096n, fileid: 1n };
export const DIR_ATTRIBUTES_BYTES = bytes(
  u32(2, 0o755, 2, 1000, 1000),
  u64(4096n),
  u64(8192n),
  u32(0, 0),
  u64(7n),
  u64(1n),
  u32(1_700_000_000, 1, 1_700_000_001, 2, 1_700_000_002, 3),
);

/** post_op_attr with attributes. */
export const FILE_POST_OP = bytes(u32(1), FILE_ATTRIBUTES_BYTES);
export const DIR_POST_OP = bytes(u32(1), DIR_ATTRIBUTES_BYTES);
export const NO_ATTRIBUTES = u32(0);

export const DIR_WCC: WccData = {
  before: { size: 4096n, mtime: { seconds: 10, nseconds: 0 }, ctime: { seconds: 11, nseconds: 0 } },
  after: DIR_ATTRIBUTES,
};
/** wcc_data: pre_op_attr (size, mtime, ctime), post_op_attr. */
export const DIR_WCC_BYTES = bytes(u32(1), u64(4096n), u32(10, 0, 11, 0), DIR_POST_OP);
export const NO_WCC_BYTES = u32(0, 0);

export const ROOT_FH = Buffer.from('0100070001000000a1b2c3d4e5f60718', 'hex');
export const FILE_FH = Buffer.from('01000700020000002a00000000000000a1b2c3d4', 'hex');

/** diropargs3: the directory's handle, then the name. */
export function dirop(dir: Buffer, name: string): Buffer {
  return bytes(opaque(dir), opaque(name));
}

export const SATTR_UNCHANGED: Sattr3 = {
  mode: undefined, uid: undefined, gid: undefined, size: undefined, atime: { how: 'DONT_CHANGE' }, mtime: { how: 'DONT_CHANGE' },
};
export const SATTR_UNCHANGED_BYTES = u32(0, 0, 0, 0, 0, 0);

export const SATTR_EVERYTHING: Sattr3 = {
  mode: 0o600,
  uid: 1001,
  gid: 1002,
  size: 0x1_0000_0000n,
  atime: { how: 'SET_TO_SERVER_TIME' },
  mtime: { how: 'SET_TO_CLIENT_TIME', time: { seconds: 1_234_567_890, nseconds: 500 } },
};
/** set_mode3, set_uid3, set_gid3, set_size3 (each a bool then the value), set_atime, set_mtime (time_how then nfstime3). */
export const SATTR_EVERYTHING_BYTES = bytes(u32(1, 0o600, 1, 1001, 1, 1002, 1), u64(0x1_0000_0000n), u32(1, 2, 1_234_567_890, 500));
