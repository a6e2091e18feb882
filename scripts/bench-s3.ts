/**
 * S3 load generator; works against any S3 endpoint.
 *
 *   npm run bench:s3 -- --endpoint http://127.0.0.1:8080 --access-key K --secret-key S [--concurrency 32] [--duration 20] [--warmup 3] [--sse AES256] [--checksum CRC32] [--cache on|off]
 *
 * --checksum sends the body's checksum with every PUT of put4k and put16m (x-amz-checksum-crc32 and so on,
 * computed once per body), as the AWS SDKs do by default for a body they hold whole.
 *
 * --cache on reads a hot set (each lane GETs the first --hot-keys objects it wrote, over and over), what
 * the gateway's object cache is for; off (default) spreads GETs over everything written. Whether the
 * gateway caches is its own config (gateway.cacheBytes, gateway.cacheDiskBytes): compare a gateway with
 * the cache on and the hot set against one with it off.
 *
 * Phases: PutObject, GetObject and HeadObject of 4 KiB objects, PutObject and GetObject of 16 MiB objects, and
 * ListObjectsV2 pages of 1000 keys in a bucket of --list-objects objects (populated once and reused:
 * a marker object records that the bucket is full). Each PUT and GET phase first runs its load for
 * --warmup seconds uncounted (a server just started is still compiling its hot paths); that rate is
 * printed too. --phases runs only the phases named (GET and HEAD read what their PUT phase wrote, so
 * they need it), e.g. `--phases put4k` to profile the servers under small writes alone. One phase runs
 * only when named: put4k-chunked, PutObject of 4 KiB objects framed the way the AWS SDKs send a stream
 * body by default (aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER, a CRC-32 checksum in a trailer);
 * the framing is built once, so the client's cost per request is that of put4k. Prints
 * latencies per phase, then as last lines the figures of the phases run:
 *   s3.put4k_per_s=  s3.put4k_p99_ms=  s3.get4k_per_s=  s3.head4k_per_s=  s3.put16m_mb_per_s=  s3.get16m_mb_per_s=
 *   s3.list_ms_p50=  s3.put4k_chunked_per_s=
 */
import { randomBytes } from 'node:crypto';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { crc32 } from '../src/core/checksums/crc32.js';
import { CHECKSUM_ALGORITHMS, checksumBase64, checksumHeaderName, type ChecksumAlgorithm } from '../src/protocol/s3/checksums.js';
import { STREAMING_UNSIGNED_PAYLOAD_TRAILER } from '../src/protocol/s3/sigv4.js';
import { encodeKeyPath, S3HttpClient } from './s3-bench/s3-http-client.js';
import { percentile, runPhase, type Operation, type PhaseResult } from './bench-support/phases.js';

const PHASES = ['put4k', 'get4k', 'head4k', 'put16m', 'get16m', 'list', 'put4k-chunked'] as const;
type Phase = (typeof PHASES)[number];
/** Phases run when --phases is not given: all but those that only measure one path of the server. */
const DEFAULT_PHASES = PHASES.filter((name) => name !== 'put4k-chunked');

const argv = await yargs(hideBin(process.argv))
  .option('endpoint', { type: 'string', demandOption: true })
  .option('access-key', { type: 'string', demandOption: true })
  .option('secret-key', { type: 'string', demandOption: true })
  .option('region', { type: 'string', default: 'us-east-1' })
  .option('concurrency', { type: 'number', default: 32 })
  .option('duration', { type: 'number', default: 20, describe: 'seconds per phase' })
  .option('warmup', { type: 'number', default: 3, describe: 'seconds of uncounted load before each PUT and GET phase' })
  .option('list-objects', { type: 'number', default: 100_000 })
  .option('list-requests', { type: 'number', default: 50 })
  .option('bucket-prefix', { type: 'string', default: 'bench' })
  .option('sse', { type: 'string', choices: ['AES256'], describe: 'PUT with x-amz-server-side-encryption (SSE-S3)' })
  .option('checksum', { type: 'string', choices: CHECKSUM_ALGORITHMS, describe: 'PUT with x-amz-checksum-<algorithm> of the body (put4k, put16m)' })
  .option('cache', { type: 'string', choices: ['on', 'off'], default: 'off', describe: 'GET a hot set of --hot-keys objects per lane (on) or everything written (off)' })
  .option('hot-keys', { type: 'number', default: 2, describe: 'objects per lane in the hot set with --cache on' })
  .option('phases', { type: 'string', default: DEFAULT_PHASES.join(','), describe: `comma-separated, of ${PHASES.join(', ')}` })
  .strict()
  .parseAsync();

const chosen = new Set(argv.phases.split(',').map((name) => name.trim()));
for (const name of chosen) if (!(PHASES as readonly string[]).includes(name)) throw new Error(`--phases: unknown phase ${name}; the phases are ${PHASES.join(', ')}`);
for (const [reader, writer] of [['get4k', 'put4k'], ['head4k', 'put4k'], ['get16m', 'put16m']] as const) {
  if (chosen.has(reader) && !chosen.has(writer)) throw new Error(`--phases: ${reader} reads what ${writer} writes; name both`);
}
const runs = (name: Phase): boolean => chosen.has(name);

const concurrency = Math.max(1, argv.concurrency);
const phaseMs = Math.max(1, argv.duration) * 1000;
const warmupMs = Math.max(0, argv.warmup) * 1000;
const client = new S3HttpClient(
  { url: new URL(argv.endpoint), accessKey: argv['access-key'], secretKey: argv['secret-key'], region: argv.region },
  concurrency + 4,
);

/** A warm-up of --warmup seconds, reported but not counted, then the measured phase. */
function phase(name: string, lanes: number, op: Operation): Promise<PhaseResult> {
  return runPhase(name, lanes, op, { warmupMs, phaseMs });
}

async function ensureBucket(bucket: string): Promise<void> {
  const response = await client.send('PUT', `/${bucket}`, '');
  if (response.status !== 200 && !(response.status === 409 && response.body.toString().includes('BucketAlreadyOwnedByYou'))) {
    throw new Error(`cannot create bucket ${bucket}: ${response.status} ${response.body.toString().slice(0, 300)}`);
  }
}

const ok = (status: number): boolean => status >= 200 && status < 300;
const runId = randomBytes(4).toString('hex');
const workBucket = `${argv['bucket-prefix']}-${runId}`;
await ensureBucket(workBucket);
process.stdout.write(`bucket ${workBucket}, concurrency ${concurrency}, ${argv.duration} s per phase after ${argv.warmup} s of warm-up\n`);

/** Keys a lane wrote, counted per lane: lanes do not all get through the same number. */
const writtenPerLane = (lanes: number): number[] => new Array<number>(lanes).fill(0);

/** Headers of every PUT: with --sse, objects are written encrypted, and read back decrypted. */
const writeHeaders: Record<string, string> = argv.sse === undefined ? {} : { 'x-amz-server-side-encryption': argv.sse };

/** Headers of a PUT of `body`: writeHeaders, and with --checksum the body's checksum. */
function headersToWrite(body: Buffer): Record<string, string> {
  const algorithm = argv.checksum as ChecksumAlgorithm | undefined;
  return algorithm === undefined ? writeHeaders : { ...writeHeaders, [checksumHeaderName(algorithm)]: checksumBase64(algorithm, body) };
}

/** Which of a lane's `written` objects its `n`th GET reads. */
const hot = argv.cache === 'on' ? Math.max(1, argv['hot-keys']) : Number.POSITIVE_INFINITY;
const readIndex = (n: number, written: number): number => n % Math.max(1, Math.min(written, hot));

const small = randomBytes(4096);
const smallHeaders = headersToWrite(small);
const written4k = writtenPerLane(concurrency);
const put4k = !runs('put4k') ? undefined : await phase('put4k', concurrency, async (lane) => {
  const response = await client.send('PUT', `/${workBucket}/small/${lane}/${written4k[lane]}`, '', small, true, smallHeaders);
  if (ok(response.status)) written4k[lane]!++;
  return { ok: ok(response.status), bytes: small.length };
});
/** `small` as the AWS SDKs frame a stream body: one chunk, then a trailer with its CRC-32. */
const checksum = Buffer.alloc(4);
checksum.writeUInt32BE(crc32(small));
const smallChunked = Buffer.concat([
  Buffer.from(`${small.length.toString(16)}\r\n`),
  small,
  Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${checksum.toString('base64')}\r\n\r\n`),
]);
const chunkedHeaders: Record<string, string> = {
  ...writeHeaders,
  'content-encoding': 'aws-chunked',
  'x-amz-content-sha256': STREAMING_UNSIGNED_PAYLOAD_TRAILER,
  'x-amz-decoded-content-length': String(small.length),
  'x-amz-trailer': 'x-amz-checksum-crc32',
};
let writtenChunked = 0;
const put4kChunked = !runs('put4k-chunked') ? undefined : await phase('put4k-chunked', concurrency, async (lane) => {
  const response = await client.send('PUT', `/${workBucket}/chunked/${lane}/${writtenChunked++}`, '', smallChunked, true, chunkedHeaders);
  return { ok: ok(response.status), bytes: small.length };
});
const get4k = !runs('get4k') ? undefined : await phase('get4k', concurrency, async (lane, n) => {
  const response = await client.send('GET', `/${workBucket}/small/${lane}/${readIndex(n, written4k[lane]!)}`, '', undefined, true);
  return { ok: response.status === 200 && response.body.length === small.length, bytes: response.bodyBytes };
});
const head4k = !runs('head4k') ? undefined : await phase('head4k', concurrency, async (lane, n) => {
  const response = await client.send('HEAD', `/${workBucket}/small/${lane}/${readIndex(n, written4k[lane]!)}`, '', undefined, false);
  return { ok: response.status === 200 && response.headers['content-length'] === String(small.length), bytes: 0 };
});

const large = randomBytes(16 * 1024 * 1024);
const largeHeaders = headersToWrite(large);
const largeLanes = Math.min(concurrency, 8);
const written16m = writtenPerLane(largeLanes);
const put16m = !runs('put16m') ? undefined : await phase('put16m', largeLanes, async (lane) => {
  const response = await client.send('PUT', `/${workBucket}/large/${lane}/${written16m[lane]}`, '', large, true, largeHeaders);
  if (ok(response.status)) written16m[lane]!++;
  return { ok: ok(response.status), bytes: large.length };
});
const get16m = !runs('get16m') ? undefined : await phase('get16m', largeLanes, async (lane, n) => {
  const response = await client.send('GET', `/${workBucket}/large/${lane}/${readIndex(n, written16m[lane]!)}`, '', undefined, false);
  return { ok: response.status === 200 && response.bodyBytes === large.length, bytes: response.bodyBytes };
});

/** Times --list-requests ListObjectsV2 pages of 1000 keys from random places in a bucket of --list-objects objects. */
async function listLatenciesMs(): Promise<number[]> {
  const listCount = argv['list-objects'];
  const listBucket = `${argv['bucket-prefix']}-list-${listCount}`;
  await ensureBucket(listBucket);
  const marker = `_populated-${listCount}`;
  const keyOf = (i: number): string => `obj/${String(i).padStart(8, '0')}`;
  if ((await client.send('HEAD', `/${listBucket}/${marker}`, '')).status !== 200) {
    process.stdout.write(`populating ${listBucket} with ${listCount} objects\n`);
    let next = 0;
    const begin = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < listCount; i = next++) {
          for (let attempt = 0; ; attempt++) {
            const response = await client.send('PUT', `/${listBucket}/${encodeKeyPath(keyOf(i))}`, '', Buffer.alloc(0));
            if (ok(response.status)) break;
            if (attempt >= 5) throw new Error(`populating failed at ${keyOf(i)}: ${response.status}`);
          }
        }
      }),
    );
    await client.send('PUT', `/${listBucket}/${marker}`, '', Buffer.alloc(0));
    process.stdout.write(`populated in ${((performance.now() - begin) / 1000).toFixed(1)} s\n`);
  }
  const listLatencies: number[] = [];
  for (let i = 0; i < argv['list-requests']; i++) {
    const startIndex = Math.floor(Math.random() * Math.max(1, listCount - 1000));
    const begin = performance.now();
    const response = await client.send('GET', `/${listBucket}`, `list-type=2&max-keys=1000&start-after=${encodeURIComponent(keyOf(startIndex))}`);
    const elapsed = performance.now() - begin;
    const keys = (response.body.toString().match(/<Key>/g) ?? []).length;
    const expected = Math.min(1000, listCount - startIndex - 1);
    if (response.status !== 200 || keys !== expected) throw new Error(`ListObjectsV2 returned ${response.status} with ${keys} keys, expected ${expected}`);
    listLatencies.push(elapsed);
  }
  listLatencies.sort((a, b) => a - b);
  process.stdout.write(`list1000: ${listLatencies.length} requests, p50=${percentile(listLatencies, 50).toFixed(1)} ms p99=${percentile(listLatencies, 99).toFixed(1)} ms\n`);
  return listLatencies;
}

const listLatencies = runs('list') ? await listLatenciesMs() : undefined;

client.close();
const perSecond = (result: PhaseResult): number => Math.round(result.ops / result.seconds);
const megabytesPerSecond = (result: PhaseResult): number => Math.round(result.bytes / result.seconds / 1e6);
if (put4k) process.stdout.write(`s3.put4k_per_s=${perSecond(put4k)}\ns3.put4k_p99_ms=${percentile(put4k.latenciesMs, 99).toFixed(1)}\n`);
if (get4k) process.stdout.write(`s3.get4k_per_s=${perSecond(get4k)}\n`);
if (head4k) process.stdout.write(`s3.head4k_per_s=${perSecond(head4k)}\n`);
if (put16m) process.stdout.write(`s3.put16m_mb_per_s=${megabytesPerSecond(put16m)}\n`);
if (get16m) process.stdout.write(`s3.get16m_mb_per_s=${megabytesPerSecond(get16m)}\n`);
if (listLatencies) process.stdout.write(`s3.list_ms_p50=${percentile(listLatencies, 50).toFixed(1)}\n`);
if (put4kChunked) process.stdout.write(`s3.put4k_chunked_per_s=${perSecond(put4kChunked)}\n`);
