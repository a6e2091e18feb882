/**
 * Copies the records of named databases from one LMDB environment into another, a batch per
 * transaction: the way to shrink an environment's file. LMDB's own compacting copy (mdb_env_copy2 with
 * MDB_CP_COMPACT, lmdb-js's `backup(path, true)`) leaves an environment that the LMDB build lmdb-js
 * ships aborts on (an assertion in mdb_page_alloc) at the first write that needs a page once large
 * values were copied; a copy record by record starts with an empty free list and has no such trouble.
 *
 * Values are copied as stored (raw bytes), whatever their encoding.
 */
import type { RootDatabase } from 'lmdb';

const BATCH_RECORDS = 1000;

/** The named databases of an environment (the keys of its main database). */
export function databaseNames(root: RootDatabase): string[] {
  return [...root.getKeys({})].filter((key): key is string => typeof key === 'string');
}

/**
 * Copies every record of the databases `names` from `source` to `target`. Between batches it yields
 * to other work, for `pauseMs()` when that says so (and stops if `signal` is aborted); records written
 * to `source` meanwhile may or may not be copied (the caller brings the copy up to date with what it
 * recorded).
 */
export async function copyRecords(source: RootDatabase, target: RootDatabase, names: readonly string[], signal?: AbortSignal, pauseMs: () => number = () => 0): Promise<number> {
  let copied = 0;
  for (const name of names) {
    const from = source.openDB({ name, keyEncoding: 'binary', encoding: 'binary' });
    const to = target.openDB({ name, keyEncoding: 'binary', encoding: 'binary' });
    const records = recordBatches(from, (key, value) => ({ key, value: Buffer.from(value as Uint8Array) }), () => pause(pauseMs()), signal);
    for await (const batch of records) {
      await target.transaction(() => {
        for (const { key, value } of batch) void to.put(key, value);
      });
      copied += batch.length;
    }
  }
  return copied;
}

/** A table read by key ranges, as lmdb-js gives them. */
export interface RangeReadable {
  getRange(options: { start?: Buffer; limit: number }): Iterable<{ readonly key: unknown; readonly value: unknown }>;
}

/**
 * Every record of `table` in key order, BATCH_RECORDS at a time, each batch read at once: `take` turns
 * a record (its key a copy) into what the batch keeps. After each full batch, once the caller is done
 * with it, `between()` runs (to yield, or wait), and the reading stops if `signal` was aborted.
 */
export async function* recordBatches<T>(table: RangeReadable, take: (key: Buffer, value: unknown) => T, between: () => Promise<void>, signal?: AbortSignal): AsyncGenerator<T[]> {
  let start: Buffer | undefined;
  for (;;) {
    const batch: T[] = [];
    let last: Buffer | undefined;
    for (const { key, value } of table.getRange({ ...(start ? { start } : {}), limit: BATCH_RECORDS })) {
      last = Buffer.from(key as Uint8Array);
      batch.push(take(last, value));
    }
    if (last === undefined) return;
    yield batch;
    if (batch.length < BATCH_RECORDS) return;
    // The next key after the last one read: the same bytes and a zero byte.
    start = Buffer.concat([last, Buffer.from([0])]);
    await between();
    signal?.throwIfAborted();
  }
}

/** Waits `waitMs`, or, for 0, lets other work have one turn: the step between two batches of background work. */
export function pause(waitMs: number): Promise<void> {
  return new Promise((resolve) => (waitMs > 0 ? setTimeout(resolve, waitMs) : setImmediate(resolve)));
}
