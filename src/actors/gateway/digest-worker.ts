/**
 * A digest thread's entry (see digest-pool.ts). It keeps no state but its open streams' hashes; if it
 * dies, the request thread fails those streams and starts another.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DigestBatch, DigestThreadData } from './digest-messages.js';
import { DigestStreams } from './digest-streams.js';

const port = parentPort;
if (port === null) throw new Error('digest-worker.js runs as a worker thread');
const streams = new DigestStreams(new Uint8Array((workerData as DigestThreadData).ring));
port.on('message', (batch: DigestBatch) => port.postMessage(streams.apply(batch)));
