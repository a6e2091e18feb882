/**
 * XDR (RFC 4506), the encoding under ONC RPC, MOUNT and NFS: big-endian 4-byte units, opaque data and
 * strings padded with zero bytes to a multiple of four.
 *
 * The reader faces untrusted bytes: it throws nothing but `XdrError`, checks every length against its
 * maximum and against the bytes left before it believes it, and hands out opaque data as views into
 * the input (copy what you keep). The writer serves our own replies: a value out of its type's range is
 * a bug in the caller and throws a RangeError.
 */

export type XdrErrorCode =
  | 'ShortBuffer' // the input ends inside an item
  | 'TooLong' // a length or count above the maximum the protocol allows
  | 'BadPadding' // padding bytes that are not zero
  | 'BadBool' // a bool that is neither 0 nor 1
  | 'BadEnum' // an enum value outside its type
  | 'BadString' // a string that is not UTF-8
  | 'BadValue' // a value the protocol rules out (e.g. a length disagreeing with another field)
  | 'TrailingBytes'; // bytes left after the last item

export class XdrError extends Error {
  override readonly name = 'XdrError';

  constructor(
    readonly code: XdrErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The largest uint32, used as the maximum of XDR's unbounded `opaque<>` and `string<>`. */
export const UNBOUNDED = 0xffff_ffff;

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Bytes of zero padding after `length` bytes of opaque data. */
export function paddingOf(length: number): number {
  return (4 - (length & 3)) & 3;
}

/** Bytes a variable-length opaque or string of `length` bytes takes on the wire, length word included. */
export function varOpaqueSize(length: number): number {
  return 4 + length + paddingOf(length);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class XdrReader {
  private offset: number;

  constructor(
    private readonly input: Buffer,
    offset = 0,
  ) {
    this.offset = offset;
  }

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.input.length - this.offset;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const value = this.input.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  int32(): number {
    this.need(4, 'int32');
    const value = this.input.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint64(): bigint {
    this.need(8, 'uint64');
    const value = this.input.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  int64(): bigint {
    this.need(8, 'int64');
    const value = this.input.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  bool(): boolean {
    const value = this.uint32();
    if (value > 1) throw new XdrError('BadBool', `bool value ${value}`);
    return value === 1;
  }

  /** `opaque[length]`: a view into the input. */
  fixedOpaque(length: number): Buffer {
    this.need(length + paddingOf(length), 'fixed opaque');
    const data = this.input.subarray(this.offset, this.offset + length);
    this.offset += length;
    this.skipPadding(length);
    return data;
  }

  /** `opaque<maxLength>`: a view into the input. */
  varOpaque(maxLength: number): Buffer {
    const length = this.uint32();
    if (length > maxLength) throw new XdrError('TooLong', `opaque of ${length} bytes, at most ${maxLength} allowed`);
    return this.fixedOpaque(length);
  }

  /** `string<maxLength>`, which must be UTF-8. */
  string(maxLength: number): string {
    const bytes = this.varOpaque(maxLength);
    try {
      return utf8.decode(bytes);
    } catch {
      throw new XdrError('BadString', 'string is not UTF-8');
    }
  }

  /** `T *` optional data: a bool, then the item when it is true. */
  optional<T>(read: (reader: XdrReader) => T): T | undefined {
    return this.bool() ? read(this) : undefined;
  }

  /** `T<maxCount>`. Every XDR item takes at least 4 bytes, which bounds a count before anything is allocated. */
  array<T>(maxCount: number, read: (reader: XdrReader) => T): T[] {
    const count = this.uint32();
    if (count > maxCount) throw new XdrError('TooLong', `array of ${count} items, at most ${maxCount} allowed`);
    if (count > this.remaining / 4) throw new XdrError('ShortBuffer', `array of ${count} items in ${this.remaining} bytes`);
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(read(this));
    return items;
  }

  /** A linked list written as optional data (`struct node { T item; node *next; }`), at most `maxCount` long. */
  list<T>(maxCount: number, read: (reader: XdrReader) => T): T[] {
    const items: T[] = [];
    while (this.bool()) {
      if (items.length === maxCount) throw new XdrError('TooLong', `list longer than ${maxCount} items`);
      items.push(read(this));
    }
    return items;
  }

  /** The bytes not read yet, as a view; the reader is at the end afterwards. */
  rest(): Buffer {
    const data = this.input.subarray(this.offset);
    this.offset = this.input.length;
    return data;
  }

  expectEnd(): void {
    if (this.remaining > 0) throw new XdrError('TrailingBytes', `${this.remaining} bytes after the last item`);
  }

  private need(bytes: number, what: string): void {
    if (bytes > this.remaining) throw new XdrError('ShortBuffer', `${what} needs ${bytes} bytes, ${this.remaining} left`);
  }

  private skipPadding(length: number): void {
    const padding = paddingOf(length);
    for (let i = 0; i < padding; i++) {
      if (this.input[this.offset + i] !== 0) throw new XdrError('BadPadding', 'padding bytes are not zero');
    }
    this.offset += padding;
  }
}

/** Opaque data at least this large is referenced by the writer's output, not copied into it. */
export const BY_REFERENCE_MIN_BYTES = 1024;
const FIRST_CHUNK_BYTES = 512;
const MAX_CHUNK_BYTES = 64 * 1024;
const ZEROES = Buffer.alloc(4);

/**
 * Builds an XDR message as a list of buffers, ready for a gathering write: small items are packed into
 * chunks, large opaque data (a READ's payload) is kept as the caller's buffer, which must therefore
 * stay unchanged until the message is written.
 */
export class XdrWriter {
  private readonly done: Buffer[] = [];
  private doneBytes = 0;
  private chunk: Buffer = Buffer.allocUnsafe(FIRST_CHUNK_BYTES);
  private used = 0;
  private nextChunkBytes = FIRST_CHUNK_BYTES * 2;

  get byteLength(): number {
    return this.doneBytes + this.used;
  }

  uint32(value: number): this {
    checkInteger(value, 0, 0xffff_ffff, 'uint32');
    this.room(4).writeUInt32BE(value, this.used);
    this.used += 4;
    return this;
  }

  int32(value: number): this {
    checkInteger(value, -0x8000_0000, 0x7fff_ffff, 'int32');
    this.room(4).writeInt32BE(value, this.used);
    this.used += 4;
    return this;
  }

  uint64(value: bigint): this {
    if (value < 0n || value > UINT64_MAX) throw new RangeError(`uint64 out of range: ${value}`);
    this.room(8).writeBigUInt64BE(value, this.used);
    this.used += 8;
    return this;
  }

  int64(value: bigint): this {
    if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`int64 out of range: ${value}`);
    this.room(8).writeBigInt64BE(value, this.used);
    this.used += 8;
    return this;
  }

  bool(value: boolean): this {
    return this.uint32(value ? 1 : 0);
  }

  fixedOpaque(data: Uint8Array, length: number): this {
    if (data.length !== length) throw new RangeError(`fixed opaque of ${length} bytes given ${data.length}`);
    if (length >= BY_REFERENCE_MIN_BYTES) {
      this.flush();
      this.done.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      this.doneBytes += length;
    } else {
      this.room(length);
      this.chunk.set(data, this.used);
      this.used += length;
    }
    return this.pad(length);
  }

  varOpaque(data: Uint8Array, maxLength = UNBOUNDED): this {
    if (data.length > maxLength) throw new RangeError(`opaque of ${data.length} bytes, at most ${maxLength} allowed`);
    this.uint32(data.length);
    return this.fixedOpaque(data, data.length);
  }

  string(value: string, maxLength = UNBOUNDED): this {
    return this.varOpaque(Buffer.from(value, 'utf8'), maxLength);
  }

  optional<T>(value: T | undefined, write: (writer: XdrWriter, item: T) => void): this {
    this.bool(value !== undefined);
    if (value !== undefined) write(this, value);
    return this;
  }

  array<T>(items: readonly T[], maxCount: number, write: (writer: XdrWriter, item: T) => void): this {
    if (items.length > maxCount) throw new RangeError(`array of ${items.length} items, at most ${maxCount} allowed`);
    this.uint32(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  /** A linked list as optional data: each item preceded by TRUE, the end marked by FALSE. */
  list<T>(items: Iterable<T>, write: (writer: XdrWriter, item: T) => void): this {
    for (const item of items) {
      this.bool(true);
      write(this, item);
    }
    return this.bool(false);
  }

  /** Appends bytes that are already XDR (another writer's output, procedure results). */
  raw(buffers: readonly Buffer[]): this {
    this.flush();
    for (const buffer of buffers) {
      this.done.push(buffer);
      this.doneBytes += buffer.length;
    }
    return this;
  }

  /** The message so far, as buffers to write in order. The writer must not be used afterwards. */
  toBuffers(): Buffer[] {
    this.flush();
    return this.done;
  }

  toBuffer(): Buffer {
    const buffers = this.toBuffers();
    return buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers, this.doneBytes);
  }

  private pad(length: number): this {
    const padding = paddingOf(length);
    if (padding > 0) {
      this.room(padding);
      this.chunk.set(ZEROES.subarray(0, padding), this.used);
      this.used += padding;
    }
    return this;
  }

  /** The current chunk, replaced by a larger one first when `bytes` do not fit in what is left of it. */
  private room(bytes: number): Buffer {
    if (this.used + bytes > this.chunk.length) {
      this.flush();
      this.chunk = Buffer.allocUnsafe(Math.max(bytes, this.nextChunkBytes));
      this.nextChunkBytes = Math.min(this.nextChunkBytes * 2, MAX_CHUNK_BYTES);
    }
    return this.chunk;
  }

  /** Moves the written part of the current chunk to the finished buffers; the rest of the chunk stays usable. */
  private flush(): void {
    if (this.used === 0) return;
    this.done.push(this.chunk.subarray(0, this.used));
    this.doneBytes += this.used;
    this.chunk = this.chunk.subarray(this.used);
    this.used = 0;
  }
}

function checkInteger(value: number, min: number, max: number, type: string): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${type} out of range: ${value}`);
}

/**
 * An XDR enum as a closed union of its names: `codes` maps each name to its value. A value outside the
 * table is `BadEnum` when read.
 */
export class XdrEnum<Name extends string> {
  private readonly names = new Map<number, Name>();

  constructor(
    readonly type: string,
    readonly codes: Readonly<Record<Name, number>>,
  ) {
    for (const name of Object.keys(codes) as Name[]) this.names.set(codes[name], name);
  }

  nameOf(code: number): Name | undefined {
    return this.names.get(code);
  }

  read(reader: XdrReader): Name {
    const code = reader.int32();
    const name = this.names.get(code);
    if (name === undefined) throw new XdrError('BadEnum', `${this.type} value ${code}`);
    return name;
  }

  write(writer: XdrWriter, name: Name): void {
    writer.int32(this.codes[name]);
  }
}
