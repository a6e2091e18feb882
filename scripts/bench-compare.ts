/**
 * The S3 benchmark (bench-s3.js) against s3rver and against leofs dev, in one run: s3rver 3.7.1
 * (installed into a temporary directory for the run; it keeps objects as plain files and does not
 * fsync), leofs dev with one storage node (N=1) and leofs dev with three (N=3). Each server is started
 * fresh in its own temporary directory, measured, and stopped before the next one starts.
 *
 *   npm run bench:compare [-- --duration 10] [--warmup 3] [--concurrency 32] [--list-objects 2000] [--rounds 1]
 *
 * With --rounds R, every server is measured R times, each round in another order (s3rver first, then
 * N=1 first, then N=3 first, ...): a machine whose speed drifts from minute to minute moves the figures
 * of a single run by a fifth or more, and rounds in turn spread that drift over all three servers.
 *
 * Prints each benchmark's output as it runs, then a table of the figures (each server's median over the
 * rounds), then each round's ratios, then as last lines each leofs figure divided by s3rver's in the same
 * round, the median over the rounds (above 1 is faster than s3rver, except p99 latency, where below 1 is
 * better), and the N=3 put4k rate divided by the N=1 one (what two more replicas cost):
 *   compare.put4k_n1_ratio=  compare.put4k_n3_ratio=  compare.put4k_p99_n1_ratio=  compare.put4k_p99_n3_ratio=
 *   compare.get4k_n1_ratio=  compare.get4k_n3_ratio=  compare.head4k_n1_ratio=  compare.head4k_n3_ratio=
 *   compare.put16m_n1_ratio= compare.put16m_n3_ratio= compare.get16m_n1_ratio= compare.get16m_n3_ratio=
 *   compare.put4k_n3_over_n1=
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { startDevCluster } from './bench-support/dev-cluster.js';
import { stopProcess } from './bench-support/processes.js';
import { installS3rver, S3RVER_CREDENTIALS, S3RVER_VERSION, startS3rver } from './bench-support/s3rver.js';
import { Teardown } from './bench-support/teardown.js';

const BENCH_S3 = fileURLToPath(new URL('./bench-s3.js', import.meta.url));

const argv = await yargs(hideBin(process.argv))
  .option('duration', { type: 'number', default: 10, describe: 'seconds per phase' })
  .option('warmup', { type: 'number', default: 3, describe: 'seconds of uncounted load before each PUT and GET phase' })
  .option('concurrency', { type: 'number', default: 32 })
  .option('list-objects', { type: 'number', default: 2000, describe: 'objects in the bucket that ListObjectsV2 is timed on' })
  .option('rounds', { type: 'number', default: 1, describe: 'times every server is measured, each round in another order; medians are reported' })
  .strict()
  .parseAsync();

/** The figures bench-s3 prints as its last lines, by name without the `s3.` prefix. */
const FIGURES = ['put4k_per_s', 'put4k_p99_ms', 'get4k_per_s', 'head4k_per_s', 'put16m_mb_per_s', 'get16m_mb_per_s', 'list_ms_p50'] as const;
type Figure = (typeof FIGURES)[number];
type Figures = Readonly<Record<Figure, number>>;

interface Endpoint {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  stop(): Promise<void>;
}

interface Server {
  readonly label: string;
  start(): Promise<Endpoint>;
}

if (!Number.isInteger(argv.rounds) || argv.rounds < 1) throw new Error(`--rounds: a whole number of at least 1, not ${argv.rounds}`);
const rounds = argv.rounds;
const teardown = new Teardown();
const benchLimitMs = 60_000 + 4 * (argv.warmup + argv.duration + 30) * 1000 + argv['list-objects'] * 50;
// The install, then per server and round: its start, the benchmark and its stop.
teardown.limitTime(180_000 + rounds * 3 * (120_000 + benchLimitMs + 60_000), 'bench:compare');

/** leofs dev with `storageNodes` storage nodes, refused unless it runs the cluster with `n` replicas. */
function leofs(storageNodes: number, n: number): Server {
  return {
    label: `leofs N=${n}`,
    start: async () => {
      const cluster = await startDevCluster(storageNodes, teardown);
      if (cluster.quorum.n !== n) {
        await cluster.stop();
        throw new Error(`leofs dev --storage-nodes ${storageNodes} runs the cluster with N=${cluster.quorum.n}, not N=${n}; this comparison needs N=${n}`);
      }
      return cluster;
    },
  };
}

/** Runs bench-s3.js against `server`, echoing its output, and returns its last-line figures. */
async function benchmark(label: string, server: Endpoint): Promise<Figures> {
  const args = [
    BENCH_S3,
    ...['--endpoint', server.endpoint, '--access-key', server.accessKey, '--secret-key', server.secretKey],
    ...['--concurrency', String(argv.concurrency), '--duration', String(argv.duration), '--warmup', String(argv.warmup)],
    ...['--list-objects', String(argv['list-objects'])],
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const forget = teardown.add({ orderly: () => stopProcess(child, 'SIGTERM', 10_000), lastResort: () => child.kill('SIGKILL') });
  const figures: Partial<Record<Figure, number>> = {};
  let pending = '';
  let stderrTail = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      process.stdout.write(`[${label}] ${line}\n`);
      const figure = /^s3\.(\w+)=(\S+)$/.exec(line);
      if (figure && (FIGURES as readonly string[]).includes(figure[1]!)) figures[figure[1] as Figure] = Number(figure[2]);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-3000);
    process.stderr.write(chunk.replace(/^(?=.)/gm, `[${label}] `));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), benchLimitMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])));
  clearTimeout(timer);
  await forget();
  if (code !== 0) throw new Error(`bench:s3 against ${label} ${signal === 'SIGKILL' ? `did not finish within ${Math.round(benchLimitMs / 1000)} s` : `exited with code ${code}`}${stderrTail ? `:\n${stderrTail}` : ''}`);
  const missing = FIGURES.filter((name) => !Number.isFinite(figures[name]));
  if (missing.length > 0) throw new Error(`bench:s3 against ${label} printed no ${missing.map((name) => `s3.${name}=`).join(', ')}`);
  return figures as Figures;
}

function table(rows: ReadonlyArray<{ label: string; figures: Figures | undefined }>): string {
  const header = ['server', 'put4k/s', 'put4k p99 ms', 'get4k/s', 'head4k/s', 'put16m MB/s', 'get16m MB/s', 'list p50 ms'];
  const cells = rows.map(({ label, figures }) => [label, ...FIGURES.map((name) => (figures === undefined ? 'failed' : String(figures[name])))]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
  const line = (row: readonly string[]): string => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...cells.map(line)].join('\n') + '\n';
}

function ratio(numerator: Figures | undefined, denominator: Figures | undefined, name: Figure): number | undefined {
  if (numerator === undefined || denominator === undefined || denominator[name] <= 0) return undefined;
  return numerator[name] / denominator[name];
}

/** The median of the values that are there; undefined when none is. */
function median(values: ReadonlyArray<number | undefined>): number | undefined {
  const present = values.filter((value): value is number => value !== undefined).sort((a, b) => a - b);
  if (present.length === 0) return undefined;
  const middle = Math.floor(present.length / 2);
  return present.length % 2 === 1 ? present[middle] : (present[middle - 1]! + present[middle]!) / 2;
}

/** Each figure's median over the rounds in which the server was measured; undefined when it never was. */
function medianFigures(measured: ReadonlyArray<Figures | undefined>): Figures | undefined {
  if (measured.every((figures) => figures === undefined)) return undefined;
  return Object.fromEntries(FIGURES.map((name) => [name, median(measured.map((figures) => figures?.[name]))!])) as Record<Figure, number>;
}

function formatRatio(value: number | undefined): string {
  return value === undefined ? 'n/a' : value.toFixed(2);
}

const root = mkdtempSync(join(tmpdir(), 'leofs-bench-compare-'));
teardown.add({ orderly: async () => rmSync(root, { recursive: true, force: true }), lastResort: () => rmSync(root, { recursive: true, force: true }) });
/** Per round, each server's figures by label (undefined where its run failed). */
const roundResults: Array<Map<string, Figures | undefined>> = [];
let failures = 0;
try {
  process.stdout.write(`installing s3rver ${S3RVER_VERSION} into ${root}\n`);
  const s3rverScript = await installS3rver(join(root, 's3rver'));
  const servers: Server[] = [
    {
      label: 's3rver',
      start: async () => ({ ...(await startS3rver(s3rverScript, join(root, 's3rver-data'), teardown)), ...S3RVER_CREDENTIALS }),
    },
    leofs(1, 1),
    leofs(3, 3),
  ];
  for (let round = 0; round < rounds; round++) {
    const measured = new Map<string, Figures | undefined>();
    roundResults.push(measured);
    const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
    for (const server of order) {
      process.stdout.write(`\n== ${server.label}${rounds > 1 ? `, round ${round + 1} of ${rounds}` : ''}\n`);
      try {
        const running = await server.start();
        try {
          measured.set(server.label, await benchmark(server.label, running));
        } finally {
          await running.stop();
        }
      } catch (error) {
        // Work cut off because the run is being given up is no result; that exit ends the run.
        if (teardown.stopping) await teardown.exit(1, 'stopping');
        failures++;
        process.stderr.write(`bench:compare: ${(error as Error).message}\n`);
        measured.set(server.label, undefined);
      }
    }
  }
} catch (error) {
  await teardown.exit(1, `bench:compare: ${(error as Error).message}`);
}
await teardown.run();

const LABELS = ['s3rver', 'leofs N=1', 'leofs N=3'] as const;
const results = LABELS.map((label) => ({ label, figures: medianFigures(roundResults.map((measured) => measured.get(label))) }));
process.stdout.write(`\n${rounds > 1 ? `medians of ${rounds} rounds:\n` : ''}${table(results)}\n`);
const RATIOS = [
  ['put4k', 'put4k_per_s'],
  ['put4k_p99', 'put4k_p99_ms'],
  ['get4k', 'get4k_per_s'],
  ['head4k', 'head4k_per_s'],
  ['put16m', 'put16m_mb_per_s'],
  ['get16m', 'get16m_mb_per_s'],
] as const;
/** Each ratio as measured in every round: leofs against s3rver in the same round. */
const ratiosByRound = roundResults.map((measured) => {
  const [s3rver, n1, n3] = LABELS.map((label) => measured.get(label));
  const line = new Map<string, number | undefined>();
  for (const [name, figure] of RATIOS) {
    line.set(`${name}_n1_ratio`, ratio(n1, s3rver, figure));
    line.set(`${name}_n3_ratio`, ratio(n3, s3rver, figure));
  }
  line.set('put4k_n3_over_n1', ratio(n3, n1, 'put4k_per_s'));
  return line;
});
const ratioNames = [...ratiosByRound[0]!.keys()];
if (rounds > 1) {
  ratiosByRound.forEach((line, round) => process.stdout.write(`round ${round + 1}: ${ratioNames.map((name) => `${name.replace(/_ratio$/, '')} ${formatRatio(line.get(name))}`).join(', ')}\n`));
  process.stdout.write('\n');
}
for (const name of ratioNames) process.stdout.write(`compare.${name}=${formatRatio(median(ratiosByRound.map((line) => line.get(name))))}\n`);
process.exit(failures > 0 ? 1 : 0);
