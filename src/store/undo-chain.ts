/**
 * Undo records: while a write is unsettled on a replica, what an undo of it gives back. A write that
 * replaces another still unsettled keeps that one's own undo record beneath its own (`replaced`), so
 * an undo gives back the version before together with what undoing that one would give back in turn:
 * a version acknowledged beneath two writes that both fail is never lost. The chain is cut after
 * MAX_UNDO_LEVELS; an undo that reaches the cut restores its version over nothing known beneath
 * (`previous` null, `replacedUnknown`), as one whose earlier history is lost.
 */
import { compareHlc, type Hlc } from '../core/hlc.js';
import type { ObjectMeta } from '../core/object-meta.js';

export interface UndoRecord {
  readonly clock: Hlc;
  readonly previous: ObjectMeta | null;
  /** The store session that took the write, and when by its never-stepped clock. */
  readonly session?: string;
  readonly sinceElapsedMs?: number;
  /**
   * `previous` was itself unsettled when this write replaced it: an undo restores it unsettled, with
   * `replaced` as its own undo record, or over nothing when that is not kept, to be judged in its turn.
   */
  readonly previousUnsettled?: true;
  /**
   * What this write replaced is not known: `previous` arrived after the write was taken here (an older
   * version kept beneath it), or is null because the write that had replaced it was undone. A reader
   * cannot take `previous` for what the write replaced.
   */
  readonly replacedUnknown?: true;
  /** `previous`'s own undo record, kept while `previous` is unsettled. */
  readonly replaced?: UndoRecord;
}

/** Undo records kept for one key at most, counting the newest write's own. */
export const MAX_UNDO_LEVELS = 4;

/** A chain and the versions it no longer keeps, whose bodies are to be removed. */
export interface UndoChange {
  /** Undefined: no undo record is left. */
  readonly record: UndoRecord | undefined;
  readonly dropped: readonly ObjectMeta[];
}

/** The versions an undo chain keeps beneath the newest write, nearest first. */
export function keptVersions(undo: UndoRecord | undefined): ObjectMeta[] {
  const kept: ObjectMeta[] = [];
  for (let level = undo; level; level = level.replaced) if (level.previous) kept.push(level.previous);
  return kept;
}

/**
 * When the version `undo`'s write replaced was itself unsettled, and stands right over a settled one:
 * that settled version (its clock; null: nothing), what this replica holds once both writes are undone.
 * Undefined for a deeper chain, one cut short, or one that lost what lay beneath.
 */
export function settledBeneath(undo: UndoRecord): { readonly clock: Hlc | null } | undefined {
  const level = undo.previousUnsettled ? undo.replaced : undefined;
  if (level === undefined || level.previousUnsettled) return undefined;
  if (level.previous === null && level.replacedUnknown) return undefined;
  return { clock: level.previous?.clock ?? null };
}

/** `top` over `beneath` (the undo record of the version `top` replaced), cut to MAX_UNDO_LEVELS. */
export function stacked(top: Omit<UndoRecord, 'replaced'>, beneath: UndoRecord): UndoChange {
  return cut({ ...top, replaced: beneath }, MAX_UNDO_LEVELS);
}

function cut(undo: UndoRecord, levels: number): UndoChange {
  if (!undo.replaced) return { record: undo, dropped: [] };
  const { replaced, ...level } = undo;
  if (levels <= 1) return { record: level, dropped: keptVersions(replaced) };
  const below = cut(replaced, levels - 1);
  return { record: { ...level, replaced: below.record! }, dropped: below.dropped };
}

/**
 * The chain once the write at `clock` is settled: when it is the newest write's, no record is left;
 * when it is one kept beneath, that version stays settled and what it replaced goes. Undefined when no
 * write of the chain has that clock.
 */
export function settledIn(undo: UndoRecord, clock: Hlc): UndoChange | undefined {
  if (compareHlc(undo.clock, clock) === 0) return { record: undefined, dropped: keptVersions(undo) };
  const { replaced, ...level } = undo;
  if (!replaced) return undefined;
  if (compareHlc(replaced.clock, clock) === 0) {
    const { previousUnsettled: _settledNow, ...rest } = level;
    return { record: rest, dropped: keptVersions(replaced) };
  }
  const below = settledIn(replaced, clock);
  if (!below) return undefined;
  return { record: { ...level, ...(below.record ? { replaced: below.record } : {}) }, dropped: below.dropped };
}

/**
 * The undo record of `undo.previous` once the newest write is undone and `previous` is the newest
 * again: its own, kept beneath; over nothing known when that was cut off; none when it was settled.
 */
export function restoredUndo(undo: UndoRecord, session: string, sinceElapsedMs: number): UndoRecord | undefined {
  if (!undo.previous || !undo.previousUnsettled) return undefined;
  if (undo.replaced && compareHlc(undo.replaced.clock, undo.previous.clock) === 0) return undo.replaced;
  return { clock: undo.previous.clock, previous: null, replacedUnknown: true, session, sinceElapsedMs };
}

/**
 * The chain once the write at `clock`, kept beneath the newest (unsettled, and failed since), is undone
 * there: the write above it gives back what it had replaced instead. Undefined when no unsettled version
 * beneath the newest has that clock.
 */
export function withoutBeneath(undo: UndoRecord, clock: Hlc): UndoChange | undefined {
  const { previous, replaced, ...level } = undo;
  if (!previous) return undefined;
  if (compareHlc(previous.clock, clock) === 0) {
    if (!undo.previousUnsettled) return undefined;
    const { previousUnsettled: _undone, ...rest } = level;
    const own = replaced && compareHlc(replaced.clock, clock) === 0 ? replaced : undefined;
    const spliced: UndoRecord = {
      ...rest,
      previous: own?.previous ?? null,
      replacedUnknown: true,
      ...(own?.previousUnsettled ? { previousUnsettled: true as const } : {}),
      ...(own?.replaced ? { replaced: own.replaced } : {}),
    };
    return { record: spliced, dropped: [previous, ...(replaced && !own ? keptVersions(replaced) : [])] };
  }
  if (!replaced) return undefined;
  const below = withoutBeneath(replaced, clock);
  if (!below) return undefined;
  return { record: { ...level, previous, replaced: below.record! }, dropped: below.dropped };
}
