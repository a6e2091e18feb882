/**
 * Rebalance benchmark: how fast, how gently and how economically a cluster moves data to a storage
 * node added to it. Against a fresh `leofs dev` (3 storage nodes, N=3) it writes a seeded data set of
 * --gib in mixed sizes (mostly 4-64 KiB objects, some of 1 MiB up to --max-object-mib), measures 4 KiB
 * PUTs for --baseline-seconds, starts one more storage node, waits until it is `attached`, runs
 * `rebalance` (with --rate-mbps as its rate when given, else the manager's default limit; 0 is no
 * limit) and keeps measuring 4 KiB PUTs until `rebalance_status` says the rebalance is no longer
 * running (at most --limit-minutes; past that the run fails).
 *
 *   npm run bench:rebalance [-- --gib 2] [--concurrency 8] [--max-object-mib 20] [--baseline-seconds 10] [--rate-mbps 40]
 *                               [--no-load-during]
 *
 * Last lines:
 *   rebalance.mb_per_s=      bytes moved / 10^6 / seconds from the `rebalance` command until the manager
 *                            first reports it not running (polled every 250 ms; this includes the few
 *                            seconds the manager takes to notice that every receiver is done, which the
 *                            output shows beside the time the last receiver logged it was done)
 *   rebalance.s3_put4k_ratio= 4 KiB PUTs per second while the rebalance runs / before it, without it
 *                            (not printed with --no-load-during, which moves the data with no S3 load)
 *   rebalance.moved_ratio=   bytes moved / the theoretical minimum (below); above 1 is data moved for nothing
 *
 * Bytes moved: the sum of `bytes` over the receiving nodes' log lines `received every segment a
 * rebalance moves here` for this rebalance (the node's own final count of the body bytes it took in,
 * across restarts). A node's last `rebalance_status` answer is used instead only if its line cannot
 * be found; the output says so. The status is not used by default because the manager polls the
 * receivers periodically, so the last answer seen before `running` turned false can miss the bytes
 * of the final seconds.
 *
 * Theoretical minimum: what must move for the objects that exist when the rebalance starts (the data
 * set and the baseline's 4 KiB objects), given the two rings: each ring object's body bytes times the
 * number of nodes of its new preference list that are not in its old one. The rings are the manager's
 * ring document (dump_ring) while the rebalance runs, which holds both memberships, and preference
 * lists come from the project's own code (buildRing/preferenceList, keyPosition of the bucket's
 * storage namespace, namespaceOf the get_buckets record, and the key).
 * - A body of at most one chunk (5 MiB, the gateway's default chunk size) is kept whole in the object's
 *   record at keyPosition(namespace, key): its share comes from the rings, exactly.
 * - A larger body is stored as chunks, separate ring objects whose keys hold a random version id that
 *   no client sees, so their places cannot be computed from outside; their parent record has no body
 *   and counts 0 bytes. When the added node is the only receiver (always, when one node joins a ring
 *   without racks), their share is what that node holds of chunks once the rebalance is done: `du`'s
 *   body bytes of the node minus the whole bodies the rings put on it (the data set's, the baseline's
 *   and those of the PUTs made during the rebalance). It started empty, so each of those chunks had to
 *   move to it once. That figure is checked against the expectation for positions spread uniformly over
 *   the ring (their bytes times the key-space-weighted mean number of added holders of planRebalance's
 *   segments, with its standard deviation); more than 3 standard deviations off, or with other
 *   receivers, the expectation is used instead (it then carries a few percent of the chunks' part as
 *   noise), and the output says so. `du`'s object count is also compared with the S3 objects the rings
 *   put on the new node.
 * The minimum does not come from the counts that measure what moved, so the ratio is not 1 by
 * construction: pulling a body twice, pulling a segment whose holders did not change, or pulling a key
 * its receiver already holds raise it, and so does anything pulled that the rings do not put on the
 * receiver (for chunks only as far as the 3-deviation check sees it). What legitimately raises it a
 * little: 4 KiB PUTs of the load during the rebalance that a gateway wrote with the old ring before the
 * new one reached it, which then move too.
 *
 * Admin commands go to the manager through the project's admin client in this process (the same
 * commands, and the same JSON results, as `leofs-adm --json status|dump-ring|get-buckets|rebalance|
 * rebalance-status|du`): starting a leofs-adm process every second would take CPU from the cluster on
 * the small machines this runs on and lower the measured PUT rate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { processFor } from '../src/cli/role-process.js';
import { namespaceOf } from '../src/core/bucket-namespace.js';
import { DEFAULT_CHUNK_SIZE_BYTES, fixedChunkSizes } from '../src/core/chunks.js';
import { keyPosition, rangeWidth, RING_SIZE } from '../src/core/ring/position.js';
import { planRebalance } from '../src/core/ring/rebalance.js';
import { snapshotOf, type RingDocument } from '../src/core/ring/ring-document.js';
import { preferenceList, type Ring } from '../src/core/ring/ring.js';
import type { AdminResult } from '../src/protocol/cluster/admin.js';
import type { HandoffStatus } from '../src/protocol/cluster/handoff.js';
import { startDevCluster, type DevCluster } from './bench-support/dev-cluster.js';
import { stopProcess } from './bench-support/processes.js';
import { parallel } from './bench-support/parallel.js';
import { seededRandom } from './bench-support/seeded-random.js';
import { Teardown } from './bench-support/teardown.js';
import { admin, openDevAdmin, sleep } from './bench-support/admin.js';
import { encodeKeyPath, S3HttpClient } from './s3-bench/s3-http-client.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const argv = await yargs(hideBin(process.argv))
  .option('gib', { type: 'number', default: 2, describe: 'GiB of objects in the data set' })
  .option('concurrency', { type: 'number', default: 8, describe: 'parallel PUTs writing the data set' })
  .option('max-object-mib', { type: 'number', default: 20, describe: 'largest object of the data set' })
  .option('baseline-seconds', { type: 'number', default: 10, describe: 'seconds of 4 KiB PUTs measured before the rebalance' })
  .option('rate-mbps', { type: 'number', describe: 'rebalance --rate: MB/s each receiving node may pull, 0 for no limit (default: the manager default)' })
  .option('storage-nodes', { type: 'number', default: 3, describe: 'storage nodes before the one added' })
  .option('limit-minutes', { type: 'number', default: 30, describe: 'the rebalance fails the run if still running after this' })
  .option('load-during', { type: 'boolean', default: true, describe: 'run the 4 KiB PUT load during the rebalance (--no-load-during: measure the move alone)' })
  .option('seed', { type: 'number', default: 7 })
  .strict()
  .parseAsync();

const KiB = 1024;
const MiB = 1024 * KiB;
const totalBytes = Math.max(0.01, argv.gib) * 1024 * MiB;
const maxObjectBytes = Math.max(1, argv['max-object-mib']) * MiB;
const concurrency = Math.max(1, Math.floor(argv.concurrency));
const rateMBps = argv['rate-mbps'];
if (rateMBps !== undefined && !(Number.isFinite(rateMBps) && rateMBps >= 0)) throw new Error(`--rate-mbps must be a number of at least 0 (got ${rateMBps})`);
const REBALANCE_LIMIT_MS = Math.max(1, argv['limit-minutes']) * 60_000;

const SMALL_MIN_BYTES = 4 * KiB;
const SMALL_MAX_BYTES = 64 * KiB;
const LARGE_MIN_BYTES = Math.min(1 * MiB, maxObjectBytes);
/** Share of the data set's bytes in large objects; by count they are about one in a thousand. */
const LARGE_SHARE = 0.4;
/** The gateway's chunk size in `leofs dev` (no config sets another): bodies up to it are kept whole. */
const CHUNK_BYTES = DEFAULT_CHUNK_SIZE_BYTES;
const LOAD_LANES = 8;
const LOAD_BODY_BYTES = 4 * KiB;
/** Upper bound on the PUTs of one load phase, besides its time. */
const LOAD_MAX_OPS = 50_000_000;
const NEW_NODE = `storage_${Math.max(1, Math.floor(argv['storage-nodes']))}@127.0.0.1`;
const NODE_START_TIMEOUT_MS = 60_000;
const ATTACH_TIMEOUT_MS = 60_000;
const NODE_STOP_TIMEOUT_MS = 15_000;
const ADMIN_TIMEOUT_MS = 30_000;
const POLL_MS = 250;
/** A progress line every 10 s. */
const PROGRESS_EVERY_POLLS = 40;
const LOG_WAIT_MS = 15_000;
/** `du` readings of the new node, a second apart, until two agree. */
const DU_SETTLE_READINGS = 10;
const DONE_MESSAGE = 'received every segment a rebalance moves here';
const BUCKET = 'rebalance';

/**
 * Sizes until they add up to the total: small ones log-uniform in 4-64 KiB, and a large one (uniform
 * from 1 MiB to the maximum) whenever large ones hold less than their share of the bytes so far.
 */
function objectSizes(next: () => number): number[] {
  const sizes: number[] = [];
  let sum = 0;
  let large = 0;
  while (sum < totalBytes) {
    let size: number;
    if (large < LARGE_SHARE * sum) {
      size = Math.floor(LARGE_MIN_BYTES + next() * (maxObjectBytes - LARGE_MIN_BYTES));
      large += size;
    } else {
      size = Math.floor(Math.exp(Math.log(SMALL_MIN_BYTES) + next() * (Math.log(SMALL_MAX_BYTES) - Math.log(SMALL_MIN_BYTES))));
    }
    sizes.push(size);
    sum += size;
  }
  return sizes;
}



interface LoadResult {
  readonly perSecond: number;
  /** Keys of the PUTs that succeeded. */
  readonly keys: string[];
}

/** 4 KiB PUTs on LOAD_LANES lanes until `until` says stop; answers PUTs per second. */
async function put4k(client: S3HttpClient, prefix: string, until: () => boolean, label: string): Promise<LoadResult> {
  const body = randomBytes(LOAD_BODY_BYTES);
  const keys: string[] = [];
  let errors = 0;
  let firstError = '';
  const startedMs = performance.now();
  await Promise.all(Array.from({ length: LOAD_LANES }, async (_, lane) => {
    for (let i = 0; i < LOAD_MAX_OPS / LOAD_LANES && !until(); i++) {
      const key = `${prefix}/${lane}/${String(i).padStart(7, '0')}`;
      try {
        const response = await client.send('PUT', `/${BUCKET}/${encodeKeyPath(key)}`, '', body);
        if (response.status === 200) keys.push(key);
        else {
          errors++;
          firstError ||= `${response.status} ${response.body.toString().slice(0, 200)}`;
        }
      } catch (error) {
        errors++;
        firstError ||= (error as Error).message;
        // A gateway that is gone refuses at once: do not spin.
        await sleep(100);
      }
    }
  }));
  const seconds = (performance.now() - startedMs) / 1000;
  process.stdout.write(`put4k ${label}: ${keys.length} PUTs in ${seconds.toFixed(1)} s, ${Math.round(keys.length / seconds)} PUTs/s, errors=${errors}${firstError ? ` (first: ${firstError})` : ''}\n`);
  return { perSecond: keys.length / seconds, keys };
}

interface LogRecord {
  readonly msg?: unknown;
  readonly change?: unknown;
  readonly objects?: unknown;
  readonly bytes?: unknown;
  readonly t?: unknown;
  readonly level?: unknown;
}

function parseLine(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as LogRecord;
  } catch {
    return undefined;
  }
}

/** The storage node this benchmark adds, started as `leofs dev` starts its storage nodes. */
interface AddedNode {
  readonly child: ChildProcess;
  /** Its log lines, parsed. */
  readonly records: LogRecord[];
  exited(): boolean;
}

async function startStorageNode(cluster: DevCluster, teardown: Teardown): Promise<AddedNode> {
  const devDir = dirname(cluster.cookieFile);
  const short = NEW_NODE.split('@')[0]!;
  const settings = processFor('storage');
  const args = [...settings.v8Flags, CLI, 'node', '--role', 'storage', '--name', NEW_NODE, '--cluster-port', '0', '--manager', cluster.managerAddress,
    '--data', join(devDir, short), '--cookie-file', cluster.cookieFile, '--log-level', 'info'];
  // As leofs dev: its own process group, and LEOFS_PARENT_PID stops it once this process is gone.
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
    env: { ...process.env, ...settings.env, LEOFS_PARENT_PID: String(process.pid) },
  });
  // Inside the dev cluster's directory, so it goes with it.
  const log = createWriteStream(join(devDir, 'logs', `${short}.log`), { flags: 'a', mode: 0o600 });
  teardown.add({
    orderly: async () => {
      await stopProcess(child, 'SIGTERM', NODE_STOP_TIMEOUT_MS);
      log.end();
    },
    lastResort: () => void child.kill('SIGTERM'),
  });
  const records: LogRecord[] = [];
  let pending = '';
  let started = false;
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    log.write(chunk);
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const record = parseLine(line);
      if (!record) {
        if (line.trim()) process.stderr.write(`[${NEW_NODE}] ${line}\n`);
        continue;
      }
      records.push(record);
      if (record.msg === 'node started') started = true;
      if (record.level === 'warn' || record.level === 'error') process.stderr.write(`[${NEW_NODE}] ${String(record.level)}: ${String(record.msg)}\n`);
    }
  });
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const deadline = Date.now() + NODE_START_TIMEOUT_MS;
  while (!started) {
    if (exited()) throw new Error(`${NEW_NODE} exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`);
    if (Date.now() > deadline) throw new Error(`${NEW_NODE} did not start within ${NODE_START_TIMEOUT_MS / 1000} s`);
    await sleep(100);
  }
  return { child, records, exited };
}

/** The last line matching `matches` in a dev storage node's log file, if there is one. */
function doneLineInFile(file: string, matches: (record: LogRecord) => boolean): LogRecord | undefined {
  if (!existsSync(file)) return undefined;
  let found: LogRecord | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const record = parseLine(line);
    if (record && matches(record)) found = record;
  }
  return found;
}

const fmtMB = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

const teardown = new Teardown();
teardown.limitTime(REBALANCE_LIMIT_MS + 3 * 3_600_000, 'bench:rebalance');
try {
  const cluster = await startDevCluster(argv['storage-nodes'], teardown);
  const adm = await openDevAdmin(cluster, teardown, ADMIN_TIMEOUT_MS);
  const s3 = new S3HttpClient({ url: new URL(cluster.endpoint), accessKey: cluster.accessKey, secretKey: cluster.secretKey, region: 'us-east-1' }, concurrency + LOAD_LANES + 4);
  teardown.add({ orderly: async () => s3.close(), lastResort: () => s3.close() });

  const created = await s3.send('PUT', `/${BUCKET}`, '');
  if (created.status !== 200) throw new Error(`cannot create bucket ${BUCKET}: ${created.status} ${created.body.toString()}`);
  const record = (await admin(adm, { command: 'get_buckets' }, 'buckets')).buckets.find((bucket) => bucket.name === BUCKET);
  if (!record) throw new Error(`the manager does not list bucket ${BUCKET}`);
  const namespace = namespaceOf(record);

  // 1. The data set.
  const sizes = objectSizes(seededRandom(argv.seed));
  const keys = sizes.map((_, i) => `data/${String(i).padStart(7, '0')}`);
  const dataBytes = sizes.reduce((sum, size) => sum + size, 0);
  const largeCount = sizes.filter((size) => size > SMALL_MAX_BYTES).length;
  process.stdout.write(`data set: ${sizes.length} objects, ${(dataBytes / MiB).toFixed(0)} MiB (${largeCount} large), N=${cluster.quorum.n}, seed ${argv.seed}\n`);
  const source = randomBytes(maxObjectBytes + 64 * KiB);
  const writeStartedMs = performance.now();
  let written = 0;
  await parallel(keys.map((key, i) => ({ key, size: sizes[i]!, i })), concurrency, async ({ key, size, i }) => {
    const offset = (i * 4099) % (64 * KiB);
    const response = await s3.send('PUT', `/${BUCKET}/${encodeKeyPath(key)}`, '', source.subarray(offset, offset + size));
    if (response.status !== 200) throw new Error(`PUT ${key}: ${response.status} ${response.body.toString().slice(0, 200)}`);
    written++;
  });
  const writeSeconds = (performance.now() - writeStartedMs) / 1000;
  process.stdout.write(`wrote ${written} objects in ${writeSeconds.toFixed(1)} s, ${(dataBytes / MiB / writeSeconds).toFixed(0)} MiB/s\n`);

  // 2. 4 KiB PUTs without a rebalance.
  const baselineEnd = performance.now() + Math.max(1, argv['baseline-seconds']) * 1000;
  const baseline = await put4k(s3, 'load-before', () => performance.now() > baselineEnd || teardown.stopping, 'before the rebalance');

  // 3. One more storage node, attached, then in the ring.
  const before = await admin(adm, { command: 'dump_ring' }, 'ring');
  if (!before.doc) throw new Error('the cluster has no ring');
  const added = await startStorageNode(cluster, teardown);
  const attachDeadline = Date.now() + ATTACH_TIMEOUT_MS;
  for (;;) {
    const status = await admin(adm, { command: 'status' }, 'cluster_status');
    const member = status.members.find((m) => m.node === NEW_NODE);
    // A rebalance is refused until every running node, the new one too, holds the current ring.
    if (member?.state === 'attached' && status.consistent) break;
    if (Date.now() > attachDeadline) {
      throw new Error(`${NEW_NODE} is not attached with the cluster's ring after ${ATTACH_TIMEOUT_MS / 1000} s (state: ${member?.state ?? 'not a member'}, rings consistent: ${status.consistent})`);
    }
    if (added.exited()) throw new Error(`${NEW_NODE} exited before it was attached`);
    await sleep(250);
  }

  let moving = true;
  const during = argv['load-during']
    ? put4k(s3, 'load-during', () => !moving || teardown.stopping, 'while the rebalance runs')
    : Promise.resolve(undefined);
  // The load stops however this ends, and its failures are reported through `await during`.
  during.catch(() => {});
  const rebalanceStartedMs = performance.now();
  const rebalanceStartedAt = Date.now();
  let reply: Extract<AdminResult, { kind: 'rebalance' }>;
  let duringDoc: RingDocument;
  let lastStatus: Extract<AdminResult, { kind: 'rebalance_status' }> | undefined;
  let rebalanceSeconds: number;
  /** The name each receiver gives this rebalance in its progress (and its done line). */
  const changes = new Map<string, string>();
  try {
    reply = await admin(adm, rateMBps === undefined ? { command: 'rebalance' } : { command: 'rebalance', rateBytesPerSec: Math.round(rateMBps * 1e6) }, 'rebalance');
    if (!reply.started) throw new Error('rebalance started no ring change');
    const ringWhileMoving = await admin(adm, { command: 'dump_ring' }, 'ring');
    if (!ringWhileMoving.doc?.previous) throw new Error('the ring has no previous membership right after the rebalance started');
    duringDoc = ringWhileMoving.doc;
    process.stdout.write(`rebalance: epoch ${reply.epoch}, joined ${reply.joined.join(', ')}, receivers ${reply.receivers.join(', ')}, ${reply.segments} segments, ` +
      `rate limit ${reply.rateBytesPerSec === 0 ? 'none' : `${fmtMB(reply.rateBytesPerSec)}/s per receiver`}${rateMBps === undefined ? ' (manager default)' : ' (--rate-mbps)'}\n`);

    // 4. Until the manager drops the previous ring.
    const maxPolls = Math.ceil(REBALANCE_LIMIT_MS / POLL_MS) + 1;
    let done = false;
    for (let poll = 1; poll <= maxPolls && !done; poll++) {
      await sleep(POLL_MS);
      if (added.exited()) throw new Error(`${NEW_NODE} exited during the rebalance (code ${added.child.exitCode}, signal ${added.child.signalCode})`);
      const status = await admin(adm, { command: 'rebalance_status' }, 'rebalance_status');
      if (!status.running) {
        done = true;
        break;
      }
      lastStatus = status;
      for (const { node, status: progress } of status.receivers) if (progress?.change) changes.set(node, progress.change);
      if (poll % PROGRESS_EVERY_POLLS === 0) {
        const parts = status.receivers.map(({ node, status: s }) => (s ? `${node} ${s.state} ${s.segmentsDone}/${s.segments} segments, ${fmtMB(s.bytes)}, ${fmtMB(s.bytesPerSec)}/s${s.lastError ? `, last error: ${s.lastError}` : ''}` : `${node} not yet reported`));
        process.stdout.write(`  after ${Math.round((poll * POLL_MS) / 1000)} s: ${parts.join('; ')}\n`);
      }
      if (performance.now() - rebalanceStartedMs > REBALANCE_LIMIT_MS) break;
    }
    rebalanceSeconds = (performance.now() - rebalanceStartedMs) / 1000;
    if (!done) throw new Error(`the rebalance still runs after ${Math.round(rebalanceSeconds)} s (limit ${REBALANCE_LIMIT_MS / 60_000} min)`);
  } finally {
    moving = false;
  }
  const whileMoving = await during;
  process.stdout.write(`rebalance took ${rebalanceSeconds.toFixed(1)} s\n`);

  // 5. The two rings, as every node built them from the document of the rebalance.
  const afterDoc = (await admin(adm, { command: 'dump_ring' }, 'ring')).doc;
  if (!afterDoc || afterDoc.previous !== null) throw new Error('the manager reports no rebalance running but its ring still has a previous membership');
  const ringsOfMove = snapshotOf(duringDoc);
  const previousRing: Ring = ringsOfMove.previous!;
  const currentRing: Ring = ringsOfMove.current;
  if (previousRing.checksum !== snapshotOf(before.doc).checksum) throw new Error('the ring the rebalance started from is not the ring before it');
  if (snapshotOf(afterDoc).checksum !== currentRing.checksum) throw new Error('the ring after the rebalance is not the one it moved data to');
  if (!currentRing.members.some((member) => member.node === NEW_NODE)) throw new Error(`${NEW_NODE} is not in the ring after the rebalance`);
  const n = duringDoc.settings.n;
  const moves = planRebalance(previousRing, currentRing, n);
  const receivers = [...new Set(moves.flatMap((move) => move.added))].sort();
  if (receivers.join(',') !== [...reply.receivers].sort().join(',')) throw new Error(`the manager named receivers ${reply.receivers.join(', ')}, the rings give ${receivers.join(', ')}`);

  // What moved: the receivers' own counts.
  let movedBytes = 0;
  let movedObjects = 0;
  let lastDoneMs = 0;
  const fromStatus: string[] = [];
  for (const node of receivers) {
    const short = node.split('@')[0]!;
    // The line of this rebalance: by the name the node gave it in rebalance-status, or, if no answer
    // named it, the last line written since the rebalance began (the cluster has seen no other).
    const change = changes.get(node);
    const ofThisRebalance = (r: LogRecord): boolean =>
      r.msg === DONE_MESSAGE && (change !== undefined ? r.change === change : typeof r.t === 'string' && Date.parse(r.t) >= rebalanceStartedAt - 1_000);
    const find = (): LogRecord | undefined =>
      node === NEW_NODE ? added.records.filter(ofThisRebalance).at(-1) : doneLineInFile(join(dirname(cluster.cookieFile), 'logs', `${short}.log`), ofThisRebalance);
    let line = find();
    for (const deadline = Date.now() + LOG_WAIT_MS; !line && Date.now() < deadline; line = find()) await sleep(200);
    if (line && typeof line.bytes === 'number' && typeof line.objects === 'number') {
      movedBytes += line.bytes;
      movedObjects += line.objects;
      if (typeof line.t === 'string') lastDoneMs = Math.max(lastDoneMs, Date.parse(line.t));
      process.stdout.write(`${node}: received ${line.objects} objects, ${fmtMB(line.bytes)} (its log)\n`);
      continue;
    }
    const status: HandoffStatus | null | undefined = lastStatus?.receivers.find((r) => r.node === node)?.status;
    if (!status) throw new Error(`${node} logged no '${DONE_MESSAGE}' line for this rebalance and never reported its progress`);
    fromStatus.push(node);
    movedBytes += status.bytes;
    movedObjects += status.objects;
    process.stdout.write(`${node}: received at least ${status.objects} objects, ${fmtMB(status.bytes)} (its last rebalance-status answer: no log line found)\n`);
  }
  if (lastDoneMs > 0) process.stdout.write(`the last receiver had every segment after ${((lastDoneMs - rebalanceStartedAt) / 1000).toFixed(1)} s\n`);

  // 6. The theoretical minimum, for what existed when the rebalance started.
  const holders = (key: string): { added: number; onNewNode: boolean } => {
    const position = keyPosition(namespace, key);
    const old = preferenceList(previousRing, position, n);
    const now = preferenceList(currentRing, position, n);
    return { added: now.filter((node) => !old.includes(node)).length, onNewNode: now.includes(NEW_NODE) };
  };
  let exactBytes = 0;
  let exactObjects = 0;
  let chunkedBytes = 0;
  let chunkCount = 0;
  let chunkSquares = 0;
  let chunkedObjects = 0;
  /** What the new node must hold of records whose place is known: whole bodies, and S3 objects. */
  let heldWholeBytes = 0;
  let heldObjects = 0;
  sizes.forEach((size, i) => {
    const { added: count, onNewNode } = holders(keys[i]!);
    exactObjects += count;
    if (onNewNode) heldObjects++;
    if (size <= CHUNK_BYTES) {
      exactBytes += size * count;
      if (onNewNode) heldWholeBytes += size;
    } else {
      // The record moves exactly (it has no body); the chunks are placed by keys no client sees.
      const chunks = fixedChunkSizes(size, CHUNK_BYTES);
      chunkedObjects++;
      chunkedBytes += size;
      chunkCount += chunks.length;
      for (const chunk of chunks) chunkSquares += chunk * chunk;
    }
  });
  for (const key of baseline.keys) {
    const { added: count, onNewNode } = holders(key);
    exactObjects += count;
    exactBytes += LOAD_BODY_BYTES * count;
    if (onNewNode) {
      heldObjects++;
      heldWholeBytes += LOAD_BODY_BYTES;
    }
  }
  // Written during the rebalance: not part of the minimum, but on the new node wherever it is a holder.
  for (const key of whileMoving?.keys ?? []) {
    if (!holders(key).onNewNode) continue;
    heldObjects++;
    heldWholeBytes += LOAD_BODY_BYTES;
  }
  // Added holders of a uniformly random position: mean and variance, weighted by the segments' widths.
  let mean = 0;
  let meanSquare = 0;
  for (const move of moves) {
    const share = Number(rangeWidth(move.start, move.end)) / Number(RING_SIZE);
    mean += share * move.added.length;
    meanSquare += share * move.added.length ** 2;
  }
  const chunkExpectedBytes = chunkedBytes * mean;
  const chunkSdBytes = Math.sqrt(Math.max(0, meanSquare - mean * mean) * chunkSquares);

  // The chunks' part: exactly what the new node holds of them when it is the only receiver (it started
  // empty, so every chunk on it came by the rebalance), checked against the ring's expectation; else
  // the expectation.
  let chunkMinimumBytes = chunkExpectedBytes;
  let chunkSource = `expected from the rings (${fmtMB(chunkSdBytes)} standard deviation)`;
  if (receivers.length === 1 && receivers[0] === NEW_NODE) {
    // Settled: the third replica of the last PUTs may still be on its way.
    let usage = await admin(adm, { command: 'du', node: NEW_NODE }, 'disk_usage');
    for (let i = 0; i < DU_SETTLE_READINGS; i++) {
      await sleep(1_000);
      const again = await admin(adm, { command: 'du', node: NEW_NODE }, 'disk_usage');
      const same = again.activeBytes === usage.activeBytes && again.objects === usage.objects;
      usage = again;
      if (same) break;
    }
    const chunkHeldBytes = usage.activeBytes - heldWholeBytes;
    const deviations = chunkSdBytes > 0 ? (chunkHeldBytes - chunkExpectedBytes) / chunkSdBytes : 0;
    process.stdout.write(
      `${NEW_NODE} holds ${usage.objects} objects (the rings say ${heldObjects}), ${fmtMB(usage.activeBytes)} of bodies: ` +
        `${fmtMB(heldWholeBytes)} whole bodies by the rings, so ${fmtMB(chunkHeldBytes)} of chunks (expected ${fmtMB(chunkExpectedBytes)} ± ${fmtMB(chunkSdBytes)}, ${deviations.toFixed(1)} standard deviations)\n`,
    );
    if (usage.objects !== heldObjects) process.stdout.write(`warning: ${NEW_NODE} holds ${usage.objects - heldObjects} objects more than its place in the ring gives it\n`);
    if (chunkHeldBytes < 0 || Math.abs(deviations) > 3) {
      process.stdout.write(`warning: the chunks on ${NEW_NODE} are far from what the rings lead to expect; the chunks' part of the minimum is the expectation\n`);
    } else {
      chunkMinimumBytes = chunkHeldBytes;
      chunkSource = `held by ${NEW_NODE} (du)`;
    }
  }
  const minimumBytes = exactBytes + chunkMinimumBytes;
  const minimumObjects = exactObjects + chunkCount * mean;
  process.stdout.write(
    `key space moved: ${(mean * 100).toFixed(1)}% (added holders per position, mean over the ring), ${moves.length} segments\n` +
      `theoretical minimum: ${fmtMB(minimumBytes)} = ${fmtMB(exactBytes)} from the rings for ${sizes.length - chunkedObjects} whole objects and ${baseline.keys.length} baseline objects` +
      ` + ${fmtMB(chunkMinimumBytes)} ${chunkSource} for ${chunkCount} chunks of ${chunkedObjects} large objects; about ${Math.round(minimumObjects)} ring objects\n` +
      `moved: ${movedObjects} objects, ${fmtMB(movedBytes)} in ${rebalanceSeconds.toFixed(1)} s${fromStatus.length > 0 ? ` (${fromStatus.join(', ')} from rebalance-status, not their logs)` : ''}\n` +
      `rate limit: ${reply.rateBytesPerSec === 0 ? 'none' : `${fmtMB(reply.rateBytesPerSec)}/s per receiving node`}${rateMBps === undefined ? ' (manager default)' : ' (--rate-mbps)'}\n` +
      `4 KiB PUTs: ${Math.round(baseline.perSecond)}/s before, ${whileMoving ? `${Math.round(whileMoving.perSecond)}/s during` : 'none during (--no-load-during)'}\n`,
  );

  await teardown.run();
  process.stdout.write(`rebalance.mb_per_s=${(movedBytes / 1e6 / rebalanceSeconds).toFixed(1)}\n`);
  if (whileMoving) process.stdout.write(`rebalance.s3_put4k_ratio=${(whileMoving.perSecond / Math.max(1e-9, baseline.perSecond)).toFixed(2)}\n`);
  process.stdout.write(`rebalance.moved_ratio=${(movedBytes / Math.max(1, minimumBytes)).toFixed(3)}\n`);
  process.exit(0);
} catch (error) {
  await teardown.exit(1, `bench:rebalance: ${(error as Error).message}`);
}
