/**
 * The load phases every benchmark runs: lanes repeat an operation for a fixed time, then the phase is
 * reported as ops, bytes, latency percentiles and errors (the first one named). A phase may be
 * preceded by a warm-up of the same load, reported but not counted.
 */

export interface PhaseResult {
  readonly ops: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
  readonly errors: number;
  readonly firstError: string;
}

/** `problem`: why an operation failed, kept for the first failure of a phase. */
export type Operation = (lane: number, n: number) => Promise<{ ok: boolean; bytes: number; problem?: string }>;

export interface PhaseTiming {
  readonly warmupMs: number;
  readonly phaseMs: number;
}

/** Runs `op` on every lane for `durationMs` and measures it. */
export async function runLoad(name: string, lanes: number, op: Operation, durationMs: number): Promise<PhaseResult> {
  const latenciesMs: number[] = [];
  let ops = 0;
  let bytes = 0;
  let errors = 0;
  let firstError = '';
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const begin = performance.now();
        try {
          const result = await op(lane, n);
          if (result.ok) {
            ops++;
            bytes += result.bytes;
            latenciesMs.push(performance.now() - begin);
          } else {
            errors++;
            firstError ||= result.problem ?? 'failed';
          }
        } catch (error) {
          errors++;
          firstError ||= (error as Error).message;
        }
        if (errors > 100 && errors > ops) throw new Error(`${name}: too many errors (${errors}), the first: ${firstError}`);
      }
    }),
  );
  latenciesMs.sort((a, b) => a - b);
  return { ops, bytes, seconds: (performance.now() - t0) / 1000, latenciesMs, errors, firstError };
}

/** A warm-up, reported but not counted, then the measured phase, printed as one line. */
export async function runPhase(name: string, lanes: number, op: Operation, timing: PhaseTiming): Promise<PhaseResult> {
  if (timing.warmupMs > 0) {
    const warmup = await runLoad(`${name} warm-up`, lanes, op, timing.warmupMs);
    process.stdout.write(`${name} warm-up (not counted): ${warmup.ops} ops in ${warmup.seconds.toFixed(1)} s, ${(warmup.ops / warmup.seconds).toFixed(0)} ops/s, errors=${warmup.errors}\n`);
  }
  const result = await runLoad(name, lanes, op, timing.phaseMs);
  const { ops, bytes, seconds, latenciesMs, errors, firstError } = result;
  const firstErrorText = errors > 0 ? ` (first: ${firstError})` : '';
  process.stdout.write(
    `${name}: ${ops} ops in ${seconds.toFixed(1)} s, ${(ops / seconds).toFixed(0)} ops/s, ${(bytes / seconds / 1e6).toFixed(1)} MB/s, ` +
      `p50=${percentile(latenciesMs, 50).toFixed(1)} ms p99=${percentile(latenciesMs, 99).toFixed(1)} ms, errors=${errors}${firstErrorText}\n`,
  );
  return result;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
