/**
 * Object lock (WORM): a version under retention or legal hold cannot be removed, by anyone, until the
 * retention ends and the hold is lifted. GOVERNANCE retention gives way to a request that says it
 * bypasses governance (made by a user allowed to); COMPLIANCE retention gives way to nothing and can
 * only be extended. These rules are judged where versions are removed and retention is changed: on the
 * key's replicas, in the same compare-and-set that decides the change (core/object-versioning.ts).
 */

export const RETENTION_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const;
export type RetentionMode = (typeof RETENTION_MODES)[number];

export interface Retention {
  readonly mode: RetentionMode;
  /** Until when, in epoch milliseconds. */
  readonly untilMs: number;
}

/** A bucket's default retention: new versions that name none get it, counted from their write. */
export interface DefaultRetention {
  readonly mode: RetentionMode;
  readonly days?: number;
  readonly years?: number;
}

/** Present on a bucket with object lock enabled (which is then always versioned). */
export interface ObjectLockConfig {
  readonly defaultRetention?: DefaultRetention;
}

/** What a version carries of the lock. */
export interface VersionLock {
  readonly retention?: Retention;
  readonly legalHold?: true;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** AWS bounds default retention to 100 years, however it is given. */
const MAX_RETENTION_DAYS = 36_500;

export function isRetentionMode(value: unknown): value is RetentionMode {
  return (RETENTION_MODES as readonly unknown[]).includes(value);
}

/**
 * Why the version cannot be removed now (undefined when it can). `bypassGovernance`: the request says it
 * bypasses governance retention and its user is allowed to.
 */
export function removalBlocker(version: VersionLock, nowMs: number, bypassGovernance: boolean): string | undefined {
  if (version.legalHold) return 'the version is under legal hold';
  const retention = version.retention;
  if (retention === undefined || retention.untilMs <= nowMs) return undefined;
  if (retention.mode === 'GOVERNANCE' && bypassGovernance) return undefined;
  return `the version is under ${retention.mode} retention until ${new Date(retention.untilMs).toISOString()}`;
}

/**
 * Why the version's retention may not become `next` (none: removed) now. Retention in force may be
 * extended in its mode freely; shortening or removing it, or changing its mode (even to COMPLIANCE, as
 * S3 has it), is governance's to bypass, and never compliance's.
 */
export function retentionChangeProblem(current: Retention | undefined, next: Retention | undefined, nowMs: number, bypassGovernance: boolean): string | undefined {
  if (current === undefined || current.untilMs <= nowMs) return undefined;
  const keepsOrExtends = next !== undefined && next.untilMs >= current.untilMs;
  if (current.mode === 'COMPLIANCE') {
    return keepsOrExtends && next!.mode === 'COMPLIANCE' ? undefined : 'COMPLIANCE retention can only be extended';
  }
  if (keepsOrExtends && next!.mode === 'GOVERNANCE') return undefined;
  return bypassGovernance ? undefined : 'GOVERNANCE retention can be shortened, removed or given another mode only by bypassing governance';
}

/** The retention a version written at `nowMs` gets from its bucket's default. */
export function defaultRetentionFrom(rule: DefaultRetention | undefined, nowMs: number): Retention | undefined {
  if (rule === undefined) return undefined;
  const days = rule.days ?? (rule.years ?? 0) * 365;
  return { mode: rule.mode, untilMs: nowMs + days * DAY_MS };
}

/** Why a default retention rule is not valid: exactly one of days and years, a positive whole number. */
export function defaultRetentionProblem(rule: { readonly days?: number; readonly years?: number }): string | undefined {
  if ((rule.days === undefined) === (rule.years === undefined)) return 'give either Days or Years';
  const count = rule.days ?? rule.years!;
  if (!Number.isSafeInteger(count) || count <= 0) return 'the retention period must be a positive whole number';
  if ((rule.days ?? rule.years! * 365) > MAX_RETENTION_DAYS) return 'the retention period is at most 100 years';
  return undefined;
}

/** Checks a version's lock fields that came from the wire or the disk. */
export function hasValidLock(value: { readonly retention?: unknown; readonly legalHold?: unknown }): boolean {
  if (value.legalHold !== undefined && value.legalHold !== true) return false;
  return value.retention === undefined || isRetention(value.retention);
}

export function isRetention(value: unknown): value is Retention {
  if (typeof value !== 'object' || value === null) return false;
  const { mode, untilMs } = value as Record<string, unknown>;
  return isRetentionMode(mode) && typeof untilMs === 'number' && Number.isSafeInteger(untilMs) && untilMs >= 0;
}

export function isObjectLockConfig(value: unknown): value is ObjectLockConfig {
  if (typeof value !== 'object' || value === null) return false;
  const rule = (value as Record<string, unknown>)['defaultRetention'];
  if (rule === undefined) return true;
  if (typeof rule !== 'object' || rule === null) return false;
  const { mode, days, years } = rule as Record<string, unknown>;
  if (!isRetentionMode(mode)) return false;
  if ((days !== undefined && typeof days !== 'number') || (years !== undefined && typeof years !== 'number')) return false;
  return defaultRetentionProblem({ ...(days === undefined ? {} : { days }), ...(years === undefined ? {} : { years }) } as { days?: number; years?: number }) === undefined;
}
