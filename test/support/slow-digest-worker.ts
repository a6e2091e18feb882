/**
 * A digest thread that takes a while over every batch before hashing it as the real one does, so that
 * a test can see what the request thread does while bytes it named are not yet read.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DigestBatch, DigestThreadData } from '../../src/actors/gateway/digest-messages.js';
import { DigestStreams } from '../../src/actors/gateway/digest-streams.js';

const BATCH_DELAY_MS = 30;
const pause = new Int32Array(new SharedArrayBuffer(4));
const streams = new DigestStreams(new Uint8Array((workerData as DigestThreadData).ring));
parentPort?.on('message', (batch: DigestBatch) => {
  Atomics.wait(pause, 0, 0, BATCH_DELAY_MS);
  parentPort?.postMessage(streams.apply(batch));
});
