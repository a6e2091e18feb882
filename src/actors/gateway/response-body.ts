/**
 * Sends a response body as fast as the client takes it and no faster: the next piece is asked for
 * only once the socket has taken the last one, so a download holds a few pieces whatever its size.
 *
 * A client that takes its body slower than the configured floor would hold the pieces read ahead for
 * it, and its connection, for nothing: it is cut (the status line went out long ago, so nothing else
 * can tell it). Pieces are written whole, one write each; what the client has taken is read when the
 * pace is checked, as the bytes written less those still waiting in the response and the socket, so
 * the floor is judged while a piece is on its way without cutting it into many small writes.
 *
 * Each piece is given back to the piece buffers (piece-buffers.ts) once written: pieces read into lent
 * buffers are read into again, anything else is left alone.
 */
import type { RequestContext } from './request-context.js';
import { whenWritable } from './responses.js';
import { watchPace } from './transfer-watch.js';

export async function sendBody(ctx: RequestContext, pieces: AsyncIterable<Buffer>): Promise<void> {
  const { res, deps, log } = ctx;
  const { clock, config } = deps;
  let writtenBytes = 0;
  let takenBytes = 0;
  const watch = watchPace(clock, config, () => {
    log.info('a client took its response slower than the floor; closing its connection', { sentBytes: takenBytes, minBodyBytesPerSec: config.minBodyBytesPerSec });
    res.destroy();
  }, () => {
    // The headers are part of what is still buffered until they go: never count backwards.
    const taken = Math.max(takenBytes, writtenBytes - res.writableLength);
    if (taken > takenBytes) watch.pace.progressed(clock.now(), taken - takenBytes);
    takenBytes = taken;
  });
  try {
    for await (const piece of pieces) {
      writtenBytes += piece.length;
      // A lent piece goes back once the socket has taken it (or given up on it).
      if (res.write(piece, () => deps.pieceBuffers.give(piece))) continue;
      watch.pace.waiting(clock.now());
      try {
        await whenWritable(res);
      } finally {
        watch.pace.resumed(clock.now());
      }
    }
    res.end();
  } finally {
    watch.stop();
  }
}
