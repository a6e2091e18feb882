/**
 * Byte ranges: the Range header of GET/HEAD (lenient, as S3 ignores what it cannot use) and
 * x-amz-copy-source-range of UploadPartCopy (strict).
 */
import { S3Error } from './errors.js';

/** An inclusive byte range within an object. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export type RangeResult =
  | { readonly type: 'whole' }
  | { readonly type: 'range'; readonly range: ByteRange }
  | { readonly type: 'unsatisfiable'; readonly error: S3Error };

const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

function unsatisfiable(header: string, size: number): RangeResult {
  return {
    type: 'unsatisfiable',
    error: new S3Error('InvalidRange', undefined, {
      fields: { RangeRequested: header, ActualObjectSize: String(size) },
      headers: { 'Content-Range': `bytes */${size}` },
    }),
  };
}

/**
 * A Range header against an object of `size` bytes. Absent, malformed and multi-range headers
 * mean the whole object, as S3 treats them; a range that starts past the end is InvalidRange.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { type: 'whole' };
  const m = SINGLE_RANGE.exec(header.trim());
  if (m === null) return { type: 'whole' };
  const first = m[1]!;
  const last = m[2]!;
  if (first === '' && last === '') return { type: 'whole' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return unsatisfiable(header, size);
    return { type: 'range', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? Infinity : Number(last);
  if (end < start) return { type: 'whole' };
  if (start >= size) return unsatisfiable(header, size);
  return { type: 'range', range: { start, end: Math.min(end, size - 1) } };
}

/** Content-Range of a partial response. */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

export function rangeLength(range: ByteRange): number {
  return range.end - range.start + 1;
}

const COPY_RANGE = /^bytes=(\d+)-(\d+)$/;

/**
 * x-amz-copy-source-range against a source of `size` bytes: only `bytes=first-last` with
 * first <= last < size is accepted; S3 answers anything else with InvalidArgument.
 */
export function parseCopySourceRange(header: string, size: number): { ok: true; range: ByteRange } | { ok: false; error: S3Error } {
  const m = COPY_RANGE.exec(header.trim());
  if (m === null) {
    return {
      ok: false,
      error: new S3Error(
        'InvalidArgument',
        'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
        { fields: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header } },
      ),
    };
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start || end >= size) {
    return {
      ok: false,
      error: new S3Error('InvalidArgument', `Range specified is not valid for source object of size: ${size}`, {
        fields: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header },
      }),
    };
  }
  return { ok: true, range: { start, end } };
}
