/**
 * Work over many items with at most so many at a time: enough in flight to hide each one's latency,
 * few enough not to flood the cluster or the disk.
 */

/** `fn` of every item, at most `concurrency` at once; the results in the items' order. */
export async function mapBounded<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
