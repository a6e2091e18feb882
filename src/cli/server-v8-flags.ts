/**
 * V8 flags every server node runs with; the `leofs` executable's first line passes the same ones.
 *
 * V8 counts Buffer memory allocated since its last full collection against the old-generation limit,
 * and sizes that limit from the JS heap, which stays small here (about 15 MiB) while object bodies
 * stream through at hundreds of MB/s. With the default limit a storage node under large PUTs ran a
 * full collection every 100 ms and spent a third of its CPU on them. A larger initial old space moves
 * the first limit out of the way without raising the ceiling; Buffers are still collected, because
 * V8's separate external-memory limit keeps triggering collections.
 */
export const SERVER_V8_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

/** The server flags this process was started without. */
export function missingServerV8Flags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVER_V8_FLAGS.filter((flag) => !execArgv.includes(flag));
}
