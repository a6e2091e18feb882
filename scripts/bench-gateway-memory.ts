/**
 * Gateway memory benchmark: --transfers objects of --mib MiB each are PUT in parallel through the
 * gateway of a fresh `leofs dev`, then all GET in parallel and checked against what was PUT, while the
 * gateway process's memory is sampled from /proc/<pid>/status (Linux). The gateway streams bodies, so
 * its peak resident memory is meant to stay at or under 200 MiB whatever the sizes and transfers.
 *
 *   npm run bench:gateway-memory [-- --transfers 10] [--mib 1024] [--storage-nodes 1] [--sample-ms 20]
 *
 * Bodies are generated as they are sent (1 MiB pieces of a pattern, each stamped with its transfer and
 * piece index) and hashed on the way, so the client holds none of them; each GET's MD5 is compared
 * with the PUT's. One storage node by default, so the disk holds transfers × size once.
 *
 * Printed per phase: MiB/s, the gateway's largest sampled VmRSS, RssAnon and RssFile, its VmHWM at the
 * phase's end, and the largest V8 heap and external memory its /metrics reported (scraped every second).
 * Last lines (peak_rss_mib is VmHWM, the kernel's own peak, which no sampling interval can miss):
 *   gateway_memory.peak_rss_mib=  gateway_memory.peak_rss_sampled_mib=  gateway_memory.peak_anon_mib=
 *   gateway_memory.put_mib_per_s=  gateway_memory.get_mib_per_s=
 * Exits non-zero when a transfer failed or a GET did not return what was PUT.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { startDevCluster, type DevCluster } from './bench-support/dev-cluster.js';
import { Teardown } from './bench-support/teardown.js';
import { S3HttpClient } from './s3-bench/s3-http-client.js';

const argv = await yargs(hideBin(process.argv))
  .option('transfers', { type: 'number', default: 10, describe: 'objects transferred in parallel' })
  .option('mib', { type: 'number', default: 1024, describe: 'size of each object in MiB' })
  .option('storage-nodes', { type: 'number', default: 1, describe: 'storage nodes of the cluster (N as leofs dev chooses)' })
  .option('sample-ms', { type: 'number', default: 20, describe: 'interval between samples of the gateway memory' })
  .strict()
  .parseAsync();

const transfers = Math.max(1, Math.floor(argv.transfers));
const sizeMib = Math.max(1, Math.floor(argv.mib));
const storageNodes = Math.max(1, Math.floor(argv['storage-nodes']));
const sampleMs = Math.max(1, Math.floor(argv['sample-ms']));
const MiB = 1024 * 1024;
const PIECE_BYTES = MiB;
const sizeBytes = sizeMib * MiB;
const GATEWAY = 'gateway_0@127.0.0.1';
const TARGET_MIB = 200;
const METRICS_EVERY_MS = 1000;
/** smaps is copied when the RSS grew this much since the last copy, at most this often (it is long to read). */
const SMAPS_STEP_KB = 2048;
const SMAPS_EVERY_MS = 250;

/** The first piece of every body, copied and stamped for each piece sent. */
const PATTERN = Buffer.alloc(PIECE_BYTES);
for (let i = 0; i < PIECE_BYTES; i++) PATTERN[i] = (i * 31 + 7) & 0xff;

/** A body of `totalBytes`: pieces of the pattern stamped with the transfer and piece index, hashed as they are made. */
function* body(transfer: number, totalBytes: number, md5: ReturnType<typeof createHash>): Generator<Buffer> {
  for (let offset = 0, index = 0; offset < totalBytes; offset += PIECE_BYTES, index++) {
    const piece = Buffer.from(PATTERN.subarray(0, Math.min(PIECE_BYTES, totalBytes - offset)));
    piece.writeUInt32BE(transfer, 0);
    piece.writeUInt32BE(index, 4);
    md5.update(piece);
    yield piece;
  }
}

/** The fields of a process's /proc status in kB (Linux); empty when it cannot be read. */
function procStatus(pid: number): Map<string, number> {
  const fields = new Map<string, number>();
  try {
    for (const match of readFileSync(`/proc/${pid}/status`, 'utf8').matchAll(/^(\w+):\s+(\d+) kB$/gm)) fields.set(match[1]!, Number(match[2]));
  } catch {
    // The process is gone: nothing to read.
  }
  return fields;
}

const kbToMib = (kb: number): number => kb / 1024;

const ARENA_BYTES = 64 * MiB;
const V8_PAGE_BYTES = 256 * 1024;

/**
 * Where a process's resident memory lies, from a copy of its /proc smaps, in kB by kind: files mapped
 * (the node binary, libraries), the main malloc heap ([heap]), malloc's per-thread arenas (64 MiB
 * aligned reservations), anonymous 256 KiB mappings (V8's heap pages), and other anonymous mappings
 * (large V8 objects, mallocs above glibc's mmap threshold, thread stacks).
 */
function smapsBreakdown(smaps: string): Map<string, number> {
  interface Mapping {
    readonly start: bigint;
    readonly end: bigint;
    readonly perm: string;
    readonly name: string;
    rssKb: number;
  }
  const mappings: Mapping[] = [];
  for (const line of smaps.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) mappings.push({ start: BigInt(`0x${header[1]!}`), end: BigInt(`0x${header[2]!}`), perm: header[3]!, name: header[4]!, rssKb: 0 });
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && mappings.length > 0) mappings.at(-1)!.rssKb += Number(rss[1]);
  }
  const kinds = new Map<string, number>();
  mappings.forEach((mapping, i) => {
    const next = mappings[i + 1];
    let kind: string;
    if (mapping.name.startsWith('/')) kind = 'files';
    else if (mapping.name === '[heap]') kind = 'malloc heap';
    else if (mapping.name !== '') kind = 'other';
    else if (mapping.start % BigInt(ARENA_BYTES) === 0n && next?.start === mapping.end && next.perm === '---p' && Number(next.end - mapping.start) === ARENA_BYTES) kind = 'malloc arenas';
    else if (Number(mapping.end - mapping.start) === V8_PAGE_BYTES) kind = 'V8 pages';
    else kind = 'other anonymous';
    kinds.set(kind, (kinds.get(kind) ?? 0) + mapping.rssKb);
  });
  return kinds;
}

/** The gateway's /metrics URL, from the last `node started` line of its log. */
function metricsUrlOf(cluster: DevCluster): string | undefined {
  const url = cluster.startRecordOf(GATEWAY)?.metrics;
  return typeof url === 'string' ? url : undefined;
}

/** The largest of each memory figure seen while a phase runs. */
class PhasePeaks {
  rssKb = 0;
  anonKb = 0;
  fileKb = 0;
  heapUsed = 0;
  heapTotal = 0;
  external = 0;
  samples = 0;
  /** The longest gap between two samples: a busy event loop here delays them. */
  longestGapMs = 0;
  private last = 0;

  /** A copy of the process's smaps near its largest RSS seen, taken now and then as the RSS grows. */
  smapsAtPeak = '';
  private smapsRssKb = 0;
  private smapsAt = 0;

  sample(pid: number): void {
    const status = procStatus(pid);
    const rssKb = status.get('VmRSS') ?? 0;
    if (rssKb > this.smapsRssKb + SMAPS_STEP_KB && performance.now() - this.smapsAt > SMAPS_EVERY_MS) {
      try {
        this.smapsAtPeak = readFileSync(`/proc/${pid}/smaps`, 'utf8');
        this.smapsRssKb = rssKb;
        this.smapsAt = performance.now();
      } catch {
        // The process is gone: the last copy stands.
      }
    }
    this.rssKb = Math.max(this.rssKb, rssKb);
    this.anonKb = Math.max(this.anonKb, status.get('RssAnon') ?? 0);
    this.fileKb = Math.max(this.fileKb, status.get('RssFile') ?? 0);
    const now = performance.now();
    if (this.last > 0) this.longestGapMs = Math.max(this.longestGapMs, now - this.last);
    this.last = now;
    this.samples++;
  }

  /** Reads the V8 heap and external memory from the gateway's Prometheus metrics. */
  async scrape(url: string): Promise<void> {
    try {
      const text = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
      const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
      this.heapUsed = Math.max(this.heapUsed, value('nodejs_heap_size_used_bytes'));
      this.heapTotal = Math.max(this.heapTotal, value('nodejs_heap_size_total_bytes'));
      this.external = Math.max(this.external, value('nodejs_external_memory_bytes'));
    } catch {
      // A scrape missed under load: the next one counts.
    }
  }
}

interface PhaseOutcome {
  readonly seconds: number;
  readonly peaks: PhasePeaks;
  readonly hwmKb: number;
}

/** Runs `work` while sampling the gateway's memory. */
async function measured(pid: number, metricsUrl: string | undefined, work: () => Promise<void>): Promise<PhaseOutcome> {
  const peaks = new PhasePeaks();
  peaks.sample(pid);
  const sampler = setInterval(() => peaks.sample(pid), sampleMs);
  let scraping = false;
  const scraper = setInterval(() => {
    if (metricsUrl === undefined || scraping) return;
    scraping = true;
    void peaks.scrape(metricsUrl).finally(() => (scraping = false));
  }, METRICS_EVERY_MS);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(sampler);
    clearInterval(scraper);
  }
  const seconds = (performance.now() - started) / 1000;
  peaks.sample(pid);
  // Once more at the end, so that a phase shorter than the scraping interval has figures too.
  if (metricsUrl !== undefined) await peaks.scrape(metricsUrl);
  return { seconds, peaks, hwmKb: procStatus(pid).get('VmHWM') ?? 0 };
}

function phaseLine(name: string, outcome: PhaseOutcome, bytes: number): string {
  const { peaks } = outcome;
  const rate = bytes / MiB / outcome.seconds;
  return (
    `${name}: ${(bytes / MiB).toFixed(0)} MiB in ${outcome.seconds.toFixed(1)} s, ${rate.toFixed(1)} MiB/s; gateway MiB: ` +
    `VmRSS max ${kbToMib(peaks.rssKb).toFixed(1)} (RssAnon ${kbToMib(peaks.anonKb).toFixed(1)}, RssFile ${kbToMib(peaks.fileKb).toFixed(1)}), ` +
    `VmHWM ${kbToMib(outcome.hwmKb).toFixed(1)}; heap used ${(peaks.heapUsed / MiB).toFixed(1)} of ${(peaks.heapTotal / MiB).toFixed(1)}, ` +
    `external ${(peaks.external / MiB).toFixed(1)}; ${peaks.samples} samples, longest gap ${peaks.longestGapMs.toFixed(0)} ms` +
    `\n  RSS near the peak by kind, MiB: ${[...smapsBreakdown(peaks.smapsAtPeak)].map(([kind, kb]) => `${kind} ${kbToMib(kb).toFixed(1)}`).join(', ')}`
  );
}

const teardown = new Teardown();
// Start-up, both phases at no less than 8 MiB/s in all, the deletes and the stop.
teardown.limitTime(180_000 + ((2 * transfers * sizeMib) / 8) * 1000 + 120_000, 'bench:gateway-memory');
try {
  const cluster = await startDevCluster(storageNodes, teardown);
  const { n, w, r } = cluster.quorum;
  const pid = cluster.pidOf(GATEWAY);
  if (pid === undefined) throw new Error(`no pid of ${GATEWAY} in its log`);
  const metricsUrl = metricsUrlOf(cluster);
  const client = new S3HttpClient({ url: new URL(cluster.endpoint), accessKey: cluster.accessKey, secretKey: cluster.secretKey, region: 'us-east-1' }, transfers + 2);
  const bucket = `bench-gateway-memory-${process.pid}`;
  const created = await client.send('PUT', `/${bucket}`, '');
  if (created.status !== 200) throw new Error(`CreateBucket answered ${created.status}: ${created.body.toString('utf8').slice(0, 300)}`);
  const keyOf = (transfer: number): string => `/${bucket}/object-${transfer}`;
  const atRest = procStatus(pid);
  process.stdout.write(
    `leofs dev with ${storageNodes} storage node(s), N=${n} W=${w} R=${r}; ${transfers} transfers of ${sizeMib} MiB; ` +
      `gateway pid ${pid}, VmRSS at rest ${kbToMib(atRest.get('VmRSS') ?? 0).toFixed(1)} MiB, VmHWM so far ${kbToMib(atRest.get('VmHWM') ?? 0).toFixed(1)} MiB\n`,
  );

  const failures: string[] = [];
  const putMd5: (string | undefined)[] = Array.from({ length: transfers }, () => undefined);
  const put = await measured(pid, metricsUrl, async () => {
    await Promise.all(
      Array.from({ length: transfers }, async (_, transfer) => {
        const md5 = createHash('md5');
        try {
          const stream = Readable.from(body(transfer, sizeBytes, md5), { objectMode: true, highWaterMark: 1 });
          const response = await client.send('PUT', keyOf(transfer), '', { stream, length: sizeBytes });
          const sent = md5.digest('hex');
          if (response.status !== 200) failures.push(`PUT ${transfer} answered ${response.status}: ${response.body.toString('utf8').slice(0, 300)}`);
          else if (response.headers.etag !== `"${sent}"`) failures.push(`PUT ${transfer}: ETag ${response.headers.etag} is not the MD5 of what was sent (${sent})`);
          else putMd5[transfer] = sent;
        } catch (error) {
          failures.push(`PUT ${transfer}: ${(error as Error).message}`);
        }
      }),
    );
  });
  process.stdout.write(`${phaseLine('PUT', put, transfers * sizeBytes)}\n`);

  const get = await measured(pid, metricsUrl, async () => {
    await Promise.all(
      Array.from({ length: transfers }, async (_, transfer) => {
        const md5 = createHash('md5');
        try {
          const response = await client.send('GET', keyOf(transfer), '', undefined, (piece) => md5.update(piece));
          const received = md5.digest('hex');
          if (response.status !== 200) failures.push(`GET ${transfer} answered ${response.status}`);
          else if (response.bodyBytes !== sizeBytes) failures.push(`GET ${transfer} returned ${response.bodyBytes} bytes, not ${sizeBytes}`);
          else if (received !== putMd5[transfer]) failures.push(`GET ${transfer} returned MD5 ${received}, not the PUT's ${putMd5[transfer] ?? '(PUT failed)'}`);
        } catch (error) {
          failures.push(`GET ${transfer}: ${(error as Error).message}`);
        }
      }),
    );
  });
  process.stdout.write(`${phaseLine('GET', get, transfers * sizeBytes)}\n`);

  const after = procStatus(pid);
  const hwmKb = after.get('VmHWM') ?? 0;
  process.stdout.write(`gateway after the transfers: VmRSS ${kbToMib(after.get('VmRSS') ?? 0).toFixed(1)} MiB (RssAnon ${kbToMib(after.get('RssAnon') ?? 0).toFixed(1)})\n`);
  // The figures are printed whatever the deletes do: stopping the cluster removes its data anyway.
  for (let transfer = 0; transfer < transfers; transfer++) {
    try {
      const deleted = await client.send('DELETE', keyOf(transfer), '');
      if (deleted.status !== 204) process.stderr.write(`DELETE ${transfer} answered ${deleted.status}\n`);
    } catch (error) {
      process.stderr.write(`DELETE ${transfer}: ${(error as Error).message}\n`);
    }
  }
  client.close();
  for (const failure of failures) process.stderr.write(`${failure}\n`);
  const peakSampledKb = Math.max(put.peaks.rssKb, get.peaks.rssKb);
  const peakAnonKb = Math.max(put.peaks.anonKb, get.peaks.anonKb);
  const verdict = kbToMib(hwmKb) <= TARGET_MIB ? `at or under ${TARGET_MIB} MiB` : `OVER ${TARGET_MIB} MiB`;
  process.stdout.write(`gateway peak RSS ${kbToMib(hwmKb).toFixed(1)} MiB (${verdict}); ${failures.length} of ${2 * transfers} transfers failed${failures.length === 0 ? ', every GET returned what was PUT' : ''}\n`);

  await teardown.run();
  process.stdout.write(`gateway_memory.peak_rss_mib=${kbToMib(hwmKb).toFixed(1)}\n`);
  process.stdout.write(`gateway_memory.peak_rss_sampled_mib=${kbToMib(peakSampledKb).toFixed(1)}\n`);
  process.stdout.write(`gateway_memory.peak_anon_mib=${kbToMib(peakAnonKb).toFixed(1)}\n`);
  process.stdout.write(`gateway_memory.put_mib_per_s=${((transfers * sizeMib) / put.seconds).toFixed(1)}\n`);
  process.stdout.write(`gateway_memory.get_mib_per_s=${((transfers * sizeMib) / get.seconds).toFixed(1)}\n`);
  process.exit(failures.length === 0 ? 0 : 1);
} catch (error) {
  await teardown.exit(1, `bench:gateway-memory: ${(error as Error).message}`);
}
