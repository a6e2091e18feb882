import { expect } from 'chai';
import { decodeNfs3Call, NFS3_PROCEDURES, type Nfs3Call } from '../../../../src/protocol/nfs/nfs3.js';
import { NFS3_PROGRAM } from '../../../../src/protocol/nfs/nfs3-types.js';
import { decodeRpcCall } from '../../../../src/protocol/nfs/rpc.js';
import type { XdrErrorCode } from '../../../../src/protocol/nfs/xdr.js';
import {
  dirop, FILE_FH, ROOT_FH, SATTR_EVERYTHING, SATTR_EVERYTHING_BYTES, SATTR_UNCHANGED, SATTR_UNCHANGED_BYTES,
} from './nfs3-fixtures.js';
import { bytes, damagedCopies, expectNoThrow, fixed, FUZZ_SEED, opaque, randomInputs, u32, u64 } from './wire.js';

const VERF = Buffer.from('verifier');

/** Valid arguments of every procedure, laid out by hand, with what they decode to. */
const VALID: [number, Buffer, Nfs3Call][] = [
  [0, Buffer.alloc(0), { proc: 'NULL' }],
  [1, opaque(FILE_FH), { proc: 'GETATTR', args: { object: FILE_FH } }],
  [2, bytes(opaque(FILE_FH), SATTR_EVERYTHING_BYTES, u32(1, 99, 7)),
    { proc: 'SETATTR', args: { object: FILE_FH, newAttributes: SATTR_EVERYTHING, guardCtime: { seconds: 99, nseconds: 7 } } }],
  [2, bytes(opaque(FILE_FH), SATTR_UNCHANGED_BYTES, u32(0)),
    { proc: 'SETATTR', args: { object: FILE_FH, newAttributes: SATTR_UNCHANGED, guardCtime: undefined } }],
  [3, dirop(ROOT_FH, 'a.txt'), { proc: 'LOOKUP', args: { what: { dir: ROOT_FH, name: 'a.txt' } } }],
  [4, bytes(opaque(FILE_FH), u32(0x3f)), { proc: 'ACCESS', args: { object: FILE_FH, access: 0x3f } }],
  [5, opaque(FILE_FH), { proc: 'READLINK', args: { symlink: FILE_FH } }],
  [6, bytes(opaque(FILE_FH), u64(0x1_0000_0010n), u32(131072)),
    { proc: 'READ', args: { file: FILE_FH, offset: 0x1_0000_0010n, count: 131072 } }],
  [7, bytes(opaque(FILE_FH), u64(8192n), u32(5, 2), opaque('hello')),
    { proc: 'WRITE', args: { file: FILE_FH, offset: 8192n, stable: 'FILE_SYNC', data: Buffer.from('hello') } }],
  [8, bytes(dirop(ROOT_FH, 'new'), u32(0), SATTR_EVERYTHING_BYTES),
    { proc: 'CREATE', args: { where: { dir: ROOT_FH, name: 'new' }, how: { mode: 'UNCHECKED', attributes: SATTR_EVERYTHING } } }],
  [8, bytes(dirop(ROOT_FH, 'new'), u32(1), SATTR_UNCHANGED_BYTES),
    { proc: 'CREATE', args: { where: { dir: ROOT_FH, name: 'new' }, how: { mode: 'GUARDED', attributes: SATTR_UNCHANGED } } }],
  [8, bytes(dirop(ROOT_FH, 'new'), u32(2), VERF),
    { proc: 'CREATE', args: { where: { dir: ROOT_FH, name: 'new' }, how: { mode: 'EXCLUSIVE', verifier: VERF } } }],
  [9, bytes(dirop(ROOT_FH, 'sub'), SATTR_UNCHANGED_BYTES),
    { proc: 'MKDIR', args: { where: { dir: ROOT_FH, name: 'sub' }, attributes: SATTR_UNCHANGED } }],
  [10, bytes(dirop(ROOT_FH, 'ln'), SATTR_UNCHANGED_BYTES, opaque('../target')),
    { proc: 'SYMLINK', args: { where: { dir: ROOT_FH, name: 'ln' }, attributes: SATTR_UNCHANGED, target: '../target' } }],
  [11, bytes(dirop(ROOT_FH, 'dev'), u32(4), SATTR_UNCHANGED_BYTES, u32(1, 3)),
    { proc: 'MKNOD', args: { where: { dir: ROOT_FH, name: 'dev' }, what: { type: 'NF3CHR', attributes: SATTR_UNCHANGED, spec: { specdata1: 1, specdata2: 3 } } } }],
  [11, bytes(dirop(ROOT_FH, 'fifo'), u32(7), SATTR_UNCHANGED_BYTES),
    { proc: 'MKNOD', args: { where: { dir: ROOT_FH, name: 'fifo' }, what: { type: 'NF3FIFO', attributes: SATTR_UNCHANGED } } }],
  [11, bytes(dirop(ROOT_FH, 'reg'), u32(1)),
    { proc: 'MKNOD', args: { where: { dir: ROOT_FH, name: 'reg' }, what: { type: 'NF3REG' } } }],
  [12, dirop(ROOT_FH, 'old'), { proc: 'REMOVE', args: { object: { dir: ROOT_FH, name: 'old' } } }],
  [13, dirop(ROOT_FH, 'sub'), { proc: 'RMDIR', args: { object: { dir: ROOT_FH, name: 'sub' } } }],
  [14, bytes(dirop(ROOT_FH, 'a'), dirop(FILE_FH, 'b')),
    { proc: 'RENAME', args: { from: { dir: ROOT_FH, name: 'a' }, to: { dir: FILE_FH, name: 'b' } } }],
  [15, bytes(opaque(FILE_FH), dirop(ROOT_FH, 'hard')),
    { proc: 'LINK', args: { file: FILE_FH, link: { dir: ROOT_FH, name: 'hard' } } }],
  [16, bytes(opaque(ROOT_FH), u64(0n), Buffer.alloc(8), u32(4096)),
    { proc: 'READDIR', args: { dir: ROOT_FH, cookie: 0n, cookieverf: Buffer.alloc(8), count: 4096 } }],
  [17, bytes(opaque(ROOT_FH), u64(12n), VERF, u32(4096, 32768)),
    { proc: 'READDIRPLUS', args: { dir: ROOT_FH, cookie: 12n, cookieverf: VERF, dircount: 4096, maxcount: 32768 } }],
  [18, opaque(ROOT_FH), { proc: 'FSSTAT', args: { fsroot: ROOT_FH } }],
  [19, opaque(ROOT_FH), { proc: 'FSINFO', args: { fsroot: ROOT_FH } }],
  [20, opaque(ROOT_FH), { proc: 'PATHCONF', args: { object: ROOT_FH } }],
  [21, bytes(opaque(FILE_FH), u64(0n), u32(0)), { proc: 'COMMIT', args: { file: FILE_FH, offset: 0n, count: 0 } }],
];

function garbage(procedure: number, args: Buffer): XdrErrorCode | string {
  const decoding = decodeNfs3Call(procedure, args);
  if (decoding.ok) return 'ok';
  return decoding.stat === 'GARBAGE_ARGS' ? decoding.error.code : decoding.stat;
}

describe('protocol/nfs/nfs3 calls', () => {
  it('reads a LOOKUP from a Linux client: the RPC header with AUTH_SYS, then diropargs3', () => {
    const authsys = bytes(u32(0x0006_5a1c), opaque('ubuntu-client'), u32(1000, 1000), u32(4, 4, 24, 27, 1000));
    const record = bytes(
      u32(0x6b8b_4567), // xid
      u32(0), // CALL
      u32(2, NFS3_PROGRAM, 3, 3), // rpcvers, prog, vers, proc LOOKUP
      u32(1), opaque(authsys), // cred: AUTH_SYS
      u32(0, 0), // verf: AUTH_NONE
      opaque(ROOT_FH), opaque('report.pdf'), // diropargs3
    );
    expect(authsys.length).to.equal(4 + (4 + 16) + 8 + 4 * 5);
    expect(record.length).to.equal(6 * 4 + (4 + 4 + authsys.length) + 8 + (4 + ROOT_FH.length) + (4 + 12));
    const rpc = decodeRpcCall(record);
    if (rpc.type !== 'call') return expect.fail(rpc.type);
    expect(rpc.call.credential).to.deep.equal({ flavor: 'AUTH_SYS', stamp: 0x0006_5a1c, machineName: 'ubuntu-client', uid: 1000, gid: 1000, gids: [4, 24, 27, 1000] });
    expect([rpc.call.program, rpc.call.version, rpc.call.procedure]).to.deep.equal([100003, 3, 3]);
    expect(decodeNfs3Call(rpc.call.procedure, rpc.call.args)).to.deep.equal({
      ok: true,
      call: { proc: 'LOOKUP', args: { what: { dir: ROOT_FH, name: 'report.pdf' } } },
    });
  });

  it('numbers its procedures as RFC 1813 does', () => {
    expect(NFS3_PROCEDURES.length).to.equal(22);
    expect([NFS3_PROCEDURES.indexOf('LOOKUP'), NFS3_PROCEDURES.indexOf('READDIRPLUS'), NFS3_PROCEDURES.indexOf('COMMIT')]).to.deep.equal([3, 17, 21]);
  });

  for (const [procedure, args, call] of VALID) {
    it(`reads ${call.proc} arguments (${args.length} bytes)`, () => {
      expect(decodeNfs3Call(procedure, args)).to.deep.equal({ ok: true, call });
    });
  }

  it('answers procedures past COMMIT with PROC_UNAVAIL', () => {
    for (const procedure of [22, 23, 1000, -1]) expect(decodeNfs3Call(procedure, Buffer.alloc(0))).to.deep.equal({ ok: false, stat: 'PROC_UNAVAIL', procedure });
  });

  it('hands out WRITE data as a view into the record, even when large', () => {
    const data = Buffer.alloc(65_536 + 3, 0x5a);
    const args = bytes(opaque(FILE_FH), u64(0n), u32(data.length, 0), opaque(data));
    const decoding = decodeNfs3Call(7, args);
    if (!decoding.ok || decoding.call.proc !== 'WRITE') return expect.fail('not a WRITE');
    expect(decoding.call.args.data.buffer).to.equal(args.buffer);
    expect(decoding.call.args.data.length).to.equal(data.length);
    expect(decoding.call.args.stable).to.equal('UNSTABLE');
  });

  it('answers what the XDR rules out with GARBAGE_ARGS', () => {
    expect(garbage(1, opaque(Buffer.alloc(64)))).to.equal('ok');
    expect(garbage(1, opaque(Buffer.alloc(65)))).to.equal('TooLong');
    expect(garbage(7, bytes(opaque(FILE_FH), u64(0n), u32(5, 3), opaque('hello')))).to.equal('BadEnum');
    expect(garbage(7, bytes(opaque(FILE_FH), u64(0n), u32(4, 0), opaque('hello')))).to.equal('BadValue');
    expect(garbage(8, bytes(dirop(ROOT_FH, 'x'), u32(3), VERF))).to.equal('BadEnum');
    expect(garbage(8, bytes(dirop(ROOT_FH, 'x'), u32(2), VERF.subarray(0, 4)))).to.equal('ShortBuffer');
    expect(garbage(2, bytes(opaque(FILE_FH), u32(0, 0, 0, 0, 3, 0), u32(0)))).to.equal('BadEnum');
    expect(garbage(2, bytes(opaque(FILE_FH), u32(2, 0, 0, 0, 0, 0), u32(0)))).to.equal('BadBool');
    expect(garbage(2, bytes(opaque(FILE_FH), SATTR_UNCHANGED_BYTES, u32(2)))).to.equal('BadBool');
    expect(garbage(11, bytes(dirop(ROOT_FH, 'x'), u32(0)))).to.equal('BadEnum');
    expect(garbage(11, bytes(dirop(ROOT_FH, 'x'), u32(8)))).to.equal('BadEnum');
    expect(garbage(3, bytes(opaque(ROOT_FH), opaque(Buffer.from([0x61, 0xfe]))))).to.equal('BadString');
    expect(garbage(3, bytes(opaque(ROOT_FH), u32(2), Buffer.from([0x61, 0x62, 0x00, 0x01])))).to.equal('BadPadding');
    expect(garbage(3, bytes(opaque(ROOT_FH), opaque('n'.repeat(4097))))).to.equal('TooLong');
    expect(garbage(16, bytes(opaque(ROOT_FH), u64(0n), fixed(Buffer.alloc(4))))).to.equal('ShortBuffer');
  });

  it('leaves to the handlers what the XDR allows: an empty handle, a name past NAME_MAX, an empty name', () => {
    expect(garbage(1, opaque(Buffer.alloc(0)))).to.equal('ok');
    expect(garbage(3, dirop(ROOT_FH, 'n'.repeat(300)))).to.equal('ok');
    expect(garbage(3, dirop(ROOT_FH, ''))).to.equal('ok');
  });

  it('ignores bytes after the arguments, as servers do', () => {
    expect(garbage(1, bytes(opaque(FILE_FH), u32(0)))).to.equal('ok');
  });

  it('answers every cut-short argument list with GARBAGE_ARGS', () => {
    for (const [procedure, args, call] of VALID) {
      for (let length = 0; length < args.length; length++) {
        expect(garbage(procedure, args.subarray(0, length)), `${call.proc} cut to ${length} bytes`).to.be.oneOf(['ShortBuffer', 'BadValue']);
      }
    }
  });

  it('never throws on random or damaged arguments, for any procedure (fixed seed)', () => {
    const random = randomInputs(FUZZ_SEED, 300, 160);
    const outcomes = new Set<string>();
    for (let procedure = 0; procedure <= 22; procedure++) {
      const valid = VALID.filter(([p]) => p === procedure).flatMap(([, args], i) => damagedCopies(args, FUZZ_SEED + i));
      for (const decoding of expectNoThrow([...random, ...valid], (input) => decodeNfs3Call(procedure, input), FUZZ_SEED)) {
        outcomes.add(decoding.ok ? 'ok' : decoding.stat);
      }
    }
    expect([...outcomes].sort()).to.deep.equal(['GARBAGE_ARGS', 'PROC_UNAVAIL', 'ok']);
  });
});
