/**
 * multipart/form-data (RFC 7578) as a browser sends an S3 POST upload: read part by part as the body
 * arrives, small fields whole and the file as a stream, so an upload of any size passes through in
 * pieces and never sits in memory. A body that breaks the format is MalformedPOSTRequest.
 */
import { S3Error } from './errors.js';

export interface FormPartHead {
  /** The field's name, lower-cased: S3 matches form fields without regard to case. */
  readonly name: string;
  /** Present on a file part (possibly empty). */
  readonly filename?: string;
  readonly contentType?: string;
}

/** How much a part's header block may hold: a browser writes two short lines. */
const MAX_PART_HEAD_BYTES = 16 * 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

export function malformedForm(detail?: string): S3Error {
  return new S3Error('MalformedPOSTRequest', `The body of your POST request is not well-formed multipart/form-data.${detail === undefined ? '' : ` ${detail}`}`);
}

/** The boundary of a `multipart/form-data` Content-Type; undefined for any other type. */
export function formBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const [type = '', ...params] = splitParams(contentType);
  if (type.trim().toLowerCase() !== 'multipart/form-data') return undefined;
  for (const param of params) {
    const [name, value] = nameValue(param);
    if (name === 'boundary' && value !== undefined && value.length > 0 && value.length <= 70) return value;
  }
  return undefined;
}

export class FormDataReader {
  private buffer: Buffer = Buffer.alloc(0);
  private sourceEnded = false;
  /** Where the reader stands: before the first boundary, at a part's body, or past the closing boundary. */
  private position: 'start' | 'body' | 'between' | 'end' = 'start';
  private readonly opening: Buffer;
  private readonly delimiter: Buffer;

  constructor(private readonly source: AsyncIterator<Buffer>, boundary: string) {
    this.opening = Buffer.from(`--${boundary}`);
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  /** The next part's head, positioned at its body; undefined past the last part. */
  async nextPart(): Promise<FormPartHead | undefined> {
    if (this.position === 'body') {
      for await (const _ of this.partBody()) {
        // The rest of an unread part is skipped.
      }
    }
    if (this.position === 'start') {
      await this.skipPast(this.opening, 'missing the opening boundary');
      this.position = 'between';
    }
    if (this.position === 'end') return undefined;
    await this.fill(2);
    if (this.buffer.subarray(0, 2).toString('latin1') === '--') {
      this.position = 'end';
      return undefined;
    }
    // Whitespace may follow a boundary before its line ends.
    const lineEnd = await this.indexOf(CRLF, MAX_PART_HEAD_BYTES);
    if (this.buffer.subarray(0, lineEnd).toString('latin1').trim() !== '') throw malformedForm();
    this.buffer = this.buffer.subarray(lineEnd + CRLF.length);
    const headEnd = await this.indexOf(HEAD_END, MAX_PART_HEAD_BYTES, CRLF);
    const head = headEnd === -1 ? '' : this.buffer.subarray(0, headEnd).toString('utf8');
    this.buffer = this.buffer.subarray(headEnd === -1 ? CRLF.length : headEnd + HEAD_END.length);
    this.position = 'body';
    return parsePartHead(head);
  }

  /** The current part's body whole; MaxPostPreDataLengthExceeded beyond `maxBytes`. */
  async readValue(maxBytes: number): Promise<Buffer> {
    const pieces: Buffer[] = [];
    let size = 0;
    for await (const piece of this.partBody()) {
      size += piece.length;
      if (size > maxBytes) throw new S3Error('MaxPostPreDataLengthExceededError');
      pieces.push(piece);
    }
    return Buffer.concat(pieces);
  }

  /** The current part's body in pieces as they arrive, up to the next boundary. */
  async *partBody(): AsyncGenerator<Buffer> {
    if (this.position !== 'body') return;
    for (;;) {
      const at = this.buffer.indexOf(this.delimiter);
      if (at !== -1) {
        if (at > 0) yield this.buffer.subarray(0, at);
        this.buffer = this.buffer.subarray(at + this.delimiter.length);
        this.position = 'between';
        return;
      }
      // Everything but what could be the start of a delimiter split across pieces can go now.
      const safe = this.buffer.length - (this.delimiter.length - 1);
      if (safe > 0) {
        const piece = this.buffer.subarray(0, safe);
        this.buffer = this.buffer.subarray(safe);
        yield piece;
      }
      if (!(await this.pull())) throw malformedForm('The body ended inside a part.');
    }
  }

  /** Reads the body to its end (what follows the closing boundary, and any part left, is ignored). */
  async drain(): Promise<void> {
    while (await this.pull()) this.buffer = Buffer.alloc(0);
  }

  /** Ends reading: the source is closed whether or not it was read to its end. */
  async close(): Promise<void> {
    this.sourceEnded = true;
    await this.source.return?.(undefined);
  }

  private async pull(): Promise<boolean> {
    if (this.sourceEnded) return false;
    const next = await this.source.next();
    if (next.done === true) {
      this.sourceEnded = true;
      return false;
    }
    this.buffer = this.buffer.length === 0 ? next.value : Buffer.concat([this.buffer, next.value]);
    return true;
  }

  private async fill(bytes: number): Promise<void> {
    while (this.buffer.length < bytes) {
      if (!(await this.pull())) throw malformedForm('The body ended before its closing boundary.');
    }
  }

  /**
   * Where `needle` starts in the buffered body, reading more as needed but never past `limit` bytes.
   * `orAtStart` found at the very start counts as a match at -1 (a part without headers).
   */
  private async indexOf(needle: Buffer, limit: number, orAtStart?: Buffer): Promise<number> {
    for (;;) {
      if (orAtStart !== undefined && this.buffer.length >= orAtStart.length && this.buffer.subarray(0, orAtStart.length).equals(orAtStart)) return -1;
      const at = this.buffer.indexOf(needle);
      if (at !== -1 && at <= limit) return at;
      if (this.buffer.length > limit + needle.length) throw malformedForm('A part header is too long.');
      if (!(await this.pull())) throw malformedForm('The body ended inside a part header.');
    }
  }

  private async skipPast(marker: Buffer, problem: string): Promise<void> {
    for (;;) {
      const at = this.buffer.indexOf(marker);
      if (at !== -1) {
        this.buffer = this.buffer.subarray(at + marker.length);
        return;
      }
      // A preamble before the first boundary is allowed, but not an endless one.
      if (this.buffer.length > MAX_PART_HEAD_BYTES) throw malformedForm(problem);
      if (!(await this.pull())) throw malformedForm(problem);
    }
  }
}

function parsePartHead(head: string): FormPartHead {
  let name: string | undefined;
  let filename: string | undefined;
  let contentType: string | undefined;
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) throw malformedForm();
    const header = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (header === 'content-disposition') {
      const [kind = '', ...params] = splitParams(value);
      if (kind.trim().toLowerCase() !== 'form-data') throw malformedForm();
      for (const param of params) {
        const [paramName, paramValue] = nameValue(param);
        if (paramName === 'name') name = paramValue;
        if (paramName === 'filename') filename = paramValue ?? '';
      }
    } else if (header === 'content-type') {
      contentType = value;
    }
  }
  if (name === undefined) throw malformedForm('A part has no field name.');
  return { name: name.toLowerCase(), ...(filename === undefined ? {} : { filename }), ...(contentType === undefined ? {} : { contentType }) };
}

/** `a; b="x;y"; c=z` split at the semicolons outside quotes. */
function splitParams(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === '\\' && i + 1 < value.length) {
      current += c + value[++i]!;
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (c === ';' && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** `name="value"` or `name=value`: the lower-cased name and the unquoted value. */
function nameValue(param: string): [string, string | undefined] {
  const eq = param.indexOf('=');
  if (eq === -1) return [param.trim().toLowerCase(), undefined];
  const name = param.slice(0, eq).trim().toLowerCase();
  const raw = param.slice(eq + 1).trim();
  if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2) return [name, raw.slice(1, -1).replace(/\\(.)/g, '$1')];
  return [name, raw];
}
