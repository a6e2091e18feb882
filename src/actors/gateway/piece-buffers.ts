/**
 * Buffers for the pieces of downloads, lent to a download and given back once its socket has taken
 * them. A download reads its body a piece at a time (body-reader.ts); read into fresh buffers, every
 * piece was garbage as soon as the socket took it, and V8 collects Buffer memory only once a lot of it
 * has piled up: under ten parallel downloads the gateway held more memory in dead pieces than in live
 * ones. Pieces read into lent buffers come back here and are read into again.
 *
 * A lent buffer has holders: the download it was read for, and whoever uses its bytes after the
 * download is done with them (a disk-cache fill still writing them). It comes back when the last one
 * lets go. A buffer that never comes back (a download stopped early, a socket that never called back)
 * is collected like any other. Few buffers are kept idle (`maxIdle`), and none once no download has
 * taken one for `idleMs`. Idle buffers do not count against the body memory: a grant there precedes
 * the read it is for, and letting go of idle buffers to make room for it would turn the very buffer
 * that read could use into garbage.
 */
import type { Clock } from '../../runtime/clock.js';
import { IdleTrim } from './idle-trim.js';

export class PieceBuffers {
  private readonly idle: Buffer[] = [];
  /** Holders of each lent buffer, by its memory. */
  private readonly holders = new WeakMap<ArrayBufferLike, number>();
  private readonly trim: IdleTrim;
  private closed = false;

  constructor(
    readonly sizeBytes: number,
    private readonly maxIdle: number,
    clock: Clock,
    idleMs: number,
  ) {
    this.trim = new IdleTrim(clock, idleMs, () => (this.idle.length = 0), () => this.idle.length > 0);
  }

  /** Buffers kept idle now. */
  get keptCount(): number {
    return this.idle.length;
  }

  /**
   * A lent buffer of `lengthBytes` with arbitrary contents, held once (by the caller). Undefined for a
   * piece larger than the buffers, or smaller than half of one: a short range would hold a whole
   * buffer while the body memory counts only its length.
   */
  take(lengthBytes: number): Buffer | undefined {
    if (lengthBytes > this.sizeBytes || lengthBytes * 2 < this.sizeBytes) return undefined;
    this.trim.taken();
    const whole = this.idle.pop() ?? Buffer.allocUnsafeSlow(this.sizeBytes);
    this.holders.set(whole.buffer, 1);
    return whole.subarray(0, lengthBytes);
  }

  /** One more holder of `piece`, if it is lent; anything else is left alone. */
  hold(piece: Uint8Array): void {
    const count = this.holders.get(piece.buffer);
    if (count !== undefined) this.holders.set(piece.buffer, count + 1);
  }

  /**
   * A holder of `piece` is done with its bytes; after the last one the buffer is read into again.
   * Anything not lent by this pool is left alone, so a consumer may give back every piece it had.
   */
  give(piece: Uint8Array): void {
    const count = this.holders.get(piece.buffer);
    if (count === undefined) return;
    if (count > 1) {
      this.holders.set(piece.buffer, count - 1);
      return;
    }
    this.holders.delete(piece.buffer);
    if (this.closed || this.idle.length >= this.maxIdle) return;
    this.idle.push(Buffer.from(piece.buffer, 0, this.sizeBytes));
    this.trim.kept();
  }

  close(): void {
    this.closed = true;
    this.trim.stop();
    this.idle.length = 0;
  }
}
