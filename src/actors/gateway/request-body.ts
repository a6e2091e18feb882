/**
 * A request body as the handlers read it: aws-chunked framing removed (with its chunk signatures
 * checked), every byte hashed for the digests the request declared, the declared length enforced, a body
 * node cannot parse failed at once, and a body that stops arriving, arrives slower than the configured
 * floor or takes longer than the deadline failed with RequestTimeout, closing the connection (a client
 * that slow would hold its connection and its memory for nothing). Nothing here stores anything: a
 * handler reads the payload, then calls `finish`, and commits only if that succeeds.
 *
 * Only time spent waiting for the client counts against its pace and its idle time: while the handler
 * holds a piece (waiting for memory or storage) the stream is paused and the client cannot send.
 *
 * A failure ends only the reading (request-pieces.ts): the socket stays up to carry the error
 * response.
 */
import { createChunkedDecoder } from '../../protocol/s3/aws-chunked.js';
import { checkBodyDigests, hashPlanOf, parseBodyExpectations, type BodyDigests, type ComputedDigests } from '../../protocol/s3/checksums.js';
import { S3Error, type S3ErrorCode } from '../../protocol/s3/errors.js';
import { hasAwsChunkedEncoding, parseBodyLength } from '../../protocol/s3/headers.js';
import type { TimerHandle } from '../../runtime/clock.js';
import type { RequestContext } from './request-context.js';
import type { BodyHashFeed, StreamHashes } from './digest-pool.js';
import { decodedPieces, plainPieces } from './request-pieces.js';
import { sendContinue } from './responses.js';
import { watchPace } from './transfer-watch.js';

export interface RequestBody {
  /** The payload size the request declared, when it declared one. */
  readonly declaredBytes: number | undefined;
  /** The decoded payload, in pieces as they arrive; read it once. */
  pieces(): AsyncGenerator<Buffer>;
  /**
   * The decoded payload for a reader that feeds the hashes itself (so it can name bytes it keeps in
   * shared memory rather than have them copied): it passes every byte of each piece to `hashes`, in
   * order, before it asks for the next piece. Read it, or `pieces`, once.
   */
  unhashedPieces(): UnhashedBody;
  /** After the payload was read to its end: the digests, or the S3 error a mismatch is. */
  finish(): Promise<BodyDigests>;
}

export interface UnhashedBody {
  readonly pieces: AsyncGenerator<Buffer>;
  /** Where every byte goes; usable once the first piece has arrived. */
  readonly hashes: BodyHashFeed;
}

export interface BodyOptions {
  /** A length must be declared (S3 requires it for uploads). */
  readonly requireLength: boolean;
  readonly maxBytes: number;
  /** What a body over `maxBytes` is answered with. */
  readonly tooLarge: S3ErrorCode;
}

/** S3's largest single upload (PutObject, UploadPart). */
export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024 * 1024;

export function openBody(ctx: RequestContext, options: BodyOptions): RequestBody {
  const { req, headers, auth, deps, framing } = ctx;
  if (framing.broken !== undefined) throw framing.broken;
  const payload = auth.payload;
  const lengths = parseBodyLength(headers, options.requireLength);
  if (!lengths.ok) throw lengths.error;
  const chunked = payload.type === 'streaming-signed' || payload.type === 'streaming-unsigned-trailer';
  if (!chunked && hasAwsChunkedEncoding(headers) && lengths.value.decodedContentLength !== undefined) {
    throw new S3Error('InvalidRequest', 'An aws-chunked body needs a STREAMING-* value in x-amz-content-sha256.');
  }
  const declaredBytes = chunked ? lengths.value.decodedContentLength : lengths.value.contentLength;
  if (declaredBytes !== undefined && declaredBytes > options.maxBytes) throw tooLarge(options);
  const expectations = parseBodyExpectations(headers, payload.type === 'sha256' ? payload.sha256 : undefined);
  if (!expectations.ok) throw expectations.error;
  const expected = expectations.value;
  const decoding = createChunkedDecoder(payload, headers);
  if (!decoding.ok) throw decoding.error;
  const decoder = decoding.decoder;
  let consumed = false;
  /** Asked for as soon as the last byte arrived, so the hashes are never left open. */
  let computed: Promise<ComputedDigests> | undefined;

  /** The hashes of the body being read; opened once reading starts, so a body never read leaves nothing open on a digest thread. */
  let hashes: StreamHashes | undefined;
  const opened = (): StreamHashes => {
    if (hashes === undefined) throw new Error('a body is hashed only once it is read');
    return hashes;
  };

  async function* read(hashHere: boolean): AsyncGenerator<Buffer> {
    if (consumed) throw new Error('a request body is read once');
    consumed = true;
    hashes = deps.digests.hashesFor(hashPlanOf(expected), declaredBytes);
    // Paused until the first `next` asks for a piece.
    const source = decoder === undefined ? plainPieces(req) : decodedPieces(req, decoder);
    let failure: S3Error | undefined;
    const fail = (error: S3Error): void => {
      if (failure !== undefined) return;
      failure = error;
      source.stop(error);
    };
    const onAborted = (): void => fail(new S3Error('IncompleteBody'));
    const onClose = (): void => {
      if (!req.complete) fail(new S3Error('IncompleteBody'));
    };
    req.on('aborted', onAborted);
    req.on('error', onAborted);
    req.on('close', onClose);
    sendContinue(req, ctx.res);
    const { clock, config } = deps;
    const deadline = clock.setTimeout(() => fail(timedOut()), config.maxBodyReceiveMs);
    const watch = watchPace(clock, config, () => fail(timedOut()));
    let idle: TimerHandle | undefined;
    const awaitClient = (): void => {
      watch.pace.waiting(clock.now());
      idle = clock.setTimeout(() => fail(timedOut()), config.bodyIdleTimeoutMs);
    };
    awaitClient();
    const stopFraming = framing.onBreak(fail);
    if (framing.broken !== undefined) fail(framing.broken);
    let received = 0;
    try {
      for (let piece = await source.next(); piece !== undefined; piece = await source.next()) {
        idle?.cancel();
        watch.pace.resumed(clock.now());
        watch.pace.progressed(clock.now(), piece.length);
        received += piece.length;
        if (received > options.maxBytes) throw tooLarge(options);
        if (declaredBytes !== undefined && received > declaredBytes) {
          throw new S3Error('InvalidRequest', 'The body is longer than its declared length.');
        }
        if (hashHere) {
          const waiting = hashes.update(piece);
          if (waiting !== undefined) await waiting;
        }
        yield piece;
        awaitClient();
      }
      if (failure !== undefined) throw failure;
      if (declaredBytes !== undefined && received !== declaredBytes) throw new S3Error('IncompleteBody');
      computed = hashes.digests();
      // Awaited by finish(); a handler that fails before asking must not leave a rejection unhandled.
      computed.catch(() => undefined);
    } catch (error) {
      // The decoder reports its own failures as S3 errors; anything else is the request going away.
      throw failure ?? (error instanceof S3Error ? error : new S3Error('IncompleteBody'));
    } finally {
      idle?.cancel();
      deadline.cancel();
      watch.stop();
      req.off('aborted', onAborted);
      req.off('error', onAborted);
      req.off('close', onClose);
      stopFraming();
      if (computed === undefined) {
        hashes.abandon();
        source.stop();
      }
    }
  }

  return {
    declaredBytes,
    pieces: () => read(true),
    unhashedPieces: () => ({
      pieces: read(false),
      hashes: {
        update: (piece) => opened().update(piece),
        updateShared: (bytes) => opened().updateShared(bytes),
        hashed: (memory) => hashes?.hashed(memory),
      },
    }),
    async finish() {
      if (computed === undefined) throw new Error('the body was not read to its end');
      const digests = checkBodyDigests(expected, await computed, decoder?.trailers);
      if (!digests.ok) throw digests.error;
      return digests.value;
    },
  };
}

/** What a body too slow in any way is answered with; the connection closes with it. */
function timedOut(): S3Error {
  return new S3Error('RequestTimeout', undefined, { headers: { Connection: 'close' } });
}

function tooLarge(options: BodyOptions): S3Error {
  return new S3Error(options.tooLarge, undefined, options.tooLarge === 'EntityTooLarge' ? { fields: { MaxSizeAllowed: String(options.maxBytes) } } : {});
}

/** A whole small body (an XML document), digests checked. */
export async function readSmallBody(ctx: RequestContext, maxBytes: number): Promise<Buffer> {
  const body = openBody(ctx, { requireLength: false, maxBytes, tooLarge: 'MaxMessageLengthExceeded' });
  const parts: Buffer[] = [];
  for await (const piece of body.pieces()) parts.push(piece);
  await body.finish();
  return Buffer.concat(parts);
}
