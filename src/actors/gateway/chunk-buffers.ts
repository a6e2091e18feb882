/**
 * Chunk buffers of finished uploads, kept a short while for the next ones. A chunk buffer is larger
 * than the gateway's malloc mmap threshold (see cli/role-process.ts), so a new one is freshly mapped
 * memory: every page of it faults on its first write, and under large uploads those faults cost the
 * gateway about a tenth of its CPU. Reused buffers are written at memory speed.
 *
 * Chunk buffers are shared memory, so that a digest thread can hash the bytes of a body where they
 * lie in its chunks (digest-pool.ts).
 *
 * Kept buffers count against the body memory (body-memory.ts) and are let go of as soon as a request
 * needs the room, and all of them once no upload has taken one for `idleMs`, so a gateway that stops
 * receiving large uploads gives the memory back.
 */
import type { Clock } from '../../runtime/clock.js';
import type { BodyMemory } from './body-memory.js';
import { sharedBuffer } from './shared-memory.js';
import { IdleTrim } from './idle-trim.js';

export class ChunkBuffers {
  private readonly idle: Buffer[] = [];
  private readonly trim: IdleTrim;
  private closed = false;

  constructor(
    readonly sizeBytes: number,
    private readonly memory: BodyMemory,
    clock: Clock,
    idleMs: number,
  ) {
    this.trim = new IdleTrim(clock, idleMs, () => this.letGo(this.idle.length), () => this.idle.length > 0);
    memory.setIdleReclaimer((bytes) => this.letGo(Math.ceil(bytes / this.sizeBytes)));
  }

  /** Buffers kept for reuse now. */
  get keptCount(): number {
    return this.idle.length;
  }

  /**
   * A buffer of `sizeBytes` with arbitrary contents, for a request that has already acquired its
   * size from the body memory.
   */
  take(): Buffer {
    this.trim.taken();
    const kept = this.idle.pop();
    if (kept === undefined) return sharedBuffer(this.sizeBytes);
    this.memory.releaseIdle(this.sizeBytes);
    return kept;
  }

  /** A buffer nothing reads or writes any more; kept if the body memory has room for it. */
  give(buffer: Buffer): void {
    if (this.closed || buffer.length !== this.sizeBytes || !this.memory.keepIdle(this.sizeBytes)) return;
    this.idle.push(buffer);
    this.trim.kept();
  }

  close(): void {
    this.closed = true;
    this.trim.stop();
    this.letGo(this.idle.length);
    this.memory.setIdleReclaimer(undefined);
  }

  private letGo(count: number): void {
    const dropped = this.idle.splice(Math.max(0, this.idle.length - count)).length;
    if (dropped > 0) this.memory.releaseIdle(dropped * this.sizeBytes);
  }
}
