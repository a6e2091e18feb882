import { expect } from 'chai';
import { encodeRecord, RecordDecoder, RecordMarkingError } from '../../../../src/protocol/nfs/rpc-record.js';
import { randomInt, seededRandom } from '../../core/seeded-random.js';
import { bytes, joined, u32 } from './wire.js';

const LAST = 0x8000_0000;

/** A record's fragments: each behind its header, the top bit set on the last. */
function fragments(...parts: Buffer[]): Buffer {
  return bytes(...parts.map((part, i) => bytes(u32((i === parts.length - 1 ? LAST : 0) + part.length), part)));
}

function payload(length: number, seed: number): Buffer {
  const next = seededRandom(seed);
  return Buffer.from(Array.from({ length }, () => randomInt(next, 256)));
}

/** Pushes the stream in the given pieces and collects records; fails on a framing error. */
function decodeAll(decoder: RecordDecoder, pieces: readonly Buffer[]): Buffer[] {
  const records: Buffer[] = [];
  for (const piece of pieces) {
    const batch = decoder.push(piece);
    records.push(...batch.records);
    if (batch.error) throw batch.error;
  }
  return records;
}

function splitAt(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const sorted = [...cuts].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const cut of sorted) {
    pieces.push(stream.subarray(at, cut));
    at = cut;
  }
  pieces.push(stream.subarray(at));
  return pieces;
}

describe('protocol/nfs/rpc-record', () => {
  it('frames a message as one last fragment, its buffers unchanged', () => {
    const message = [Buffer.from('abcd'), Buffer.from('efgh')];
    const framed = encodeRecord(message);
    expect(framed[0]).to.deep.equal(Buffer.from([0x80, 0, 0, 8]));
    expect(framed[1]).to.equal(message[0]);
    expect(framed[2]).to.equal(message[1]);
    expect(joined(encodeRecord([]))).to.deep.equal(Buffer.from([0x80, 0, 0, 0]));
  });

  it('reads a record that arrives in one chunk as a view into it', () => {
    const stream = fragments(Buffer.from('hello!!!'));
    const records = decodeAll(new RecordDecoder(1024), [stream]);
    expect(records).to.deep.equal([Buffer.from('hello!!!')]);
    expect(records[0]!.buffer).to.equal(stream.buffer);
  });

  it('reassembles a record of several fragments, empty fragments included', () => {
    const stream = fragments(Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cde'), Buffer.from('f'));
    expect(decodeAll(new RecordDecoder(1024), [stream])).to.deep.equal([Buffer.from('abcdef')]);
  });

  it('reads several records from one chunk, an empty record among them', () => {
    const stream = bytes(fragments(Buffer.from('one')), fragments(Buffer.alloc(0)), fragments(Buffer.from('tw'), Buffer.from('o')));
    expect(decodeAll(new RecordDecoder(1024), [stream]).map(String)).to.deep.equal(['one', '', 'two']);
  });

  it('gives the same records whatever the chunks: every single split and random splits (fixed seed)', () => {
    const records = [payload(5, 1), payload(0, 2), payload(37, 3), payload(1000, 4)];
    const stream = bytes(
      fragments(records[0]!),
      fragments(records[1]!),
      fragments(records[2]!.subarray(0, 10), records[2]!.subarray(10, 11), records[2]!.subarray(11)),
      fragments(records[3]!.subarray(0, 300), records[3]!.subarray(300, 301), Buffer.alloc(0), records[3]!.subarray(301)),
    );
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(decodeAll(new RecordDecoder(1000), splitAt(stream, [cut])), `cut at ${cut}`).to.deep.equal(records);
    }
    const seed = 7;
    const next = seededRandom(seed);
    for (let round = 0; round < 300; round++) {
      const cuts = Array.from({ length: randomInt(next, 40) }, () => randomInt(next, stream.length + 1));
      const decoder = new RecordDecoder(1000);
      expect(decodeAll(decoder, splitAt(stream, cuts)), `seed ${seed} round ${round}`).to.deep.equal(records);
      expect(decoder.atRecordBoundary).to.equal(true);
    }
    const byteByByte = new RecordDecoder(1000);
    expect(decodeAll(byteByByte, [...stream].map((b) => Buffer.from([b])))).to.deep.equal(records);
  });

  it('knows whether a connection closing now would lose part of a record', () => {
    const decoder = new RecordDecoder(100);
    expect(decoder.atRecordBoundary).to.equal(true);
    decoder.push(Buffer.from([0x80, 0]));
    expect(decoder.atRecordBoundary).to.equal(false);
    decoder.push(Buffer.from([0, 2, 1]));
    expect(decoder.atRecordBoundary).to.equal(false);
    expect(decoder.bufferedBytes).to.equal(1);
    decoder.push(Buffer.from([2]));
    expect(decoder.atRecordBoundary).to.equal(true);
    decoder.push(fragments(Buffer.from('x'), Buffer.from('y')).subarray(0, 9));
    expect(decoder.atRecordBoundary).to.equal(false);
  });

  it('accepts a record of exactly the maximum size', () => {
    const record = payload(64, 5);
    expect(decodeAll(new RecordDecoder(64), [fragments(record.subarray(0, 60), record.subarray(60))])).to.deep.equal([record]);
  });

  it('refuses a fragment announcing more than the limit before buffering any of it', () => {
    const decoder = new RecordDecoder(1024);
    const batch = decoder.push(bytes(fragments(Buffer.from('ok')), u32(LAST + 0x7fff_ffff), Buffer.alloc(10)));
    expect(batch.records.map(String)).to.deep.equal(['ok']);
    expect(batch.error).to.be.instanceOf(RecordMarkingError);
    expect(batch.error?.code).to.equal('RecordTooLarge');
    expect(decoder.bufferedBytes).to.equal(0);
    const after = decoder.push(fragments(Buffer.from('more')));
    expect(after.records).to.deep.equal([]);
    expect(after.error).to.equal(batch.error);
  });

  it('refuses a record whose fragments together pass the limit, while they arrive', () => {
    const decoder = new RecordDecoder(100);
    const first = decoder.push(bytes(u32(60), Buffer.alloc(60)));
    expect(first.error).to.equal(undefined);
    expect(decoder.bufferedBytes).to.equal(60);
    const second = decoder.push(u32(LAST + 41));
    expect(second.error?.recordBytes).to.equal(101);
    expect(decoder.bufferedBytes).to.equal(0);
  });

  it('never holds more than the limit, whatever a peer sends (fixed seed)', () => {
    const seed = 11;
    const next = seededRandom(seed);
    for (let round = 0; round < 200; round++) {
      const decoder = new RecordDecoder(256);
      for (let chunk = 0; chunk < 20; chunk++) {
        const piece = Buffer.from(Array.from({ length: randomInt(next, 64) }, () => (next() < 0.7 ? 0 : randomInt(next, 256))));
        const batch = decoder.push(piece);
        for (const record of batch.records) expect(record.length).to.be.at.most(256);
        expect(decoder.bufferedBytes, `seed ${seed} round ${round}`).to.be.at.most(256);
        if (batch.error) break;
      }
    }
  });

  it('refuses a negative or fractional limit', () => {
    expect(() => new RecordDecoder(-1)).to.throw(RangeError);
    expect(() => new RecordDecoder(1.5)).to.throw(RangeError);
  });
});
