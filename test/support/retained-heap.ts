/**
 * How much heap what a test keeps costs, measured between two full collections: for tests that a value
 * kept long (a cache entry, an id) does not keep alive the frame it was decoded from.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's full collection, made callable in this process. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap bytes per item that `keep` retains, after it ran `count` times. */
export function retainedBytesPerItem(count: number, keep: (index: number) => void): number {
  const gc = collector();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let index = 0; index < count; index++) keep(index);
  gc();
  return (process.memoryUsage().heapUsed - before) / count;
}

/** Fields enough that a frame's short strings come out of the decoder as slices of one long run. */
export function manyShortFields(index: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: 40 }, (_, field) => [`field-${field}`, `value-${field}-of-item-${index}`]));
}
