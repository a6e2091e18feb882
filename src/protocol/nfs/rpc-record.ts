/**
 * Record marking, how ONC RPC delimits messages on a TCP stream (RFC 5531 section 11): a record is one
 * or more fragments, each behind a 4-byte header whose top bit says "last fragment" and whose other 31
 * bits give the fragment's length.
 *
 * A record's size is known only fragment by fragment, so the decoder checks each header against what
 * the record may still grow by before it buffers a byte of that fragment: a peer announcing more than
 * the limit is refused at once, never buffered.
 */

const LAST_FRAGMENT_BIT = 0x8000_0000;
export const MAX_FRAGMENT_BYTES = 0x7fff_ffff;

export class RecordMarkingError extends Error {
  override readonly name = 'RecordMarkingError';
  readonly code = 'RecordTooLarge';

  constructor(
    readonly recordBytes: number,
    readonly maxRecordBytes: number,
  ) {
    super(`record of at least ${recordBytes} bytes, at most ${maxRecordBytes} allowed`);
  }
}

export interface RecordBatch {
  /** Records completed by the chunk, in order. */
  readonly records: Buffer[];
  /** Set once the stream broke the limit: close the connection, nothing more will be decoded. */
  readonly error: RecordMarkingError | undefined;
}

/** Reassembles records from the chunks of one connection, in the order they arrive. */
export class RecordDecoder {
  private readonly header = Buffer.alloc(4);
  private headerBytes = 0;
  private inHeader = true;
  private fragmentLeft = 0;
  private lastFragment = false;
  /** A record has begun (a fragment header was read) and its last fragment has not ended. */
  private hasOpenFragments = false;
  private parts: Buffer[] = [];
  private recordBytes = 0;
  private failure: RecordMarkingError | undefined;

  constructor(readonly maxRecordBytes: number) {
    if (!Number.isInteger(maxRecordBytes) || maxRecordBytes < 0) throw new RangeError(`bad maxRecordBytes ${maxRecordBytes}`);
  }

  /** Bytes held for the record being received, its fragment headers excluded. */
  get bufferedBytes(): number {
    return this.recordBytes;
  }

  /** True between records: a connection closing now has lost nothing. */
  get atRecordBoundary(): boolean {
    return this.inHeader && this.headerBytes === 0 && !this.hasOpenFragments;
  }

  /**
   * Completed records are views into the chunks when they arrived in one piece, copies otherwise: a
   * caller that reuses its read buffers (the socket `onread` option) must copy them.
   */
  push(chunk: Buffer): RecordBatch {
    if (this.failure) return { records: [], error: this.failure };
    const records: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.inHeader) {
        const take = Math.min(4 - this.headerBytes, chunk.length - at);
        chunk.copy(this.header, this.headerBytes, at, at + take);
        this.headerBytes += take;
        at += take;
        if (this.headerBytes < 4) break;
        if (!this.startFragment(this.header.readUInt32BE(0))) return { records, error: this.failure };
        if (this.fragmentLeft === 0) this.endFragment(records);
        continue;
      }
      const take = Math.min(this.fragmentLeft, chunk.length - at);
      this.parts.push(chunk.subarray(at, at + take));
      this.recordBytes += take;
      this.fragmentLeft -= take;
      at += take;
      if (this.fragmentLeft === 0) this.endFragment(records);
    }
    return { records, error: undefined };
  }

  private startFragment(header: number): boolean {
    this.headerBytes = 0;
    this.inHeader = false;
    this.hasOpenFragments = true;
    this.lastFragment = header >= LAST_FRAGMENT_BIT;
    this.fragmentLeft = header & MAX_FRAGMENT_BYTES;
    if (this.recordBytes + this.fragmentLeft <= this.maxRecordBytes) return true;
    this.failure = new RecordMarkingError(this.recordBytes + this.fragmentLeft, this.maxRecordBytes);
    this.parts = [];
    this.recordBytes = 0;
    return false;
  }

  private endFragment(records: Buffer[]): void {
    this.inHeader = true;
    if (!this.lastFragment) return;
    const parts = this.parts;
    records.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.recordBytes));
    this.parts = [];
    this.recordBytes = 0;
    this.hasOpenFragments = false;
  }
}

/** Frames one message as a single last fragment: the header, then the message's buffers unchanged. */
export function encodeRecord(message: readonly Buffer[]): Buffer[] {
  const length = message.reduce((sum, buffer) => sum + buffer.length, 0);
  if (length > MAX_FRAGMENT_BYTES) throw new RangeError(`message of ${length} bytes does not fit one fragment`);
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE((LAST_FRAGMENT_BIT | length) >>> 0, 0);
  return [header, ...message];
}
