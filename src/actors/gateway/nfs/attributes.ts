/**
 * NFS attributes of objects and directories. Size and times come from the object's record; mode,
 * owner, group and times set over NFS are kept as the object's user metadata under the names s3fs uses
 * (`x-amz-meta-mode`, `-uid`, `-gid`, `-mtime`, `-atime`), so the same bucket mounted with s3fs agrees.
 * `mode` is stored whole, file type bits included, as s3fs does; times are seconds since the epoch,
 * with a fraction when they have one.
 *
 * A directory that exists only because keys have its prefix has no record: it is shown with the
 * export's owner, mode 0755 and the bucket's creation time. One made by MKDIR (or given attributes by
 * SETATTR) has a zero-byte marker object `dir/` carrying them, as S3 consoles make.
 */
import type { Fattr3, NfsTime3, Sattr3, SetTime, WccAttr } from '../../../protocol/nfs/nfs3-types.js';
import { fileIdOf } from './file-handles.js';

export const META_MODE = 'mode';
export const META_UID = 'uid';
export const META_GID = 'gid';
export const META_MTIME = 'mtime';

/**
 * The metadata of a file whose bytes changed: a modification time once set by SETATTR no longer holds,
 * and the time of the change (the version's) is its mtime again, as clients that watch mtime expect.
 */
export function afterContentChange(userMeta: Readonly<Record<string, string>>): Record<string, string> {
  const { [META_MTIME]: _dropped, ...rest } = userMeta;
  return rest;
}
export const META_ATIME = 'atime';
/** createverf3 of an EXCLUSIVE CREATE, in hex, so a retransmitted CREATE is recognised. */
export const META_CREATE_VERIFIER = 'nfs-create-verifier';

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
export const DEFAULT_FILE_MODE = 0o644;
export const DEFAULT_DIR_MODE = 0o755;
/** What a directory's size reads as; clients only compare it. */
const DIRECTORY_SIZE = 4096n;
/** What `used` counts a file's bytes in. */
const BLOCK_BYTES = 4096n;

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export interface StoredAttributes {
  readonly bucketTag: string;
  readonly key: string;
  readonly sizeBytes: number;
  readonly lastModifiedMs: number;
  readonly userMeta: Readonly<Record<string, string>> | undefined;
  /** Owner of what never had one set. */
  readonly owner: Owner;
}

export function timeOfMs(ms: number): NfsTime3 {
  const seconds = Math.floor(ms / 1000);
  return { seconds: seconds >>> 0, nseconds: Math.round((ms - seconds * 1000) * 1_000_000) };
}

/** `seconds[.fraction]` as written to user metadata; undefined when it does not read as a time. */
export function parseTime(text: string | undefined): NfsTime3 | undefined {
  if (text === undefined || !/^\d{1,12}(\.\d{1,9})?$/.test(text)) return undefined;
  const [whole, fraction = ''] = text.split('.');
  const seconds = Number(whole);
  if (seconds > 0xffff_ffff) return undefined;
  return { seconds, nseconds: Number(fraction.padEnd(9, '0')) };
}

export function formatTime(time: NfsTime3): string {
  return time.nseconds === 0 ? String(time.seconds) : `${time.seconds}.${String(time.nseconds).padStart(9, '0')}`;
}

function metaNumber(userMeta: Readonly<Record<string, string>> | undefined, name: string, max: number): number | undefined {
  const text = userMeta?.[name];
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= max ? value : undefined;
}

export function fileAttributes(input: StoredAttributes): Fattr3 {
  return attributesOf(input, 'NF3REG', BigInt(input.sizeBytes), DEFAULT_FILE_MODE);
}

export function directoryAttributes(input: StoredAttributes): Fattr3 {
  return attributesOf(input, 'NF3DIR', DIRECTORY_SIZE, DEFAULT_DIR_MODE);
}

function attributesOf(input: StoredAttributes, type: 'NF3REG' | 'NF3DIR', size: bigint, defaultMode: number): Fattr3 {
  const meta = input.userMeta;
  const mode = metaNumber(meta, META_MODE, 0o777777);
  const changed = timeOfMs(input.lastModifiedMs);
  const mtime = parseTime(meta?.[META_MTIME]) ?? changed;
  return {
    type,
    mode: mode === undefined ? defaultMode : mode & 0o7777,
    nlink: type === 'NF3DIR' ? 2 : 1,
    uid: metaNumber(meta, META_UID, 0xffff_ffff) ?? input.owner.uid,
    gid: metaNumber(meta, META_GID, 0xffff_ffff) ?? input.owner.gid,
    size,
    used: ((size + BLOCK_BYTES - 1n) / BLOCK_BYTES) * BLOCK_BYTES,
    rdev: { specdata1: 0, specdata2: 0 },
    fsid: BigInt(`0x${input.bucketTag}`),
    fileid: fileIdOf(input.bucketTag, input.key),
    atime: parseTime(meta?.[META_ATIME]) ?? mtime,
    mtime,
    // The record's own time: it changes with every write of the record, attributes included.
    ctime: changed,
  };
}

export function wccAttrOf(attributes: Fattr3): WccAttr {
  return { size: attributes.size, mtime: attributes.mtime, ctime: attributes.ctime };
}

/**
 * The user metadata after SETATTR (or CREATE, MKDIR) asks for `sattr`: mode, owner, group and times
 * recorded; size is the caller's business. `nowMs` is the server's time for SET_TO_SERVER_TIME.
 */
export function userMetaWith(userMeta: Readonly<Record<string, string>>, sattr: Sattr3, type: 'NF3REG' | 'NF3DIR', nowMs: number): Record<string, string> {
  const out: Record<string, string> = { ...userMeta };
  if (sattr.mode !== undefined) out[META_MODE] = String((type === 'NF3DIR' ? S_IFDIR : S_IFREG) | (sattr.mode & 0o7777));
  if (sattr.uid !== undefined) out[META_UID] = String(sattr.uid >>> 0);
  if (sattr.gid !== undefined) out[META_GID] = String(sattr.gid >>> 0);
  const set = (name: string, how: SetTime): void => {
    if (how.how === 'SET_TO_SERVER_TIME') out[name] = formatTime(timeOfMs(nowMs));
    if (how.how === 'SET_TO_CLIENT_TIME') out[name] = formatTime(how.time);
  };
  set(META_MTIME, sattr.mtime);
  set(META_ATIME, sattr.atime);
  return out;
}

/** Whether a SETATTR asks for anything besides the size. */
export function setsMetadata(sattr: Sattr3): boolean {
  return sattr.mode !== undefined || sattr.uid !== undefined || sattr.gid !== undefined || sattr.mtime.how !== 'DONT_CHANGE' || sattr.atime.how !== 'DONT_CHANGE';
}

export const NO_SATTR: Sattr3 = { mode: undefined, uid: undefined, gid: undefined, size: undefined, atime: { how: 'DONT_CHANGE' }, mtime: { how: 'DONT_CHANGE' } };
