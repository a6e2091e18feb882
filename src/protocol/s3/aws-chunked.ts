/**
 * Streaming decoder for `Content-Encoding: aws-chunked` bodies: signed chunks
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), signed chunks with a signed trailer (...-TRAILER), and
 * plain chunks with an unsigned trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
 *
 * The decoder is fed the body's pieces as they arrive and gives back, synchronously, the payload
 * they carry, as views into them: no stream of its own stands between the request and its reader.
 * Payload bytes are passed on before the chunk's signature can be checked (it follows the data), so
 * a consumer must treat a decoding error as the failure of the whole upload and never commit what it
 * received. Only a chunk header or trailer line is ever held back.
 */
import { createHash, type Hash } from 'node:crypto';
import { wireBytes } from './encoding.js';
import { S3Error } from './errors.js';
import { getHeader, type HeaderBag } from './headers.js';
import {
  EMPTY_SHA256, hmac, sha256Hex, signaturesEqual, type PayloadMode, type StreamingSigningContext,
} from './sigv4.js';

export type ChunkedMode = 'signed' | 'signed-trailer' | 'unsigned-trailer';

export interface AwsChunkedLimits {
  /** Longest chunk header or trailer line, CRLF included. */
  readonly maxLineBytes?: number;
  /** All trailer lines together. */
  readonly maxTrailerBytes?: number;
  /** Largest single chunk a client may announce. */
  readonly maxChunkBytes?: number;
}

export interface AwsChunkedOptions extends AwsChunkedLimits {
  readonly mode: ChunkedMode;
  /** Required for the signed modes: the context the header signature verification returned. */
  readonly signing?: StreamingSigningContext | undefined;
  /** x-amz-decoded-content-length; the decoded payload must be exactly this long. */
  readonly decodedContentLength: number | undefined;
  /** The trailer names announced in x-amz-trailer, lower-case. */
  readonly trailerNames?: readonly string[];
}

export const DEFAULT_MAX_LINE_BYTES = 4096;
export const DEFAULT_MAX_TRAILER_BYTES = 16 * 1024;
export const DEFAULT_MAX_CHUNK_BYTES = 64 * 1024 * 1024;
export const TRAILER_SIGNATURE_NAME = 'x-amz-trailer-signature';

/** The string a chunk signature signs; `dataSha256` is the hex SHA-256 of the chunk's data. */
export function chunkStringToSign(signing: StreamingSigningContext, previousSignature: string, dataSha256: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${signing.timestamp}\n${signing.scope}\n${previousSignature}\n${EMPTY_SHA256}\n${dataSha256}`;
}

export function chunkSignature(signing: StreamingSigningContext, previousSignature: string, dataSha256: string): string {
  return hmac(signing.signingKey, chunkStringToSign(signing, previousSignature, dataSha256)).toString('hex');
}

/** The trailer signature signs the trailer lines as `name:value\n`, chained to the final chunk's signature. */
export function trailerSignature(signing: StreamingSigningContext, previousSignature: string, canonicalTrailers: string): string {
  const toSign = `AWS4-HMAC-SHA256-TRAILER\n${signing.timestamp}\n${signing.scope}\n${previousSignature}\n${sha256Hex(wireBytes(canonicalTrailers))}`;
  return hmac(signing.signingKey, toSign).toString('hex');
}

const SIGNED_HEADER_LINE = /^([0-9a-fA-F]{1,16});chunk-signature=([0-9a-fA-F]{64})$/;
const UNSIGNED_HEADER_LINE = /^([0-9a-fA-F]{1,16})(?:;[^\r\n]*)?$/;
const TRAILER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:[ \t]*(.*?)[ \t]*$/;

type State = 'header' | 'data' | 'data-cr' | 'data-lf' | 'end-line' | 'trailer' | 'done';

function malformed(message: string): S3Error {
  return new S3Error('InvalidRequest', message);
}

export class AwsChunkedDecoder {
  private readonly mode: ChunkedMode;
  private readonly signing: StreamingSigningContext | undefined;
  private readonly expectedLength: number | undefined;
  private readonly trailerNames: readonly string[];
  private readonly maxLineBytes: number;
  private readonly maxTrailerBytes: number;
  private readonly maxChunkBytes: number;

  private state: State = 'header';
  private lineParts: Buffer[] = [];
  private lineBytes = 0;
  private remaining = 0;
  private chunkHash: Hash | undefined;
  private chunkSignatureProvided = '';
  private previousSignature: string;
  private decoded = 0;
  private trailerBytes = 0;
  private skippedTrailerBlank = false;
  private trailerSignatureSeen = false;
  private readonly trailerLines: Array<[string, string]> = [];
  /** What made the body undecodable: every later call throws it again. */
  private failure: S3Error | undefined;
  /** Where `consume` puts the payload it finds: the array of the `decode` call in progress (or of the last). */
  private out: Buffer[] = [];

  constructor(options: AwsChunkedOptions) {
    this.mode = options.mode;
    if (options.mode !== 'unsigned-trailer' && options.signing === undefined) {
      throw new TypeError('signed aws-chunked decoding needs the streaming signing context');
    }
    this.signing = options.signing;
    this.previousSignature = options.signing?.seedSignature ?? '';
    this.expectedLength = options.decodedContentLength;
    this.trailerNames = (options.trailerNames ?? []).map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.maxTrailerBytes = options.maxTrailerBytes ?? DEFAULT_MAX_TRAILER_BYTES;
    this.maxChunkBytes = options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
  }

  /** The trailer values by lower-case name, complete once `end` has returned. */
  get trailers(): ReadonlyMap<string, string> {
    return new Map(this.trailerLines.filter(([name]) => name !== TRAILER_SIGNATURE_NAME));
  }

  /** Payload bytes passed on so far. */
  get decodedLength(): number {
    return this.decoded;
  }

  /**
   * Decodes the next piece of the body: the payload in it is appended to `out`, as views into `piece`.
   * Throws the S3 error of a body that cannot be decoded (and again on every later call).
   */
  decode(piece: Buffer, out: Buffer[]): void {
    if (this.failure !== undefined) throw this.failure;
    this.out = out;
    try {
      this.consume(piece);
    } catch (error) {
      throw this.failed(error);
    }
  }

  /** The body ended: throws the S3 error of a body cut short or whose trailers are not all there. */
  end(): void {
    if (this.failure !== undefined) throw this.failure;
    try {
      this.finish();
    } catch (error) {
      throw this.failed(error);
    }
  }

  private failed(error: unknown): S3Error {
    this.failure = error instanceof S3Error ? error : new S3Error('InternalError');
    return this.failure;
  }

  private consume(buf: Buffer): void {
    let offset = 0;
    while (offset < buf.length) {
      switch (this.state) {
        case 'header': {
          const line = this.readLine(buf, offset);
          if (line === undefined) return;
          offset = line.next;
          this.onChunkHeader(line.text);
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - offset);
          const slice = buf.subarray(offset, offset + n);
          offset += n;
          this.remaining -= n;
          this.decoded += n;
          if (this.expectedLength !== undefined && this.decoded > this.expectedLength) {
            throw malformed('The decoded body is longer than x-amz-decoded-content-length.');
          }
          this.chunkHash?.update(slice);
          this.out.push(slice);
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (buf[offset] !== 0x0d) throw malformed('A chunk of the aws-chunked body is not followed by CRLF.');
          offset += 1;
          this.state = 'data-lf';
          break;
        case 'data-lf':
          if (buf[offset] !== 0x0a) throw malformed('A chunk of the aws-chunked body is not followed by CRLF.');
          offset += 1;
          this.verifyChunk();
          this.state = 'header';
          break;
        case 'end-line': {
          const line = this.readLine(buf, offset);
          if (line === undefined) return;
          offset = line.next;
          if (line.text !== '') throw malformed('Unexpected data after the final chunk.');
          this.state = 'done';
          break;
        }
        case 'trailer': {
          const line = this.readLine(buf, offset);
          if (line === undefined) return;
          offset = line.next;
          this.onTrailerLine(line.text, line.bytes);
          break;
        }
        case 'done':
          // Some clients end with an extra CRLF; anything else is not part of the encoding.
          if (buf[offset] !== 0x0d && buf[offset] !== 0x0a) throw malformed('Unexpected data after the end of the body.');
          offset += 1;
          break;
      }
    }
  }

  /** A line up to LF (CR before it dropped), or undefined when the rest of `buf` is held back. */
  private readLine(buf: Buffer, offset: number): { text: string; next: number; bytes: number } | undefined {
    const lf = buf.indexOf(0x0a, offset);
    const end = lf === -1 ? buf.length : lf + 1;
    this.lineBytes += end - offset;
    if (this.lineBytes > this.maxLineBytes) {
      throw this.state === 'trailer'
        ? new S3Error('MalformedTrailerError', 'A trailer line is too long.')
        : malformed('An aws-chunked chunk header is too long.');
    }
    if (lf === -1) {
      this.lineParts.push(Buffer.from(buf.subarray(offset)));
      return undefined;
    }
    const piece = buf.subarray(offset, lf);
    const whole = this.lineParts.length === 0 ? piece : Buffer.concat([...this.lineParts, piece]);
    const bytes = this.lineBytes;
    this.lineParts = [];
    this.lineBytes = 0;
    const content = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.subarray(0, whole.length - 1) : whole;
    return { text: content.toString('latin1'), next: lf + 1, bytes };
  }

  private onChunkHeader(line: string): void {
    const signed = this.mode !== 'unsigned-trailer';
    const m = (signed ? SIGNED_HEADER_LINE : UNSIGNED_HEADER_LINE).exec(line);
    if (m === null) throw malformed('Malformed aws-chunked chunk header.');
    const size = parseInt(m[1]!, 16);
    if (size > this.maxChunkBytes) throw malformed('An aws-chunked chunk is larger than allowed.');
    if (this.expectedLength !== undefined && this.decoded + size > this.expectedLength) {
      throw malformed('The decoded body is longer than x-amz-decoded-content-length.');
    }
    if (signed) {
      this.chunkSignatureProvided = m[2]!.toLowerCase();
      this.chunkHash = createHash('sha256');
    }
    if (size > 0) {
      this.remaining = size;
      this.state = 'data';
      return;
    }
    // The zero-length chunk ends the data; its signature covers no bytes.
    this.verifyChunk();
    if (this.expectedLength !== undefined && this.decoded !== this.expectedLength) {
      throw new S3Error('IncompleteBody');
    }
    this.state = this.mode === 'signed' ? 'end-line' : 'trailer';
  }

  private verifyChunk(): void {
    if (this.signing === undefined || this.chunkHash === undefined) return;
    const digest = this.chunkHash.digest('hex');
    this.chunkHash = undefined;
    const expected = chunkSignature(this.signing, this.previousSignature, digest);
    if (!signaturesEqual(expected, this.chunkSignatureProvided)) throw new S3Error('SignatureDoesNotMatch');
    this.previousSignature = expected;
  }

  private onTrailerLine(line: string, bytes: number): void {
    this.trailerBytes += bytes;
    if (this.trailerBytes > this.maxTrailerBytes) throw new S3Error('MalformedTrailerError', 'The trailer is too large.');
    if (line === '') {
      // One blank line straight after the final chunk is a separator some clients send.
      if (this.trailerLines.length === 0 && this.trailerNames.length > 0 && !this.skippedTrailerBlank) {
        this.skippedTrailerBlank = true;
        return;
      }
      this.checkTrailersComplete();
      this.state = 'done';
      return;
    }
    if (this.trailerSignatureSeen) throw new S3Error('MalformedTrailerError', 'Trailer data after the trailer signature.');
    const m = TRAILER_LINE.exec(line);
    if (m === null) throw new S3Error('MalformedTrailerError');
    const name = m[1]!.toLowerCase();
    const value = m[2]!;
    if (this.trailerLines.some(([n]) => n === name)) throw new S3Error('MalformedTrailerError', `The ${name} trailer is repeated.`);
    if (name === TRAILER_SIGNATURE_NAME && this.mode === 'signed-trailer') {
      this.trailerSignatureSeen = true;
      this.verifyTrailerSignature(value);
      this.trailerLines.push([name, value]);
      return;
    }
    if (!this.trailerNames.includes(name)) {
      throw new S3Error('MalformedTrailerError', `The ${name} trailer was not announced in x-amz-trailer.`);
    }
    this.trailerLines.push([name, value]);
  }

  private verifyTrailerSignature(provided: string): void {
    const canonical = this.trailerLines.map(([name, value]) => `${name}:${value}\n`).join('');
    const expected = trailerSignature(this.signing!, this.previousSignature, canonical);
    if (!/^[0-9a-fA-F]{64}$/.test(provided) || !signaturesEqual(expected, provided)) {
      throw new S3Error('SignatureDoesNotMatch');
    }
  }

  private checkTrailersComplete(): void {
    if (this.mode === 'signed-trailer' && !this.trailerSignatureSeen) {
      throw new S3Error('MalformedTrailerError', 'The trailer signature is missing.');
    }
    for (const name of this.trailerNames) {
      if (!this.trailerLines.some(([n]) => n === name)) throw new S3Error('MalformedTrailerError', `The ${name} trailer is missing.`);
    }
  }

  private finish(): void {
    switch (this.state) {
      case 'done':
        return;
      case 'end-line':
        // The final chunk was verified; a missing closing CRLF loses nothing.
        if (this.lineBytes === 0) return;
        throw new S3Error('IncompleteBody');
      case 'trailer':
        // Complete trailers without the closing blank line are accepted; anything less is a cut body.
        if (this.lineBytes === 0 && this.trailerLines.length > 0) {
          this.checkTrailersComplete();
          return;
        }
        throw new S3Error('IncompleteBody');
      default:
        throw new S3Error('IncompleteBody');
    }
  }
}

/**
 * The decoder a verified request needs, from its payload mode and headers; undefined when the
 * body is not aws-chunked. The decoded length is required, as S3 requires it.
 */
export function createChunkedDecoder(
  payload: PayloadMode,
  headers: HeaderBag,
  limits: AwsChunkedLimits = {},
): { ok: true; decoder: AwsChunkedDecoder | undefined } | { ok: false; error: S3Error } {
  let mode: ChunkedMode;
  let signing: StreamingSigningContext | undefined;
  switch (payload.type) {
    case 'sha256':
    case 'unsigned':
      return { ok: true, decoder: undefined };
    case 'streaming-signed':
      mode = payload.trailer ? 'signed-trailer' : 'signed';
      signing = payload.signing;
      break;
    case 'streaming-unsigned-trailer':
      mode = 'unsigned-trailer';
      break;
  }
  const rawLength = getHeader(headers, 'x-amz-decoded-content-length')?.trim();
  if (rawLength === undefined) return { ok: false, error: new S3Error('MissingContentLength') };
  if (!/^\d{1,16}$/.test(rawLength)) {
    return {
      ok: false,
      error: new S3Error('InvalidArgument', 'Invalid x-amz-decoded-content-length.', {
        fields: { ArgumentName: 'x-amz-decoded-content-length', ArgumentValue: rawLength },
      }),
    };
  }
  const trailer = getHeader(headers, 'x-amz-trailer');
  const trailerNames = trailer === undefined ? [] : trailer.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  if (mode === 'signed' && trailerNames.length > 0) {
    return { ok: false, error: new S3Error('InvalidRequest', 'x-amz-trailer needs a trailer payload mode in x-amz-content-sha256.') };
  }
  const decoder = new AwsChunkedDecoder({
    ...limits,
    mode,
    signing,
    decodedContentLength: Number(rawLength),
    trailerNames,
  });
  return { ok: true, decoder };
}
