/**
 * Listing benchmark: a bucket of --objects keys spread under --prefixes common prefixes, walked by one
 * S3 client with ListObjectsV2 pages of 1000 through a fresh `leofs dev`, then listed by delimiter.
 *
 *   npm run bench:list [-- --objects 1000000] [--prefixes 10000] [--storage-nodes 3] [--walks 2] [--meta-format 2]
 *
 * The objects are loaded through the storage nodes' internal client (the gateway's own path to them,
 * without HTTP and S3 signing), with empty bodies: a million S3 PUTs would take most of an hour on a
 * small machine, and a listing reads only the keys' records, whatever their bodies. Keys are
 * `p<prefix>/k<index>`, so every prefix holds objects/prefixes keys.
 *
 * Measured: keys per second of whole walks (each page asked after the previous one answered, as
 * clients walk), page latency percentiles, the first page of a `delimiter=/` listing (which has
 * --prefixes common prefixes to skip through; its first --delimiter-warmup listings are not counted,
 * for the servers' code for it is cold after the walks: the very first is printed apart), and the
 * storage nodes' resident memory at rest after the load, at rest again once each node's automatic
 * compaction ran (the nodes look every --compaction-check-seconds; 0 turns it off and skips the wait),
 * and at its peak while the walks run, which come after. Last lines:
 *   list.load_per_s=  list.keys_per_s=  list.page_p50_ms=  list.page_p99_ms=  list.delimiter_first_ms=
 *   list.delimiter_cold_ms=  list.storage_rss_mib=  list.storage_rss_compacted_mib=  list.storage_rss_peak_mib=
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { namespaceOf } from '../src/core/bucket-namespace.js';
import type { ObjectFields } from '../src/protocol/cluster/storage-api.js';
import type { AdminClient } from '../src/cli/admin-client.js';
import { admin, openDevAdmin } from './bench-support/admin.js';
import { startDevCluster, type DevCluster } from './bench-support/dev-cluster.js';
import { openInternalClient } from './bench-support/internal-client.js';
import { percentile } from './bench-support/phases.js';
import { limitMemory, type MemoryCgroup } from './bench-support/memory-cgroup.js';
import { Teardown } from './bench-support/teardown.js';
import { S3HttpClient } from './s3-bench/s3-http-client.js';

const argv = await yargs(hideBin(process.argv))
  .option('objects', { type: 'number', default: 100_000, describe: 'objects in the listed bucket' })
  .option('prefixes', { type: 'number', default: 10_000, describe: 'common prefixes the keys are spread under' })
  .option('storage-nodes', { type: 'number', default: 3, describe: 'storage nodes of the cluster (N=min(3, this))' })
  .option('load-concurrency', { type: 'number', default: 64, describe: 'writes in flight while loading' })
  .option('walks', { type: 'number', default: 2, describe: 'whole walks of the bucket measured' })
  .option('delimiter-tries', { type: 'number', default: 9, describe: 'first pages of the delimiter listing measured' })
  .option('delimiter-warmup', { type: 'number', default: 10, describe: 'first pages of the delimiter listing asked before those measured' })
  .option('meta-format', { type: 'number', choices: [1, 2, 3], describe: "the storage nodes' storage.metaFormat (default: theirs)" })
  .option('compaction-check-seconds', { type: 'number', default: 5, describe: "the storage nodes' storage.autoCompactionIntervalMs, in seconds; 0: no automatic compaction, and no wait for it" })
  .option('storage-memory-mib', { type: 'number', describe: 'run each storage node in a cgroup limited to this much memory, page cache included (Linux, needs the right to create cgroups)' })
  .strict()
  .parseAsync();

const objects = Math.max(1, Math.floor(argv.objects));
const prefixes = Math.max(1, Math.min(objects, Math.floor(argv.prefixes)));
const storageNodes = Math.max(1, Math.floor(argv['storage-nodes']));
const loadConcurrency = Math.max(1, Math.floor(argv['load-concurrency']));
const walks = Math.max(1, Math.floor(argv.walks));
const delimiterTries = Math.max(1, Math.floor(argv['delimiter-tries']));
const delimiterWarmup = Math.max(0, Math.floor(argv['delimiter-warmup']));
const storageMemoryMib = argv['storage-memory-mib'] === undefined ? undefined : Math.max(64, Math.floor(argv['storage-memory-mib']));
const compactionCheckSeconds = Math.max(0, argv['compaction-check-seconds']);
/** How long the nodes' automatic compactions may take, at most, after the rest. */
const COMPACTION_WAIT_MS = 300_000;
const PAGE = 1000;
/** How long the cluster rests after the load before its memory is read: two idle-collection intervals. */
const REST_MS = 22_000;
const REQUEST_TIMEOUT_MS = 30_000;
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const STORAGE_NODES = Array.from({ length: storageNodes }, (_, i) => `storage_${i}@127.0.0.1`);

const prefixWidth = String(prefixes - 1).length;
const indexWidth = String(objects - 1).length;
const keyOf = (index: number): string => `p${String(index % prefixes).padStart(prefixWidth, '0')}/k${String(index).padStart(indexWidth, '0')}`;

/** A field of a process's /proc status in MiB (Linux): VmRSS, RssAnon, RssFile; 0 when it cannot be read. */
function statusMib(pid: number | undefined, field: string): number {
  if (pid === undefined) return 0;
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const storageRssMib = (cluster: DevCluster): number => Math.max(...STORAGE_NODES.map((node) => statusMib(cluster.pidOf(node), 'VmRSS')));

/** The storage nodes running a compaction now. */
async function compactingNodes(client: AdminClient): Promise<string[]> {
  const states = await Promise.all(STORAGE_NODES.map(async (node) => ({ node, state: (await admin(client, { command: 'compact', node, action: 'status' }, 'compaction')).state })));
  return states.filter(({ state }) => state === 'running').map(({ node }) => node);
}

/** Bytes of the files under a directory. */
function directoryBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/** Each storage node's resident memory split into its heap and other private memory, and mapped files (LMDB's pages). */
const storageMemoryLine = (cluster: DevCluster): string =>
  STORAGE_NODES.map((node) => {
    const pid = cluster.pidOf(node);
    const name = node.split('@')[0]!;
    const files = directoryBytes(join(cluster.dataDir, name)) / 2 ** 20;
    return `${name} ${['VmRSS', 'RssAnon', 'RssFile'].map((field) => `${field}=${statusMib(pid, field).toFixed(0)}`).join(' ')} files=${files.toFixed(0)}`;
  }).join('; ');

/** Each storage node in a cgroup of its own limited to `mib`. */
function limitStorageMemory(cluster: DevCluster, mib: number): MemoryCgroup[] {
  return STORAGE_NODES.map((node) => {
    const pid = cluster.pidOf(node);
    if (pid === undefined) throw new Error(`no process for ${node}`);
    const cgroup = limitMemory(pid, `leofs-bench-list-${process.pid}-${node.split('@')[0]!}`, mib * 2 ** 20);
    process.stdout.write(`${node} limited to ${mib} MiB in ${cgroup.path}\n`);
    return cgroup;
  });
}

/** The values of every `<tag>` element of an XML listing (keys and tokens hold no markup). */
function elements(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((match) => match[1]!);
}

function unescapeXml(text: string): string {
  // The client's own work counts against the servers on a small machine: most keys need no unescaping.
  if (!text.includes('&')) return text;
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

const teardown = new Teardown();
// Start-up, a load at no less than 500 objects/s, the compactions, the walks at no less than 5000 keys/s, and the stop.
teardown.limitTime(180_000 + (objects / 500) * 1000 + ((walks * objects) / 5000) * 1000 + 120_000 + (compactionCheckSeconds > 0 ? COMPACTION_WAIT_MS + REST_MS : 0), 'bench:list');
try {
  // Registered before the cluster, so that it runs after the cluster's stop: a cgroup goes once its node has exited.
  const cgroups: MemoryCgroup[] = [];
  const removeCgroups = (): void => cgroups.forEach((cgroup) => cgroup.remove());
  teardown.add({ orderly: async () => removeCgroups(), lastResort: removeCgroups });
  const storageSettings = {
    ...(argv['meta-format'] === undefined ? {} : { metaFormat: argv['meta-format'] }),
    autoCompactionIntervalMs: Math.round(compactionCheckSeconds * 1000),
    // A small bucket's store is below the nodes' default floor: the benchmark looks at any size.
    autoCompactionMinFileBytes: 0,
  };
  const cluster = await startDevCluster(storageNodes, teardown, { storage: storageSettings });
  if (storageMemoryMib !== undefined) cgroups.push(...limitStorageMemory(cluster, storageMemoryMib));
  const { n, w, r } = cluster.quorum;
  const client = new S3HttpClient({ url: new URL(cluster.endpoint), accessKey: cluster.accessKey, secretKey: cluster.secretKey, region: 'us-east-1' }, 4);
  const bucket = `bench-list-${process.pid}`;
  const created = await client.send('PUT', `/${bucket}`, '');
  if (created.status !== 200) throw new Error(`CreateBucket answered ${created.status}: ${created.body.toString('utf8').slice(0, 300)}`);
  const adminClient = await openDevAdmin(cluster, teardown, REQUEST_TIMEOUT_MS);
  const record = (await admin(adminClient, { command: 'get_buckets' }, 'buckets')).buckets.find((candidate) => candidate.name === bucket);
  if (!record) throw new Error(`the manager does not know bucket ${bucket}`);
  const storage = await openInternalClient(cluster, storageNodes, teardown, REQUEST_TIMEOUT_MS);
  const namespace = namespaceOf(record);
  process.stdout.write(`leofs dev with ${storageNodes} storage node(s), N=${n} W=${w} R=${r}; ${objects} objects under ${prefixes} prefixes\n`);

  // Load: every lane takes the next index until all are written; a failed write is retried.
  const loadStart = performance.now();
  let next = 0;
  let lastReport = loadStart;
  await Promise.all(
    Array.from({ length: loadConcurrency }, async () => {
      for (let index = next++; index < objects; index = next++) {
        const fields: ObjectFields = { bucket: namespace, key: keyOf(index), sizeBytes: 0, etag: EMPTY_MD5, contentType: 'application/octet-stream', userMeta: {} };
        for (let attempt = 1; ; attempt++) {
          const result = await storage.put('object', fields, Buffer.alloc(0));
          if (result.ok) break;
          if (attempt >= 5) throw new Error(`writing ${fields.key} failed ${attempt} times: ${result.code} ${result.message}`);
        }
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          process.stdout.write(`loaded ${next} of ${objects} (${Math.round(next / ((lastReport - loadStart) / 1000))}/s)\n`);
        }
      }
    }),
  );
  const loadSeconds = (performance.now() - loadStart) / 1000;
  process.stdout.write(`load: ${objects} objects in ${loadSeconds.toFixed(1)} s, ${Math.round(objects / loadSeconds)}/s\n`);

  // At rest: long enough for an idle node's collection of the load's garbage (runtime/idle-heap-trim.ts).
  await new Promise((resolve) => setTimeout(resolve, REST_MS));
  // Nodes checking every few seconds may have begun compacting by now: the figure then holds the copy's pages.
  const compactingBefore = await compactingNodes(adminClient);
  const restRss = storageRssMib(cluster);
  const compacting = [...new Set([...compactingBefore, ...(await compactingNodes(adminClient))])];
  const during = compacting.length === 0 ? '' : `, taken while ${compacting.join(', ')} compacted`;
  process.stdout.write(`storage node RSS at rest: ${restRss.toFixed(0)} MiB (largest of ${storageNodes}${during}); MiB: ${storageMemoryLine(cluster)}\n`);

  let compactedRss = restRss;
  if (compactionCheckSeconds > 0) {
    const deadline = Date.now() + COMPACTION_WAIT_MS;
    const compacted = new Set<string>();
    while (compacted.size < STORAGE_NODES.length && Date.now() < deadline) {
      for (const node of STORAGE_NODES) {
        if (compacted.has(node)) continue;
        const status = await admin(adminClient, { command: 'compact', node, action: 'status' }, 'compaction');
        if (status.state === 'idle' && status.trigger === 'automatic' && status.last !== undefined) {
          compacted.add(node);
          const kept = status.last.keptCopyBytes === undefined ? '' : ` (file kept: the copy came out at ${(status.last.keptCopyBytes / 2 ** 20).toFixed(0)} MiB)`;
          process.stdout.write(`${node} compacted by itself: ${(status.last.beforeBytes / 2 ** 20).toFixed(0)} -> ${(status.last.afterBytes / 2 ** 20).toFixed(0)} MiB in ${(status.last.tookMs / 1000).toFixed(1)} s${kept}\n`);
        } else if (status.state === 'idle' && status.lastOutlook !== undefined && status.lastStartedAtMs === undefined) {
          // It looked, and a compaction would not give back enough to start one.
          compacted.add(node);
          process.stdout.write(`${node} not compacted: ${(status.lastOutlook.fileBytes / 2 ** 20).toFixed(0)} MiB would become about ${(status.lastOutlook.compactedBytes / 2 ** 20).toFixed(0)}\n`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    if (compacted.size < STORAGE_NODES.length) process.stdout.write(`not compacted by themselves within ${COMPACTION_WAIT_MS / 1000} s: ${STORAGE_NODES.filter((node) => !compacted.has(node)).join(', ')}\n`);
    // As long again at rest after the last one, for the idle collection of the compaction's garbage.
    await new Promise((resolve) => setTimeout(resolve, REST_MS));
    compactedRss = storageRssMib(cluster);
    process.stdout.write(`storage node RSS at rest after automatic compaction: ${compactedRss.toFixed(0)} MiB; MiB: ${storageMemoryLine(cluster)}\n`);
  }

  let peakRss = compactedRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, storageRssMib(cluster))), 200);
  const pageMs: number[] = [];
  let walkedKeys = 0;
  let walkedSeconds = 0;
  for (let walk = 1; walk <= walks; walk++) {
    const started = performance.now();
    let keys = 0;
    let token: string | undefined;
    let previous = '';
    do {
      const query = `list-type=2&max-keys=${PAGE}${token === undefined ? '' : `&continuation-token=${encodeURIComponent(token)}`}`;
      const begin = performance.now();
      const response = await client.send('GET', `/${bucket}`, query);
      pageMs.push(performance.now() - begin);
      const xml = response.body.toString('utf8');
      if (response.status !== 200) throw new Error(`ListObjectsV2 answered ${response.status}: ${xml.slice(0, 300)}`);
      const pageKeys = elements(xml, 'Key').map(unescapeXml);
      if (pageKeys.length > 0 && pageKeys[0]! <= previous) throw new Error(`a page began at ${pageKeys[0]} after ${previous}: keys repeated or out of order`);
      previous = pageKeys.at(-1) ?? previous;
      keys += pageKeys.length;
      token = elements(xml, 'IsTruncated')[0] === 'true' ? unescapeXml(elements(xml, 'NextContinuationToken')[0] ?? '') : undefined;
    } while (token !== undefined);
    const seconds = (performance.now() - started) / 1000;
    if (keys !== objects) throw new Error(`walk ${walk} listed ${keys} keys, expected ${objects}`);
    process.stdout.write(`walk ${walk}: ${keys} keys in ${seconds.toFixed(1)} s, ${Math.round(keys / seconds)} keys/s\n`);
    walkedKeys += keys;
    walkedSeconds += seconds;
  }

  // The first listings by delimiter run the servers' code for it cold (the walks did not use it): the
  // first --delimiter-warmup are not counted, and the very first is reported apart.
  const warmupMs: number[] = [];
  const firstPageMs: number[] = [];
  for (let attempt = 0; attempt < delimiterWarmup + delimiterTries; attempt++) {
    const begin = performance.now();
    const response = await client.send('GET', `/${bucket}`, `delimiter=%2F&list-type=2&max-keys=${PAGE}`);
    (attempt < delimiterWarmup ? warmupMs : firstPageMs).push(performance.now() - begin);
    const xml = response.body.toString('utf8');
    const common = xml.split('<CommonPrefixes>').length - 1;
    if (response.status !== 200 || common !== Math.min(PAGE, prefixes)) throw new Error(`the delimiter listing answered ${response.status} with ${common} common prefixes, expected ${Math.min(PAGE, prefixes)}`);
  }
  const coldMs = warmupMs[0] ?? firstPageMs[0]!;
  clearInterval(sampler);
  pageMs.sort((a, b) => a - b);
  firstPageMs.sort((a, b) => a - b);
  process.stdout.write(`pages: ${pageMs.length}, p50=${percentile(pageMs, 50).toFixed(1)} ms p99=${percentile(pageMs, 99).toFixed(1)} ms\n`);
  process.stdout.write(`delimiter first page: p50=${percentile(firstPageMs, 50).toFixed(1)} ms of ${delimiterTries} tries (${firstPageMs.map((ms) => ms.toFixed(0)).join(' ')}) after ${delimiterWarmup} not counted (${warmupMs.map((ms) => ms.toFixed(0)).join(' ')})\n`);

  const oomKills = cgroups.reduce((sum, cgroup) => sum + cgroup.oomKills(), 0);
  if (storageMemoryMib !== undefined) {
    process.stdout.write(`memory limit reached: ${cgroups.map((cgroup) => cgroup.limitHits()).join(', ')} times; nodes killed for going over: ${oomKills}\n`);
    // leofs dev restarts a killed node, outside the cgroup: the rest of the run was not limited.
    if (oomKills > 0) process.stdout.write('a storage node was killed for going over its limit and restarted without it: the figures above are not of limited nodes\n');
  }
  await teardown.run();
  process.stdout.write(`list.load_per_s=${Math.round(objects / loadSeconds)}\n`);
  process.stdout.write(`list.keys_per_s=${Math.round(walkedKeys / walkedSeconds)}\n`);
  process.stdout.write(`list.page_p50_ms=${percentile(pageMs, 50).toFixed(1)}\n`);
  process.stdout.write(`list.page_p99_ms=${percentile(pageMs, 99).toFixed(1)}\n`);
  process.stdout.write(`list.delimiter_first_ms=${percentile(firstPageMs, 50).toFixed(1)}\n`);
  process.stdout.write(`list.delimiter_cold_ms=${coldMs.toFixed(1)}\n`);
  process.stdout.write(`list.storage_rss_mib=${restRss.toFixed(0)}\n`);
  if (compactionCheckSeconds > 0) process.stdout.write(`list.storage_rss_compacted_mib=${compactedRss.toFixed(0)}\n`);
  process.stdout.write(`list.storage_rss_peak_mib=${peakRss.toFixed(0)}\n`);
  if (storageMemoryMib !== undefined) {
    process.stdout.write(`list.storage_memory_limit_mib=${storageMemoryMib}\n`);
    process.stdout.write(`list.storage_oom_kills=${oomKills}\n`);
  }
  process.exit(0);
} catch (error) {
  await teardown.exit(1, `bench:list: ${(error as Error).message}`);
}
