/**
 * V8 flags a node runs with, by role. `leofs dev` starts its children with them; a node started by
 * hand is told at start which ones it lacks.
 *
 * Storage: V8 counts Buffer memory allocated since its last full collection against the
 * old-generation limit, and sizes that limit from the JS heap, which stays small (about 15 MiB) while
 * chunk bodies stream through at hundreds of MB/s. With the default limit a storage node under large
 * PUTs ran a full collection every 100 ms and spent a third of its CPU on them; a larger initial old
 * space moves that limit out of the way without raising the ceiling.
 *
 * The gateway does without: the Buffers it receives turn to garbage at once, and collecting them
 * later measurably raises its resident memory under parallel large transfers.
 */
import type { Role } from '../actors/node-tree.js';

const STORAGE_V8_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

export function v8FlagsFor(role: Role): readonly string[] {
  return role === 'storage' ? STORAGE_V8_FLAGS : [];
}

/** The flags of `role` this process was started without. */
export function missingV8Flags(role: Role, execArgv: readonly string[] = process.execArgv): string[] {
  return v8FlagsFor(role).filter((flag) => !execArgv.includes(flag));
}
