import { expect } from 'chai';
import { decodeMount3Call, encodeMount3Result, MOUNT_PROGRAM, MOUNTSTAT3 } from '../../../../src/protocol/nfs/mount3.js';
import { decodeRpcCall } from '../../../../src/protocol/nfs/rpc.js';
import { bytes, damagedCopies, expectNoThrow, FUZZ_SEED, joined, opaque, randomInputs, u32 } from './wire.js';

describe('protocol/nfs/mount3', () => {
  it('reads a MNT call as mount.nfs sends it: AUTH_SYS, then the dirpath', () => {
    const cred = bytes(u32(1), opaque(bytes(u32(0x6650_0000), opaque('laptop'), u32(0, 0, 1, 0))));
    const record = bytes(u32(0xcafe, 0, 2, MOUNT_PROGRAM, 3, 1), cred, u32(0, 0), opaque('/photos/2024'));
    const decoding = decodeRpcCall(record);
    if (decoding.type !== 'call') return expect.fail(decoding.type);
    expect(decoding.call.program).to.equal(100005);
    expect(decodeMount3Call(decoding.call.procedure, decoding.call.args)).to.deep.equal({ ok: true, call: { proc: 'MNT', dirpath: '/photos/2024' } });
  });

  it('reads every procedure', () => {
    expect(decodeMount3Call(0, Buffer.alloc(0))).to.deep.equal({ ok: true, call: { proc: 'NULL' } });
    expect(decodeMount3Call(2, Buffer.alloc(0))).to.deep.equal({ ok: true, call: { proc: 'DUMP' } });
    expect(decodeMount3Call(3, opaque('/b'))).to.deep.equal({ ok: true, call: { proc: 'UMNT', dirpath: '/b' } });
    expect(decodeMount3Call(4, Buffer.alloc(0))).to.deep.equal({ ok: true, call: { proc: 'UMNTALL' } });
    expect(decodeMount3Call(5, Buffer.alloc(0))).to.deep.equal({ ok: true, call: { proc: 'EXPORT' } });
  });

  it('answers procedures it does not know with PROC_UNAVAIL', () => {
    for (const procedure of [6, 100, -1, 0.5]) {
      expect(decodeMount3Call(procedure, Buffer.alloc(0))).to.deep.equal({ ok: false, stat: 'PROC_UNAVAIL', procedure });
    }
  });

  it('answers a dirpath past MNTPATHLEN, cut short or not UTF-8 with GARBAGE_ARGS', () => {
    const rejected = (procedure: number, args: Buffer): string => {
      const decoding = decodeMount3Call(procedure, args);
      return decoding.ok ? 'ok' : decoding.stat === 'GARBAGE_ARGS' ? decoding.error.code : decoding.stat;
    };
    expect(rejected(1, opaque('/'.repeat(1024)))).to.equal('ok');
    expect(rejected(1, opaque('/'.repeat(1025)))).to.equal('TooLong');
    expect(rejected(1, u32(4))).to.equal('ShortBuffer');
    expect(rejected(3, Buffer.alloc(0))).to.equal('ShortBuffer');
    expect(rejected(1, opaque(Buffer.from([0x2f, 0xff])))).to.equal('BadString');
  });

  it('writes a MNT success: status, handle, auth flavours', () => {
    const fhandle = Buffer.from('0123456789abcdef0123');
    const encoded = joined(encodeMount3Result({ proc: 'MNT', result: { status: 'MNT3_OK', fhandle, authFlavors: [1, 0] } }));
    expect(encoded).to.deep.equal(bytes(u32(0), opaque(fhandle), u32(2, 1, 0)));
  });

  it('writes a MNT failure as its status alone', () => {
    expect(joined(encodeMount3Result({ proc: 'MNT', result: { status: 'MNT3ERR_NOENT' } }))).to.deep.equal(u32(2));
    expect(joined(encodeMount3Result({ proc: 'MNT', result: { status: 'MNT3ERR_ACCES' } }))).to.deep.equal(u32(13));
    expect(MOUNTSTAT3.codes.MNT3ERR_SERVERFAULT).to.equal(10006);
  });

  it('writes DUMP as a linked list of hosts and paths', () => {
    const mounts = [{ hostname: 'a', directory: '/x' }, { hostname: 'bb', directory: '/y' }];
    expect(joined(encodeMount3Result({ proc: 'DUMP', mounts }))).to.deep.equal(
      bytes(u32(1), opaque('a'), opaque('/x'), u32(1), opaque('bb'), opaque('/y'), u32(0)),
    );
    expect(joined(encodeMount3Result({ proc: 'DUMP', mounts: [] }))).to.deep.equal(u32(0));
  });

  it('writes EXPORT as a linked list of paths, each with its linked list of groups', () => {
    const exports = [{ directory: '/photos', groups: ['*'] }, { directory: '/logs', groups: ['10.0.0.0/8', 'admins'] }, { directory: '/open', groups: [] }];
    expect(joined(encodeMount3Result({ proc: 'EXPORT', exports }))).to.deep.equal(
      bytes(
        u32(1), opaque('/photos'), u32(1), opaque('*'), u32(0),
        u32(1), opaque('/logs'), u32(1), opaque('10.0.0.0/8'), u32(1), opaque('admins'), u32(0),
        u32(1), opaque('/open'), u32(0),
        u32(0),
      ),
    );
  });

  it('writes nothing for the void results', () => {
    for (const proc of ['NULL', 'UMNT', 'UMNTALL'] as const) expect(joined(encodeMount3Result({ proc }))).to.deep.equal(Buffer.alloc(0));
  });

  it('never throws on random or damaged arguments (fixed seed)', () => {
    const inputs = [...randomInputs(FUZZ_SEED, 500, 40), ...damagedCopies(opaque('/some/path'), FUZZ_SEED)];
    for (let procedure = 0; procedure < 7; procedure++) expectNoThrow(inputs, (input) => decodeMount3Call(procedure, input), FUZZ_SEED);
  });
});
