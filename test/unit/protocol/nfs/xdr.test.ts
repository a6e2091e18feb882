import { expect } from 'chai';
import {
  BY_REFERENCE_MIN_BYTES, paddingOf, UNBOUNDED, varOpaqueSize, XdrEnum, XdrError, XdrReader, XdrWriter, type XdrErrorCode,
} from '../../../../src/protocol/nfs/xdr.js';
import { randomInt, seededRandom } from '../../core/seeded-random.js';
import { bytes, expectOnlyXdrErrors, FUZZ_SEED, opaque, randomInputs, u32, u64 } from './wire.js';

function errorCode(read: () => unknown): XdrErrorCode | 'none' {
  try {
    read();
    return 'none';
  } catch (error) {
    if (error instanceof XdrError) return error.code;
    throw error;
  }
}

const COLOUR = new XdrEnum('colour', { RED: 0, GREEN: 1, BLUE: 2, NEGATIVE: -1 });

describe('protocol/nfs/xdr', () => {
  describe('writer', () => {
    it('lays integers out big-endian in 4 and 8 bytes, as RFC 4506 section 4.1 to 4.5 say', () => {
      const w = new XdrWriter().uint32(0x01020304).int32(-2).uint64(0x0102030405060708n).int64(-1n).bool(true).bool(false);
      expect(w.toBuffer().toString('hex')).to.equal(
        '01020304' + 'fffffffe' + '0102030405060708' + 'ffffffffffffffff' + '00000001' + '00000000',
      );
    });

    it('pads opaque data and strings with zeroes to a multiple of four', () => {
      const w = new XdrWriter().string('abc').varOpaque(Buffer.from('abcd')).varOpaque(Buffer.from('abcde')).fixedOpaque(Buffer.from('xy'), 2);
      expect(w.toBuffer()).to.deep.equal(bytes(opaque('abc'), opaque('abcd'), opaque('abcde'), Buffer.from('xy\0\0')));
      expect(w.byteLength).to.equal(8 + 8 + 12 + 4);
    });

    it('writes zero padding even into reused, uninitialised memory', () => {
      const w = new XdrWriter();
      for (let i = 0; i < 500; i++) w.string('x'.repeat(i % 7));
      const out = w.toBuffer();
      const r = new XdrReader(out);
      for (let i = 0; i < 500; i++) expect(r.string(10)).to.equal('x'.repeat(i % 7));
      r.expectEnd();
    });

    it('writes optional data, arrays and linked lists', () => {
      const w = new XdrWriter()
        .optional<number>(7, (x, v) => x.uint32(v))
        .optional<number>(undefined, (x, v) => x.uint32(v))
        .array([1, 2], 5, (x, v) => x.uint32(v))
        .list(['a', 'b'], (x, v) => x.string(v));
      expect(w.toBuffer()).to.deep.equal(bytes(u32(1, 7, 0, 2, 1, 2, 1), opaque('a'), u32(1), opaque('b'), u32(0)));
    });

    it('refers to large opaque data instead of copying it', () => {
      const payload = Buffer.alloc(BY_REFERENCE_MIN_BYTES + 3, 0xab);
      const w = new XdrWriter().uint32(1).varOpaque(payload).uint32(2);
      const buffers = w.toBuffers();
      expect(buffers.some((b) => b === payload)).to.equal(true);
      const whole = Buffer.concat(buffers);
      expect(whole.length).to.equal(4 + 4 + payload.length + 1 + 4);
      expect(whole.subarray(8 + payload.length, 9 + payload.length)).to.deep.equal(Buffer.alloc(1));
      expect(whole.readUInt32BE(whole.length - 4)).to.equal(2);
    });

    it('grows past its first chunk and keeps byteLength exact', () => {
      const w = new XdrWriter();
      for (let i = 0; i < 10_000; i++) w.uint32(i);
      expect(w.byteLength).to.equal(40_000);
      const r = new XdrReader(w.toBuffer());
      for (let i = 0; i < 10_000; i++) expect(r.uint32()).to.equal(i);
    });

    it('refuses values outside their type: our own bug, not the peer\'s', () => {
      expect(() => new XdrWriter().uint32(-1)).to.throw(RangeError);
      expect(() => new XdrWriter().uint32(2 ** 32)).to.throw(RangeError);
      expect(() => new XdrWriter().uint32(1.5)).to.throw(RangeError);
      expect(() => new XdrWriter().int32(2 ** 31)).to.throw(RangeError);
      expect(() => new XdrWriter().uint64(-1n)).to.throw(RangeError);
      expect(() => new XdrWriter().uint64(1n << 64n)).to.throw(RangeError);
      expect(() => new XdrWriter().int64(1n << 63n)).to.throw(RangeError);
      expect(() => new XdrWriter().varOpaque(Buffer.alloc(5), 4)).to.throw(RangeError);
      expect(() => new XdrWriter().fixedOpaque(Buffer.alloc(5), 8)).to.throw(RangeError);
      expect(() => new XdrWriter().array([1, 2, 3], 2, (w, v) => w.uint32(v))).to.throw(RangeError);
    });

    it('sizes padding and variable-length items', () => {
      expect([0, 1, 2, 3, 4, 5].map(paddingOf)).to.deep.equal([0, 3, 2, 1, 0, 3]);
      expect([0, 1, 4, 5].map(varOpaqueSize)).to.deep.equal([4, 8, 8, 12]);
    });
  });

  describe('reader', () => {
    it('round-trips every primitive at its limits', () => {
      const w = new XdrWriter()
        .uint32(0).uint32(0xffff_ffff).int32(-0x8000_0000).int32(0x7fff_ffff)
        .uint64(0n).uint64((1n << 64n) - 1n).int64(-(1n << 63n)).int64((1n << 63n) - 1n)
        .bool(true).bool(false).string('').string('héllo ☃').varOpaque(Buffer.alloc(0)).fixedOpaque(Buffer.from([1, 2, 3]), 3);
      const r = new XdrReader(w.toBuffer());
      expect([r.uint32(), r.uint32(), r.int32(), r.int32()]).to.deep.equal([0, 0xffff_ffff, -0x8000_0000, 0x7fff_ffff]);
      expect([r.uint64(), r.uint64(), r.int64(), r.int64()]).to.deep.equal([0n, (1n << 64n) - 1n, -(1n << 63n), (1n << 63n) - 1n]);
      expect([r.bool(), r.bool(), r.string(0), r.string(20)]).to.deep.equal([true, false, '', 'héllo ☃']);
      expect(r.varOpaque(0).length).to.equal(0);
      expect([...r.fixedOpaque(3)]).to.deep.equal([1, 2, 3]);
      expect(r.remaining).to.equal(0);
      r.expectEnd();
    });

    it('hands out opaque data as views into the input', () => {
      const input = bytes(opaque('data'));
      const data = new XdrReader(input).varOpaque(10);
      expect(data.buffer).to.equal(input.buffer);
      expect(data.byteOffset).to.equal(input.byteOffset + 4);
    });

    it('reads optional data, arrays and linked lists', () => {
      const r = new XdrReader(bytes(u32(1, 7, 0, 3, 1, 2, 3, 1, 9, 1, 8, 0)));
      expect(r.optional((x) => x.uint32())).to.equal(7);
      expect(r.optional((x) => x.uint32())).to.equal(undefined);
      expect(r.array(3, (x) => x.uint32())).to.deep.equal([1, 2, 3]);
      expect(r.list(2, (x) => x.uint32())).to.deep.equal([9, 8]);
      r.expectEnd();
    });

    it('reads closed enums and refuses values outside them', () => {
      expect(COLOUR.read(new XdrReader(u32(2)))).to.equal('BLUE');
      expect(COLOUR.read(new XdrReader(u32(0xffff_ffff)))).to.equal('NEGATIVE');
      expect(errorCode(() => COLOUR.read(new XdrReader(u32(3))))).to.equal('BadEnum');
      const w = new XdrWriter();
      COLOUR.write(w, 'NEGATIVE');
      expect(w.toBuffer().toString('hex')).to.equal('ffffffff');
      expect(COLOUR.nameOf(1)).to.equal('GREEN');
      expect(COLOUR.nameOf(9)).to.equal(undefined);
    });

    it('throws ShortBuffer for every item cut short', () => {
      expect(errorCode(() => new XdrReader(Buffer.alloc(3)).uint32())).to.equal('ShortBuffer');
      expect(errorCode(() => new XdrReader(Buffer.alloc(3)).int32())).to.equal('ShortBuffer');
      expect(errorCode(() => new XdrReader(Buffer.alloc(7)).uint64())).to.equal('ShortBuffer');
      expect(errorCode(() => new XdrReader(Buffer.alloc(7)).int64())).to.equal('ShortBuffer');
      expect(errorCode(() => new XdrReader(Buffer.alloc(0)).bool())).to.equal('ShortBuffer');
      expect(errorCode(() => new XdrReader(Buffer.alloc(5)).fixedOpaque(5))).to.equal('ShortBuffer');
      expect(errorCode(() => new XdrReader(bytes(u32(5), Buffer.from('abcde'))).varOpaque(10))).to.equal('ShortBuffer');
      expect(errorCode(() => new XdrReader(bytes(u32(3), Buffer.from('abc'))).string(10))).to.equal('ShortBuffer');
      expect(errorCode(() => new XdrReader(u32(2, 1)).array(10, (x) => x.uint32()))).to.equal('ShortBuffer');
      expect(errorCode(() => new XdrReader(u32(1, 1)).list(10, (x) => x.uint32()))).to.equal('ShortBuffer');
    });

    it('refuses a length above its maximum before looking for the bytes', () => {
      expect(errorCode(() => new XdrReader(u32(5)).varOpaque(4))).to.equal('TooLong');
      expect(errorCode(() => new XdrReader(u32(256)).string(255))).to.equal('TooLong');
      expect(errorCode(() => new XdrReader(u32(17)).array(16, (x) => x.uint32()))).to.equal('TooLong');
      expect(errorCode(() => new XdrReader(u32(1, 1, 1, 2, 1, 3)).list(2, (x) => x.uint32()))).to.equal('TooLong');
    });

    it('never believes a count the input cannot hold', () => {
      let calls = 0;
      const read = (x: XdrReader): number => {
        calls++;
        return x.uint32();
      };
      expect(errorCode(() => new XdrReader(u32(0xffff_ffff, 1, 2)).array(UNBOUNDED, read))).to.equal('ShortBuffer');
      expect(errorCode(() => new XdrReader(u32(0xffff_ffff)).varOpaque(UNBOUNDED))).to.equal('ShortBuffer');
      expect(calls).to.equal(0);
    });

    it('refuses non-zero padding, bools other than 0 and 1, and strings that are not UTF-8', () => {
      expect(errorCode(() => new XdrReader(bytes(u32(1), Buffer.from([0x61, 0, 1, 0]))).string(4))).to.equal('BadPadding');
      expect(errorCode(() => new XdrReader(Buffer.from([1, 2, 3, 0, 0, 0, 0x80, 0])).fixedOpaque(5))).to.equal('BadPadding');
      expect(errorCode(() => new XdrReader(u32(2)).bool())).to.equal('BadBool');
      expect(errorCode(() => new XdrReader(u32(0xffff_ffff)).optional((x) => x.uint32()))).to.equal('BadBool');
      expect(errorCode(() => new XdrReader(bytes(u32(2), Buffer.from([0xc3, 0x28, 0, 0]))).string(4))).to.equal('BadString');
      expect(errorCode(() => new XdrReader(bytes(u32(1), Buffer.from([0xff, 0, 0, 0]))).string(4))).to.equal('BadString');
    });

    it('keeps a leading byte-order mark as part of the string', () => {
      expect(new XdrReader(opaque('\ufeffa')).string(10)).to.equal('\ufeffa');
    });

    it('reports bytes left over, and hands out the rest as a view', () => {
      const r = new XdrReader(u32(1, 2, 3));
      r.uint32();
      expect(errorCode(() => r.expectEnd())).to.equal('TrailingBytes');
      expect(r.position).to.equal(4);
      expect([...r.rest()]).to.deep.equal([...u32(2, 3)]);
      r.expectEnd();
    });

    it('reads from an offset', () => {
      const r = new XdrReader(bytes(u32(9), u64(5n)), 4);
      expect(r.uint64()).to.equal(5n);
    });

    it('throws nothing but XdrError on random input, whatever it is asked to read (fixed seed)', () => {
      const ops: ((r: XdrReader) => unknown)[] = [
        (r) => r.uint32(), (r) => r.int32(), (r) => r.uint64(), (r) => r.int64(), (r) => r.bool(),
        (r) => r.fixedOpaque(5), (r) => r.varOpaque(64), (r) => r.varOpaque(UNBOUNDED), (r) => r.string(255),
        (r) => r.optional((x) => x.string(16)), (r) => r.array(16, (x) => x.uint64()), (r) => r.array(UNBOUNDED, (x) => x.string(8)),
        (r) => r.list(8, (x) => x.varOpaque(8)), (r) => COLOUR.read(r), (r) => r.expectEnd(),
      ];
      const next = seededRandom(FUZZ_SEED);
      expectOnlyXdrErrors(randomInputs(FUZZ_SEED, 2000, 64), (input) => {
        const r = new XdrReader(input);
        for (let i = 0; i < 6; i++) ops[randomInt(next, ops.length)]!(r);
      }, FUZZ_SEED);
    });
  });
});
