import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { newVersionId, versionedChunkKey } from '../../../src/core/chunk-layout.js';
import { BodyMemory } from '../../../src/actors/gateway/body-memory.js';
import { writeBody, type StoredBody, type WriterDeps } from '../../../src/actors/gateway/body-writer.js';
import { ChunkBuffers } from '../../../src/actors/gateway/chunk-buffers.js';
import { DigestPool, OFF_THREAD_MIN_BYTES } from '../../../src/actors/gateway/digest-pool.js';
import { S3Error } from '../../../src/protocol/s3/errors.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { eventually } from '../../support/eventually.js';
import { MemoryStorage } from '../../support/memory-storage.js';

/** Bodies are hashed on the digest thread from OFF_THREAD_MIN_BYTES (four chunks) on. */
const CHUNK_BYTES = OFF_THREAD_MIN_BYTES / 4;
const PIECE_BYTES = 64 * 1024;
const MD5_ONLY = { sha256: false, checksum: undefined } as const;

/** `body` as a network would deliver it: in pieces of their own. */
async function* piecesOf(body: Buffer): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < body.length; offset += PIECE_BYTES) yield Buffer.from(body.subarray(offset, offset + PIECE_BYTES));
}

describe('actors/gateway body writer', function () {
  this.timeout(30_000);
  let storage: MemoryStorage;
  let chunkBuffers: ChunkBuffers;
  let pool: DigestPool;
  let deps: WriterDeps;

  beforeEach(() => {
    const log = memoryLogger('error').logger;
    const memory = new BodyMemory(64 * CHUNK_BYTES);
    storage = new MemoryStorage();
    chunkBuffers = new ChunkBuffers(CHUNK_BYTES, memory, new ManualClock(), 5_000);
    // A digest thread slower than storage: a chunk buffer's write settles long before its bytes are hashed.
    pool = new DigestPool(1, log, { workerUrl: new URL('../../support/slow-digest-worker.js', import.meta.url) });
    deps = { storage, log, memory: memory.account('alice'), chunkBuffers };
  });

  afterEach(async () => {
    chunkBuffers.close();
    await pool.close();
  });

  async function storedBytes(key: string, versionId: string, stored: StoredBody): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    for (let index = 0; index < (stored.layout?.chunkSizesBytes.length ?? 0); index++) {
      const read = await storage.get('chunk', 'bucket', versionedChunkKey(key, versionId, index), { withBody: true });
      if (!read.ok || read.body === undefined) throw new Error(`chunk ${index} of ${key} is missing`);
      parts.push(read.body);
    }
    return Buffer.concat(parts);
  }

  it('feeds the hashes from its chunks and reuses a chunk buffer only once its bytes were hashed', async () => {
    const body = randomBytes(4 * CHUNK_BYTES + 7);
    const hashes = pool.hashesFor(MD5_ONLY, body.length);
    const versionId = newVersionId();
    const stored = await writeBody(deps, { bucket: 'bucket', key: 'one', versionId }, piecesOf(body), {
      chunkSizeBytes: CHUNK_BYTES, maxChunksInFlight: 1, expectedBytes: body.length, allowInline: false, hashes,
    });
    expect(stored.layout?.chunkSizesBytes).to.deep.equal([CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, 7]);
    expect((await storedBytes('one', versionId, stored)).equals(body)).to.equal(true);
    expect((await hashes.digests()).md5.equals(createHash('md5').update(body).digest())).to.equal(true);
  });

  it('gives its chunk buffers back for the next body only once their bytes were hashed', async () => {
    const first = randomBytes(OFF_THREAD_MIN_BYTES);
    const second = randomBytes(OFF_THREAD_MIN_BYTES);
    const firstHashes = pool.hashesFor(MD5_ONLY, first.length);
    const secondHashes = pool.hashesFor(MD5_ONLY, second.length);
    const options = { chunkSizeBytes: CHUNK_BYTES, maxChunksInFlight: 2, allowInline: false } as const;
    await writeBody(deps, { bucket: 'bucket', key: 'first', versionId: newVersionId() }, piecesOf(first), { ...options, expectedBytes: first.length, hashes: firstHashes });
    expect(chunkBuffers.keptCount).to.be.greaterThan(0);
    // The next body takes the buffers the first gave back before the first's digests are asked for.
    await writeBody(deps, { bucket: 'bucket', key: 'second', versionId: newVersionId() }, piecesOf(second), { ...options, expectedBytes: second.length, hashes: secondHashes });
    expect((await firstHashes.digests()).md5.equals(createHash('md5').update(first).digest())).to.equal(true);
    expect((await secondHashes.digests()).md5.equals(createHash('md5').update(second).digest())).to.equal(true);
  });

  it('never reuses the buffer of a chunk write that was sent on after its first coordinator went down with it', async () => {
    // The buffers each chunk write was handed, and a storage that answers the first as sent on.
    async function buffersOfChunkWrites(firstResent: boolean): Promise<ArrayBufferLike[]> {
      const handed: ArrayBufferLike[] = [];
      const resending = Object.create(storage) as MemoryStorage;
      resending.put = async (kind, fields, body, condition, versioning) => {
        handed.push(body!.buffer);
        const result = await storage.put(kind, fields, body, condition, versioning);
        return firstResent && handed.length === 1 && result.ok ? { ...result, resent: true } : result;
      };
      const body = randomBytes(3 * CHUNK_BYTES);
      const versionId = newVersionId();
      const stored = await writeBody({ ...deps, storage: resending }, { bucket: 'bucket', key: 'resent', versionId }, piecesOf(body), {
        chunkSizeBytes: CHUNK_BYTES, maxChunksInFlight: 1, expectedBytes: body.length, allowInline: false,
      });
      expect((await storedBytes('resent', versionId, stored)).equals(body)).to.equal(true);
      return handed;
    }
    const reused = await buffersOfChunkWrites(false);
    expect(reused.slice(1), 'a settled chunk buffer is taken for the next chunk').to.include(reused[0]);
    const resent = await buffersOfChunkWrites(true);
    expect(resent.slice(1)).to.not.include(resent[0]);
  });

  it('gives every grant back and leaves no chunk when a chunk write fails while its bytes are still hashing', async () => {
    const body = randomBytes(OFF_THREAD_MIN_BYTES);
    const hashes = pool.hashesFor(MD5_ONLY, body.length);
    storage.inject((call) => call.op === 'put' && call.kind === 'chunk', 'QuorumFailed', 1);
    const versionId = newVersionId();
    const failure = await writeBody(deps, { bucket: 'bucket', key: 'failed', versionId }, piecesOf(body), {
      chunkSizeBytes: CHUNK_BYTES, maxChunksInFlight: 2, expectedBytes: body.length, allowInline: false, hashes,
    }).then(() => undefined, (error: unknown) => error);
    expect(failure).to.be.instanceOf(S3Error);
    hashes.abandon();
    await eventually(() => deps.memory.heldBytes === 0, 5_000, 'every chunk buffer grant given back');
    for (let index = 0; index < OFF_THREAD_MIN_BYTES / CHUNK_BYTES; index++) {
      expect((await storage.get('chunk', 'bucket', versionedChunkKey('failed', versionId, index))).ok, `chunk ${index}`).to.equal(false);
    }
  });

  it('gives every grant back and leaves no chunk when the client goes away mid-chunk', async () => {
    const body = randomBytes(OFF_THREAD_MIN_BYTES);
    const hashes = pool.hashesFor(MD5_ONLY, body.length);
    async function* cutShort(): AsyncGenerator<Buffer> {
      let sent = 0;
      for await (const piece of piecesOf(body)) {
        if (sent >= 2.5 * CHUNK_BYTES) throw new S3Error('IncompleteBody');
        sent += piece.length;
        yield piece;
      }
    }
    const versionId = newVersionId();
    const failure = await writeBody(deps, { bucket: 'bucket', key: 'cut', versionId }, cutShort(), {
      chunkSizeBytes: CHUNK_BYTES, maxChunksInFlight: 1, expectedBytes: body.length, allowInline: false, hashes,
    }).then(() => undefined, (error: unknown) => error);
    expect((failure as S3Error).code).to.equal('IncompleteBody');
    hashes.abandon();
    await eventually(() => deps.memory.heldBytes === 0, 5_000, 'every chunk buffer grant given back');
    for (let index = 0; index < 3; index++) expect((await storage.get('chunk', 'bucket', versionedChunkKey('cut', versionId, index))).ok, `chunk ${index}`).to.equal(false);
  });

  it('fails with InternalError, gives every grant back and leaves no chunk when the digest thread dies', async () => {
    const crashing = new DigestPool(1, memoryLogger('error').logger, { workerUrl: new URL('../../support/crashing-digest-worker.js', import.meta.url) });
    try {
      const body = randomBytes(OFF_THREAD_MIN_BYTES);
      // The crashing thread dies on the first body that wants a SHA-256.
      const hashes = crashing.hashesFor({ sha256: true, checksum: undefined }, body.length);
      const versionId = newVersionId();
      const failure = await writeBody(deps, { bucket: 'bucket', key: 'orphaned', versionId }, piecesOf(body), {
        chunkSizeBytes: CHUNK_BYTES, maxChunksInFlight: 1, expectedBytes: body.length, allowInline: false, hashes,
      }).then(() => undefined, (error: unknown) => error);
      expect((failure as S3Error).code).to.equal('InternalError');
      await eventually(() => deps.memory.heldBytes === 0, 5_000, 'every chunk buffer grant given back');
      for (let index = 0; index < 4; index++) expect((await storage.get('chunk', 'bucket', versionedChunkKey('orphaned', versionId, index))).ok, `chunk ${index}`).to.equal(false);
    } finally {
      await crashing.close();
    }
  });

  it('hashes a body kept whole as it copies it, and refuses to hash one of undeclared size', async () => {
    const body = randomBytes(OFF_THREAD_MIN_BYTES + 3);
    const hashes = pool.hashesFor(MD5_ONLY, body.length);
    const stored = await writeBody(deps, { bucket: 'bucket', key: 'whole', versionId: newVersionId() }, piecesOf(body), {
      chunkSizeBytes: 2 * OFF_THREAD_MIN_BYTES, maxChunksInFlight: 1, expectedBytes: body.length, allowInline: true, hashes,
    });
    expect(stored.inline?.equals(body)).to.equal(true);
    expect((await hashes.digests()).md5.equals(createHash('md5').update(body).digest())).to.equal(true);

    const unsized = writeBody(deps, { bucket: 'bucket', key: 'unsized', versionId: newVersionId() }, piecesOf(body), {
      chunkSizeBytes: CHUNK_BYTES, maxChunksInFlight: 1, expectedBytes: undefined, allowInline: true, hashes: pool.hashesFor(MD5_ONLY, undefined),
    });
    await unsized.then(() => expect.fail('an unsized body was hashed by its writer'), (error: Error) => expect(error.message).to.match(/declared size/));
  });
});
