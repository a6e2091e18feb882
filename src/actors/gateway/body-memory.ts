/**
 * The gateway's budget for bodies in flight: chunk buffers of uploads and chunks read ahead for
 * downloads, across all requests. A request that would go over it waits, which slows its client down
 * through TCP, so the gateway's memory stays bounded however many large transfers run at once.
 *
 * A grant larger than the whole budget is given when nothing else is held, so one oversized request
 * can never wait forever.
 *
 * Upload buffers whose writes are done are kept here, inside the budget, and handed to the next
 * upload; a grant that needs their room drops them. Uploads then allocate almost nothing, which
 * matters beyond the allocation itself: V8 frees Buffers only when a collection runs, so a gateway
 * allocating a fresh 5 MiB per chunk carries a trail of dead ones.
 */
export class BodyMemory {
  private usedBytes = 0;
  private readonly waiters: Array<{ readonly bytes: number; readonly grant: () => void }> = [];
  /** Idle upload buffers, oldest first. */
  private readonly spareBuffers: Buffer[] = [];
  private spareBytes = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes granted and not yet released. */
  get inUseBytes(): number {
    return this.usedBytes;
  }

  /** Bytes of the idle buffers kept for reuse. */
  get idleBufferBytes(): number {
    return this.spareBytes;
  }

  /** Takes `bytes` now if they fit; returns whether it did. */
  tryAcquire(bytes: number): boolean {
    if (this.waiters.length > 0 || !this.makeRoom(bytes)) return false;
    this.usedBytes += bytes;
    return true;
  }

  /** Takes `bytes`, waiting in line until they fit. */
  acquire(bytes: number): Promise<void> {
    if (this.tryAcquire(bytes)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ bytes, grant: resolve }));
  }

  release(bytes: number): void {
    this.usedBytes = Math.max(0, this.usedBytes - bytes);
    this.grantWaiters();
  }

  /** An idle buffer of exactly `size` bytes, now granted to the caller; undefined when there is none. */
  takeBuffer(size: number): Buffer | undefined {
    const index = this.spareBuffers.findIndex((spare) => spare.length === size);
    if (index < 0) return undefined;
    const [spare] = this.spareBuffers.splice(index, 1);
    this.spareBytes -= size;
    this.usedBytes += size;
    return spare;
  }

  /**
   * Gives back a granted buffer with its grant, to be kept for reuse while nobody needs its room. It
   * must be one nothing reads or writes any more: never one a send that timed out may still hold.
   */
  keepBuffer(buffer: Buffer): void {
    this.usedBytes = Math.max(0, this.usedBytes - buffer.length);
    if (this.waiters.length === 0) {
      this.spareBuffers.push(buffer);
      this.spareBytes += buffer.length;
    }
    this.grantWaiters();
  }

  private grantWaiters(): void {
    while (this.waiters.length > 0 && this.makeRoom(this.waiters[0]!.bytes)) {
      const next = this.waiters.shift()!;
      this.usedBytes += next.bytes;
      next.grant();
    }
  }

  /** Whether `bytes` fit, dropping idle buffers to make them fit. */
  private makeRoom(bytes: number): boolean {
    while (this.spareBuffers.length > 0 && this.usedBytes + this.spareBytes + bytes > this.limitBytes) {
      this.spareBytes -= this.spareBuffers.shift()!.length;
    }
    return this.usedBytes + this.spareBytes + bytes <= this.limitBytes || this.usedBytes === 0;
  }
}
