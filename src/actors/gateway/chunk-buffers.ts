/**
 * Chunk buffers of finished uploads, kept a short while for the next ones. A chunk buffer is larger
 * than the gateway's malloc mmap threshold (see cli/role-process.ts), so a new one is freshly mapped
 * memory: every page of it faults on its first write, and under large uploads those faults cost the
 * gateway about a fifth of its CPU. Reused buffers are written at memory speed.
 *
 * At most as many buffers are kept as the body memory could hold at once, and all of them are let go
 * once no upload has taken one for `idleMs`, so a gateway that stops receiving large uploads gives the
 * memory back.
 */
import type { Clock, TimerHandle } from '../../runtime/clock.js';

export class ChunkBuffers {
  private readonly idle: Buffer[] = [];
  private lastTakenMs = 0;
  private trimTimer: TimerHandle | undefined;

  constructor(
    readonly sizeBytes: number,
    private readonly maxKept: number,
    private readonly clock: Clock,
    private readonly idleMs: number,
  ) {}

  /** Buffers kept for reuse now. */
  get keptCount(): number {
    return this.idle.length;
  }

  /** A buffer of `sizeBytes` with arbitrary contents. */
  take(): Buffer {
    this.lastTakenMs = this.clock.now();
    return this.idle.pop() ?? Buffer.allocUnsafe(this.sizeBytes);
  }

  /** A buffer nothing reads or writes any more. */
  give(buffer: Buffer): void {
    if (buffer.length !== this.sizeBytes || this.idle.length >= this.maxKept) return;
    this.idle.push(buffer);
    this.trimTimer ??= this.clock.setTimeout(() => this.trim(), this.idleMs);
  }

  close(): void {
    this.trimTimer?.cancel();
    this.trimTimer = undefined;
    this.idle.length = 0;
  }

  private trim(): void {
    this.trimTimer = undefined;
    const idleForMs = this.clock.now() - this.lastTakenMs;
    if (idleForMs >= this.idleMs) this.idle.length = 0;
    else if (this.idle.length > 0) this.trimTimer = this.clock.setTimeout(() => this.trim(), this.idleMs - idleForMs);
  }
}
