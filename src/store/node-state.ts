/**
 * A node's own durable state (its ring, and on the manager the cluster's members, users and buckets),
 * in a small LMDB environment of its own: `<data>/state`. Tables are named LMDB databases of
 * msgpack values; a value that no longer decodes is reported and treated as absent, never fatal.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Logger } from '../runtime/logger.js';

export interface StateTable<T> {
  get(key: string): T | undefined;
  /** Resolves once the write is durable. */
  put(key: string, value: T): Promise<void>;
  remove(key: string): Promise<void>;
  entries(): Array<[string, T]>;
}

export class NodeState {
  private constructor(
    private readonly root: RootDatabase,
    private readonly logger: Logger,
  ) {}

  static open(dataDir: string, logger: Logger): NodeState {
    const path = join(dataDir, 'state');
    mkdirSync(path, { recursive: true });
    return new NodeState(open({ path, maxDbs: 32 }), logger.child({ component: 'node-state' }));
  }

  table<T>(name: string, validate: (value: unknown) => value is T): StateTable<T> {
    const db: Database<unknown, string> = this.root.openDB({ name });
    const logger = this.logger;
    const read = (key: string, raw: () => unknown): T | undefined => {
      let value: unknown;
      try {
        value = raw();
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
      put: async (key, value) => {
        await db.put(key, value);
      },
      remove: async (key) => {
        await db.remove(key);
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

  async close(): Promise<void> {
    await this.root.close();
  }
}
