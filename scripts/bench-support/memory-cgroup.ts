/**
 * A memory limit for one process, by a cgroup of its own (Linux; needs the right to create cgroups,
 * as root usually has): cgroup v2's `memory.max` where the unified hierarchy has the memory controller,
 * else cgroup v1's `memory.limit_in_bytes`. The limit covers the page cache the process brings in as
 * well as its own memory: the kernel keeps the sum under it by dropping clean file pages (LMDB's
 * mapped pages among them, read again when needed) and kills the process when what it cannot give back
 * goes over. So a process that runs well under a limit needs no more than it. What a process charged
 * before it moved in stays outside the limit on v2 (and on v1 kernels that refuse to move it along):
 * move a process in right after it starts.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const V2_ROOT = '/sys/fs/cgroup';
const V1_ROOT = '/sys/fs/cgroup/memory';

export interface MemoryCgroup {
  readonly path: string;
  /** Times the kernel had to reclaim or refuse at the limit (v1 `memory.failcnt`, v2 `memory.events` max). */
  limitHits(): number;
  /** Processes the kernel killed for going over (v1 `memory.oom_control`, v2 `memory.events` oom_kill). */
  oomKills(): number;
  /** Removes the cgroup once its process has exited; a no-op when it is gone already. */
  remove(): void;
}

/**
 * Asks v1 to move what the process had charged before it moved along with it, so that the limit
 * covers all of it. Some kernels refuse (the setting is deprecated): then only what it charges from
 * now on counts, which for a process moved right after its start is nearly all.
 */
function moveChargesAlong(path: string): void {
  try {
    writeFileSync(join(path, 'memory.move_charge_at_immigrate'), '3');
  } catch {
    // Refused: see above.
  }
}

/** Puts `pid` in a new cgroup `name` limited to `limitBytes`; throws, saying why, where that cannot be done. */
export function limitMemory(pid: number, name: string, limitBytes: number): MemoryCgroup {
  const v2 = existsSync(join(V2_ROOT, 'cgroup.controllers')) && readFileSync(join(V2_ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory');
  const root = v2 ? V2_ROOT : V1_ROOT;
  if (!v2 && !existsSync(join(V1_ROOT, 'memory.limit_in_bytes'))) throw new Error('no cgroup memory controller here (neither v2 with memory nor v1 at /sys/fs/cgroup/memory)');
  const path = join(root, name);
  try {
    mkdirSync(path);
    if (v2) {
      writeFileSync(join(path, 'memory.max'), String(limitBytes));
    } else {
      writeFileSync(join(path, 'memory.limit_in_bytes'), String(limitBytes));
      moveChargesAlong(path);
    }
    writeFileSync(join(path, 'cgroup.procs'), String(pid));
  } catch (error) {
    if (existsSync(path)) rmdirSync(path);
    throw new Error(`cannot limit process ${pid}'s memory with a cgroup at ${path}: ${(error as Error).message}`);
  }
  const read = (file: string): string => {
    try {
      return readFileSync(join(path, file), 'utf8');
    } catch {
      return '';
    }
  };
  const field = (text: string, name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    path,
    limitHits: () => (v2 ? field(read('memory.events'), 'max') : Number(read('memory.failcnt').trim() || 0)),
    oomKills: () => field(read(v2 ? 'memory.events' : 'memory.oom_control'), 'oom_kill'),
    remove: () => {
      try {
        rmdirSync(path);
      } catch {
        // Still holds the process (it has not exited yet), or gone already.
      }
    },
  };
}
