/**
 * XDR codecs of the NFS v3 structures shared by several procedures: what the server reads (handles,
 * names, sattr3, createhow3) and what it writes (fattr3, post_op_attr, wcc_data, post_op_fh3), with the
 * sizes READDIR's byte budgets are counted in.
 */
import {
  CREATEMODE3, FTYPE3, NFS3_CREATEVERFSIZE, NFS3_FHSIZE, NFS3_MAXPATHLEN, TIME_HOW,
  type CreateHow3, type DirOpArgs3, type Fattr3, type MknodData3, type NfsFh3, type NfsTime3, type PostOpAttr,
  type PostOpFh3, type PreOpAttr, type Sattr3, type SetTime, type SpecData3, type WccAttr, type WccData,
} from './nfs3-types.js';
import { varOpaqueSize, type XdrReader, type XdrWriter } from './xdr.js';

/** fattr3: five 4-byte fields, eight 8-byte fields (three of them nfstime3). */
export const FATTR3_BYTES = 84;

export function postOpAttrSize(attributes: PostOpAttr): number {
  return attributes === undefined ? 4 : 4 + FATTR3_BYTES;
}

export function postOpFhSize(handle: PostOpFh3): number {
  return handle === undefined ? 4 : 4 + varOpaqueSize(handle.length);
}

export function readFh(reader: XdrReader): NfsFh3 {
  return reader.varOpaque(NFS3_FHSIZE);
}

/** filename3 and nfspath3: unbounded in the XDR, so the length check against NFS3_MAXNAMLEN is the server's. */
export function readName(reader: XdrReader): string {
  return reader.string(NFS3_MAXPATHLEN);
}

export function readDirOpArgs(reader: XdrReader): DirOpArgs3 {
  const dir = readFh(reader);
  return { dir, name: readName(reader) };
}

export function readNfsTime(reader: XdrReader): NfsTime3 {
  const seconds = reader.uint32();
  return { seconds, nseconds: reader.uint32() };
}

export function readSpecData(reader: XdrReader): SpecData3 {
  const specdata1 = reader.uint32();
  return { specdata1, specdata2: reader.uint32() };
}

function readSetTime(reader: XdrReader): SetTime {
  const how = TIME_HOW.read(reader);
  return how === 'SET_TO_CLIENT_TIME' ? { how, time: readNfsTime(reader) } : { how };
}

export function readSattr(reader: XdrReader): Sattr3 {
  const mode = reader.optional((r) => r.uint32());
  const uid = reader.optional((r) => r.uint32());
  const gid = reader.optional((r) => r.uint32());
  const size = reader.optional((r) => r.uint64());
  const atime = readSetTime(reader);
  const mtime = readSetTime(reader);
  return { mode, uid, gid, size, atime, mtime };
}

export function readCreateHow(reader: XdrReader): CreateHow3 {
  const mode = CREATEMODE3.read(reader);
  switch (mode) {
    case 'UNCHECKED':
    case 'GUARDED':
      return { mode, attributes: readSattr(reader) };
    case 'EXCLUSIVE':
      return { mode, verifier: reader.fixedOpaque(NFS3_CREATEVERFSIZE) };
  }
}

export function readMknodData(reader: XdrReader): MknodData3 {
  const type = FTYPE3.read(reader);
  switch (type) {
    case 'NF3CHR':
    case 'NF3BLK': {
      const attributes = readSattr(reader);
      return { type, attributes, spec: readSpecData(reader) };
    }
    case 'NF3SOCK':
    case 'NF3FIFO':
      return { type, attributes: readSattr(reader) };
    case 'NF3REG':
    case 'NF3DIR':
    case 'NF3LNK':
      return { type };
  }
}

export function writeNfsTime(writer: XdrWriter, time: NfsTime3): void {
  writer.uint32(time.seconds).uint32(time.nseconds);
}

export function writeFh(writer: XdrWriter, handle: NfsFh3): void {
  writer.varOpaque(handle, NFS3_FHSIZE);
}

export function writeFattr(writer: XdrWriter, attributes: Fattr3): void {
  FTYPE3.write(writer, attributes.type);
  writer.uint32(attributes.mode).uint32(attributes.nlink).uint32(attributes.uid).uint32(attributes.gid);
  writer.uint64(attributes.size).uint64(attributes.used);
  writer.uint32(attributes.rdev.specdata1).uint32(attributes.rdev.specdata2);
  writer.uint64(attributes.fsid).uint64(attributes.fileid);
  writeNfsTime(writer, attributes.atime);
  writeNfsTime(writer, attributes.mtime);
  writeNfsTime(writer, attributes.ctime);
}

export function writePostOpAttr(writer: XdrWriter, attributes: PostOpAttr): void {
  writer.optional(attributes, writeFattr);
}

function writeWccAttr(writer: XdrWriter, attributes: WccAttr): void {
  writer.uint64(attributes.size);
  writeNfsTime(writer, attributes.mtime);
  writeNfsTime(writer, attributes.ctime);
}

export function writePreOpAttr(writer: XdrWriter, attributes: PreOpAttr): void {
  writer.optional(attributes, writeWccAttr);
}

export function writeWccData(writer: XdrWriter, wcc: WccData): void {
  writePreOpAttr(writer, wcc.before);
  writePostOpAttr(writer, wcc.after);
}

export function writePostOpFh(writer: XdrWriter, handle: PostOpFh3): void {
  writer.optional(handle, writeFh);
}
