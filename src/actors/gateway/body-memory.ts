/**
 * The gateway's budget for bodies in flight: chunk buffers of uploads and pieces read ahead for
 * downloads, across all requests. A request that would go over it waits, which slows its client down
 * through TCP, so the gateway's memory stays bounded however many large transfers run at once.
 *
 * A grant larger than the whole budget is given when nothing else is held, so one oversized request
 * can never wait forever.
 *
 * Finished upload buffers are not kept here for the next upload: a kept buffer lives long enough to
 * reach V8's old generation, so once dropped for a download's room it stays resident until a full
 * collection, on top of the download's own pieces.
 */
export class BodyMemory {
  private usedBytes = 0;
  private readonly waiters: Array<{ readonly bytes: number; readonly grant: () => void }> = [];

  constructor(readonly limitBytes: number) {}

  /** Bytes granted and not yet released. */
  get inUseBytes(): number {
    return this.usedBytes;
  }

  /** Takes `bytes` now if they fit; returns whether it did. */
  tryAcquire(bytes: number): boolean {
    if (this.waiters.length > 0 || !this.fits(bytes)) return false;
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
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const next = this.waiters.shift()!;
      this.usedBytes += next.bytes;
      next.grant();
    }
  }

  private fits(bytes: number): boolean {
    return this.usedBytes + bytes <= this.limitBytes || this.usedBytes === 0;
  }
}
