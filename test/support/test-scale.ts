/**
 * How long the long-running races run. `npm test` keeps them to a bounded count so that the whole suite
 * fits its time budget; `npm run test:long` (LEOFS_LONG_TESTS=1) runs their full counts.
 */
export const LONG_TESTS = process.env.LEOFS_LONG_TESTS === '1';

/** `full` when the long runs are asked for, `bounded` otherwise. */
export function scaled(full: number, bounded: number): number {
  return LONG_TESTS ? full : bounded;
}
