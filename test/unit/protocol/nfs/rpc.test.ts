import { expect } from 'chai';
import {
  AUTH_FLAVOR, AUTH_NONE_VERIFIER, decodeArgs, decodeRpcCall, decodeRpcReply, encodeRpcCall, encodeRpcReply,
  type AcceptedResult, type RpcCallDecoding, type RpcReply,
} from '../../../../src/protocol/nfs/rpc.js';
import { XdrError } from '../../../../src/protocol/nfs/xdr.js';
import { bytes, damagedCopies, expectNoThrow, FUZZ_SEED, joined, opaque, randomInputs, u32 } from './wire.js';

const CALL = 0;
const REPLY = 1;

/** authsys_parms as a Linux client sends them: stamp, machine name, uid, gid, supplementary gids. */
const AUTH_SYS_BODY = bytes(u32(0x5f3e1a2b), opaque('client1'), u32(1000, 1000, 3, 4, 24, 1000));
const AUTH_SYS_CRED = bytes(u32(AUTH_FLAVOR.AUTH_SYS), opaque(AUTH_SYS_BODY));
const AUTH_NONE = u32(0, 0);

function callBytes(cred: Buffer, verf: Buffer = AUTH_NONE, args: Buffer = Buffer.alloc(0)): Buffer {
  return bytes(u32(0x1234_5678, CALL, 2, 100003, 3, 1), cred, verf, args);
}

function deniedStat(decoding: RpcCallDecoding): string {
  if (decoding.type !== 'denied' || decoding.reply.type !== 'denied') return decoding.type;
  const rejection = decoding.reply.rejection;
  return rejection.stat === 'AUTH_ERROR' ? rejection.auth : `${rejection.stat} ${rejection.low}-${rejection.high}`;
}

describe('protocol/nfs/rpc', () => {
  describe('calls', () => {
    it('reads a call header with an AUTH_SYS credential, leaving the arguments as a view', () => {
      const record = callBytes(AUTH_SYS_CRED, AUTH_NONE, u32(42));
      const decoding = decodeRpcCall(record);
      if (decoding.type !== 'call') return expect.fail(decoding.type);
      const { args, ...header } = decoding.call;
      expect(header).to.deep.equal({
        xid: 0x1234_5678,
        program: 100003,
        version: 3,
        procedure: 1,
        credential: { flavor: 'AUTH_SYS', stamp: 0x5f3e1a2b, machineName: 'client1', uid: 1000, gid: 1000, gids: [4, 24, 1000] },
        verifier: { flavor: 0, body: Buffer.alloc(0) },
      });
      expect(args).to.deep.equal(u32(42));
      expect(args.buffer).to.equal(record.buffer);
    });

    it('reads AUTH_NONE, and keeps flavours it does not parse for the server to refuse', () => {
      const none = decodeRpcCall(callBytes(AUTH_NONE));
      expect(none.type === 'call' && none.call.credential).to.deep.equal({ flavor: 'AUTH_NONE' });
      const gss = decodeRpcCall(callBytes(bytes(u32(AUTH_FLAVOR.RPCSEC_GSS), opaque('ctx'))));
      expect(gss.type === 'call' && gss.call.credential).to.deep.equal({ flavor: 'OTHER', code: 6, body: Buffer.from('ctx') });
    });

    it('round-trips through the call encoder', () => {
      const header = {
        xid: 7, program: 100005, version: 3, procedure: 1,
        credential: { flavor: 'AUTH_SYS' as const, stamp: 1, machineName: 'h', uid: 0, gid: 0, gids: [] },
        verifier: AUTH_NONE_VERIFIER,
      };
      const encoded = joined(encodeRpcCall(header, [opaque('/export')]));
      expect(encoded).to.deep.equal(bytes(u32(7, CALL, 2, 100005, 3, 1, 1), opaque(bytes(u32(1), opaque('h'), u32(0, 0, 0))), AUTH_NONE, opaque('/export')));
      const decoding = decodeRpcCall(encoded);
      if (decoding.type !== 'call') return expect.fail(decoding.type);
      expect({ ...decoding.call, args: undefined }).to.deep.equal({ ...header, args: undefined });
      expect(decoding.call.args).to.deep.equal(opaque('/export'));
    });

    it('answers another RPC version with RPC_MISMATCH 2..2', () => {
      const decoding = decodeRpcCall(bytes(u32(9, CALL, 3, 100003, 3, 0), AUTH_NONE, AUTH_NONE));
      expect(deniedStat(decoding)).to.equal('RPC_MISMATCH 2-2');
      if (decoding.type !== 'denied') return;
      expect(joined(encodeRpcReply(decoding.reply))).to.deep.equal(u32(9, REPLY, 1, 0, 2, 2));
    });

    it('answers a credential it cannot parse with AUTH_BADCRED, a bad verifier with AUTH_BADVERF', () => {
      const sys = (body: Buffer): Buffer => bytes(u32(AUTH_FLAVOR.AUTH_SYS), opaque(body));
      const tooManyGids = bytes(u32(1), opaque('h'), u32(0, 0, 17, ...new Array<number>(17).fill(5)));
      expect(deniedStat(decodeRpcCall(callBytes(sys(tooManyGids))))).to.equal('AUTH_BADCRED');
      expect(deniedStat(decodeRpcCall(callBytes(sys(bytes(AUTH_SYS_BODY, u32(0))))))).to.equal('AUTH_BADCRED');
      expect(deniedStat(decodeRpcCall(callBytes(sys(AUTH_SYS_BODY.subarray(0, 20)))))).to.equal('AUTH_BADCRED');
      expect(deniedStat(decodeRpcCall(callBytes(sys(bytes(u32(1), opaque('x'.repeat(256)), u32(0, 0, 0))))))).to.equal('AUTH_BADCRED');
      expect(deniedStat(decodeRpcCall(callBytes(bytes(u32(1, 404), Buffer.alloc(404)))))).to.equal('AUTH_BADCRED');
      expect(deniedStat(decodeRpcCall(callBytes(bytes(u32(0), opaque('x')))))).to.equal('AUTH_BADCRED');
      expect(deniedStat(decodeRpcCall(callBytes(AUTH_NONE, u32(0, 401))))).to.equal('AUTH_BADVERF');
      expect(deniedStat(decodeRpcCall(callBytes(AUTH_NONE, u32(0))))).to.equal('AUTH_BADVERF');
      const denied = decodeRpcCall(callBytes(bytes(u32(0), opaque('x'))));
      if (denied.type !== 'denied') return expect.fail(denied.type);
      expect(joined(encodeRpcReply(denied.reply))).to.deep.equal(u32(0x1234_5678, REPLY, 1, 1, 1));
    });

    it('ignores what it cannot answer: replies, a missing xid, a cut header', () => {
      expect(decodeRpcCall(u32(1, REPLY, 0)).type).to.equal('ignored');
      expect(decodeRpcCall(u32(1, 2)).type).to.equal('ignored');
      expect(decodeRpcCall(Buffer.alloc(3)).type).to.equal('ignored');
      expect(decodeRpcCall(u32(1, CALL, 2, 100003, 3)).type).to.equal('ignored');
    });

    it('never throws on random input or on damaged calls (fixed seed)', () => {
      const valid = callBytes(AUTH_SYS_CRED, AUTH_NONE, u32(1, 2));
      const inputs = [...randomInputs(FUZZ_SEED, 2000, 120), ...damagedCopies(valid, FUZZ_SEED)];
      const decodings = expectNoThrow(inputs, decodeRpcCall, FUZZ_SEED);
      const types = new Set(decodings.map((d) => d.type));
      expect([...types].sort()).to.deep.equal(['call', 'denied', 'ignored']);
    });
  });

  describe('replies', () => {
    const success = [u32(0xaa), u32(0xbb)];
    const cases: [AcceptedResult, Buffer][] = [
      [{ stat: 'SUCCESS', results: success }, u32(0, 0xaa, 0xbb)],
      [{ stat: 'PROG_UNAVAIL' }, u32(1)],
      [{ stat: 'PROG_MISMATCH', low: 3, high: 3 }, u32(2, 3, 3)],
      [{ stat: 'PROC_UNAVAIL' }, u32(3)],
      [{ stat: 'GARBAGE_ARGS' }, u32(4)],
      [{ stat: 'SYSTEM_ERR' }, u32(5)],
    ];

    for (const [result, tail] of cases) {
      it(`writes an accepted ${result.stat} reply as RFC 5531 lays it out`, () => {
        const reply: RpcReply = { type: 'accepted', xid: 77, verifier: AUTH_NONE_VERIFIER, result };
        const encoded = joined(encodeRpcReply(reply));
        expect(encoded).to.deep.equal(bytes(u32(77, REPLY, 0), AUTH_NONE, tail));
        const decoded = decodeRpcReply(encoded);
        if (result.stat === 'SUCCESS') expect(decoded).to.deep.equal({ ...reply, result: { stat: 'SUCCESS', results: [u32(0xaa, 0xbb)] } });
        else expect(decoded).to.deep.equal(reply);
      });
    }

    it('passes the results buffers through without copying them', () => {
      const results = [Buffer.alloc(100_000, 1)];
      const encoded = encodeRpcReply({ type: 'accepted', xid: 1, verifier: AUTH_NONE_VERIFIER, result: { stat: 'SUCCESS', results } });
      expect(encoded.at(-1)).to.equal(results[0]);
    });

    it('writes denied replies: RPC_MISMATCH with the versions, AUTH_ERROR with its auth_stat', () => {
      const mismatch: RpcReply = { type: 'denied', xid: 5, rejection: { stat: 'RPC_MISMATCH', low: 2, high: 2 } };
      const tooWeak: RpcReply = { type: 'denied', xid: 6, rejection: { stat: 'AUTH_ERROR', auth: 'AUTH_TOOWEAK' } };
      expect(joined(encodeRpcReply(mismatch))).to.deep.equal(u32(5, REPLY, 1, 0, 2, 2));
      expect(joined(encodeRpcReply(tooWeak))).to.deep.equal(u32(6, REPLY, 1, 1, 5));
      expect(decodeRpcReply(joined(encodeRpcReply(mismatch)))).to.deep.equal(mismatch);
      expect(decodeRpcReply(joined(encodeRpcReply(tooWeak)))).to.deep.equal(tooWeak);
    });

    it('reads replies with nothing but XdrError on bad input', () => {
      for (const input of [u32(1, CALL), u32(1, REPLY, 1, 0, 2), u32(1, REPLY, 0, 0, 0, 9), u32(1, REPLY, 1, 1, 5, 0)]) {
        expect(() => decodeRpcReply(input)).to.throw(XdrError);
      }
    });
  });

  describe('procedure arguments', () => {
    it('turns an XdrError into GARBAGE_ARGS and lets any other error through', () => {
      expect(decodeArgs(u32(5), (r) => r.uint32())).to.deep.equal({ ok: true, call: 5 });
      const garbage = decodeArgs(Buffer.alloc(2), (r) => r.uint32());
      expect(garbage.ok === false && garbage.stat).to.equal('GARBAGE_ARGS');
      expect(() => decodeArgs(u32(5), () => {
        throw new TypeError('bug');
      })).to.throw(TypeError);
    });
  });
});
