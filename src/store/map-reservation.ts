/**
 * How much address space a store reserves for its map up front. Growing the map later maps the file
 * again and keeps every earlier mapping (buffers read from them stay valid), so the same pages are
 * counted in the process's resident memory once per mapping: a store grown to 817 MiB showed 2.3 GiB.
 * The reservation is address space only; the file grows as pages are written, and past it the map
 * still grows. Where the process's address space is limited (`ulimit -v`), a reservation beyond the
 * limit crashes the map, so none is made and the map grows as it needs.
 */
import { readFileSync } from 'node:fs';

export const STORE_MAP_BYTES = 256 * 2 ** 30;

/** The reservation for a process whose /proc/self/limits reads `limits` (undefined: none). */
export function mapReservation(limits: string | undefined): number | undefined {
  // Columns: the limit's name, its soft limit (the one enforced), its hard limit, its unit.
  const soft = /^Max address space\s+(\S+)/m.exec(limits ?? '')?.[1];
  return soft === 'unlimited' ? STORE_MAP_BYTES : undefined;
}

/** This process's reservation: none where its limits cannot be read (not Linux) or are set. */
export function processMapReservation(): number | undefined {
  try {
    return mapReservation(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}
