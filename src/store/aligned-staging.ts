/**
 * Page-aligned buffers for writes that bypass the page cache (O_DIRECT), which the kernel accepts
 * only from memory aligned to the device's block size. Node has no aligned allocation, but a
 * WebAssembly memory is mapped by V8 on its own and so starts on a page boundary: its slots, at
 * multiples of a page, are aligned. A file system with a larger block than this simply refuses the
 * first direct write, and body-files.ts then writes through the page cache instead.
 *
 * The slots are few and reused: a body is copied into one piece by piece, always into memory that is
 * already resident, which is what makes the copy cheap.
 */

/** The part of WebAssembly's API this needs (Node has it; the project's type libraries do not name it). */
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer } };

/** The alignment of every slot, and the unit direct writes are padded to. */
export const DIRECT_IO_ALIGNMENT = 4096;
const WASM_PAGE_BYTES = 64 * 1024;

export class AlignedStaging {
  private memory: { readonly buffer: ArrayBuffer } | undefined;
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(slot: Buffer) => void> = [];

  constructor(
    /** Bytes per slot: a multiple of the wasm page (64 KiB). */
    readonly slotBytes: number,
    readonly slotCount: number,
  ) {
    if (slotBytes <= 0 || slotBytes % WASM_PAGE_BYTES !== 0) throw new RangeError(`a staging slot must be a positive multiple of ${WASM_PAGE_BYTES} bytes`);
    if (!Number.isInteger(slotCount) || slotCount < 1) throw new RangeError('staging needs at least one slot');
  }

  /** A free slot, waiting for one when all are taken; give it back with `give`. */
  take(): Promise<Buffer> {
    this.allocate();
    const slot = this.free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  give(slot: Buffer): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(slot);
    else this.free.push(slot);
  }

  /** Mapped on first use, so a node that never writes a large body holds none of it. */
  private allocate(): void {
    if (this.memory !== undefined) return;
    this.memory = new WebAssembly.Memory({ initial: (this.slotBytes * this.slotCount) / WASM_PAGE_BYTES });
    const whole = Buffer.from(this.memory.buffer);
    for (let i = 0; i < this.slotCount; i++) this.free.push(whole.subarray(i * this.slotBytes, (i + 1) * this.slotBytes));
  }
}

/** `bytes` rounded up to the direct-write unit. */
export function alignUp(bytes: number): number {
  return Math.ceil(bytes / DIRECT_IO_ALIGNMENT) * DIRECT_IO_ALIGNMENT;
}
