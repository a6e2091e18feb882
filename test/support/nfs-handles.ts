/** NFS file handles over a table in memory, for tests that run the NFS server without a node state. */
import type { AuthView } from '../../src/actors/common/auth-view.js';
import { FileHandles, type HandleRecord, type HandleStore } from '../../src/actors/gateway/nfs/file-handles.js';
import { systemClock, type Clock } from '../../src/runtime/clock.js';

export class MapHandleStore implements HandleStore {
  readonly map = new Map<string, HandleRecord>();
  writes = 0;

  get(hash: string): HandleRecord | undefined {
    return this.map.get(hash);
  }

  async put(hash: string, value: HandleRecord): Promise<void> {
    this.writes++;
    this.map.set(hash, value);
  }

  async remove(hash: string): Promise<void> {
    this.map.delete(hash);
  }

  entries(): Array<[string, HandleRecord]> {
    return [...this.map];
  }
}

export function memoryHandles(view: AuthView, clock: Clock = systemClock, store: HandleStore = new MapHandleStore()): FileHandles {
  return new FileHandles(view, store, { clock, maxEntries: 10_000, maxAgeMs: 24 * 60 * 60 * 1000 });
}
