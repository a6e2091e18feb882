/**
 * Request and response headers of the object API: user metadata, the standard headers S3 stores
 * with an object, response-* overrides, and HTTP date formats.
 */
import { percentDecode, trimHeaderValue, wireBytes } from './encoding.js';
import { S3Error } from './errors.js';

/**
 * Header names are lower-case as node gives them. Pass `req.headersDistinct` where you can: a
 * header sent twice is then joined with a bare comma as SigV4 and SigV2 canonicalisation expect.
 */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One header's value, repeated values joined with ','; undefined when absent. */
export function getHeader(headers: HeaderBag, name: string): string | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const value = headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(',');
}

/** A query as the gateway parsed it: decoded names and values, first occurrence of a name kept. */
export type QueryInput = ReadonlyMap<string, string> | Readonly<Record<string, string | undefined>>;

export function getQuery(query: QueryInput, name: string): string | undefined {
  if (query instanceof Map) return query.get(name);
  const record = query as Readonly<Record<string, string | undefined>>;
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

export function queryNames(query: QueryInput): string[] {
  return query instanceof Map ? [...query.keys()] : Object.keys(query);
}

/**
 * Splits a raw query string (without `?`) into decoded pairs, in order, keeping duplicates.
 * `+` means space, as in every S3 query. Undefined when a component is not valid percent-encoding.
 */
export function parseQueryPairs(rawQuery: string): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  if (rawQuery === '') return pairs;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq === -1 ? part : part.slice(0, eq);
    const rawValue = eq === -1 ? '' : part.slice(eq + 1);
    const name = percentDecode(rawName, true);
    const value = percentDecode(rawValue, true);
    if (name === undefined || value === undefined) return undefined;
    pairs.push([name, value]);
  }
  return pairs;
}

/** The query as a map for the router: decoded, first occurrence of each name wins. */
export function parseQueryString(rawQuery: string): Map<string, string> | undefined {
  const pairs = parseQueryPairs(rawQuery);
  if (pairs === undefined) return undefined;
  const map = new Map<string, string>();
  for (const [name, value] of pairs) if (!map.has(name)) map.set(name, value);
  return map;
}

// ---------------------------------------------------------------------------------------------
// User metadata

export const USER_METADATA_PREFIX = 'x-amz-meta-';
/** S3's limit: names (without the prefix) plus values, in UTF-8 bytes. */
export const MAX_USER_METADATA_BYTES = 2048;

/**
 * `x-amz-meta-*` headers as a name (lower-case, prefix removed) to value map, within 2 KiB.
 * Values stay as node decoded them (one char per byte), so they go back out byte for byte.
 */
export function extractUserMetadata(
  headers: HeaderBag,
): { ok: true; metadata: Record<string, string> } | { ok: false; error: S3Error } {
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  let size = 0;
  for (const rawName of Object.keys(headers)) {
    const lower = rawName.toLowerCase();
    if (!lower.startsWith(USER_METADATA_PREFIX)) continue;
    const value = getHeader(headers, rawName);
    if (value === undefined) continue;
    const name = lower.slice(USER_METADATA_PREFIX.length);
    if (name === '') {
      return { ok: false, error: new S3Error('InvalidArgument', 'User metadata names must not be empty.') };
    }
    const trimmed = trimHeaderValue(value);
    size += wireBytes(name).length + wireBytes(trimmed).length;
    metadata[name] = Object.hasOwn(metadata, name) ? `${metadata[name]!},${trimmed}` : trimmed;
  }
  if (size > MAX_USER_METADATA_BYTES) {
    return {
      ok: false,
      error: new S3Error('MetadataTooLarge', undefined, {
        fields: { Size: String(size), MaxSizeAllowed: String(MAX_USER_METADATA_BYTES) },
      }),
    };
  }
  return { ok: true, metadata };
}

/** Stored user metadata back as response headers. */
export function userMetadataHeaders(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) out[USER_METADATA_PREFIX + name] = value;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Standard headers stored with an object

export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

export interface StoredHeaders {
  readonly contentType: string;
  readonly contentEncoding: string | undefined;
  readonly contentDisposition: string | undefined;
  readonly contentLanguage: string | undefined;
  readonly cacheControl: string | undefined;
  readonly expires: string | undefined;
}

/**
 * The headers S3 keeps with an object and returns on GET. `aws-chunked` is a transfer detail of the
 * upload, not of the object, so it is dropped from Content-Encoding.
 */
export function extractStoredHeaders(headers: HeaderBag): StoredHeaders {
  const contentType = nonEmpty(getHeader(headers, 'content-type'));
  return {
    contentType: contentType ?? DEFAULT_CONTENT_TYPE,
    contentEncoding: stripAwsChunked(getHeader(headers, 'content-encoding')),
    contentDisposition: nonEmpty(getHeader(headers, 'content-disposition')),
    contentLanguage: nonEmpty(getHeader(headers, 'content-language')),
    cacheControl: nonEmpty(getHeader(headers, 'cache-control')),
    expires: nonEmpty(getHeader(headers, 'expires')),
  };
}

/**
 * Content-Encoding without the `aws-chunked` token, the rest exactly as the client wrote it (S3 returns
 * `deflate, gzip` as sent); undefined when nothing else remains.
 */
export function stripAwsChunked(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const kept = value
    .split(',')
    .filter((token) => token.trim() !== '' && token.trim().toLowerCase() !== 'aws-chunked');
  const joined = trimHeaderValue(kept.join(','));
  return joined === '' ? undefined : joined;
}

/** Whether the body arrives in aws-chunked framing according to Content-Encoding. */
export function hasAwsChunkedEncoding(headers: HeaderBag): boolean {
  const value = getHeader(headers, 'content-encoding');
  if (value === undefined) return false;
  return value.split(',').some((token) => token.trim().toLowerCase() === 'aws-chunked');
}

function nonEmpty(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = trimHeaderValue(value);
  return trimmed === '' ? undefined : trimmed;
}

// ---------------------------------------------------------------------------------------------
// response-* overrides on GET and HEAD

export interface ResponseOverrides {
  readonly contentType?: string;
  readonly contentLanguage?: string;
  readonly expires?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly contentEncoding?: string;
}

const OVERRIDE_PARAMS = [
  ['response-content-type', 'contentType', 'Content-Type'],
  ['response-content-language', 'contentLanguage', 'Content-Language'],
  ['response-expires', 'expires', 'Expires'],
  ['response-cache-control', 'cacheControl', 'Cache-Control'],
  ['response-content-disposition', 'contentDisposition', 'Content-Disposition'],
  ['response-content-encoding', 'contentEncoding', 'Content-Encoding'],
] as const;

export const RESPONSE_OVERRIDE_PARAMS: readonly string[] = OVERRIDE_PARAMS.map(([param]) => param);

export function parseResponseOverrides(query: QueryInput): ResponseOverrides {
  const out: { -readonly [K in keyof ResponseOverrides]: string } = {};
  for (const [param, field] of OVERRIDE_PARAMS) {
    const value = getQuery(query, param);
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/** The response headers the overrides replace, with their HTTP names. */
export function responseOverrideHeaders(overrides: ResponseOverrides): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [, field, header] of OVERRIDE_PARAMS) {
    const value = overrides[field];
    if (value !== undefined) out[header] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Other request headers checked at the edge

export const STORAGE_CLASSES = [
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER',
  'DEEP_ARCHIVE', 'OUTPOSTS', 'GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE',
] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

/** x-amz-storage-class, STANDARD when absent; an unknown class is InvalidStorageClass. */
export function parseStorageClass(headers: HeaderBag): { ok: true; value: StorageClass } | { ok: false; error: S3Error } {
  const value = getHeader(headers, 'x-amz-storage-class');
  if (value === undefined) return { ok: true, value: 'STANDARD' };
  const found = STORAGE_CLASSES.find((c) => c === value.trim());
  if (found === undefined) return { ok: false, error: new S3Error('InvalidStorageClass') };
  return { ok: true, value: found };
}

export const CANNED_ACLS = [
  'private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read',
  'bucket-owner-read', 'bucket-owner-full-control', 'log-delivery-write',
] as const;
export type CannedAcl = (typeof CANNED_ACLS)[number];

/** x-amz-acl; undefined when absent, InvalidArgument when not one of S3's canned ACLs. */
export function parseCannedAcl(
  headers: HeaderBag,
): { ok: true; value: CannedAcl | undefined } | { ok: false; error: S3Error } {
  const value = getHeader(headers, 'x-amz-acl');
  if (value === undefined) return { ok: true, value: undefined };
  const found = CANNED_ACLS.find((c) => c === value.trim());
  if (found === undefined) {
    return { ok: false, error: new S3Error('InvalidArgument', undefined, { fields: { ArgumentName: 'x-amz-acl', ArgumentValue: value } }) };
  }
  return { ok: true, value: found };
}

/**
 * x-amz-tagging: tags as a URL query string (`k1=v1&k2=v2`), the pairs as given (undefined when the
 * header is absent); InvalidArgument when it does not decode. The caller checks the set's limits.
 */
export function parseTaggingHeader(
  headers: HeaderBag,
): { ok: true; value: ReadonlyArray<readonly [string, string]> | undefined } | { ok: false; error: S3Error } {
  const value = getHeader(headers, 'x-amz-tagging');
  if (value === undefined) return { ok: true, value: undefined };
  const pairs: Array<readonly [string, string]> = [];
  for (const item of value.split('&')) {
    if (item === '') continue;
    const equals = item.indexOf('=');
    const key = percentDecode(equals < 0 ? item : item.slice(0, equals), true);
    const tag = percentDecode(equals < 0 ? '' : item.slice(equals + 1), true);
    if (key === undefined || tag === undefined) {
      return { ok: false, error: new S3Error('InvalidArgument', 'The header x-amz-tagging is not a valid URL-encoded query string.', { fields: { ArgumentName: 'x-amz-tagging', ArgumentValue: value } }) };
    }
    pairs.push([key, tag]);
  }
  return { ok: true, value: pairs };
}

/** x-amz-tagging-directive of a copy: COPY (the source's tags) unless REPLACE (the request's) is asked for. */
export function parseTaggingDirective(headers: HeaderBag): { ok: true; value: MetadataDirective } | { ok: false; error: S3Error } {
  const value = getHeader(headers, 'x-amz-tagging-directive');
  if (value === undefined || value.trim() === 'COPY') return { ok: true, value: 'COPY' };
  if (value.trim() === 'REPLACE') return { ok: true, value: 'REPLACE' };
  return {
    ok: false,
    error: new S3Error('InvalidArgument', 'Unknown tagging directive.', { fields: { ArgumentName: 'x-amz-tagging-directive', ArgumentValue: value } }),
  };
}

export type MetadataDirective = 'COPY' | 'REPLACE';

/** x-amz-metadata-directive of a copy: COPY unless REPLACE is asked for. */
export function parseMetadataDirective(
  headers: HeaderBag,
): { ok: true; value: MetadataDirective } | { ok: false; error: S3Error } {
  const value = getHeader(headers, 'x-amz-metadata-directive');
  if (value === undefined || value.trim() === 'COPY') return { ok: true, value: 'COPY' };
  if (value.trim() === 'REPLACE') return { ok: true, value: 'REPLACE' };
  return {
    ok: false,
    error: new S3Error('InvalidArgument', 'Unknown metadata directive.', {
      fields: { ArgumentName: 'x-amz-metadata-directive', ArgumentValue: value },
    }),
  };
}

export interface BodyLength {
  /** Content-Length of the request as sent (framing included for aws-chunked). */
  readonly contentLength: number | undefined;
  /** x-amz-decoded-content-length: the object's size when the body is aws-chunked. */
  readonly decodedContentLength: number | undefined;
}

const DECIMAL = /^[0-9]{1,16}$/;

/** Whether the body arrives in HTTP/1.1 chunked framing, whose end marker tells a complete body from a cut one. */
export function hasChunkedTransfer(headers: HeaderBag): boolean {
  const value = getHeader(headers, 'transfer-encoding');
  if (value === undefined) return false;
  return value.split(',').some((token) => token.trim().toLowerCase() === 'chunked');
}

/**
 * NotImplemented for a Transfer-Encoding other than plain `chunked`, as S3 answers: node removes only the
 * chunked framing, so a body under any other coding (`gzip, chunked`) would be stored still encoded.
 */
export function unsupportedTransferEncoding(headers: HeaderBag): S3Error | undefined {
  const value = getHeader(headers, 'transfer-encoding');
  if (value === undefined || value.trim().toLowerCase() === 'chunked') return undefined;
  return new S3Error('NotImplemented', undefined, { fields: { Header: 'Transfer-Encoding' } });
}

/**
 * The lengths a body upload declares. A PUT needs one of them, or HTTP chunked framing (whose end
 * marker shows a truncated body), which is MissingContentLength otherwise.
 */
export function parseBodyLength(headers: HeaderBag, requireLength: boolean): { ok: true; value: BodyLength } | { ok: false; error: S3Error } {
  const rawLength = getHeader(headers, 'content-length');
  const rawDecoded = getHeader(headers, 'x-amz-decoded-content-length');
  let contentLength: number | undefined;
  let decodedContentLength: number | undefined;
  if (rawLength !== undefined) {
    if (!DECIMAL.test(rawLength.trim())) return { ok: false, error: new S3Error('InvalidArgument', 'Invalid Content-Length.') };
    contentLength = Number(rawLength.trim());
  }
  if (rawDecoded !== undefined) {
    if (!DECIMAL.test(rawDecoded.trim())) {
      return {
        ok: false,
        error: new S3Error('InvalidArgument', 'Invalid x-amz-decoded-content-length.', {
          fields: { ArgumentName: 'x-amz-decoded-content-length', ArgumentValue: rawDecoded },
        }),
      };
    }
    decodedContentLength = Number(rawDecoded.trim());
  }
  if (requireLength && contentLength === undefined && decodedContentLength === undefined && !hasChunkedTransfer(headers)) {
    return { ok: false, error: new S3Error('MissingContentLength') };
  }
  return { ok: true, value: { contentLength, decodedContentLength } };
}

// ---------------------------------------------------------------------------------------------
// Dates

/** RFC 7231 IMF-fixdate, as Last-Modified, Date and Expires are written. */
export function formatHttpDate(time: Date | number): string {
  const ms = typeof time === 'number' ? time : time.getTime();
  // Every GET and HEAD answers with one; arithmetic takes a fifth of the time of a Date and its toUTCString.
  if (!Number.isFinite(ms) || ms < 0 || ms >= YEAR_10000_MS) return new Date(ms).toUTCString();
  const days = Math.floor(ms / DAY_MS);
  const seconds = Math.floor((ms - days * DAY_MS) / 1000);
  if (days !== lastHttpDay.days) {
    const { year, month, day } = civilDate(days);
    lastHttpDay = { days, text: `${WEEKDAYS[days % 7]!}, ${pad2(day)} ${MONTHS[month - 1]!} ${year} ` };
  }
  return `${lastHttpDay.text}${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)} GMT`;
}

/** Day 0, 1970-01-01, was a Thursday. */
const WEEKDAYS = ['Thu', 'Fri', 'Sat', 'Sun', 'Mon', 'Tue', 'Wed'];
/** The IMF-fixdate of the last day written, up to its time: most answers name the few days their objects were written on. */
let lastHttpDay = { days: -1, text: '' };

/** ISO 8601 with milliseconds, as S3 writes timestamps in XML: 2009-10-12T17:50:30.000Z. */
export function formatIsoDate(time: Date | number): string {
  const ms = typeof time === 'number' ? time : time.getTime();
  // Listings write a date per key; arithmetic takes a tenth of the time of a Date and its toISOString.
  if (!Number.isInteger(ms) || ms < 0 || ms >= YEAR_10000_MS) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  const inDay = ms - days * DAY_MS;
  if (days !== lastDay.days) {
    const { year, month, day } = civilDate(days);
    lastDay = { days, text: `${year}-${pad2(month)}-${pad2(day)}` };
  }
  return `${lastDay.text}T${pad2(Math.floor(inDay / 3_600_000))}:${pad2(Math.floor(inDay / 60_000) % 60)}:${pad2(Math.floor(inDay / 1000) % 60)}.${String(inDay % 1000).padStart(3, '0')}Z`;
}

const DAY_MS = 86_400_000;
/** The date of the last day written: a listing's objects were mostly written on a few days. */
let lastDay = { days: -1, text: '' };
const YEAR_10000_MS = 253_402_300_800_000;

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** The proleptic Gregorian date `days` days after 1970-01-01 (days ≥ 0), by the era arithmetic of H. Hinnant's civil_from_days. */
function civilDate(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** x-amz-date / X-Amz-Date style basic ISO 8601: 20130524T000000Z. */
export function formatAmzDate(time: Date | number): string {
  return formatIsoDate(time).replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (GMT|UTC|UT|Z|[+-]\d{4})$/;
const RFC_850 = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/**
 * Parses the date forms HTTP allows (IMF-fixdate, RFC 850, asctime) plus the numeric-offset form
 * SigV2 clients send and ISO 8601; anything else is undefined, so callers can ignore it as S3 does.
 */
export function parseHttpDate(value: string): number | undefined {
  const text = value.trim();
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) {
    const zone = m[7]!;
    const offsetMinutes = /^[+-]/.test(zone)
      ? (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)))
      : 0;
    const t = utc(Number(m[3]), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
    return t === undefined ? undefined : t - offsetMinutes * 60_000;
  }
  m = RFC_850.exec(text);
  if (m !== null) {
    const yy = Number(m[3]);
    return utc(yy < 70 ? 2000 + yy : 1900 + yy, m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME.exec(text);
  if (m !== null) return utc(Number(m[6]), m[1]!, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  m = ISO_8601.exec(text);
  if (m !== null) {
    const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
    const t = utc(Number(m[1]), MONTHS[Number(m[2]) - 1] ?? '', Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    return t === undefined ? undefined : t + ms;
  }
  return undefined;
}

function utc(year: number, monthName: string, day: number, hour: number, minute: number, second: number): number | undefined {
  const month = MONTHS.indexOf(monthName);
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const t = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 Feb over into March; such a date is not a date.
  if (new Date(t).getUTCDate() !== day) return undefined;
  return t;
}
