import { expect } from 'chai';
import { encodeNfs3Result, type Nfs3Result } from '../../../../src/protocol/nfs/nfs3-results.js';
import { NO_WCC } from '../../../../src/protocol/nfs/nfs3-types.js';
import { BY_REFERENCE_MIN_BYTES } from '../../../../src/protocol/nfs/xdr.js';
import {
  DIR_ATTRIBUTES, DIR_POST_OP, DIR_WCC, DIR_WCC_BYTES, FILE_ATTRIBUTES, FILE_ATTRIBUTES_BYTES, FILE_FH, FILE_POST_OP,
  NO_ATTRIBUTES, NO_WCC_BYTES,
} from './nfs3-fixtures.js';
import { bytes, joined, opaque, u32, u64 } from './wire.js';

const NOENT = 2;
const NOTSUPP = 10004;
const VERF = Buffer.from('bootverf');

/** Each result beside its bytes, laid out by hand from RFC 1813's resok and resfail structures. */
const CASES: [string, Nfs3Result, Buffer][] = [
  ['NULL', { proc: 'NULL' }, Buffer.alloc(0)],
  ['GETATTR ok', { proc: 'GETATTR', result: { status: 'NFS3_OK', attributes: FILE_ATTRIBUTES } }, bytes(u32(0), FILE_ATTRIBUTES_BYTES)],
  ['GETATTR stale', { proc: 'GETATTR', result: { status: 'NFS3ERR_STALE' } }, u32(70)],
  ['SETATTR ok', { proc: 'SETATTR', result: { status: 'NFS3_OK', wcc: DIR_WCC } }, bytes(u32(0), DIR_WCC_BYTES)],
  ['SETATTR not sync', { proc: 'SETATTR', result: { status: 'NFS3ERR_NOT_SYNC', wcc: NO_WCC } }, bytes(u32(10002), NO_WCC_BYTES)],
  ['LOOKUP ok',
    { proc: 'LOOKUP', result: { status: 'NFS3_OK', object: FILE_FH, objectAttributes: FILE_ATTRIBUTES, dirAttributes: DIR_ATTRIBUTES } },
    bytes(u32(0), opaque(FILE_FH), FILE_POST_OP, DIR_POST_OP)],
  ['LOOKUP noent', { proc: 'LOOKUP', result: { status: 'NFS3ERR_NOENT', dirAttributes: DIR_ATTRIBUTES } }, bytes(u32(NOENT), DIR_POST_OP)],
  ['ACCESS ok', { proc: 'ACCESS', result: { status: 'NFS3_OK', objectAttributes: undefined, access: 0x1f } }, bytes(u32(0), NO_ATTRIBUTES, u32(0x1f))],
  ['ACCESS stale', { proc: 'ACCESS', result: { status: 'NFS3ERR_STALE', objectAttributes: undefined } }, bytes(u32(70), NO_ATTRIBUTES)],
  ['READLINK ok', { proc: 'READLINK', result: { status: 'NFS3_OK', symlinkAttributes: undefined, target: '../a' } }, bytes(u32(0), NO_ATTRIBUTES, opaque('../a'))],
  ['READLINK notsupp', { proc: 'READLINK', result: { status: 'NFS3ERR_NOTSUPP', symlinkAttributes: FILE_ATTRIBUTES } }, bytes(u32(NOTSUPP), FILE_POST_OP)],
  ['READ ok',
    { proc: 'READ', result: { status: 'NFS3_OK', fileAttributes: FILE_ATTRIBUTES, eof: true, data: Buffer.from('hello') } },
    bytes(u32(0), FILE_POST_OP, u32(5, 1), opaque('hello'))],
  ['READ io', { proc: 'READ', result: { status: 'NFS3ERR_IO', fileAttributes: undefined } }, bytes(u32(5), NO_ATTRIBUTES)],
  ['WRITE ok',
    { proc: 'WRITE', result: { status: 'NFS3_OK', fileWcc: NO_WCC, count: 4096, committed: 'FILE_SYNC', verifier: VERF } },
    bytes(u32(0), NO_WCC_BYTES, u32(4096, 2), VERF)],
  ['WRITE nospc', { proc: 'WRITE', result: { status: 'NFS3ERR_NOSPC', fileWcc: NO_WCC } }, bytes(u32(28), NO_WCC_BYTES)],
  ['CREATE ok',
    { proc: 'CREATE', result: { status: 'NFS3_OK', object: FILE_FH, objectAttributes: FILE_ATTRIBUTES, dirWcc: DIR_WCC } },
    bytes(u32(0), u32(1), opaque(FILE_FH), FILE_POST_OP, DIR_WCC_BYTES)],
  ['MKDIR exist', { proc: 'MKDIR', result: { status: 'NFS3ERR_EXIST', dirWcc: DIR_WCC } }, bytes(u32(17), DIR_WCC_BYTES)],
  ['MKDIR ok without a handle',
    { proc: 'MKDIR', result: { status: 'NFS3_OK', object: undefined, objectAttributes: undefined, dirWcc: NO_WCC } },
    bytes(u32(0), u32(0), NO_ATTRIBUTES, NO_WCC_BYTES)],
  ['SYMLINK notsupp', { proc: 'SYMLINK', result: { status: 'NFS3ERR_NOTSUPP', dirWcc: NO_WCC } }, bytes(u32(NOTSUPP), NO_WCC_BYTES)],
  ['MKNOD notsupp', { proc: 'MKNOD', result: { status: 'NFS3ERR_NOTSUPP', dirWcc: NO_WCC } }, bytes(u32(NOTSUPP), NO_WCC_BYTES)],
  ['REMOVE ok', { proc: 'REMOVE', result: { status: 'NFS3_OK', dirWcc: DIR_WCC } }, bytes(u32(0), DIR_WCC_BYTES)],
  ['RMDIR notempty', { proc: 'RMDIR', result: { status: 'NFS3ERR_NOTEMPTY', dirWcc: NO_WCC } }, bytes(u32(66), NO_WCC_BYTES)],
  ['RENAME ok', { proc: 'RENAME', result: { status: 'NFS3_OK', fromDirWcc: DIR_WCC, toDirWcc: NO_WCC } }, bytes(u32(0), DIR_WCC_BYTES, NO_WCC_BYTES)],
  ['LINK notsupp',
    { proc: 'LINK', result: { status: 'NFS3ERR_NOTSUPP', fileAttributes: FILE_ATTRIBUTES, linkDirWcc: NO_WCC } },
    bytes(u32(NOTSUPP), FILE_POST_OP, NO_WCC_BYTES)],
  ['READDIR ok',
    {
      proc: 'READDIR',
      result: {
        status: 'NFS3_OK', dirAttributes: undefined, cookieverf: VERF, eof: true,
        entries: [{ fileid: 5n, name: 'a', cookie: 1n }, { fileid: 6n, name: 'bcdef', cookie: 2n }],
      },
    },
    bytes(u32(0), NO_ATTRIBUTES, VERF, u32(1), u64(5n), opaque('a'), u64(1n), u32(1), u64(6n), opaque('bcdef'), u64(2n), u32(0), u32(1))],
  ['READDIR bad cookie', { proc: 'READDIR', result: { status: 'NFS3ERR_BAD_COOKIE', dirAttributes: DIR_ATTRIBUTES } }, bytes(u32(10003), DIR_POST_OP)],
  ['READDIRPLUS ok',
    {
      proc: 'READDIRPLUS',
      result: {
        status: 'NFS3_OK', dirAttributes: DIR_ATTRIBUTES, cookieverf: VERF, eof: false,
        entries: [
          { fileid: 42n, name: 'f', cookie: 9n, attributes: FILE_ATTRIBUTES, handle: FILE_FH },
          { fileid: 43n, name: 'g', cookie: 10n, attributes: undefined, handle: undefined },
        ],
      },
    },
    bytes(
      u32(0), DIR_POST_OP, VERF,
      u32(1), u64(42n), opaque('f'), u64(9n), FILE_POST_OP, u32(1), opaque(FILE_FH),
      u32(1), u64(43n), opaque('g'), u64(10n), NO_ATTRIBUTES, u32(0),
      u32(0), u32(0),
    )],
  ['READDIRPLUS empty directory',
    { proc: 'READDIRPLUS', result: { status: 'NFS3_OK', dirAttributes: undefined, cookieverf: VERF, eof: true, entries: [] } },
    bytes(u32(0), NO_ATTRIBUTES, VERF, u32(0), u32(1))],
  ['FSSTAT ok',
    {
      proc: 'FSSTAT',
      result: {
        status: 'NFS3_OK', objectAttributes: undefined, totalBytes: 1n << 40n, freeBytes: 1n << 39n, availableBytes: 1n << 38n,
        totalFiles: 1000n, freeFiles: 900n, availableFiles: 800n, invarsec: 0,
      },
    },
    bytes(u32(0), NO_ATTRIBUTES, u64(1n << 40n), u64(1n << 39n), u64(1n << 38n), u64(1000n), u64(900n), u64(800n), u32(0))],
  ['FSINFO ok',
    {
      proc: 'FSINFO',
      result: {
        status: 'NFS3_OK', objectAttributes: DIR_ATTRIBUTES, rtmax: 1 << 20, rtpref: 1 << 20, rtmult: 4096, wtmax: 1 << 20, wtpref: 1 << 20,
        wtmult: 4096, dtpref: 65536, maxFileSize: (1n << 63n) - 1n, timeDelta: { seconds: 0, nseconds: 1_000_000 }, properties: 0x18,
      },
    },
    bytes(u32(0), DIR_POST_OP, u32(1 << 20, 1 << 20, 4096, 1 << 20, 1 << 20, 4096, 65536), u64((1n << 63n) - 1n), u32(0, 1_000_000, 0x18))],
  ['FSINFO stale', { proc: 'FSINFO', result: { status: 'NFS3ERR_STALE', objectAttributes: undefined } }, bytes(u32(70), NO_ATTRIBUTES)],
  ['PATHCONF ok',
    {
      proc: 'PATHCONF',
      result: {
        status: 'NFS3_OK', objectAttributes: undefined, linkMax: 1, nameMax: 255, noTrunc: true, chownRestricted: true,
        caseInsensitive: false, casePreserving: true,
      },
    },
    bytes(u32(0), NO_ATTRIBUTES, u32(1, 255, 1, 1, 0, 1))],
  ['FSSTAT serverfault', { proc: 'FSSTAT', result: { status: 'NFS3ERR_SERVERFAULT', objectAttributes: undefined } }, bytes(u32(10006), NO_ATTRIBUTES)],
  ['PATHCONF badhandle', { proc: 'PATHCONF', result: { status: 'NFS3ERR_BADHANDLE', objectAttributes: undefined } }, bytes(u32(10001), NO_ATTRIBUTES)],
  ['COMMIT ok', { proc: 'COMMIT', result: { status: 'NFS3_OK', fileWcc: NO_WCC, verifier: VERF } }, bytes(u32(0), NO_WCC_BYTES, VERF)],
  ['COMMIT jukebox', { proc: 'COMMIT', result: { status: 'NFS3ERR_JUKEBOX', fileWcc: NO_WCC } }, bytes(u32(10008), NO_WCC_BYTES)],
];

describe('protocol/nfs/nfs3 results', () => {
  for (const [name, result, expected] of CASES) {
    it(`writes ${name} as RFC 1813 lays it out`, () => {
      expect(joined(encodeNfs3Result(result)).toString('hex')).to.equal(expected.toString('hex'));
    });
  }

  it('sends a large READ payload by reference, padded after it', () => {
    const data = Buffer.alloc(BY_REFERENCE_MIN_BYTES * 64 + 1, 0x33);
    const buffers = encodeNfs3Result({ proc: 'READ', result: { status: 'NFS3_OK', fileAttributes: undefined, eof: false, data } });
    expect(buffers).to.include(data);
    const whole = joined(buffers);
    expect(whole.length).to.equal(4 + 4 + 4 + 4 + 4 + data.length + 3);
    expect([whole.readUInt32BE(8), whole.readUInt32BE(12), whole.readUInt32BE(16)]).to.deep.equal([data.length, 0, data.length]);
    expect(whole.subarray(whole.length - 3)).to.deep.equal(Buffer.alloc(3));
  });

  it('refuses to write a verifier of the wrong size: a bug of ours, not a reply', () => {
    expect(() => encodeNfs3Result({ proc: 'COMMIT', result: { status: 'NFS3_OK', fileWcc: NO_WCC, verifier: Buffer.alloc(4) } })).to.throw(RangeError);
    expect(() => encodeNfs3Result({ proc: 'LOOKUP', result: { status: 'NFS3_OK', object: Buffer.alloc(65), objectAttributes: undefined, dirAttributes: undefined } }))
      .to.throw(RangeError);
  });
});
