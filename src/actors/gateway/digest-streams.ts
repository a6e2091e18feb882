/**
 * What a digest thread does with a batch (see digest-pool.ts): hashes the named ranges of the ring it
 * shares with the request thread, or of the shared memory the batch names, into the streams they
 * belong to, and answers how much of each it hashed and the digests of the streams that ended.
 */
import { BodyHashes, type ComputedDigests } from '../../protocol/s3/checksums.js';
import type { DigestBatch, DigestProgress } from './digest-messages.js';

export class DigestStreams {
  private readonly open = new Map<number, BodyHashes>();

  constructor(private readonly ring: Uint8Array) {}

  apply(batch: DigestBatch): DigestProgress {
    let consumed = 0;
    let sharedHashed = 0;
    const memories = batch.memories.map((memory) => new Uint8Array(memory));
    const finished: Array<{ stream: number; digests: ComputedDigests }> = [];
    for (const op of batch.ops) {
      switch (op.t) {
        case 'open':
          this.open.set(op.stream, new BodyHashes(op.plan));
          break;
        case 'update':
          this.open.get(op.stream)?.update(this.ring.subarray(op.offset, op.offset + op.length));
          consumed += op.length;
          break;
        case 'update-shared': {
          const memory = memories[op.memory];
          if (memory === undefined) throw new Error(`digest batch names memory ${op.memory}, which it does not carry`);
          this.open.get(op.stream)?.update(memory.subarray(op.offset, op.offset + op.length));
          sharedHashed += op.length;
          break;
        }
        case 'finish': {
          const hashes = this.open.get(op.stream);
          this.open.delete(op.stream);
          if (hashes === undefined) throw new Error(`digest stream ${op.stream} was never opened`);
          finished.push({ stream: op.stream, digests: hashes.digests() });
          break;
        }
        case 'drop':
          this.open.delete(op.stream);
          break;
      }
    }
    return { consumed, sharedHashed, finished };
  }
}
