/**
 * Chunk buffers of finished uploads, kept a short while for the next ones. A chunk buffer is larger
 * than the gateway's malloc mmap threshold (see cli/role-process.ts), so a new one is freshly mapped
 * memory: every page of it faults on its first write, and under large uploads those faults cost the
 * gateway about a tenth of its CPU. Reused buffers are written at memory speed.
 *
 * Kept buffers count against the body memory (body-memory.ts) and are let go of as soon as a request
 * needs the room, and all of them once no upload has taken one for `idleMs`, so a gateway that stops
 * receiving large uploads gives the memory back.
 */
import type { Clock, TimerHandle } from '../../runtime/clock.js';
import type { BodyMemory } from './body-memory.js';

export class ChunkBuffers {
  private readonly idle: Buffer[] = [];
  private lastTakenMs = 0;
  private trimTimer: TimerHandle | undefined;
  private closed = false;

  constructor(
    readonly sizeBytes: number,
    private readonly memory: BodyMemory,
    private readonly clock: Clock,
    private readonly idleMs: number,
  ) {
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
    this.lastTakenMs = this.clock.now();
    const kept = this.idle.pop();
    if (kept === undefined) return Buffer.allocUnsafe(this.sizeBytes);
    this.memory.releaseIdle(this.sizeBytes);
    return kept;
  }

  /** A buffer nothing reads or writes any more; kept if the body memory has room for it. */
  give(buffer: Buffer): void {
    if (this.closed || buffer.length !== this.sizeBytes || !this.memory.keepIdle(this.sizeBytes)) return;
    this.idle.push(buffer);
    this.trimTimer ??= this.clock.setTimeout(() => this.trim(), this.idleMs);
  }

  close(): void {
    this.closed = true;
    this.trimTimer?.cancel();
    this.trimTimer = undefined;
    this.letGo(this.idle.length);
    this.memory.setIdleReclaimer(undefined);
  }

  private letGo(count: number): void {
    const dropped = this.idle.splice(Math.max(0, this.idle.length - count)).length;
    if (dropped > 0) this.memory.releaseIdle(dropped * this.sizeBytes);
  }

  private trim(): void {
    this.trimTimer = undefined;
    const idleForMs = this.clock.now() - this.lastTakenMs;
    if (idleForMs >= this.idleMs) this.letGo(this.idle.length);
    else if (this.idle.length > 0) this.trimTimer = this.clock.setTimeout(() => this.trim(), this.idleMs - idleForMs);
  }
}
