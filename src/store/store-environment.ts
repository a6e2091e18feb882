/**
 * The LMDB environment of a storage node's object store, and its compaction. LMDB reuses the pages
 * freed by deletes but never gives them back to the file system; the only way to shrink its file is
 * a compacting copy. So the environment lives in a generation:
 *
 *   objects/data.mdb            generation 0 (every store starts here, as earlier releases did)
 *   objects/env-<n>/data.mdb    generation n, made by the n-th compaction
 *   objects/CURRENT             the generation in use when it is not 0
 *
 * A compaction copies the records into the next generation while writes go on (they are recorded
 * as they are made and replayed into the copy), opens it, and only then names it in CURRENT (written
 * whole and synced); the old generation is removed after. A crash at any point leaves CURRENT naming a
 * complete environment, and the next start removes the other one.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type DatabaseOptions, type RootDatabase } from 'lmdb';
import { processMapReservation } from './map-reservation.js';
import { copyRecords, databaseNames } from './lmdb-copy.js';
import { estimateCompactedBytes, type CompactedEstimate } from './lmdb-survey.js';
import { DEFAULT_META_FORMAT, metaEncoder, type MetaFormat, type TableEncoder } from './meta-encoding.js';
import { makePrivateDir, privateEnvironment, restrictFilesToOwner, writePrivateFile } from './private-files.js';

const CURRENT_FILE = 'CURRENT';
const GENERATION = /^env-([1-9][0-9]*)$/;

export interface EnvironmentOptions {
  /** The `objects` directory. */
  readonly directory: string;
  /** Sync every commit to disk (default). */
  readonly durable: boolean;
  /** The format metadata records are written in (meta-encoding.ts); every format is read. Default 3. */
  readonly metaFormat?: MetaFormat;
}

export const TABLE_NAMES = ['meta', 'data', 'tails', 'files', 'ringIndex', 'undo', 'queues', 'namespaces', 'tombstones', 'presence', 'cas'] as const;
export type TableName = (typeof TABLE_NAMES)[number];

/** One write to a table, as a compaction replays it into the copy. */
export interface TableWrite {
  readonly table: TableName;
  readonly key: unknown;
  /** Absent for a removal. */
  readonly value?: unknown;
  readonly remove: boolean;
}

interface Tables {
  readonly meta: Database<unknown, Buffer>;
  readonly data: Database<Uint8Array, Buffer>;
  readonly tails: Database<Uint8Array, Buffer>;
  readonly files: Database<number, Buffer>;
  readonly ringIndex: Database<string, Buffer>;
  readonly undo: Database<unknown, Buffer>;
  readonly queues: Database<unknown, Buffer>;
  readonly namespaces: Database<unknown, string>;
  readonly tombstones: Database<unknown, Buffer>;
  readonly presence: Database<unknown, string>;
  readonly cas: Database<unknown, Buffer>;
}

/** The named databases of the object store (see object-store.ts for what each holds). */
export class StoreTables implements Tables {
  readonly meta: Database<unknown, Buffer>;
  readonly data: Database<Uint8Array, Buffer>;
  readonly tails: Database<Uint8Array, Buffer>;
  readonly files: Database<number, Buffer>;
  readonly ringIndex: Database<string, Buffer>;
  readonly undo: Database<unknown, Buffer>;
  readonly queues: Database<unknown, Buffer>;
  readonly namespaces: Database<unknown, string>;
  readonly tombstones: Database<unknown, Buffer>;
  readonly presence: Database<unknown, string>;
  readonly cas: Database<unknown, Buffer>;
  readonly pageSize: number;

  private constructor(
    readonly root: RootDatabase,
    readonly generation: number,
    readonly path: string,
    tables?: Tables,
    metaFormat: MetaFormat = DEFAULT_META_FORMAT,
  ) {
    this.meta = tables?.meta ?? openMetaTable(root, metaFormat);
    this.data = tables?.data ?? root.openDB({ name: 'data', keyEncoding: 'binary', encoding: 'binary' });
    this.tails = tables?.tails ?? root.openDB({ name: 'data_tails', keyEncoding: 'binary', encoding: 'binary' });
    this.files = tables?.files ?? root.openDB({ name: 'body_files', keyEncoding: 'binary' });
    this.ringIndex = tables?.ringIndex ?? root.openDB({ name: 'ring_index', keyEncoding: 'binary', encoding: 'string' });
    this.undo = tables?.undo ?? root.openDB({ name: 'undo', keyEncoding: 'binary' });
    this.queues = tables?.queues ?? root.openDB({ name: 'queues', keyEncoding: 'binary' });
    this.namespaces = tables?.namespaces ?? root.openDB({ name: 'namespaces' });
    this.tombstones = tables?.tombstones ?? root.openDB({ name: 'tombstones', keyEncoding: 'binary' });
    this.presence = tables?.presence ?? root.openDB({ name: 'presence' });
    this.cas = tables?.cas ?? root.openDB({ name: 'cas', keyEncoding: 'binary' });
    this.pageSize = (root.getStats() as { pageSize: number }).pageSize;
  }

  /**
   * The same tables, every put and remove also written to `log` as it happens (in the order the
   * transactions apply them), so that a copy made meanwhile can be brought up to date.
   */
  recording(log: TableWrite[]): StoreTables {
    const wrap = <D extends Database<never, never>>(table: TableName, db: D): D =>
      new Proxy(db, {
        get(target, property, receiver) {
          if (property === 'put') return (key: unknown, value: unknown) => (log.push({ table, key, value, remove: false }), (target as unknown as Database).put(key as never, value));
          if (property === 'remove') return (key: unknown) => (log.push({ table, key, remove: true }), (target as unknown as Database).remove(key as never));
          const found = Reflect.get(target, property, receiver) as unknown;
          return typeof found === 'function' ? (found as (...args: unknown[]) => unknown).bind(target) : found;
        },
      });
    const tables = Object.fromEntries(TABLE_NAMES.map((name) => [name, wrap(name, this[name] as Database<never, never>)])) as unknown as Tables;
    return new StoreTables(this.root, this.generation, this.path, tables);
  }

  /** Applies writes recorded on another generation, in their order, in one transaction. */
  async replay(writes: readonly TableWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.root.transaction(() => {
      for (const write of writes) {
        const db = this[write.table] as unknown as Database;
        if (write.remove) void db.remove(write.key as never);
        else void db.put(write.key as never, write.value);
      }
    });
  }

  /**
   * Opens the generation CURRENT names, then removes any other a compaction left behind. `check` sees
   * the tables first: what it throws closes them and is thrown, before anything else is removed.
   */
  static open(options: EnvironmentOptions, check: (tables: StoreTables) => void = () => undefined): StoreTables {
    makePrivateDir(options.directory);
    const generation = currentGeneration(options.directory);
    const tables = StoreTables.openGeneration(options, generation);
    try {
      check(tables);
    } catch (error) {
      tables.close().catch(() => undefined);
      throw error;
    }
    removeOtherGenerations(options.directory, generation);
    return tables;
  }

  private static openGeneration(options: EnvironmentOptions, generation: number): StoreTables {
    const path = pathOf(options.directory, generation);
    makePrivateDir(path);
    // Each commit syncs within itself rather than overlapping its sync with the next commit: writes
    // gather into larger commits while a sync runs, and a small write costs about a fifth fewer syncs
    // and a tenth fewer page writes. A committed transaction is then one on disk.
    const sync = options.durable ? {} : { noSync: true };
    const reserved = processMapReservation();
    const mapSize = reserved === undefined ? {} : { mapSize: reserved };
    const root = open(privateEnvironment({ path, maxDbs: 16, noMemInit: true, overlappingSync: false, ...mapSize, ...sync }));
    restrictFilesToOwner(path);
    return new StoreTables(root, generation, path, undefined, options.metaFormat);
  }

  /** Bytes of the environment's file on disk. */
  fileBytes(): number {
    const file = join(this.path, 'data.mdb');
    return existsSync(file) ? statSync(file).size : 0;
  }

  /** Bytes up to the last page in use: what the file would need after a compaction, at most. */
  usedBytes(): number {
    const stats = this.root.getStats() as { lastPageNumber: number; pageSize: number };
    return stats.lastPageNumber * stats.pageSize;
  }

  /**
   * Bytes of pages below the last used one that hold nothing: freed by deletes and overwrites, reused
   * by later writes, and given back to the disk only by a compaction. Counted as the pages up to the
   * last used one that no table's tree (nor the free list's, nor the two meta pages) occupies.
   */
  freeBytes(): number {
    const root = this.root.getStats() as LmdbStats;
    let occupied = 2 + treePages(root) + treePages(root.free);
    for (const table of this.tables()) occupied += treePages(table.getStats() as LmdbStats);
    return Math.max(0, root.lastPageNumber + 1 - occupied) * root.pageSize;
  }

  private tables(): ReadonlyArray<{ getStats(): unknown }> {
    return TABLE_NAMES.map((name) => this[name]);
  }

  /** Records in every table. */
  recordCount(): number {
    let records = 0;
    for (const table of this.tables()) records += (table.getStats() as LmdbStats).entryCount;
    return records;
  }

  /** Bytes the file would take once compacted, from the sizes of its records (lmdb-survey.ts). */
  async estimateCompacted(between: () => Promise<void>, signal?: AbortSignal): Promise<CompactedEstimate> {
    return estimateCompactedBytes(this.root, databaseNames(this.root), between, signal);
  }

  /**
   * Copies every record into a fresh environment, the next generation, and opens it (lmdb-copy.ts).
   * Writes committed while it copies may or may not be in it: replay what was recorded since it began.
   */
  async copyInto(options: EnvironmentOptions, signal?: AbortSignal, pauseMs?: () => number): Promise<StoreTables> {
    const generation = this.generation + 1;
    const path = pathOf(options.directory, generation);
    rmSync(path, { recursive: true, force: true });
    const copy = StoreTables.openGeneration(options, generation);
    try {
      await copyRecords(this.root, copy.root, databaseNames(this.root), signal, pauseMs);
    } catch (error) {
      await copy.discard(options).catch(() => undefined);
      throw error;
    }
    return copy;
  }

  /** Makes this generation the one a restart opens (CURRENT written whole and synced). */
  promote(options: EnvironmentOptions): void {
    writePrivateFile(join(options.directory, CURRENT_FILE), `env-${this.generation}\n`);
  }

  /** Closes a copy that was not promoted and removes it. */
  async discard(options: EnvironmentOptions): Promise<void> {
    await this.root.close();
    removeGeneration(options.directory, this.generation);
  }

  /** Closes this generation and removes its files (after a compaction switched away from it). */
  async retire(options: EnvironmentOptions): Promise<void> {
    await this.discard(options);
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

/** The directory of the environment a store in `directory` uses now (for tools that read it). */
export function currentEnvironmentPath(directory: string): string {
  return pathOf(directory, currentGeneration(directory));
}

function currentGeneration(directory: string): number {
  const file = join(directory, CURRENT_FILE);
  if (!existsSync(file)) return 0;
  const match = GENERATION.exec(readFileSync(file, 'utf8').trim());
  if (!match) throw new Error(`${file} does not name an environment generation`);
  return Number(match[1]);
}

function pathOf(directory: string, generation: number): string {
  return generation === 0 ? directory : join(directory, `env-${generation}`);
}

/** The `meta` table of an environment, its records read in every format and written in `format`. */
export function openMetaTable(root: RootDatabase, format: MetaFormat): Database<unknown, Buffer> {
  // lmdb-js takes a table's own encoder, though its typings leave the option out.
  const options: DatabaseOptions & { name: string; encoder: TableEncoder } = { name: 'meta', keyEncoding: 'binary', encoder: metaEncoder(format) };
  return root.openDB(options);
}

function removeOtherGenerations(directory: string, keep: number): void {
  if (keep !== 0) removeGeneration(directory, 0);
  for (const entry of readdirSync(directory)) {
    const match = GENERATION.exec(entry);
    if (match && Number(match[1]) !== keep) rmSync(join(directory, entry), { recursive: true, force: true });
  }
}

function removeGeneration(directory: string, generation: number): void {
  if (generation !== 0) {
    rmSync(pathOf(directory, generation), { recursive: true, force: true });
    return;
  }
  // Generation 0 shares its directory with the body files and the other generations.
  for (const file of ['data.mdb', 'lock.mdb']) rmSync(join(directory, file), { force: true });
}

interface TreeStats {
  readonly entryCount: number;
  readonly treeBranchPageCount: number;
  readonly treeLeafPageCount: number;
  readonly overflowPages: number;
}

interface LmdbStats extends TreeStats {
  readonly pageSize: number;
  readonly lastPageNumber: number;
  readonly free: TreeStats;
}

function treePages(stats: TreeStats | undefined): number {
  return stats ? stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages : 0;
}
