/**
 * A digest thread's entry (see digest-pool.ts). It keeps no state but its open streams' hashes; if it
 * dies, the request thread fails those streams and starts another.
 *
 * Shared memory a batch names (a chunk buffer) stays alive while this thread's heap still holds the
 * batch's handles to it, and only a collection frees those. A thread that goes quiet after a burst of
 * uploads may not collect for a long time, keeping chunk buffers alive that the request thread has let
 * go of; so once quiet it collects, where V8's `gc` is exposed (the gateway role's `--expose-gc`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock, type TimerHandle } from '../../runtime/clock.js';
import type { DigestBatch, DigestThreadData } from './digest-messages.js';
import { DigestStreams } from './digest-streams.js';

/** How long after the last batch that named shared memory a quiet thread collects. */
const QUIET_COLLECT_MS = 1_000;

const port = parentPort;
if (port === null) throw new Error('digest-worker.js runs as a worker thread');
const streams = new DigestStreams(new Uint8Array((workerData as DigestThreadData).ring));
// This thread is its own entry point: the system clock is the one it is given.
const clock = systemClock;
const collect = (globalThis as { gc?: () => void }).gc;
let lastNamedMs = 0;
let quiet: TimerHandle | undefined;

function collectOnceQuiet(): void {
  const leftMs = lastNamedMs + QUIET_COLLECT_MS - clock.elapsed();
  if (leftMs > 0) {
    quiet = clock.setTimeout(collectOnceQuiet, leftMs);
    return;
  }
  quiet = undefined;
  collect?.();
}

port.on('message', (batch: DigestBatch) => {
  port.postMessage(streams.apply(batch));
  if (batch.memories.length === 0 || collect === undefined) return;
  lastNamedMs = clock.elapsed();
  quiet ??= clock.setTimeout(collectOnceQuiet, QUIET_COLLECT_MS);
});
