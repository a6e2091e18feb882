/**
 * Hashing of request bodies off the request thread. Every upload is hashed (MD5 for its ETag, and
 * whatever else the request declared), and on one thread that hashing cost as much as all the rest
 * of a large upload's work together, capping a gateway's upload rate at what one core hashes.
 *
 * Large bodies are hashed on digest threads: each shares a ring of memory with the request thread,
 * which copies body bytes into it (a copy costs a small fraction of a hash) and names the ranges in
 * one message per turn of its loop. A body whose bytes find the ring full waits for the thread to
 * catch up, which pauses its client like any other backpressure; the wait depends on the digest
 * thread alone, so it cannot deadlock with the body memory or storage. Small bodies are hashed in
 * place: handing them over would cost more than hashing them.
 *
 * A reader that copies a body into shared memory anyway (the chunk writer, whose chunk buffers are
 * shared) names its bytes there instead (`updateShared`), sparing the request thread the copy into the
 * ring: on a large upload, the request thread is the busiest and every copy of every byte is a
 * noticeable part of its time. It must then leave those bytes unchanged until `hashed` says the
 * thread has read them.
 *
 * A digest thread that dies fails the bodies it was hashing (their requests answer InternalError) and
 * is replaced by the next body that needs one.
 */
import { Worker } from 'node:worker_threads';
import { BodyHashes, type ComputedDigests, type HashPlan } from '../../protocol/s3/checksums.js';
import { S3Error } from '../../protocol/s3/errors.js';
import type { Logger } from '../../runtime/logger.js';
import type { DigestBatch, DigestOp, DigestProgress, DigestThreadData } from './digest-messages.js';
import { copyIntoShared } from './shared-memory.js';

/** Bodies declared at least this large are hashed on a digest thread. */
export const OFF_THREAD_MIN_BYTES = 1024 * 1024;
/** Memory each digest thread shares with the request thread. */
const RING_BYTES = 8 * 1024 * 1024;

/** Where a body's reader feeds every byte of it, in order (see request-body.ts). */
export interface BodyHashFeed {
  /** Takes `piece`; returns a promise when it had to wait for room, to be awaited before the next. */
  update(piece: Buffer): Promise<void> | undefined;
  /**
   * Takes bytes that lie in shared memory (shared-memory.ts) without copying them: the caller leaves
   * them unchanged until `hashed` of their memory settles.
   */
  updateShared(bytes: Buffer): void;
  /**
   * Undefined when nothing will read the bytes named from `memory` any more (all were read, or the
   * thread that was to read them died); else a promise of that moment.
   */
  hashed(memory: Buffer): Promise<void> | undefined;
}

/** The digests of one body as it streams: feed it every byte, then take `digests` once. */
export interface StreamHashes extends BodyHashFeed {
  /** After the last update. Rejects with an S3 error when the digest thread died. */
  digests(): Promise<ComputedDigests>;
  /** The body ends without digests (its request failed). */
  abandon(): void;
}

export interface DigestPoolOptions {
  /** Memory each thread shares with the request thread. */
  readonly ringBytes?: number;
  /** The script a digest thread runs. */
  readonly workerUrl?: URL;
}

export class DigestPool {
  private readonly threads: Array<DigestThread | undefined>;
  private readonly ringBytes: number;
  private readonly workerUrl: URL;
  private closed = false;

  /** `threadCount` 0 hashes every body on the request thread. */
  constructor(
    threadCount: number,
    private readonly log: Logger,
    options: DigestPoolOptions = {},
  ) {
    this.threads = new Array<DigestThread | undefined>(threadCount).fill(undefined);
    this.ringBytes = options.ringBytes ?? RING_BYTES;
    this.workerUrl = options.workerUrl ?? new URL('./digest-worker.js', import.meta.url);
  }

  /** Hashes for a body of `expectedBytes` (undefined when unknown), on the thread that suits its size. */
  hashesFor(plan: HashPlan, expectedBytes: number | undefined): StreamHashes {
    if (this.threads.length === 0 || this.closed || expectedBytes === undefined || expectedBytes < OFF_THREAD_MIN_BYTES) {
      return new InPlaceHashes(plan);
    }
    return this.leastBusyThread().open(plan);
  }

  async close(): Promise<void> {
    this.closed = true;
    const running = this.threads.filter((thread): thread is DigestThread => thread !== undefined);
    this.threads.fill(undefined);
    await Promise.all(running.map((thread) => thread.stop()));
  }

  private leastBusyThread(): DigestThread {
    let best = -1;
    for (let i = 0; i < this.threads.length; i++) {
      const thread = this.threads[i];
      if (thread === undefined || thread.dead) {
        this.threads[i] = new DigestThread(this.workerUrl, this.ringBytes, this.log);
        return this.threads[i]!;
      }
      if (best < 0 || thread.openStreams < this.threads[best]!.openStreams) best = i;
    }
    return this.threads[best]!;
  }
}

class InPlaceHashes implements StreamHashes {
  private readonly hashes: BodyHashes;

  constructor(plan: HashPlan) {
    this.hashes = new BodyHashes(plan);
  }

  update(piece: Buffer): undefined {
    this.hashes.update(piece);
    return undefined;
  }

  updateShared(bytes: Buffer): void {
    this.hashes.update(bytes);
  }

  hashed(): undefined {
    return undefined;
  }

  digests(): Promise<ComputedDigests> {
    return Promise.resolve(this.hashes.digests());
  }

  abandon(): void {}
}

interface Finishing {
  readonly resolve: (digests: ComputedDigests) => void;
  readonly reject: (error: Error) => void;
}

class DigestThread {
  private readonly worker: Worker;
  private readonly ring: Buffer;
  /** Ring bytes ever written and ever consumed: their difference is the ring's fill. */
  private written = 0;
  private consumed = 0;
  private ops: DigestOp[] = [];
  /** Shared memory named by the ops not yet sent, at its index in their batch. */
  private memories = new Map<SharedArrayBuffer, number>();
  /** Bytes of shared memory ever named and ever hashed, and where each memory's last named byte stands. */
  private sharedNamed = 0;
  private sharedHashed = 0;
  private readonly sharedMarks = new WeakMap<ArrayBufferLike, number>();
  private readonly hashedWaiters: Array<{ readonly mark: number; readonly wake: () => void }> = [];
  private flushing: NodeJS.Immediate | undefined;
  private readonly roomWaiters: Array<() => void> = [];
  private readonly finishing = new Map<number, Finishing>();
  private nextStream = 1;
  openStreams = 0;
  dead = false;

  constructor(
    workerUrl: URL,
    private readonly ringBytes: number,
    private readonly log: Logger,
  ) {
    const shared = new SharedArrayBuffer(ringBytes);
    this.ring = Buffer.from(shared);
    const data: DigestThreadData = { ring: shared };
    this.worker = new Worker(workerUrl, { workerData: data });
    this.worker.on('message', (progress: DigestProgress) => this.onProgress(progress));
    this.worker.on('error', (error) => this.die(error));
    this.worker.on('exit', (code) => this.die(new Error(`the digest thread exited with code ${code}`)));
    // After the listeners, which hold the thread: only bodies in progress keep the process alive.
    this.worker.unref();
  }

  open(plan: HashPlan): StreamHashes {
    const stream = this.nextStream++;
    if (this.openStreams === 0 && this.finishing.size === 0) this.worker.ref();
    this.openStreams++;
    this.send({ t: 'open', stream, plan });
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.openStreams--;
      this.unrefWhenIdle();
    };
    return {
      update: (piece) => {
        if (ended) throw new Error('a finished digest stream was fed');
        return this.copyIn(stream, piece, 0);
      },
      updateShared: (bytes) => {
        if (ended) throw new Error('a finished digest stream was fed');
        this.nameShared(stream, bytes);
      },
      hashed: (memory) => this.untilHashed(memory),
      digests: () => {
        if (ended) throw new Error('a digest stream was finished twice');
        if (this.dead) {
          end();
          return Promise.reject(threadLost());
        }
        const digests = new Promise<ComputedDigests>((resolve, reject) => {
          this.finishing.set(stream, { resolve, reject });
          this.send({ t: 'finish', stream });
        });
        end();
        return digests;
      },
      abandon: () => {
        if (ended) return;
        end();
        if (!this.dead) this.send({ t: 'drop', stream });
      },
    };
  }

  async stop(): Promise<void> {
    this.die(new Error('the gateway is stopping'));
    await this.worker.terminate();
  }

  /** Copies `piece` from `from` on into the ring, waiting for room when it is full. */
  private copyIn(stream: number, piece: Buffer, from: number): Promise<void> | undefined {
    let offset = from;
    while (offset < piece.length) {
      if (this.dead) throw threadLost();
      const free = this.ringBytes - (this.written - this.consumed);
      if (free === 0) return this.waitForRoom().then(() => this.copyIn(stream, piece, offset));
      const at = this.written % this.ringBytes;
      const length = Math.min(piece.length - offset, free, this.ringBytes - at);
      copyIntoShared(this.ring, at, piece.subarray(offset, offset + length));
      this.send({ t: 'update', stream, offset: at, length });
      this.written += length;
      offset += length;
    }
    return undefined;
  }

  private nameShared(stream: number, bytes: Buffer): void {
    if (this.dead) throw threadLost();
    const memory = bytes.buffer;
    if (!(memory instanceof SharedArrayBuffer)) throw new Error('updateShared takes bytes in shared memory only');
    let index = this.memories.get(memory);
    if (index === undefined) {
      index = this.memories.size;
      this.memories.set(memory, index);
    }
    this.send({ t: 'update-shared', stream, memory: index, offset: bytes.byteOffset, length: bytes.length });
    this.sharedNamed += bytes.length;
    this.sharedMarks.set(memory, this.sharedNamed);
  }

  private untilHashed(memory: Buffer): Promise<void> | undefined {
    const mark = this.sharedMarks.get(memory.buffer);
    if (mark === undefined || mark <= this.sharedHashed || this.dead) return undefined;
    return new Promise<void>((wake) => this.hashedWaiters.push({ mark, wake }));
  }

  private waitForRoom(): Promise<void> {
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  private send(op: DigestOp): void {
    this.ops.push(op);
    this.flushing ??= setImmediate(() => {
      this.flushing = undefined;
      const batch: DigestBatch = { ops: this.ops, memories: [...this.memories.keys()] };
      this.ops = [];
      this.memories = new Map();
      if (!this.dead) this.worker.postMessage(batch);
    });
  }

  private onProgress(progress: DigestProgress): void {
    this.consumed += progress.consumed;
    for (const { stream, digests } of progress.finished) {
      const waiter = this.finishing.get(stream);
      this.finishing.delete(stream);
      // Buffers arrive from another thread as plain byte arrays.
      waiter?.resolve({
        size: digests.size,
        md5: asBuffer(digests.md5),
        sha256: digests.sha256 === undefined ? undefined : asBuffer(digests.sha256),
        checksum: digests.checksum === undefined ? undefined : asBuffer(digests.checksum),
      });
    }
    this.unrefWhenIdle();
    if (progress.consumed > 0) this.wakeRoomWaiters();
    if (progress.sharedHashed > 0) {
      this.sharedHashed += progress.sharedHashed;
      this.wakeHashedWaiters();
    }
  }

  private die(error: Error): void {
    if (this.dead) return;
    this.dead = true;
    if (this.openStreams > 0 || this.finishing.size > 0) this.log.warn('a digest thread ended with bodies in progress; they fail', { error });
    for (const waiter of this.finishing.values()) waiter.reject(threadLost());
    this.finishing.clear();
    this.wakeRoomWaiters();
    this.wakeHashedWaiters();
    this.worker.unref();
  }

  private unrefWhenIdle(): void {
    if (this.openStreams === 0 && this.finishing.size === 0) this.worker.unref();
  }

  private wakeRoomWaiters(): void {
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private wakeHashedWaiters(): void {
    const waiting = this.hashedWaiters.splice(0);
    for (const waiter of waiting) {
      if (this.dead || waiter.mark <= this.sharedHashed) waiter.wake();
      else this.hashedWaiters.push(waiter);
    }
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function threadLost(): S3Error {
  return new S3Error('InternalError', 'The gateway lost the thread hashing this body; please retry.');
}
