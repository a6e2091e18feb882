/**
 * CPU time used by processes, from /proc (Linux): what a cluster spent on a phase, whoever else shared
 * the machine's cores meanwhile.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime on Linux. */
const TICKS_PER_SECOND = 100;

/** User plus system CPU seconds used so far by each process (threads included); a process gone counts 0. */
export function cpuSecondsOf(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}
