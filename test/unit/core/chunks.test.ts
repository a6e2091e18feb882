import { expect } from 'chai';
import {
  CHUNK_CURSOR_START, chunkCount, chunkKey, chunkReads, cutIncoming, DEFAULT_CHUNK_SIZE_BYTES, fixedChunkSizes,
  parseChunkKey, streamChunkCount, type ChunkCursor,
} from '../../../src/core/chunks.js';
import { randomInt, seededRandom } from './seeded-random.js';

const MiB = 1024 * 1024;

describe('core/chunks', () => {
  describe('chunk keys', () => {
    it('appends a newline and the index', () => {
      expect(chunkKey('video/big.mp4', 0)).to.equal('video/big.mp4\n0');
      expect(chunkKey('video/big.mp4', 12)).to.equal('video/big.mp4\n12');
      expect(() => chunkKey('k', -1)).to.throw(RangeError);
      expect(() => chunkKey('k', 1.5)).to.throw(RangeError);
    });

    it('parses back, even when the parent key holds a newline', () => {
      expect(parseChunkKey('video/big.mp4\n12')).to.deep.equal({ key: 'video/big.mp4', index: 12 });
      expect(parseChunkKey('odd\nkey\n3')).to.deep.equal({ key: 'odd\nkey', index: 3 });
      expect(parseChunkKey('plain')).to.equal(undefined);
      expect(parseChunkKey('k\n')).to.equal(undefined);
      expect(parseChunkKey('k\n01')).to.equal(undefined);
      expect(parseChunkKey('k\n1a')).to.equal(undefined);
    });
  });

  describe('fixed-size cutting', () => {
    it('defaults to 5 MiB chunks', () => {
      expect(DEFAULT_CHUNK_SIZE_BYTES).to.equal(5 * MiB);
      expect(fixedChunkSizes(12 * MiB)).to.deep.equal([5 * MiB, 5 * MiB, 2 * MiB]);
    });

    it('handles empty, exact and one-over bodies', () => {
      expect(fixedChunkSizes(0, 4)).to.deep.equal([]);
      expect(fixedChunkSizes(4, 4)).to.deep.equal([4]);
      expect(fixedChunkSizes(5, 4)).to.deep.equal([4, 1]);
      expect(chunkCount(0, 4)).to.equal(0);
      expect(chunkCount(8, 4)).to.equal(2);
      expect(chunkCount(9, 4)).to.equal(3);
      expect(() => chunkCount(5, 0)).to.throw(RangeError);
      expect(() => chunkCount(-1, 4)).to.throw(RangeError);
    });
  });

  describe('chunkReads', () => {
    it('maps a range over mixed chunk sizes', () => {
      expect(chunkReads([5, 3, 7], 4, 9)).to.deep.equal([
        { chunkIndex: 0, offsetInChunk: 4, lengthBytes: 1 },
        { chunkIndex: 1, offsetInChunk: 0, lengthBytes: 3 },
        { chunkIndex: 2, offsetInChunk: 0, lengthBytes: 2 },
      ]);
      expect(chunkReads([5, 3, 7], 6, 6)).to.deep.equal([{ chunkIndex: 1, offsetInChunk: 1, lengthBytes: 1 }]);
      expect(chunkReads([5, 3, 7], 0, 14)).to.deep.equal([
        { chunkIndex: 0, offsetInChunk: 0, lengthBytes: 5 },
        { chunkIndex: 1, offsetInChunk: 0, lengthBytes: 3 },
        { chunkIndex: 2, offsetInChunk: 0, lengthBytes: 7 },
      ]);
    });

    it('reassembles every range of random layouts byte for byte', () => {
      const next = seededRandom(5);
      for (let round = 0; round < 30; round++) {
        const sizes = Array.from({ length: 1 + randomInt(next, 5) }, () => 1 + randomInt(next, 6));
        const maxReadBytes = round % 3 === 0 ? Infinity : 1 + randomInt(next, 4);
        const total = sizes.reduce((a, b) => a + b, 0);
        const body = Array.from({ length: total }, (_, i) => i);
        const chunks: number[][] = [];
        let offset = 0;
        for (const size of sizes) {
          chunks.push(body.slice(offset, offset + size));
          offset += size;
        }
        for (let first = 0; first < total; first++) {
          for (let last = first; last < total; last++) {
            const read = chunkReads(sizes, first, last, maxReadBytes).flatMap((r) => {
              expect(r.lengthBytes).to.be.within(1, maxReadBytes);
              return chunks[r.chunkIndex]!.slice(r.offsetInChunk, r.offsetInChunk + r.lengthBytes);
            });
            expect(read).to.deep.equal(body.slice(first, last + 1));
          }
        }
      }
    });

    it('cuts each chunk slice into reads of at most the given length', () => {
      expect(chunkReads([5, 3, 7], 1, 13, 3)).to.deep.equal([
        { chunkIndex: 0, offsetInChunk: 1, lengthBytes: 3 },
        { chunkIndex: 0, offsetInChunk: 4, lengthBytes: 1 },
        { chunkIndex: 1, offsetInChunk: 0, lengthBytes: 3 },
        { chunkIndex: 2, offsetInChunk: 0, lengthBytes: 3 },
        { chunkIndex: 2, offsetInChunk: 3, lengthBytes: 3 },
      ]);
      expect(chunkReads([5, 3, 7], 0, 14, 1)).to.have.length(15);
    });

    it('refuses ranges outside the object and bad tables', () => {
      expect(() => chunkReads([5, 3], 0, 2, 0)).to.throw(RangeError);
      expect(() => chunkReads([5, 3], 0, 8)).to.throw(RangeError);
      expect(() => chunkReads([5, 3], 4, 3)).to.throw(RangeError);
      expect(() => chunkReads([5, 3], -1, 3)).to.throw(RangeError);
      expect(() => chunkReads([5, 0], 0, 3)).to.throw(RangeError);
      expect(() => chunkReads([], 0, 0)).to.throw(RangeError);
    });
  });

  describe('cutIncoming', () => {
    it('cuts buffers across chunk boundaries', () => {
      const first = cutIncoming(CHUNK_CURSOR_START, 10, 4);
      expect(first.pieces).to.deep.equal([
        { chunkIndex: 0, sourceOffset: 0, lengthBytes: 4, completesChunk: true },
        { chunkIndex: 1, sourceOffset: 4, lengthBytes: 4, completesChunk: true },
        { chunkIndex: 2, sourceOffset: 8, lengthBytes: 2, completesChunk: false },
      ]);
      expect(first.next).to.deep.equal({ chunkIndex: 2, filledBytes: 2 });
      const second = cutIncoming(first.next, 3, 4);
      expect(second.pieces).to.deep.equal([
        { chunkIndex: 2, sourceOffset: 0, lengthBytes: 2, completesChunk: true },
        { chunkIndex: 3, sourceOffset: 2, lengthBytes: 1, completesChunk: false },
      ]);
      expect(streamChunkCount(second.next)).to.equal(4);
      expect(cutIncoming(second.next, 0, 4)).to.deep.equal({ pieces: [], next: second.next });
    });

    it('produces the fixed layout whatever the buffer sizes', () => {
      const next = seededRandom(9);
      for (let round = 0; round < 200; round++) {
        const chunkSizeBytes = 1 + randomInt(next, 8);
        let cursor: ChunkCursor = CHUNK_CURSOR_START;
        const filled: number[] = [];
        let total = 0;
        for (let b = randomInt(next, 6); b > 0; b--) {
          const length = randomInt(next, 20);
          const { pieces, next: after } = cutIncoming(cursor, length, chunkSizeBytes);
          expect(pieces.reduce((sum, p) => sum + p.lengthBytes, 0)).to.equal(length);
          for (const p of pieces) filled[p.chunkIndex] = (filled[p.chunkIndex] ?? 0) + p.lengthBytes;
          cursor = after;
          total += length;
        }
        expect(filled).to.deep.equal(fixedChunkSizes(total, chunkSizeBytes));
        expect(streamChunkCount(cursor)).to.equal(chunkCount(total, chunkSizeBytes));
      }
    });
  });
});
