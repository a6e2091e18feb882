/**
 * A node's own durable state (its ring, and on the manager the cluster's members, users and buckets),
 * in a small LMDB environment of its own: `<data>/state`, readable by the node's user only. Tables are
 * named LMDB databases of msgpack values; a value that no longer decodes is reported and treated as
 * absent, never fatal.
 */
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Logger } from '../runtime/logger.js';
import { copyRecords, databaseNames } from './lmdb-copy.js';
import { makePrivateDir, privateEnvironment, restrictFilesToOwner, syncFile } from './private-files.js';

export interface StateTable<T> {
  get(key: string): T | undefined;
  /** Resolves once the write is durable. */
  put(key: string, value: T): Promise<void>;
  remove(key: string): Promise<void>;
  entries(): Array<[string, T]>;
  /** Only inside `NodeState.transaction`: the write is part of that transaction. */
  putInTransaction(key: string, value: T): void;
  removeInTransaction(key: string): void;
}

/** How a table keeps its values on disk when that differs from how they are used (sealed secrets). */
export interface RecordCodec<T> {
  encode(value: T): unknown;
  /** The value as used, checked afterwards by the table's validator; throws when it cannot be read. */
  decode(stored: unknown): unknown;
  /** Whether a stored value is in an older form that `encode` would now write differently. */
  isOutdated(stored: unknown): boolean;
}

export interface TableUpgrade {
  /** Records that were in an older form and are now stored in the current one. */
  readonly rewritten: number;
  /** Keys of records whose stored form cannot be read (left as they are). */
  readonly unreadable: readonly string[];
}

/** The codec of tables whose values are stored as they are used. */
export const AS_STORED: RecordCodec<unknown> = { encode: (value) => value, decode: (stored) => stored, isOutdated: () => false };

/** Where tables come from: a node's own state, or the managers' replicated one. */
export interface TableSource {
  table<T>(name: string, validate: (value: unknown) => value is T, codec?: RecordCodec<T>): StateTable<T>;
  /** Runs `action` as one all-or-nothing change over any tables of this source (see NodeState.transaction). */
  transaction<R>(action: () => R): Promise<R>;
}

export class NodeState implements TableSource {
  /** Writes begun and not yet on disk (a simulation waits for none before its next step). */
  private writesInFlight = 0;

  private constructor(
    private root: RootDatabase,
    private readonly path: string,
    private readonly logger: Logger,
  ) {}

  static open(dataDir: string, logger: Logger): NodeState {
    makePrivateDir(dataDir);
    const path = join(dataDir, 'state');
    return new NodeState(openEnvironment(path), path, logger.child({ component: 'node-state' }));
  }

  table<T>(name: string, validate: (value: unknown) => value is T, codec: RecordCodec<T> = AS_STORED as RecordCodec<T>): StateTable<T> {
    const db: Database<unknown, string> = this.root.openDB({ name });
    const logger = this.logger;
    const read = (key: string, raw: () => unknown): T | undefined => {
      let value: unknown;
      try {
        const stored = raw();
        value = stored === undefined ? undefined : codec.decode(stored);
      } catch (error) {
        logger.error('state record does not decode; ignoring it', { table: name, key, error });
        return undefined;
      }
      if (value === undefined) return undefined;
      if (!validate(value)) {
        logger.error('state record is malformed; ignoring it', { table: name, key });
        return undefined;
      }
      return value;
    };
    return {
      get: (key) => read(key, () => db.get(key)),
      put: (key, value) => this.counted(db.put(key, codec.encode(value))),
      remove: (key) => this.counted(db.remove(key)),
      putInTransaction: (key, value) => {
        void db.put(key, codec.encode(value));
      },
      removeInTransaction: (key) => {
        void db.remove(key);
      },
      entries: () => {
        const out: Array<[string, T]> = [];
        for (const { key, value } of db.getRange({})) {
          const checked = read(key, () => value);
          if (checked !== undefined) out.push([key, checked]);
        }
        return out;
      },
    };
  }

  /**
   * Runs `action` as one durable transaction over any tables of this state: it reads with `get` and
   * writes with the tables' `...InTransaction` methods, all or nothing. Resolves with its result once
   * the transaction is on disk.
   */
  async transaction<R>(action: () => R): Promise<R> {
    let result: R | undefined;
    await this.counted(
      this.root.transaction(() => {
        result = action();
      }),
    );
    return result as R;
  }

  get pendingWrites(): number {
    return this.writesInFlight;
  }

  private async counted(write: Promise<unknown>): Promise<void> {
    this.writesInFlight++;
    try {
      await write;
    } finally {
      this.writesInFlight--;
    }
  }

  /**
   * Re-writes the records of a table that are stored in an older form than `codec` writes, and names
   * those that cannot be read at all. Run at start, before any table is opened: when records were
   * rewritten, the environment is compacted, so that their old form does not linger in free pages.
   */
  async upgrade<T>(name: string, validate: (value: unknown) => value is T, codec: RecordCodec<T>): Promise<TableUpgrade> {
    const db: Database<unknown, string> = this.root.openDB({ name });
    const outdated: Array<[string, T]> = [];
    const unreadable: string[] = [];
    for (const { key, value } of db.getRange({})) {
      let decoded: unknown;
      try {
        decoded = codec.decode(value);
      } catch {
        unreadable.push(key);
        continue;
      }
      if (codec.isOutdated(value) && validate(decoded)) outdated.push([key, decoded]);
    }
    for (const [key, value] of outdated) await db.put(key, codec.encode(value));
    if (outdated.length > 0) await this.compact();
    return { rewritten: outdated.length, unreadable };
  }

  /**
   * Replaces the environment by a copy without its free pages, which keep old values until reused: a
   * fresh environment the records are copied into (lmdb-copy.ts says why not LMDB's compacting copy).
   */
  private async compact(): Promise<void> {
    // No dot in the name: lmdb-js takes a path with an extension for a file, not a directory.
    const copy = `${this.path}-compact`;
    rmSync(copy, { recursive: true, force: true });
    const target = openEnvironment(copy);
    try {
      await copyRecords(this.root, target, databaseNames(this.root));
    } finally {
      await target.close();
    }
    syncFile(join(copy, 'data.mdb'));
    await this.root.close();
    renameSync(join(copy, 'data.mdb'), join(this.path, 'data.mdb'));
    rmSync(copy, { recursive: true, force: true });
    this.root = openEnvironment(this.path);
    this.logger.info('state compacted after records were rewritten in their current form');
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

function openEnvironment(path: string): RootDatabase {
  makePrivateDir(path);
  const root = open(privateEnvironment({ path, maxDbs: 32 }));
  restrictFilesToOwner(path);
  return root;
}
