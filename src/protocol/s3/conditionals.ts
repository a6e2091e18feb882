/**
 * Conditional requests: If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since on
 * GET/HEAD (RFC 7232 section 6 order, as S3 applies it), their x-amz-copy-source-if-* twins on
 * copies. Conditional writes are decided by the storage cluster (core/write-condition.ts).
 */
import { etagListMatches } from '../../core/write-condition.js';
import { S3Error } from './errors.js';
import { getHeader, parseHttpDate, type HeaderBag } from './headers.js';

export interface ObjectVersionInfo {
  /** The stored ETag, with or without quotes. */
  readonly etag: string;
  readonly lastModified: Date | number;
}

export type ConditionOutcome =
  | { readonly type: 'proceed' }
  | { readonly type: 'not-modified' }
  | { readonly type: 'precondition-failed'; readonly condition: string };

function seconds(time: Date | number): number {
  return Math.floor((typeof time === 'number' ? time : time.getTime()) / 1000);
}

/** An HTTP date header as whole seconds; an unparseable date is treated as absent. */
function dateHeader(headers: HeaderBag, name: string): number | undefined {
  const value = getHeader(headers, name);
  if (value === undefined) return undefined;
  const ms = parseHttpDate(value);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

interface ConditionNames {
  readonly ifMatch: string;
  readonly ifNoneMatch: string;
  readonly ifModifiedSince: string;
  readonly ifUnmodifiedSince: string;
}

const READ_NAMES: ConditionNames = {
  ifMatch: 'if-match',
  ifNoneMatch: 'if-none-match',
  ifModifiedSince: 'if-modified-since',
  ifUnmodifiedSince: 'if-unmodified-since',
};

const COPY_NAMES: ConditionNames = {
  ifMatch: 'x-amz-copy-source-if-match',
  ifNoneMatch: 'x-amz-copy-source-if-none-match',
  ifModifiedSince: 'x-amz-copy-source-if-modified-since',
  ifUnmodifiedSince: 'x-amz-copy-source-if-unmodified-since',
};

/** The header names as S3 spells them in the Condition element. */
const DISPLAY: Readonly<Record<string, string>> = {
  'if-match': 'If-Match',
  'if-none-match': 'If-None-Match',
  'if-modified-since': 'If-Modified-Since',
  'if-unmodified-since': 'If-Unmodified-Since',
  'x-amz-copy-source-if-match': 'x-amz-copy-source-If-Match',
  'x-amz-copy-source-if-none-match': 'x-amz-copy-source-If-None-Match',
  'x-amz-copy-source-if-modified-since': 'x-amz-copy-source-If-Modified-Since',
  'x-amz-copy-source-if-unmodified-since': 'x-amz-copy-source-If-Unmodified-Since',
};

function evaluate(headers: HeaderBag, object: ObjectVersionInfo, names: ConditionNames): ConditionOutcome {
  const failed = (name: string): ConditionOutcome => ({ type: 'precondition-failed', condition: DISPLAY[name] ?? name });
  const modified = seconds(object.lastModified);

  const ifMatch = getHeader(headers, names.ifMatch);
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, object.etag)) return failed(names.ifMatch);
  } else {
    const since = dateHeader(headers, names.ifUnmodifiedSince);
    if (since !== undefined && modified > since) return failed(names.ifUnmodifiedSince);
  }

  const ifNoneMatch = getHeader(headers, names.ifNoneMatch);
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, object.etag)) return { type: 'not-modified' };
  } else {
    const since = dateHeader(headers, names.ifModifiedSince);
    if (since !== undefined && modified <= since) return { type: 'not-modified' };
  }
  return { type: 'proceed' };
}

/** GET and HEAD: 412 from If-Match/If-Unmodified-Since, 304 from If-None-Match/If-Modified-Since. */
export function evaluateReadConditions(headers: HeaderBag, object: ObjectVersionInfo): ConditionOutcome {
  return evaluate(headers, object, READ_NAMES);
}

/**
 * CopyObject and UploadPartCopy, against the source object: every failed condition is a 412,
 * including the ones that would be a 304 on a GET.
 */
export function evaluateCopySourceConditions(headers: HeaderBag, source: ObjectVersionInfo): ConditionOutcome {
  const outcome = evaluate(headers, source, COPY_NAMES);
  if (outcome.type !== 'not-modified') return outcome;
  const name = getHeader(headers, COPY_NAMES.ifNoneMatch) !== undefined ? COPY_NAMES.ifNoneMatch : COPY_NAMES.ifModifiedSince;
  return { type: 'precondition-failed', condition: DISPLAY[name]! };
}

/** The error a non-proceed outcome answers with; 304 carries no body. */
export function conditionError(outcome: Exclude<ConditionOutcome, { type: 'proceed' }>): S3Error {
  return outcome.type === 'not-modified'
    ? new S3Error('NotModified')
    : new S3Error('PreconditionFailed', undefined, { fields: { Condition: outcome.condition } });
}
