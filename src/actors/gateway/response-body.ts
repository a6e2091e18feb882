/**
 * Sends a response body as fast as the client takes it and no faster: the next piece is asked for
 * only once the socket has taken the last one, so a download holds a few pieces whatever its size.
 *
 * A client that takes its body slower than the configured floor would hold the pieces read ahead for
 * it, and its connection, for nothing: it is cut (the status line went out long ago, so nothing else
 * can tell it). Pieces are written in slices whose flushes report progress, fine enough for the floor
 * to be judged while one piece is still on its way.
 */
import { windowFloorBytes } from '../../core/transfer-pace.js';
import type { RequestContext } from './request-context.js';
import { whenWritable } from './responses.js';
import { paceFloorOf, watchPace, type PaceSettings } from './transfer-watch.js';

const MIN_SLICE_BYTES = 4 * 1024;
const MAX_SLICE_BYTES = 64 * 1024;

/**
 * The size of the writes a body is sent in: at most half of what a window must carry, so a client that
 * takes nothing is told apart from one that takes a slice now and then. Without a floor, pieces whole.
 */
export function responseSliceBytes(settings: PaceSettings): number {
  const floor = paceFloorOf(settings);
  if (floor.minBytesPerSec <= 0) return Number.POSITIVE_INFINITY;
  return Math.min(MAX_SLICE_BYTES, Math.max(MIN_SLICE_BYTES, Math.floor(windowFloorBytes(floor) / 2)));
}

export async function sendBody(ctx: RequestContext, pieces: AsyncIterable<Buffer>): Promise<void> {
  const { res, deps, log } = ctx;
  const { clock, config } = deps;
  const sliceBytes = responseSliceBytes(config);
  let sentBytes = 0;
  const watch = watchPace(
    clock,
    config,
    () => {
      log.info('a client took its response slower than the floor; closing its connection', { sentBytes, minBodyBytesPerSec: config.minBodyBytesPerSec });
      res.destroy();
    },
    sliceBytes === Number.POSITIVE_INFINITY ? 0 : sliceBytes,
  );
  const flushed = (bytes: number) => (error?: Error | null): void => {
    if (error) return;
    sentBytes += bytes;
    watch.pace.progressed(clock.now(), bytes);
  };
  try {
    for await (const piece of pieces) {
      let writable = true;
      for (let offset = 0; offset < piece.length; offset += sliceBytes) {
        const slice = offset === 0 && piece.length <= sliceBytes ? piece : piece.subarray(offset, offset + sliceBytes);
        writable = res.write(slice, flushed(slice.length));
      }
      if (writable) continue;
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
