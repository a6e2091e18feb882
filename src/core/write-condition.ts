/**
 * The condition of a conditional write (S3's If-Match and If-None-Match on PutObject, CopyObject,
 * CompleteMultipartUpload and DeleteObject), judged against the version a key holds. The storage
 * cluster decides it once per key, on the key's replicas (storage/cas-coordinator.ts); the same rule
 * answers everywhere, so a gateway never judges a condition by a separate read.
 */

export interface WriteCondition {
  /** A list of ETags or `*`: the key must hold one of them (`*`: any version). */
  readonly ifMatch?: string;
  /** A list of ETags or `*`: the key must hold none of them (`*`: no version at all). */
  readonly ifNoneMatch?: string;
}

/** The longest condition (a list of ETags) a node takes from another. */
export const MAX_CONDITION_CHARS = 4096;

export type ConditionVerdict =
  | { readonly pass: true }
  /** The key holds a version the condition excludes (412). */
  | { readonly pass: false; readonly failed: 'If-Match' | 'If-None-Match' }
  /** If-Match on a key that holds no version (404, as S3 answers). */
  | { readonly pass: false; readonly failed: 'absent' };

/** `current`: the live version of the key, none when it is absent or its newest version is a tombstone. */
export function judgeWriteCondition(condition: WriteCondition, current: { readonly etag: string } | undefined): ConditionVerdict {
  if (condition.ifNoneMatch !== undefined && current !== undefined && etagListMatches(condition.ifNoneMatch, current.etag)) {
    return { pass: false, failed: 'If-None-Match' };
  }
  if (condition.ifMatch !== undefined) {
    if (current === undefined) return { pass: false, failed: 'absent' };
    if (!etagListMatches(condition.ifMatch, current.etag)) return { pass: false, failed: 'If-Match' };
  }
  return { pass: true };
}

/** Whether `list` (comma-separated ETags, quoted or not, or `*`) names `etag`. */
export function etagListMatches(list: string, etag: string): boolean {
  const stored = bareEtag(etag);
  return list
    .split(',')
    .map((item) => item.trim())
    .some((item) => item === '*' || (item !== '' && bareEtag(item) === stored));
}

/** An ETag without its quotes or weak prefix. */
function bareEtag(etag: string): string {
  let text = etag.trim();
  if (text.startsWith('W/')) text = text.slice(2);
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  return text;
}

/** Checks a condition that arrived from another node. */
export function isWriteCondition(value: unknown): value is WriteCondition {
  if (typeof value !== 'object' || value === null) return false;
  const { ifMatch, ifNoneMatch } = value as Record<string, unknown>;
  const valid = (field: unknown): boolean => field === undefined || (typeof field === 'string' && field.length <= MAX_CONDITION_CHARS);
  return valid(ifMatch) && valid(ifNoneMatch) && (ifMatch !== undefined || ifNoneMatch !== undefined);
}
