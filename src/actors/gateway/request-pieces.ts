/**
 * Where request-body.ts takes a body's pieces from: the request itself for a plain body, or the
 * aws-chunked decoder the request is piped into. Either way, `stop` ends the reading without
 * destroying the request, so its socket stays up to carry the error response.
 *
 * Pieces are taken from the stream's own events rather than through a stream of ours and an async
 * iterator: reading a 4 KiB PUT's body through a PassThrough and an async iterator cost a bare HTTP
 * server a fifth more CPU per request, and the gateway about a tenth more.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';

/** Read by one reader: each `next` is awaited before the next one is asked for. */
export interface RequestPieces {
  /** The next piece; undefined once the body has ended. Rejects with the error the reading was stopped with. */
  next(): Promise<Buffer | undefined>;
  /** Ends the reading: a pending or later `next` rejects with `error`, or with one saying the body was not read to its end. */
  stop(error?: Error): void;
}

/**
 * The pieces of a plain body, one at a time: the request is paused while its reader holds a piece,
 * so a client sends no faster than the handler takes its bytes.
 */
export function plainPieces(req: IncomingMessage): RequestPieces {
  return piecesOf(req);
}

/** The decoded pieces of an aws-chunked body, out of `decoder`, which the request is piped into. */
export function decodedPieces(req: IncomingMessage, decoder: Transform): RequestPieces {
  const pieces = piecesOf(decoder);
  // The decoder fails a body it cannot decode (a chunk signature that does not match) with its own S3
  // error. The listener stays for good: a decoder destroyed with an error and no listener would throw.
  decoder.on('error', (error) => pieces.stop(error));
  req.pipe(decoder);
  if (isGone(req)) pieces.stop(goneError());
  return {
    next: () => pieces.next(),
    stop(error) {
      pieces.stop(error);
      req.unpipe(decoder);
      decoder.destroy(error);
    },
  };
}

/** A readable stream's pieces as they come, the stream paused while one is held. */
function piecesOf(stream: Readable): RequestPieces {
  const queue: Buffer[] = [];
  // A stream read to its end before (by an earlier reader) emits no 'end' again.
  let ended = stream.readableEnded;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const onData = (piece: Buffer): void => {
    queue.push(piece);
    stream.pause();
    wake?.();
  };
  const onEnd = (): void => {
    ended = true;
    wake?.();
  };
  // Paused first: a 'data' listener would otherwise set the stream flowing.
  stream.pause();
  stream.on('data', onData);
  stream.on('end', onEnd);
  if (isGone(stream)) failure = goneError();

  const take = (): Buffer | undefined => {
    if (failure !== undefined) throw failure;
    return queue.shift();
  };
  return {
    async next() {
      for (;;) {
        const piece = take();
        if (piece !== undefined || ended) return piece;
        const arrived = new Promise<void>((resolve) => {
          wake = resolve;
        });
        stream.resume();
        await arrived;
        wake = undefined;
      }
    },
    stop(error = new Error('the body was not read to its end')) {
      if (failure !== undefined) return;
      failure = error;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.pause();
      wake?.();
    },
  };
}

/**
 * A stream destroyed before its end was read: a client that went away while its request waited (for
 * body memory, say) before its body was read. Nothing more will come, and no 'close' will tell again.
 */
function isGone(stream: Readable): boolean {
  return stream.destroyed && !stream.readableEnded;
}

function goneError(): Error {
  return new Error('the request was gone before its body was read');
}
