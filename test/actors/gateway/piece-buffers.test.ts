import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { chunkKeysOf } from '../../../src/core/chunk-layout.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { BodyMemory } from '../../../src/actors/gateway/body-memory.js';
import { readBody } from '../../../src/actors/gateway/body-reader.js';
import { copyWhileSending, type DiskFill } from '../../../src/actors/gateway/disk-cache.js';
import { DeadlineStorage } from '../../../src/actors/gateway/storage-errors.js';
import { PieceBuffers } from '../../../src/actors/gateway/piece-buffers.js';
import type { GetOptions, GetResult, StorageApi } from '../../../src/protocol/cluster/storage-api.js';
import { ManualClock } from '../../../src/runtime/clock.js';

const PIECE = 4096;
const IDLE_MS = 5_000;

function pool(maxIdle = 4, clock = new ManualClock()): PieceBuffers {
  return new PieceBuffers(PIECE, maxIdle, clock, IDLE_MS);
}

/**
 * Chunks of a body of `sizeBytes` cut at `chunkBytes`, and a storage that reads them into a lent buffer
 * when `readsInto` (as reads of files on this machine do), after `delay` resolves.
 */
function chunkedBody(
  sizeBytes: number,
  chunkBytes: number,
  readsInto: boolean,
  delay: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): { meta: ObjectMeta; body: Buffer; storage: StorageApi & { readonly readInto: Buffer[] } } {
  const body = Buffer.alloc(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) body[i] = (i * 7 + (i >> 8)) & 0xff;
  const sizes: number[] = [];
  for (let at = 0; at < sizeBytes; at += chunkBytes) sizes.push(Math.min(chunkBytes, sizeBytes - at));
  const meta: ObjectMeta = {
    bucket: 'b', key: 'k', sizeBytes, etag: 'e', contentType: '', userMeta: {},
    clock: { wallMs: 1, counter: 0, node: 'n' }, lastModifiedMs: 1, ringChecksum: 1, deleted: false,
    chunks: { chunkSizesBytes: sizes },
  };
  const keys = chunkKeysOf('k', meta.chunks!);
  const readInto: Buffer[] = [];
  const storage = {
    readInto,
    put: (): never => {
      throw new Error('not used');
    },
    delete: (): never => {
      throw new Error('not used');
    },
    list: (): never => {
      throw new Error('not used');
    },
    async get(_kind: string, _bucket: string, key: string, options: GetOptions = {}): Promise<GetResult> {
      const index = keys.indexOf(key);
      const start = index * chunkBytes + (options.bodySlice?.offsetBytes ?? 0);
      const length = options.bodySlice?.lengthBytes ?? sizes[index]!;
      const bytes = body.subarray(start, start + length);
      const into = readsInto ? options.lendBuffer?.(length) : undefined;
      await delay();
      if (into === undefined) return { ok: true, meta, body: Buffer.from(bytes) };
      readInto.push(into);
      bytes.copy(into);
      return { ok: true, meta, body: into };
    },
  };
  return { meta, body, storage };
}

describe('actors/gateway piece buffers', () => {
  it('lends a given-back buffer again instead of a new one, and leaves alone what it did not lend', () => {
    const buffers = pool();
    const first = buffers.take(PIECE)!;
    expect(first.length).to.equal(PIECE);
    buffers.give(first);
    expect(buffers.keptCount).to.equal(1);
    const shorter = buffers.take(PIECE / 2)!;
    expect(shorter.length).to.equal(PIECE / 2);
    expect(shorter.buffer).to.equal(first.buffer);
    // Given back twice, or a buffer it never lent: nothing happens.
    buffers.give(shorter);
    buffers.give(shorter);
    buffers.give(Buffer.alloc(PIECE));
    expect(buffers.keptCount).to.equal(1);
    // Too large, or so short that a whole buffer would be held for it.
    expect(buffers.take(PIECE + 1)).to.equal(undefined);
    expect(buffers.take(PIECE / 2 - 1)).to.equal(undefined);
    expect(buffers.take(0)).to.equal(undefined);
  });

  it('takes a buffer back only once its last holder gives it', () => {
    const buffers = pool();
    const piece = buffers.take(PIECE)!;
    buffers.hold(piece);
    buffers.give(Buffer.from(piece.buffer, 0, 10));
    expect(buffers.keptCount).to.equal(0);
    expect(buffers.take(PIECE)!.buffer).to.not.equal(piece.buffer);
    buffers.give(piece);
    expect(buffers.keptCount).to.equal(1);
    // Holding what it did not lend, or no longer lends, counts for nothing.
    const other = Buffer.alloc(PIECE);
    buffers.hold(other);
    buffers.give(other);
    expect(buffers.keptCount).to.equal(1);
  });

  it('keeps at most maxIdle buffers, none once nothing was taken for the idle time, and none after close', () => {
    const clock = new ManualClock();
    const buffers = pool(2, clock);
    const taken = [buffers.take(PIECE)!, buffers.take(PIECE)!, buffers.take(PIECE)!];
    for (const piece of taken) buffers.give(piece);
    expect(buffers.keptCount).to.equal(2);
    clock.advance(IDLE_MS / 2);
    buffers.give(buffers.take(PIECE)!);
    clock.advance(IDLE_MS / 2 + 1);
    expect(buffers.keptCount).to.equal(2);
    clock.advance(IDLE_MS);
    expect(buffers.keptCount).to.equal(0);
    buffers.give(buffers.take(PIECE)!);
    expect(buffers.keptCount).to.equal(1);
    buffers.close();
    expect(buffers.keptCount).to.equal(0);
    buffers.give(buffers.take(PIECE)!);
    expect(buffers.keptCount).to.equal(0);
    expect(clock.pendingTimers).to.equal(0);
  });

  it('reads a body into lent buffers that its consumer gives back, reusing them piece after piece', async () => {
    const buffers = pool();
    const { meta, body, storage } = chunkedBody(5 * PIECE + 1234, 2 * PIECE + 100, true);
    const memory = new BodyMemory(16 * PIECE).account('alice');
    const received = createHash('md5');
    let bytes = 0;
    for await (const piece of readBody({ storage, memory, meta, inline: undefined, pieceBuffers: buffers }, undefined, { readPieceBytes: PIECE, readAheadPieces: 2 })) {
      received.update(piece);
      bytes += piece.length;
      buffers.give(piece);
    }
    expect(bytes).to.equal(body.length);
    expect(received.digest('hex')).to.equal(createHash('md5').update(body).digest('hex'));
    const distinct = new Set(storage.readInto.map((into) => into.buffer));
    expect(storage.readInto.length).to.be.greaterThan(4);
    // Two reads ahead and the piece being consumed: never more buffers than that.
    expect(distinct.size).to.be.at.most(3);
    expect(memory.heldBytes).to.equal(0);
  });

  it('lends nothing for a body that comes another way', async () => {
    const buffers = pool();
    const { meta, body, storage } = chunkedBody(3 * PIECE, 3 * PIECE, false);
    const memory = new BodyMemory(16 * PIECE).account('alice');
    const pieces: Buffer[] = [];
    for await (const piece of readBody({ storage, memory, meta, inline: undefined, pieceBuffers: buffers }, undefined, { readPieceBytes: PIECE, readAheadPieces: 1 })) pieces.push(piece);
    expect(Buffer.concat(pieces).equals(body)).to.equal(true);
    for (const piece of pieces) buffers.give(piece);
    expect(buffers.keptCount).to.equal(0);
  });

  it('never lends again a buffer whose read outlived its deadline: the read may still write into it', async () => {
    const buffers = pool();
    const clock = new ManualClock();
    let finishRead: () => void = () => undefined;
    const { meta, storage } = chunkedBody(PIECE, PIECE, true, () => new Promise((resolve) => (finishRead = resolve)));
    const bounded = new DeadlineStorage(storage, clock, 1_000);
    const memory = new BodyMemory(16 * PIECE).account('alice');
    const reading = (async () => {
      for await (const piece of readBody({ storage: bounded, memory, meta, inline: undefined, pieceBuffers: buffers }, undefined, { readPieceBytes: PIECE, readAheadPieces: 1 })) buffers.give(piece);
    })();
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(1_000);
    let failure: unknown;
    await reading.catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(Error);
    // Another download takes a buffer while the late read still runs, and fills it.
    const other = buffers.take(PIECE)!;
    other.fill(0xee);
    finishRead();
    await new Promise((resolve) => setImmediate(resolve));
    expect(storage.readInto).to.have.length(1);
    expect(storage.readInto[0]!.buffer).to.not.equal(other.buffer);
    expect(other.every((byte) => byte === 0xee)).to.equal(true);
  });

  it('does not lend a piece again while a disk-cache copy still writes it', async () => {
    const buffers = pool();
    const { meta, body, storage } = chunkedBody(4 * PIECE, 4 * PIECE, true);
    const memory = new BodyMemory(16 * PIECE).account('alice');
    const copied: Buffer[] = [];
    const pendingWrites: Array<() => void> = [];
    const fill = {
      write: (piece: Uint8Array) => new Promise<void>((resolve) => {
        // The copy reads the bytes only when its write runs, after the response gave the piece back.
        pendingWrites.push(() => {
          copied.push(Buffer.from(piece));
          resolve();
        });
      }),
      abandon: async () => undefined,
      complete: async () => true,
    } as unknown as DiskFill;
    const pieces = copyWhileSending(readBody({ storage, memory, meta, inline: undefined, pieceBuffers: buffers }, undefined, { readPieceBytes: PIECE, readAheadPieces: 1 }), fill, buffers, () => undefined);
    const sent: Buffer[] = [];
    for await (const piece of pieces) {
      sent.push(Buffer.from(piece));
      // The response is done with the piece, and another download reads a piece meanwhile.
      buffers.give(piece);
      const other = buffers.take(PIECE)!;
      expect(other.buffer).to.not.equal(piece.buffer);
      other.fill(0xee);
      buffers.give(other);
      pendingWrites.shift()!();
    }
    expect(Buffer.concat(sent).equals(body)).to.equal(true);
    expect(Buffer.concat(copied).equals(body)).to.equal(true);
  });
});
