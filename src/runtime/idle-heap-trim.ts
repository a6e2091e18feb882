/**
 * Gives a busy spell's garbage back once a node is idle. Storage nodes and gateways start V8 with a
 * large initial old space (cli/role-process.ts), so they run no full collection until their heap
 * reaches it; and V8's own memory reducer only starts after a full collection. After a burst of work
 * a node would hold up to that much garbage for as long as it stays idle: 100 MiB of a storage node's
 * 180 MiB of private memory after loading a bucket, against 44 MiB live.
 *
 * Every interval this looks at how busy the event loop was; when it was nearly idle and the heap holds
 * well more than after the last collection, or a busy spell came since its last idle interval (at most
 * once a minute for spells alone, so that periodic bursts do not keep it collecting), it runs a full
 * collection (tens of milliseconds, at a time nothing waits for it), and one more at the next idle
 * interval. After a spell the heap in use may look small (V8 collected on its own near its end) while
 * the process still holds what the spell's work allocated: a storage node kept 176 MiB of private
 * memory for as long as it stayed idle after loading 600,000 objects, where its peers, which did
 * collect, fell to 66-72 MiB. Memory that the first collection freed
 * outside the heap (Buffers' stores, V8's pooled pages) goes back to the system only after it, as seen
 * on a storage node whose private memory fell from 177 to 144 MiB at the first and to 61 after. It
 * needs V8's `gc` (the `--expose-gc` flag of those roles); without it nothing is started.
 */
import { getHeapStatistics } from 'node:v8';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

export interface HeapTrimSources {
  /** A full collection. */
  readonly collect: () => void;
  readonly heapUsedBytes: () => number;
  /** The share of time, 0 to 1, the event loop was busy since the previous call. */
  readonly busyShare: () => number;
}

export interface HeapTrimSettings {
  /** A loop busy less than this share of an interval is idle. */
  readonly idleBelow: number;
  /** Collect when the heap grew by at least this much since the last collection (a busy spell makes it collect too). */
  readonly minGrowthBytes: number;
  /** A loop busy at least this share of an interval is in a busy spell: the next idle interval collects. */
  readonly spellFrom: number;
  /** Intervals from one collection a spell alone caused to the next. */
  readonly spellGapIntervals: number;
}

export const DEFAULT_HEAP_TRIM: HeapTrimSettings = { idleBelow: 0.05, minGrowthBytes: 32 * 1024 * 1024, spellFrom: 0.25, spellGapIntervals: 12 };
const INTERVAL_MS = 5_000;

/** The decision, interval by interval. */
export class IdleHeapTrim {
  /** Heap in use after the last collection this ran, or the lowest seen since. */
  private baselineBytes: number;
  /** The last collection was a first one: the next idle interval collects again. */
  private followUp = false;
  /** A busy spell since the last idle interval. */
  private afterSpell = false;
  /** Intervals since a spell alone last caused a collection. */
  private sinceSpellCollection = Infinity;

  constructor(
    private readonly sources: HeapTrimSources,
    private readonly settings: HeapTrimSettings = DEFAULT_HEAP_TRIM,
  ) {
    this.baselineBytes = sources.heapUsedBytes();
  }

  /** Looks at the interval just ended; true when it collected. */
  tick(): boolean {
    const busy = this.sources.busyShare();
    const usedBytes = this.sources.heapUsedBytes();
    // V8 collected on its own meanwhile: what it left is the new baseline.
    if (usedBytes < this.baselineBytes) this.baselineBytes = usedBytes;
    this.sinceSpellCollection++;
    if (busy >= this.settings.spellFrom) this.afterSpell = true;
    if (busy >= this.settings.idleBelow) return false;
    const grown = usedBytes - this.baselineBytes >= this.settings.minGrowthBytes;
    const spell = this.afterSpell && this.sinceSpellCollection >= this.settings.spellGapIntervals;
    this.afterSpell = false;
    if (!grown && !spell && !this.followUp) return false;
    this.sources.collect();
    this.baselineBytes = this.sources.heapUsedBytes();
    if (spell && !grown) this.sinceSpellCollection = 0;
    // A first collection is followed by one more; the follow-up by none.
    this.followUp = grown || spell;
    return true;
  }
}

/** Starts trimming this process's heap when idle; undefined when V8's `gc` is not exposed. */
export function startIdleHeapTrim(): { stop(): void } | undefined {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (typeof collect !== 'function') return undefined;
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  const trim = new IdleHeapTrim({
    collect: () => collect(),
    heapUsedBytes: () => getHeapStatistics().used_heap_size,
    busyShare: () => {
      const now = performance.eventLoopUtilization();
      const share = performance.eventLoopUtilization(now, last).utilization;
      last = now;
      return share;
    },
  });
  const timer = setInterval(() => trim.tick(), INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
