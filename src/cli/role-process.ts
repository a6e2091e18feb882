/**
 * How a node's process is started, by role: V8 flags and C library settings that measurably change
 * its CPU or memory. `leofs dev` starts its children with them; a node started by hand is told at
 * start what it lacks.
 *
 * Storage: V8 counts Buffer memory allocated since its last full collection against the
 * old-generation limit, and sizes that limit from the JS heap, which stays small (about 15 MiB) while
 * chunk bodies stream through at hundreds of MB/s. With the default limit a storage node under large
 * PUTs ran a full collection every 100 ms and spent a third of its CPU on them; a larger initial old
 * space moves that limit out of the way without raising the ceiling. It also lets up to that much
 * garbage stay after a busy spell, so V8's `gc` is exposed (`--expose-gc`) for the node to collect it
 * once idle (runtime/idle-heap-trim.ts).
 * And fixed malloc thresholds: blocks of up to 8 MiB come from the heap arena, and up to 64 MiB of
 * freed memory at its top stays mapped. Bodies read from files and frames received are fresh Buffers
 * of 1-5 MiB; where glibc mapped them anew, or trimmed the arena after each collection, every one
 * was faulted in again page by page, which on a virtual machine cost more than the reads themselves
 * (a cold 16 MiB read into fresh buffers 10-12 ms of CPU, into reused memory 2-3 ms). With these the
 * storage node's CPU per large PUT and GET fell by a sixth, and large PUTs ran 8% faster.
 *
 * Gateway: a larger initial old space and idle collection, for the same reasons: upload chunks and
 * download pieces stream through as Buffers. Under large PUTs the gateway spent 8-11% of its CPU
 * collecting with the default limit and under 2% with 128 MiB, and large PUTs ran about a fifth faster.
 * 64 MiB does as well for speed (ten parallel 1 GiB PUTs and GETs, 4 KiB PUTs, GETs and HEADs, within
 * noise) and keeps less garbage: the gateway peaked at 190-195 MiB under those transfers instead of
 * 226-228 MiB, its old space collected before the GETs' garbage grew it past 64 MiB.
 * And a fixed malloc mmap threshold of 4 MiB. glibc otherwise raises its threshold to the size
 * of the largest block freed, so after the first 5 MiB chunk buffer of an upload, chunk buffers and
 * download pieces all come from the heap arena, where freed memory stays resident. With the fixed
 * threshold chunk buffers are mapped and go back to the system when freed (chunk-buffers.ts keeps a few
 * for reuse while uploads run, so that they do not fault in again page by page), while 1 MiB pieces stay in
 * the arena (mapping them too cost a fifth of large-GET throughput). Under awscli's parallel 1 GiB
 * transfers the gateway peaked 10-15 MiB lower, at no measurable cost. A smaller young generation
 * (--max-semi-space-size=2) saved more but cost a tenth of small-object and large-GET throughput.
 */
import type { Role } from '../protocol/cluster/roles.js';

export interface RoleProcess {
  readonly v8Flags: readonly string[];
  /** Environment variables, read by the C library when the process starts. */
  readonly env: Readonly<Record<string, string>>;
}

const ROLE_PROCESS: Readonly<Record<Role, RoleProcess>> = {
  storage: {
    v8Flags: ['--initial-old-space-size=128', '--expose-gc'],
    env: { MALLOC_MMAP_THRESHOLD_: String(8 * 1024 * 1024), MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024) },
  },
  gateway: { v8Flags: ['--initial-old-space-size=64', '--expose-gc'], env: { MALLOC_MMAP_THRESHOLD_: String(4 * 1024 * 1024) } },
  manager: { v8Flags: [], env: {} },
};

export function processFor(role: Role): RoleProcess {
  return ROLE_PROCESS[role];
}

/** How to start a node of `role` from `script` (the leofs executable), as a shell command line. */
export function startCommand(role: Role, script: string): string {
  const { v8Flags, env } = processFor(role);
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  return [...assignments, 'node', ...v8Flags, script, 'node', '--role', role, '...'].join(' ');
}

/** What of `role`'s process settings this process was started without, as `NAME=value` and flags. */
export function missingProcessSettings(role: Role, execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): string[] {
  const { v8Flags, env: wanted } = processFor(role);
  const missingEnv = Object.entries(wanted)
    .filter(([name, value]) => env[name] !== value)
    .map(([name, value]) => `${name}=${value}`);
  return [...missingEnv, ...v8Flags.filter((flag) => !execArgv.includes(flag))];
}
