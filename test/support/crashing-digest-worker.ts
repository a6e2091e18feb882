/**
 * A digest thread that dies as soon as it is asked to open a body that wants a SHA-256, as a thread
 * that crashes mid-body would; other bodies it hashes as the real one does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DigestBatch, DigestThreadData } from '../../src/actors/gateway/digest-messages.js';
import { DigestStreams } from '../../src/actors/gateway/digest-streams.js';

const streams = new DigestStreams(new Uint8Array((workerData as DigestThreadData).ring));
parentPort?.on('message', (batch: DigestBatch) => {
  if (batch.ops.some((op) => op.t === 'open' && op.plan.sha256)) throw new Error('digest thread crashed on purpose');
  parentPort?.postMessage(streams.apply(batch));
});
