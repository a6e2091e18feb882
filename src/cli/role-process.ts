/**
 * What a node's process starts with, by role: V8 flags and environment. `leofs dev` starts its
 * children with them; a node started by hand is told at start what it lacks.
 *
 * Storage: V8 counts Buffer memory allocated since its last full collection against the
 * old-generation limit, and sizes that limit from the JS heap, which stays small (about 15 MiB) while
 * chunk bodies stream through at hundreds of MB/s. With the default limit a storage node under large
 * PUTs ran a full collection every 100 ms and spent a third of its CPU on them; a larger initial old
 * space moves that limit out of the way without raising the ceiling.
 *
 * Gateway: a fixed malloc mmap threshold of 4 MiB. glibc otherwise raises its threshold to the size
 * of the largest block freed, so after the first 5 MiB chunk buffer of an upload, chunk buffers and
 * download pieces all come from the heap arena, where freed memory stays resident. With the fixed
 * threshold chunk buffers are mapped and go back to the system when freed, while 1 MiB pieces stay in
 * the arena (mapping them too cost a fifth of large-GET throughput). Under awscli's parallel 1 GiB
 * transfers the gateway peaked 10-15 MiB lower, at no measurable cost. A smaller young generation
 * (--max-semi-space-size=2) saved more but cost a tenth of small-object and large-GET throughput.
 */
import type { Role } from '../actors/node-tree.js';

const ROLE_V8_FLAGS: Readonly<Record<Role, readonly string[]>> = {
  storage: ['--initial-old-space-size=128'],
  gateway: [],
  manager: [],
};

const ROLE_ENV: Readonly<Record<Role, Readonly<Record<string, string>>>> = {
  storage: {},
  gateway: { MALLOC_MMAP_THRESHOLD_: String(4 * 1024 * 1024) },
  manager: {},
};

export function v8FlagsFor(role: Role): readonly string[] {
  return ROLE_V8_FLAGS[role];
}

/** Environment variables a process of `role` needs from its start (the C library reads them then). */
export function envFor(role: Role): Readonly<Record<string, string>> {
  return ROLE_ENV[role];
}

/** How to start a node of `role` from `script` (the leofs executable), as a shell command line. */
export function startCommand(role: Role, script: string): string {
  const env = Object.entries(envFor(role)).map(([name, value]) => `${name}=${value}`);
  return [...env, 'node', ...v8FlagsFor(role), script, 'node', '--role', role, '...'].join(' ');
}

/** The flags of `role` this process was started without. */
export function missingV8Flags(role: Role, execArgv: readonly string[] = process.execArgv): string[] {
  return v8FlagsFor(role).filter((flag) => !execArgv.includes(flag));
}

/** The environment settings of `role` this process was started without, as NAME=value. */
export function missingEnv(role: Role, env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(envFor(role))
    .filter(([name, value]) => env[name] !== value)
    .map(([name, value]) => `${name}=${value}`);
}
