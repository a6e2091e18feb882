/**
 * Storage layer benchmark: the storage nodes of a fresh `leofs dev` (real processes, started with their
 * role's V8 flags), driven from this process through the same StorageClient the gateway uses, so the
 * gateway's HTTP, S3 and chunking costs are left out. The cluster runs N=min(3, storage nodes).
 *
 *   npm run bench:storage [-- --storage-nodes 3] [--concurrency 32] [--duration 10] [--warmup 3]
 *
 * Phases: put and get of 4 KiB objects, put and get of 1 MiB objects (each stored whole, as one ring
 * object). Each phase first runs its load for --warmup seconds uncounted, then --duration seconds
 * measured. Prints latencies per phase, then as last lines:
 *   storage.put4k_per_s=  storage.get4k_per_s=  storage.put1m_mb_per_s=  storage.get1m_mb_per_s=
 */
import { createHash, randomBytes } from 'node:crypto';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { ObjectFields } from '../src/protocol/cluster/storage-api.js';
import { startDevCluster } from './bench-support/dev-cluster.js';
import { openInternalClient } from './bench-support/internal-client.js';
import { Teardown } from './bench-support/teardown.js';
import { runPhase, type Operation, type PhaseResult } from './bench-support/phases.js';

const argv = await yargs(hideBin(process.argv))
  .option('storage-nodes', { type: 'number', default: 3, describe: 'storage nodes of the cluster (N=min(3, this))' })
  .option('concurrency', { type: 'number', default: 32 })
  .option('duration', { type: 'number', default: 10, describe: 'seconds per phase' })
  .option('warmup', { type: 'number', default: 3, describe: 'seconds of uncounted load before each phase' })
  .strict()
  .parseAsync();

const storageNodes = Math.max(1, Math.floor(argv['storage-nodes']));
const concurrency = Math.max(1, Math.floor(argv.concurrency));
const phaseMs = Math.max(1, argv.duration) * 1000;
const warmupMs = Math.max(0, argv.warmup) * 1000;
const REQUEST_TIMEOUT_MS = 30_000;
const PHASES = 4;

/** A warm-up of --warmup seconds, reported but not counted, then the measured phase. */
function phase(name: string, lanes: number, op: Operation): Promise<PhaseResult> {
  return runPhase(name, lanes, op, { warmupMs, phaseMs });
}

function md5(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex');
}

const teardown = new Teardown();
// Start-up, every phase with its warm-up, a last request that may run to its deadline, and the stop.
teardown.limitTime(120_000 + PHASES * (warmupMs + phaseMs + REQUEST_TIMEOUT_MS) + 60_000, 'bench:storage');
try {
  const cluster = await startDevCluster(storageNodes, teardown);
  const { n, w, r, d } = cluster.quorum;
  const storage = await openInternalClient(cluster, storageNodes, teardown, REQUEST_TIMEOUT_MS);

  // A namespace no bucket record names: the storage nodes store it as they store any bucket's.
  const bucket = `bench-storage-${randomBytes(4).toString('hex')}`;
  process.stdout.write(`leofs dev with ${storageNodes} storage node(s), N=${n} W=${w} R=${r} D=${d}; concurrency ${concurrency}, ${argv.duration} s per phase after ${argv.warmup} s of warm-up\n`);

  /** A phase pair: lanes write their own keys, then read back only keys that were acknowledged. */
  const putThenGet = async (label: string, body: Buffer): Promise<[PhaseResult, PhaseResult]> => {
    const etag = md5(body);
    const written = new Array<number>(concurrency).fill(0);
    const fields = (key: string): ObjectFields => ({ bucket, key, sizeBytes: body.length, etag, contentType: 'application/octet-stream', userMeta: {} });
    const put = await phase(`put${label}`, concurrency, async (lane) => {
      const result = await storage.put('object', fields(`${label}/${lane}/${written[lane]}`), body);
      if (result.ok) written[lane]!++;
      return result.ok ? { ok: true, bytes: body.length } : { ok: false, bytes: 0, problem: `${result.code} ${result.message}` };
    });
    const get = await phase(`get${label}`, concurrency, async (lane, i) => {
      const result = await storage.get('object', bucket, `${label}/${lane}/${i % Math.max(1, written[lane]!)}`, { withBody: true });
      if (!result.ok) return { ok: false, bytes: 0, problem: `${result.code} ${result.message}` };
      const bytes = result.body?.length ?? 0;
      return bytes === body.length ? { ok: true, bytes } : { ok: false, bytes, problem: `read ${bytes} bytes, expected ${body.length}` };
    });
    return [put, get];
  };

  const [put4k, get4k] = await putThenGet('4k', randomBytes(4096));
  const [put1m, get1m] = await putThenGet('1m', randomBytes(1024 * 1024));

  await teardown.run();
  process.stdout.write(`storage.put4k_per_s=${Math.round(put4k.ops / put4k.seconds)}\n`);
  process.stdout.write(`storage.get4k_per_s=${Math.round(get4k.ops / get4k.seconds)}\n`);
  process.stdout.write(`storage.put1m_mb_per_s=${Math.round(put1m.bytes / put1m.seconds / 1e6)}\n`);
  process.stdout.write(`storage.get1m_mb_per_s=${Math.round(get1m.bytes / get1m.seconds / 1e6)}\n`);
  process.exit(0);
} catch (error) {
  await teardown.exit(1, `bench:storage: ${(error as Error).message}`);
}
