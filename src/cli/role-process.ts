/**
 * V8 flags a node's process starts with, by role. `leofs dev` starts its children with them; a node
 * started by hand is told at start what it lacks.
 *
 * Storage: V8 counts Buffer memory allocated since its last full collection against the
 * old-generation limit, and sizes that limit from the JS heap, which stays small (about 15 MiB) while
 * chunk bodies stream through at hundreds of MB/s. With the default limit a storage node under large
 * PUTs ran a full collection every 100 ms and spent a third of its CPU on them; a larger initial old
 * space moves that limit out of the way without raising the ceiling.
 *
 * Gateway: none. A small young generation (--max-semi-space-size=2) with a fixed malloc mmap
 * threshold kept it about 30 MiB smaller under parallel 1 GiB transfers, but cost a tenth of its
 * small-object and large-GET throughput and made listings 40% slower; the larger old space of storage
 * nodes made it some 30 MiB larger for little CPU gained.
 */
import type { Role } from '../actors/node-tree.js';

const ROLE_V8_FLAGS: Readonly<Record<Role, readonly string[]>> = {
  storage: ['--initial-old-space-size=128'],
  gateway: [],
  manager: [],
};

export function v8FlagsFor(role: Role): readonly string[] {
  return ROLE_V8_FLAGS[role];
}

/** How to start a node of `role` from `script` (the leofs executable), as a shell command line. */
export function startCommand(role: Role, script: string): string {
  return ['node', ...v8FlagsFor(role), script, 'node', '--role', role, '...'].join(' ');
}

/** The flags of `role` this process was started without. */
export function missingV8Flags(role: Role, execArgv: readonly string[] = process.execArgv): string[] {
  return v8FlagsFor(role).filter((flag) => !execArgv.includes(flag));
}
