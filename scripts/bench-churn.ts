/**
 * Churn benchmark: what a store gives back. Against a fresh `leofs dev` it writes objects of mixed
 * sizes (1 KiB to --max-object-mib, spread evenly over orders of magnitude) until --gib of them,
 * overwrites every one three times, deletes half, lets the deletions settle, then compacts every
 * storage node while a 4 KiB PUT load runs, and compares each node's disk use with the bytes it holds.
 *
 *   npm run bench:churn [-- --gib 1] [--concurrency 8] [--max-object-mib 20] [--storage-nodes 3]
 *
 * Last lines:
 *   churn.disk_ratio=     the nodes' disk use after compaction / the bytes of the versions they keep
 *   churn.put4k_ratio=    4 KiB PUTs per second while the compactions run / before, without them
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { startDevCluster, type DevCluster } from './bench-support/dev-cluster.js';
import { parallel } from './bench-support/parallel.js';
import { runToEnd } from './bench-support/processes.js';
import { seededRandom } from './bench-support/seeded-random.js';
import { Teardown } from './bench-support/teardown.js';
import { encodeKeyPath, S3HttpClient } from './s3-bench/s3-http-client.js';

const ADM = fileURLToPath(new URL('../src/cli/adm-main.js', import.meta.url));

const argv = await yargs(hideBin(process.argv))
  .option('gib', { type: 'number', default: 1, describe: 'GiB of objects written in each of the four passes' })
  .option('concurrency', { type: 'number', default: 8 })
  .option('max-object-mib', { type: 'number', default: 20 })
  .option('storage-nodes', { type: 'number', default: 3 })
  .option('baseline-seconds', { type: 'number', default: 10, describe: 'seconds of 4 KiB PUTs measured before the compactions' })
  .option('seed', { type: 'number', default: 7 })
  .strict()
  .parseAsync();

const MiB = 1024 * 1024;
const totalBytes = Math.max(0.01, argv.gib) * 1024 * MiB;
const maxObjectBytes = Math.max(1, argv['max-object-mib']) * MiB;
const concurrency = Math.max(1, Math.floor(argv.concurrency));
const COMPACTION_LIMIT_MS = 10 * 60_000;

/** Sizes from 1 KiB to the maximum, log-uniform, until they add up to the total. */
function objectSizes(next: () => number): number[] {
  const sizes: number[] = [];
  let sum = 0;
  while (sum < totalBytes) {
    const size = Math.floor(Math.exp(Math.log(1024) + next() * (Math.log(maxObjectBytes) - Math.log(1024))));
    sizes.push(size);
    sum += size;
  }
  return sizes;
}


async function adm(cluster: DevCluster, ...args: string[]): Promise<string> {
  const run = await runToEnd([ADM, '--manager', cluster.managerAddress, '--cookie-file', cluster.cookieFile, '--json', ...args]);
  if (run.code !== 0) throw new Error(`leofs-adm ${args.join(' ')}: ${run.stderr.trim() || `exit ${run.code}`}`);
  return run.stdout;
}

/** 4 KiB PUTs on every lane until `until` says stop; returns PUTs per second. */
async function put4k(client: S3HttpClient, bucket: string, until: () => boolean, label: string): Promise<number> {
  const body = randomBytes(4096);
  let ops = 0;
  let errors = 0;
  const startedMs = performance.now();
  await Promise.all(Array.from({ length: 32 }, async (_, lane) => {
    for (let i = 0; !until(); i++) {
      const response = await client.send('PUT', `/${bucket}/${encodeKeyPath(label)}/${lane}/${i}`, '', body);
      if (response.status === 200) ops++;
      else errors++;
    }
  }));
  const seconds = (performance.now() - startedMs) / 1000;
  process.stdout.write(`put4k ${label}: ${ops} ops in ${seconds.toFixed(1)} s, ${Math.round(ops / seconds)} ops/s, errors=${errors}\n`);
  return ops / seconds;
}

const teardown = new Teardown();
teardown.limitTime(4 * 3_600_000, 'bench:churn');
try {
  const cluster = await startDevCluster(argv['storage-nodes'], teardown);
  const client = new S3HttpClient({ url: new URL(cluster.endpoint), accessKey: cluster.accessKey, secretKey: cluster.secretKey, region: 'us-east-1' }, Math.max(concurrency, 32) + 4);
  teardown.add({ orderly: async () => client.close(), lastResort: () => client.close() });
  const bucket = 'churn';
  const load = 'churn-load';
  for (const name of [bucket, load]) {
    const created = await client.send('PUT', `/${name}`, '');
    if (created.status !== 200) throw new Error(`cannot create bucket ${name}: ${created.status} ${created.body.toString()}`);
  }
  const next = seededRandom(argv.seed);
  const sizes = objectSizes(next);
  const keys = sizes.map((_, i) => `object-${String(i).padStart(6, '0')}`);
  process.stdout.write(`${sizes.length} objects, ${(totalBytes / 2 ** 30).toFixed(2)} GiB a pass, N=${cluster.quorum.n}\n`);

  const write = async (pass: number): Promise<void> => {
    const startedMs = performance.now();
    await parallel(keys.map((key, i) => ({ key, size: sizes[i]! })), concurrency, async ({ key, size }) => {
      const response = await client.send('PUT', `/${bucket}/${encodeKeyPath(key)}`, '', Buffer.alloc(size, (pass * 31 + size) % 251));
      if (response.status !== 200) throw new Error(`PUT ${key} (pass ${pass}): ${response.status} ${response.body.toString().slice(0, 200)}`);
    });
    const seconds = (performance.now() - startedMs) / 1000;
    process.stdout.write(`pass ${pass}: ${(totalBytes / MiB / seconds).toFixed(0)} MiB/s\n`);
  };
  for (let pass = 1; pass <= 4; pass++) await write(pass);
  const deleted = keys.filter(() => next() < 0.5);
  await parallel(deleted, concurrency, async (key) => {
    const response = await client.send('DELETE', `/${bucket}/${encodeKeyPath(key)}`, '');
    if (response.status !== 204) throw new Error(`DELETE ${key}: ${response.status}`);
  });
  const deletedSet = new Set(deleted);
  const liveBytes = sizes.reduce((sum, size, i) => (deletedSet.has(keys[i]!) ? sum : sum + size), 0);
  process.stdout.write(`deleted ${deleted.length} objects; ${(liveBytes / MiB).toFixed(0)} MiB stay, ${cluster.quorum.n} copies each\n`);
  // Replaced versions go once their writes settle: give the settles a moment to be sent and applied.
  await new Promise((resolve) => setTimeout(resolve, 5_000));

  const status = JSON.parse(await adm(cluster, 'status')) as { members: Array<{ node: string; role: string }> };
  const nodes = status.members.filter((member) => member.role === 'storage').map((member) => member.node);

  const baselineEnd = performance.now() + Math.max(1, argv['baseline-seconds']) * 1000;
  const baseline = await put4k(client, load, () => performance.now() > baselineEnd, 'without compaction');
  let compacting = true;
  const during = put4k(client, load, () => !compacting, 'while compacting');
  const compactionStartedMs = performance.now();
  for (const node of nodes) await adm(cluster, 'compact-start', node);
  while (compacting) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const states = await Promise.all(nodes.map(async (node) => (JSON.parse(await adm(cluster, 'compact-status', node)) as { state: string }).state));
    compacting = states.some((state) => state === 'running') && performance.now() - compactionStartedMs < COMPACTION_LIMIT_MS;
  }
  const whileCompacting = await during;
  process.stdout.write(`compactions took ${((performance.now() - compactionStartedMs) / 1000).toFixed(1)} s\n`);

  let diskBytes = 0;
  let heldBytes = 0;
  for (const node of nodes) {
    const usage = JSON.parse(await adm(cluster, 'du', node)) as { totalBytes: number; activeBytes: number; bodyFileBytes: number; lmdbFileBytes: number };
    diskBytes += usage.totalBytes;
    heldBytes += usage.activeBytes;
    process.stdout.write(`${node}: ${(usage.totalBytes / MiB).toFixed(1)} MiB on disk (files ${(usage.bodyFileBytes / MiB).toFixed(1)}, LMDB ${(usage.lmdbFileBytes / MiB).toFixed(1)}), ${(usage.activeBytes / MiB).toFixed(1)} MiB held\n`);
  }
  await teardown.run();
  process.stdout.write(`churn.live_mib=${Math.round((liveBytes * cluster.quorum.n) / MiB)}\n`);
  process.stdout.write(`churn.disk_ratio=${(diskBytes / Math.max(1, heldBytes)).toFixed(2)}\n`);
  process.stdout.write(`churn.put4k_ratio=${(whileCompacting / Math.max(1, baseline)).toFixed(2)}\n`);
  process.exit(0);
} catch (error) {
  await teardown.exit(1, `bench:churn: ${(error as Error).message}`);
}
