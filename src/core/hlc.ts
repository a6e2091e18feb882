/**
 * Hybrid logical clock: physical milliseconds plus a counter, so versions stamped by different
 * coordinators order by real time when clocks agree and stay causal and monotonic when they do not.
 * The node name breaks exact ties, which makes the order total: last writer wins everywhere alike.
 */
import { compareKeys } from './key-order.js';

export interface Hlc {
  readonly wallMs: number;
  readonly counter: number;
  readonly node: string;
}

/** 48 bits of milliseconds last until the year 10889 and keep the encoding fixed-width. */
export const HLC_MAX_WALL_MS = 2 ** 48 - 1;
/** When the counter would pass this, the clock borrows a millisecond instead of growing without bound. */
export const HLC_MAX_COUNTER = 0xffff_ffff;

const WALL_HEX_DIGITS = 12;
const COUNTER_HEX_DIGITS = 8;
const FIXED_HEX_DIGITS = WALL_HEX_DIGITS + COUNTER_HEX_DIGITS;

/** The clock for a local event (a write this node coordinates), strictly after `last`. */
export function tick(last: Hlc | undefined, physicalNowMs: number, node: string): Hlc {
  const nowMs = checkedWall(physicalNowMs);
  if (last === undefined || nowMs > last.wallMs) return { wallMs: nowMs, counter: 0, node };
  return advance(last.wallMs, last.counter, node);
}

/** The clock after receiving `remote`: after both `last` and `remote`, so causality survives clock skew. */
export function observe(last: Hlc | undefined, remote: Hlc, physicalNowMs: number, node: string): Hlc {
  const nowMs = checkedWall(physicalNowMs);
  const lastWallMs = last?.wallMs ?? -1;
  const wallMs = Math.max(nowMs, lastWallMs, remote.wallMs);
  if (wallMs === lastWallMs && wallMs === remote.wallMs) {
    return advance(wallMs, Math.max(last!.counter, remote.counter), node);
  }
  if (wallMs === lastWallMs) return advance(wallMs, last!.counter, node);
  if (wallMs === remote.wallMs) return advance(wallMs, remote.counter, node);
  return { wallMs, counter: 0, node };
}

function advance(wallMs: number, counter: number, node: string): Hlc {
  if (counter < HLC_MAX_COUNTER) return { wallMs, counter: counter + 1, node };
  return { wallMs: checkedWall(wallMs + 1), counter: 0, node };
}

function checkedWall(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0 || ms > HLC_MAX_WALL_MS) throw new RangeError(`HLC wall time out of range: ${ms}`);
  return Math.floor(ms);
}

/** Total order: wall time, then counter, then node name (in UTF-8 byte order, as the encoding sorts). */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  const byNode = compareKeys(a.node, b.node);
  return byNode < 0 ? -1 : byNode > 0 ? 1 : 0;
}

/** How far `remote` runs ahead of this node's physical clock; callers refuse stamps beyond their drift limit. */
export function hlcDriftMs(remote: Hlc, physicalNowMs: number): number {
  return remote.wallMs - physicalNowMs;
}

/**
 * Fixed-width hex wall time and counter followed by the node name: the strings (and their UTF-8 bytes)
 * sort exactly as `compareHlc`, so an encoded clock can be an index key.
 */
export function encodeHlc(clock: Hlc): string {
  if (!isHlc(clock)) throw new RangeError(`not an HLC timestamp: ${JSON.stringify(clock)}`);
  return (
    clock.wallMs.toString(16).padStart(WALL_HEX_DIGITS, '0') +
    clock.counter.toString(16).padStart(COUNTER_HEX_DIGITS, '0') +
    clock.node
  );
}

/** The timestamp `encodeHlc` produced, or undefined for anything else. */
export function decodeHlc(text: string): Hlc | undefined {
  if (text.length < FIXED_HEX_DIGITS || !/^[0-9a-f]{20}$/.test(text.slice(0, FIXED_HEX_DIGITS))) return undefined;
  return {
    wallMs: Number.parseInt(text.slice(0, WALL_HEX_DIGITS), 16),
    counter: Number.parseInt(text.slice(WALL_HEX_DIGITS, FIXED_HEX_DIGITS), 16),
    node: text.slice(FIXED_HEX_DIGITS),
  };
}

/** Checks a clock that arrived from outside (wire, disk) before it is compared or stored. */
export function isHlc(value: unknown): value is Hlc {
  if (typeof value !== 'object' || value === null) return false;
  const { wallMs, counter, node } = value as Record<string, unknown>;
  return (
    typeof wallMs === 'number' && Number.isInteger(wallMs) && wallMs >= 0 && wallMs <= HLC_MAX_WALL_MS &&
    typeof counter === 'number' && Number.isInteger(counter) && counter >= 0 && counter <= HLC_MAX_COUNTER &&
    typeof node === 'string'
  );
}
