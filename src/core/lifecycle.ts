/**
 * Bucket lifecycle: which versions a bucket's rules expire, and when, as AWS defines it. Pure: the
 * storage nodes' lifecycle worker applies the plan for each key it walks, and `leofs-adm
 * lifecycle-explain` shows the same reasoning for one key.
 *
 *   Expiration (Days)      the current version expires at its write time plus the days, rounded up to
 *                          the next midnight UTC; (Date) on that date. In a versioned bucket it gets a
 *                          delete marker, in an unversioned one it is deleted.
 *   ExpiredObjectDeleteMarker  a delete marker that is a key's only version is removed.
 *   NoncurrentVersionExpiration  an older version is removed its days after it stopped being current
 *                          (when the next version was written), rounded up the same way; the newest
 *                          NewerNoncurrentVersions of them are kept whatever their age.
 *   AbortIncompleteMultipartUpload  an upload is aborted its days after it was started.
 *
 * Filters: a prefix, tags (all must match the version's), object size bounds. Disabled rules do nothing.
 */
import type { ObjectMeta, VersionFields } from './object-meta.js';
import { versionIdOf, versionsOf } from './object-versioning.js';
import type { Tags } from './object-tags.js';

export interface LifecycleFilter {
  readonly prefix?: string;
  readonly tags?: Tags;
  readonly sizeGreaterThan?: number;
  readonly sizeLessThan?: number;
}

export interface LifecycleRule {
  readonly id: string;
  readonly enabled: boolean;
  readonly filter: LifecycleFilter;
  /** How the prefix was given (`Rule/Prefix` of the older form, or a `Filter`), to give it back alike. */
  readonly filterForm: 'rule-prefix' | 'filter';
  readonly expiration?: { readonly days?: number; readonly dateMs?: number; readonly expiredObjectDeleteMarker?: boolean };
  readonly noncurrentExpiration?: { readonly noncurrentDays: number; readonly newerNoncurrentVersions?: number };
  readonly abortIncompleteUploadDays?: number;
}

export interface LifecycleConfig {
  readonly rules: readonly LifecycleRule[];
}

export const MAX_LIFECYCLE_RULES = 1000;
export const MAX_RULE_ID_CHARS = 255;
const DAY_MS = 24 * 60 * 60 * 1000;

/** What the worker does to a key; each names the version it judged, so a change meanwhile is not undone. */
export type LifecycleAction =
  /** The current version expired: a delete marker (versioned bucket) or a delete (unversioned), if it is still `etag`. */
  | { readonly type: 'expire-current'; readonly rule: string; readonly etag: string }
  /** An older version, or a delete marker left alone, goes for good. */
  | { readonly type: 'remove-version'; readonly rule: string; readonly versionId: string; readonly reason: 'noncurrent' | 'expired-delete-marker' };

export interface LifecyclePlan {
  readonly actions: readonly LifecycleAction[];
  /** One line per rule and version considered, for people. */
  readonly explanation: readonly string[];
}

/** Midnight UTC at or after `ms` plus `days`: when S3 expires something `days` after `ms`. */
export function expiryAfter(ms: number, days: number): number {
  const due = ms + days * DAY_MS;
  return Math.ceil(due / DAY_MS) * DAY_MS;
}

/** Whether a version (`tags`, `size`) of `key` falls under a rule's filter. */
export function matchesFilter(filter: LifecycleFilter, key: string, version: { readonly tags?: Tags; readonly sizeBytes: number }): boolean {
  if (filter.prefix !== undefined && !key.startsWith(filter.prefix)) return false;
  for (const [name, value] of Object.entries(filter.tags ?? {})) if (version.tags?.[name] !== value) return false;
  if (filter.sizeGreaterThan !== undefined && !(version.sizeBytes > filter.sizeGreaterThan)) return false;
  if (filter.sizeLessThan !== undefined && !(version.sizeBytes < filter.sizeLessThan)) return false;
  return true;
}

/** What the rules do to the key of `record` at `nowMs`, with the reasons. */
export function planLifecycle(record: ObjectMeta, config: LifecycleConfig, nowMs: number, versioned: boolean): LifecyclePlan {
  const actions: LifecycleAction[] = [];
  const explanation: string[] = [];
  const versions = versionsOf(record);
  const key = record.key;
  if (versions.length === 0) return { actions, explanation: ['the key has no version'] };
  const current = versions[0]!;
  const removed = new Set<string>();
  for (const rule of config.rules) {
    const name = `rule ${JSON.stringify(rule.id)}`;
    if (!rule.enabled) {
      explanation.push(`${name}: disabled`);
      continue;
    }
    if (rule.filter.prefix !== undefined && !key.startsWith(rule.filter.prefix)) {
      explanation.push(`${name}: the key does not start with ${JSON.stringify(rule.filter.prefix)}`);
      continue;
    }
    judgeCurrent(rule, name);
    judgeNoncurrent(rule, name);
  }
  return { actions, explanation };

  function judgeCurrent(rule: LifecycleRule, name: string): void {
    const expiration = rule.expiration;
    if (expiration === undefined) return;
    if (current.deleteMarker) {
      if (!expiration.expiredObjectDeleteMarker) {
        explanation.push(`${name}: the current version is a delete marker, which this rule does not remove`);
      } else if (versions.length > 1) {
        explanation.push(`${name}: the delete marker still has ${versions.length - 1} older version(s) behind it`);
      } else if (!removed.has(versionIdOf(current))) {
        removed.add(versionIdOf(current));
        actions.push({ type: 'remove-version', rule: rule.id, versionId: versionIdOf(current), reason: 'expired-delete-marker' });
        explanation.push(`${name}: the delete marker is the key's only version: removed`);
      }
      return;
    }
    if (expiration.days === undefined && expiration.dateMs === undefined) return;
    if (!matchesFilter(rule.filter, key, current)) {
      explanation.push(`${name}: the current version does not match the rule's tags or size`);
      return;
    }
    const dueMs = expiration.dateMs ?? expiryAfter(current.lastModifiedMs, expiration.days!);
    if (nowMs < dueMs) {
      explanation.push(`${name}: the current version expires at ${new Date(dueMs).toISOString()}`);
      return;
    }
    if (actions.some((action) => action.type === 'expire-current')) return;
    actions.push({ type: 'expire-current', rule: rule.id, etag: current.etag });
    explanation.push(`${name}: the current version expired at ${new Date(dueMs).toISOString()}: ${versioned ? 'a delete marker is put over it' : 'deleted'}`);
  }

  function judgeNoncurrent(rule: LifecycleRule, name: string): void {
    const noncurrent = rule.noncurrentExpiration;
    if (noncurrent === undefined) return;
    const older = versions.slice(1);
    if (older.length === 0) {
      explanation.push(`${name}: the key has no older versions`);
      return;
    }
    const keep = noncurrent.newerNoncurrentVersions ?? 0;
    older.forEach((version: VersionFields, index: number) => {
      const id = versionIdOf(version);
      if (!matchesFilter(rule.filter, key, version)) {
        explanation.push(`${name}: older version ${id} does not match the rule's tags or size`);
        return;
      }
      if (index < keep) {
        explanation.push(`${name}: older version ${id} is among the ${keep} newest kept`);
        return;
      }
      // It stopped being current when the version above it was written.
      const sinceMs = versions[index]!.lastModifiedMs;
      const dueMs = expiryAfter(sinceMs, noncurrent.noncurrentDays);
      if (nowMs < dueMs) {
        explanation.push(`${name}: older version ${id} expires at ${new Date(dueMs).toISOString()}`);
        return;
      }
      if (removed.has(id)) return;
      removed.add(id);
      actions.push({ type: 'remove-version', rule: rule.id, versionId: id, reason: 'noncurrent' });
      explanation.push(`${name}: older version ${id} expired at ${new Date(dueMs).toISOString()}: removed`);
    });
  }
}

/** Whether an upload started at `startedMs` is to be aborted at `nowMs`, and by which rule. */
export function uploadToAbort(config: LifecycleConfig, key: string, startedMs: number, nowMs: number): string | undefined {
  for (const rule of config.rules) {
    if (!rule.enabled || rule.abortIncompleteUploadDays === undefined) continue;
    if (rule.filter.prefix !== undefined && !key.startsWith(rule.filter.prefix)) continue;
    if (nowMs >= expiryAfter(startedMs, rule.abortIncompleteUploadDays)) return rule.id;
  }
  return undefined;
}

/** Why a configuration is not valid (as S3 would refuse it), undefined when it is. */
export function lifecycleProblem(config: LifecycleConfig): { readonly code: 'InvalidArgument' | 'MalformedXML'; readonly message: string } | undefined {
  if (config.rules.length === 0 || config.rules.length > MAX_LIFECYCLE_RULES) return { code: 'MalformedXML', message: `a configuration holds 1 to ${MAX_LIFECYCLE_RULES} rules` };
  const ids = new Set<string>();
  for (const rule of config.rules) {
    if (rule.id.length > MAX_RULE_ID_CHARS) return { code: 'InvalidArgument', message: `a rule ID is at most ${MAX_RULE_ID_CHARS} characters` };
    if (ids.has(rule.id)) return { code: 'InvalidArgument', message: `the rule ID ${JSON.stringify(rule.id)} is used twice` };
    ids.add(rule.id);
    const { expiration, noncurrentExpiration, abortIncompleteUploadDays } = rule;
    if (expiration === undefined && noncurrentExpiration === undefined && abortIncompleteUploadDays === undefined) {
      return { code: 'MalformedXML', message: `rule ${JSON.stringify(rule.id)} has no action` };
    }
    if (expiration !== undefined) {
      const given = [expiration.days, expiration.dateMs, expiration.expiredObjectDeleteMarker].filter((field) => field !== undefined).length;
      if (given !== 1) return { code: 'MalformedXML', message: 'an Expiration gives exactly one of Days, Date and ExpiredObjectDeleteMarker' };
      if (expiration.days !== undefined && !isPositiveWhole(expiration.days)) return { code: 'InvalidArgument', message: "'Days' for Expiration action must be a positive integer" };
      if (expiration.dateMs !== undefined && expiration.dateMs % DAY_MS !== 0) return { code: 'InvalidArgument', message: "'Date' must be at midnight GMT" };
      if (expiration.expiredObjectDeleteMarker && (rule.filter.tags !== undefined || rule.filter.sizeGreaterThan !== undefined || rule.filter.sizeLessThan !== undefined)) {
        return { code: 'InvalidArgument', message: 'ExpiredObjectDeleteMarker cannot be combined with a tag or size filter' };
      }
    }
    if (noncurrentExpiration !== undefined) {
      if (!isPositiveWhole(noncurrentExpiration.noncurrentDays)) return { code: 'InvalidArgument', message: "'NoncurrentDays' must be a positive integer" };
      const newer = noncurrentExpiration.newerNoncurrentVersions;
      if (newer !== undefined && (!isPositiveWhole(newer) || newer > 100)) return { code: 'InvalidArgument', message: "'NewerNoncurrentVersions' must be 1 to 100" };
    }
    if (abortIncompleteUploadDays !== undefined) {
      if (!isPositiveWhole(abortIncompleteUploadDays)) return { code: 'InvalidArgument', message: "'DaysAfterInitiation' must be a positive integer" };
      if (rule.filter.tags !== undefined) return { code: 'InvalidArgument', message: 'AbortIncompleteMultipartUpload cannot be combined with a tag filter' };
    }
  }
  return undefined;
}

function isPositiveWhole(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

/** Checks a configuration that came from the wire or the disk. */
export function isLifecycleConfig(value: unknown): value is LifecycleConfig {
  if (typeof value !== 'object' || value === null) return false;
  const rules = (value as Record<string, unknown>)['rules'];
  if (!Array.isArray(rules)) return false;
  const shaped = rules.every((rule: unknown) => {
    if (typeof rule !== 'object' || rule === null) return false;
    const { id, enabled, filter, filterForm } = rule as Record<string, unknown>;
    return typeof id === 'string' && typeof enabled === 'boolean' && typeof filter === 'object' && filter !== null && (filterForm === 'rule-prefix' || filterForm === 'filter');
  });
  return shaped && lifecycleProblem(value as LifecycleConfig) === undefined;
}
