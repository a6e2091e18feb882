/**
 * The MOUNT protocol, version 3 (RFC 1813 Appendix I): how a client turns an exported path into the
 * root file handle it then uses with NFS, and learns what is exported.
 *
 *   0 NULL     void     -> void
 *   1 MNT      dirpath  -> mountres3 (fhandle3 + auth flavours, or a mountstat3)
 *   2 DUMP     void     -> mountlist (hosts and the paths they mounted)
 *   3 UMNT     dirpath  -> void
 *   4 UMNTALL  void     -> void
 *   5 EXPORT   void     -> exports (paths and the groups allowed to mount them)
 */
import { decodeArgs, procedureUnavailable, type ArgsDecoding } from './rpc.js';
import { UNBOUNDED, XdrEnum, XdrWriter, type XdrReader } from './xdr.js';

export const MOUNT_PROGRAM = 100005;
export const MOUNT_VERSION = 3;
export const MNTPATHLEN = 1024;
export const MNTNAMLEN = 255;
export const FHSIZE3 = 64;

export const MOUNTSTAT3 = new XdrEnum('mountstat3', {
  MNT3_OK: 0,
  MNT3ERR_PERM: 1,
  MNT3ERR_NOENT: 2,
  MNT3ERR_IO: 5,
  MNT3ERR_ACCES: 13,
  MNT3ERR_NOTDIR: 20,
  MNT3ERR_INVAL: 22,
  MNT3ERR_NAMETOOLONG: 63,
  MNT3ERR_NOTSUPP: 10004,
  MNT3ERR_SERVERFAULT: 10006,
});
export type MountStat3 = keyof typeof MOUNTSTAT3.codes;

const PROCEDURES = ['NULL', 'MNT', 'DUMP', 'UMNT', 'UMNTALL', 'EXPORT'] as const;
export type Mount3Procedure = (typeof PROCEDURES)[number];

export type Mount3Call =
  | { readonly proc: 'NULL' }
  | { readonly proc: 'MNT'; readonly dirpath: string }
  | { readonly proc: 'DUMP' }
  | { readonly proc: 'UMNT'; readonly dirpath: string }
  | { readonly proc: 'UMNTALL' }
  | { readonly proc: 'EXPORT' };

export function decodeMount3Call(procedure: number, args: Buffer): ArgsDecoding<Mount3Call> {
  const proc = PROCEDURES[procedure];
  if (proc === undefined) return procedureUnavailable(procedure);
  return decodeArgs(args, (reader): Mount3Call => {
    switch (proc) {
      case 'MNT':
      case 'UMNT':
        return { proc, dirpath: readDirpath(reader) };
      case 'NULL':
      case 'DUMP':
      case 'UMNTALL':
      case 'EXPORT':
        return { proc };
    }
  });
}

function readDirpath(reader: XdrReader): string {
  return reader.string(MNTPATHLEN);
}

export type MntResult =
  /** `authFlavors`: the RPC auth flavours the client may use with the handle, best first (e.g. [AUTH_SYS]). */
  | { readonly status: 'MNT3_OK'; readonly fhandle: Buffer; readonly authFlavors: readonly number[] }
  | { readonly status: Exclude<MountStat3, 'MNT3_OK'> };

export interface MountEntry {
  readonly hostname: string;
  readonly directory: string;
}

export interface ExportEntry {
  readonly directory: string;
  /** Client names or netgroups allowed to mount it; empty means everyone. */
  readonly groups: readonly string[];
}

export type Mount3Result =
  | { readonly proc: 'NULL' }
  | { readonly proc: 'MNT'; readonly result: MntResult }
  | { readonly proc: 'DUMP'; readonly mounts: readonly MountEntry[] }
  | { readonly proc: 'UMNT' }
  | { readonly proc: 'UMNTALL' }
  | { readonly proc: 'EXPORT'; readonly exports: readonly ExportEntry[] };

/** The procedure's results, to be sent as an accepted RPC reply's SUCCESS results. */
export function encodeMount3Result(result: Mount3Result): Buffer[] {
  const writer = new XdrWriter();
  switch (result.proc) {
    case 'MNT':
      writeMntResult(writer, result.result);
      break;
    case 'DUMP':
      writer.list(result.mounts, (w, mount) => w.string(mount.hostname, MNTNAMLEN).string(mount.directory, MNTPATHLEN));
      break;
    case 'EXPORT':
      writer.list(result.exports, (w, entry) => {
        w.string(entry.directory, MNTPATHLEN);
        w.list(entry.groups, (g, group) => g.string(group, MNTNAMLEN));
      });
      break;
    case 'NULL':
    case 'UMNT':
    case 'UMNTALL':
      break;
  }
  return writer.toBuffers();
}

function writeMntResult(writer: XdrWriter, result: MntResult): void {
  MOUNTSTAT3.write(writer, result.status);
  if (result.status !== 'MNT3_OK') return;
  writer.varOpaque(result.fhandle, FHSIZE3);
  writer.array(result.authFlavors, UNBOUNDED, (w, flavor) => w.int32(flavor));
}
