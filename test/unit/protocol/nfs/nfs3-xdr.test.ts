import { expect } from 'chai';
import {
  FATTR3_BYTES, postOpAttrSize, postOpFhSize, readSattr, writeFattr, writePostOpAttr, writePostOpFh, writeWccData,
} from '../../../../src/protocol/nfs/nfs3-xdr.js';
import { FTYPE3, NFSSTAT3, NO_WCC } from '../../../../src/protocol/nfs/nfs3-types.js';
import { XdrReader, XdrWriter } from '../../../../src/protocol/nfs/xdr.js';
import {
  DIR_WCC, DIR_WCC_BYTES, FILE_ATTRIBUTES, FILE_ATTRIBUTES_BYTES, FILE_FH, NO_WCC_BYTES, SATTR_EVERYTHING, SATTR_EVERYTHING_BYTES,
} from './nfs3-fixtures.js';
import { bytes, opaque, u32 } from './wire.js';

function written(write: (writer: XdrWriter) => void): Buffer {
  const writer = new XdrWriter();
  write(writer);
  return writer.toBuffer();
}

describe('protocol/nfs/nfs3-xdr', () => {
  it('gives every nfsstat3 of RFC 1813 its number', () => {
    expect(NFSSTAT3.codes).to.deep.equal({
      NFS3_OK: 0, NFS3ERR_PERM: 1, NFS3ERR_NOENT: 2, NFS3ERR_IO: 5, NFS3ERR_NXIO: 6, NFS3ERR_ACCES: 13, NFS3ERR_EXIST: 17,
      NFS3ERR_XDEV: 18, NFS3ERR_NODEV: 19, NFS3ERR_NOTDIR: 20, NFS3ERR_ISDIR: 21, NFS3ERR_INVAL: 22, NFS3ERR_FBIG: 27,
      NFS3ERR_NOSPC: 28, NFS3ERR_ROFS: 30, NFS3ERR_MLINK: 31, NFS3ERR_NAMETOOLONG: 63, NFS3ERR_NOTEMPTY: 66, NFS3ERR_DQUOT: 69,
      NFS3ERR_STALE: 70, NFS3ERR_REMOTE: 71, NFS3ERR_BADHANDLE: 10001, NFS3ERR_NOT_SYNC: 10002, NFS3ERR_BAD_COOKIE: 10003,
      NFS3ERR_NOTSUPP: 10004, NFS3ERR_TOOSMALL: 10005, NFS3ERR_SERVERFAULT: 10006, NFS3ERR_BADTYPE: 10007, NFS3ERR_JUKEBOX: 10008,
    });
    expect(FTYPE3.codes).to.deep.equal({ NF3REG: 1, NF3DIR: 2, NF3BLK: 3, NF3CHR: 4, NF3LNK: 5, NF3SOCK: 6, NF3FIFO: 7 });
  });

  it('writes fattr3 in the RFC\'s field order, 84 bytes', () => {
    expect(written((w) => writeFattr(w, FILE_ATTRIBUTES))).to.deep.equal(FILE_ATTRIBUTES_BYTES);
    expect(FILE_ATTRIBUTES_BYTES.length).to.equal(FATTR3_BYTES);
  });

  it('writes post_op_attr, wcc_data and post_op_fh3 with their bools', () => {
    expect(written((w) => writePostOpAttr(w, FILE_ATTRIBUTES))).to.deep.equal(bytes(u32(1), FILE_ATTRIBUTES_BYTES));
    expect(written((w) => writePostOpAttr(w, undefined))).to.deep.equal(u32(0));
    expect(written((w) => writeWccData(w, DIR_WCC))).to.deep.equal(DIR_WCC_BYTES);
    expect(written((w) => writeWccData(w, NO_WCC))).to.deep.equal(NO_WCC_BYTES);
    expect(written((w) => writePostOpFh(w, FILE_FH))).to.deep.equal(bytes(u32(1), opaque(FILE_FH)));
    expect(written((w) => writePostOpFh(w, undefined))).to.deep.equal(u32(0));
  });

  it('sizes post_op_attr and post_op_fh3 as they are written', () => {
    for (const attributes of [FILE_ATTRIBUTES, undefined]) {
      expect(postOpAttrSize(attributes)).to.equal(written((w) => writePostOpAttr(w, attributes)).length);
    }
    for (const handle of [FILE_FH, Buffer.alloc(0), Buffer.alloc(5), Buffer.alloc(64), undefined]) {
      expect(postOpFhSize(handle)).to.equal(written((w) => writePostOpFh(w, handle)).length);
    }
  });

  it('reads sattr3: each field set or left alone, times from the server or the client', () => {
    expect(readSattr(new XdrReader(SATTR_EVERYTHING_BYTES))).to.deep.equal(SATTR_EVERYTHING);
    expect(readSattr(new XdrReader(u32(0, 0, 0, 0, 2, 5, 6, 1)))).to.deep.equal({
      mode: undefined, uid: undefined, gid: undefined, size: undefined,
      atime: { how: 'SET_TO_CLIENT_TIME', time: { seconds: 5, nseconds: 6 } }, mtime: { how: 'SET_TO_SERVER_TIME' },
    });
  });
});
