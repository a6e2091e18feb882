/**
 * What the gateway's request threads and its digest threads say to each other (see digest-pool.ts).
 * Bodies never travel in messages: each digest thread shares a ring of memory with the request thread,
 * which copies body bytes into it and names ranges of it here, or names ranges of other shared memory
 * (a chunk buffer) that a body already sits in.
 */
import type { ComputedDigests, HashPlan } from '../../protocol/s3/checksums.js';

export type DigestOp =
  | { readonly t: 'open'; readonly stream: number; readonly plan: HashPlan }
  /** Hash `length` bytes of the ring at `offset` into the stream, after everything sent before. */
  | { readonly t: 'update'; readonly stream: number; readonly offset: number; readonly length: number }
  /** Hash `length` bytes at `offset` of the batch's `memories[memory]` into the stream, after everything sent before. */
  | { readonly t: 'update-shared'; readonly stream: number; readonly memory: number; readonly offset: number; readonly length: number }
  /** The stream's last bytes were sent: its digests are wanted. */
  | { readonly t: 'finish'; readonly stream: number }
  /** The stream ends without digests. */
  | { readonly t: 'drop'; readonly stream: number };

/** Ops in the order they were issued, sent together once per turn of the request thread's loop. */
export interface DigestBatch {
  readonly ops: readonly DigestOp[];
  /** The shared memory that the batch's `update-shared` ops name, each once. */
  readonly memories: readonly SharedArrayBuffer[];
}

/** A digest thread's answer to one batch. */
export interface DigestProgress {
  /** Ring bytes hashed by this batch: they may be written again. */
  readonly consumed: number;
  /** Bytes of other shared memory hashed by this batch. */
  readonly sharedHashed: number;
  readonly finished: ReadonlyArray<{ readonly stream: number; readonly digests: ComputedDigests }>;
}

export interface DigestThreadData {
  readonly ring: SharedArrayBuffer;
}
