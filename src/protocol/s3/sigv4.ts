/**
 * AWS Signature Version 4 verification for S3: the Authorization header and presigned URLs.
 * S3 signs the path as sent (no normalisation, no double encoding), so the canonical URI is
 * rebuilt from the raw path segment by segment rather than from a decoded key.
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { awsUriEncode, percentDecode, trimHeaderValue, wireBytes } from './encoding.js';
import { S3Error } from './errors.js';
import { formatAmzDate, getHeader, parseHttpDate, parseQueryPairs, type HeaderBag } from './headers.js';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_PAYLOAD_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_PAYLOAD_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const MAX_PRESIGNED_EXPIRES_SECONDS = 604_800;
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
export const S3_SERVICE = 's3';
export const SCOPE_TERMINATOR = 'aws4_request';

const SIGV4A_ALGORITHM = 'AWS4-ECDSA-P256-SHA256';

export interface SignedRequest {
  readonly method: string;
  /** The path exactly as sent, percent-encoding untouched. */
  readonly path: string;
  /** The query string exactly as sent, without the `?`. */
  readonly query: string;
  readonly headers: HeaderBag;
}

export type SecretLookup = (accessKeyId: string) => string | undefined | Promise<string | undefined>;

export interface SigV4Options {
  readonly lookupSecret: SecretLookup;
  /** The current time; passed in so tests (and the simulated cluster) control the clock. */
  readonly nowMs: number;
  /**
   * When set, the credential scope must name this region (or one of `alsoAcceptedRegions`); a scope that
   * names another is refused with this one as the region expected. Otherwise any region is accepted.
   */
  readonly region?: string | undefined;
  readonly alsoAcceptedRegions?: readonly string[] | undefined;
  readonly keyCache?: SigningKeyCache | undefined;
  readonly maxSkewMs?: number | undefined;
}

/** What the body layer needs to verify aws-chunked signatures after the headers were verified. */
export interface StreamingSigningContext {
  readonly signingKey: Buffer;
  readonly scope: string;
  /** The request's x-amz-date, e.g. 20130524T000000Z. */
  readonly timestamp: string;
  /** The request signature, the first link of the chunk signature chain. */
  readonly seedSignature: string;
}

/** How the body is covered, from x-amz-content-sha256. */
export type PayloadMode =
  /** The signature covers this hex SHA-256 of the body; a different body is XAmzContentSHA256Mismatch. */
  | { readonly type: 'sha256'; readonly sha256: string }
  | { readonly type: 'unsigned' }
  /** aws-chunked with a signature per chunk (and a signed trailer when `trailer`). */
  | { readonly type: 'streaming-signed'; readonly trailer: boolean; readonly signing: StreamingSigningContext }
  /** aws-chunked without chunk signatures, checksum in an unsigned trailer. */
  | { readonly type: 'streaming-unsigned-trailer' };

export interface SigV4Identity {
  readonly accessKeyId: string;
  readonly presigned: boolean;
  readonly region: string;
  readonly signedHeaders: readonly string[];
  readonly payload: PayloadMode;
}

export type VerifyResult<T> = { readonly ok: true; readonly identity: T } | { readonly ok: false; readonly error: S3Error };

// ---------------------------------------------------------------------------------------------
// Signing keys

export function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export function sha256Hex(data: string | Uint8Array): string {
  return hash('sha256', data, 'hex');
}

export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), SCOPE_TERMINATOR);
}

/**
 * Signing keys only change with the day, region and secret, and deriving one costs four HMACs,
 * so they are kept in a small LRU. Entries are keyed by the secret itself so a rotated secret
 * never reuses a stale key.
 */
export class SigningKeyCache {
  private readonly entries = new Map<string, Buffer>();

  constructor(private readonly maxEntries = 1024) {}

  get size(): number {
    return this.entries.size;
  }

  get(secret: string, date: string, region: string, service: string): Buffer {
    const id = `${date}\n${region}\n${service}\n${secret}`;
    const found = this.entries.get(id);
    if (found !== undefined) {
      this.entries.delete(id);
      this.entries.set(id, found);
      return found;
    }
    const key = deriveSigningKey(secret, date, region, service);
    this.entries.set(id, key);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    return key;
  }
}

// ---------------------------------------------------------------------------------------------
// Canonical request

/** A path of unreserved characters and slashes only: its own canonical URI. */
const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;

/** The canonical URI of a raw S3 path: each segment decoded once and re-encoded per RFC 3986. */
export function canonicalUri(rawPath: string): string | undefined {
  if (rawPath === '') return '/';
  // Most paths hold only characters that decode and encode to themselves.
  if (UNRESERVED_PATH.test(rawPath)) return rawPath;
  const segments = rawPath.split('/');
  const out: string[] = [];
  for (const segment of segments) {
    const decoded = percentDecode(segment, false);
    if (decoded === undefined) return undefined;
    out.push(awsUriEncode(decoded, false));
  }
  return out.join('/');
}

/** The canonical query string: pairs decoded, re-encoded, sorted by name then value. */
export function canonicalQueryString(rawQuery: string, exclude?: string): string | undefined {
  const pairs = parseQueryPairs(rawQuery);
  if (pairs === undefined) return undefined;
  const encoded = pairs
    .filter(([name]) => name !== exclude)
    .map(([name, value]) => [awsUriEncode(name, false), awsUriEncode(value, false)] as const);
  encoded.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return encoded.map(([name, value]) => `${name}=${value}`).join('&');
}

/** A value with no tab, no run of spaces and no space at either end: its own canonical form. */
const CANONICAL_HEADER_VALUE = /^(?:[^ \t]+(?: [^ \t]+)*)?$/;

function canonicalHeaderValue(value: string | undefined): string {
  if (value === undefined) return '';
  if (CANONICAL_HEADER_VALUE.test(value)) return value;
  return trimHeaderValue(value.replace(/[ \t]+/g, ' '));
}

export function canonicalRequest(input: {
  readonly method: string;
  readonly canonicalUri: string;
  readonly canonicalQuery: string;
  readonly headers: HeaderBag;
  readonly signedHeaders: readonly string[];
  readonly payloadHash: string;
}): string {
  const headerLines = input.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(getHeader(input.headers, name))}\n`);
  return [
    input.method.toUpperCase(),
    input.canonicalUri,
    input.canonicalQuery,
    headerLines.join(''),
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

/** The signature a request should carry: header and presigned requests are checked the same way. */
function expectedSignature(
  key: Buffer,
  timestamp: string,
  scope: string,
  input: Parameters<typeof canonicalRequest>[0],
): { canonical: string; toSign: string; expected: string } {
  const canonical = canonicalRequest(input);
  const toSign = stringToSign(timestamp, scope, canonical);
  return { canonical, toSign, expected: createHmac('sha256', key).update(toSign, 'utf8').digest('hex') };
}

const NON_ASCII = /[^\u0000-\u007f]/;

export function stringToSign(timestamp: string, scope: string, canonical: string): string {
  // An ASCII string hashes as the same bytes whichever way it is encoded; only others need wireBytes.
  return `${SIGV4_ALGORITHM}\n${timestamp}\n${scope}\n${sha256Hex(NON_ASCII.test(canonical) ? wireBytes(canonical) : canonical)}`;
}

/** Compares two hex signatures without leaking where they differ. */
export function signaturesEqual(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// Shared checks

interface Credential {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The last x-amz-date parsed: a busy client signs many requests within the same second. */
let lastAmzDate: { readonly value: string; readonly ms: number | undefined } = { value: '', ms: undefined };

function parseAmzDate(value: string): number | undefined {
  if (value === lastAmzDate.value) return lastAmzDate.ms;
  const m = AMZ_DATE.exec(value);
  const t = m === null ? undefined : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const ms = t !== undefined && formatAmzDate(t) === value ? t : undefined;
  lastAmzDate = { value, ms };
  return ms;
}

function parseCredential(value: string): Credential | undefined {
  const parts = value.split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) return undefined;
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminator };
}

/** Checks a credential scope against the request date and this endpoint; the message text is AWS's. */
function scopeProblem(credential: Credential, timestamp: string, options: SigV4Options): { message: string; fields?: Record<string, string> } | undefined {
  if (!/^\d{8}$/.test(credential.date) || credential.date !== timestamp.slice(0, 8)) {
    return { message: 'Invalid credential date. Date is not the same as X-Amz-Date.' };
  }
  const { region } = options;
  if (region !== undefined && credential.region !== region && !(options.alsoAcceptedRegions ?? []).includes(credential.region)) {
    return wrongRegionProblem(credential.region, region);
  }
  if (credential.service !== S3_SERVICE) {
    return { message: `incorrect service "${credential.service}". This endpoint belongs to "${S3_SERVICE}".` };
  }
  if (credential.terminator !== SCOPE_TERMINATOR) {
    return { message: `incorrect terminal "${credential.terminator}". This endpoint uses "${SCOPE_TERMINATOR}".` };
  }
  return undefined;
}

function wrongRegionProblem(provided: string, expected: string): { message: string; fields: Record<string, string> } {
  return { message: `the region '${provided}' is wrong; expecting '${expected}'`, fields: { Region: expected } };
}

/**
 * What S3 answers a request signed for region `provided` where `expected` was due, for checks made after
 * the signature was verified (a CreateBucket's region is known only once its body is read).
 */
export function wrongRegionError(presigned: boolean, provided: string, expected: string): S3Error {
  const { message, fields } = wrongRegionProblem(provided, expected);
  return presigned ? credentialParameterError(message, fields) : malformedHeader(message, fields);
}

/** The SignedHeaders lists parsed lately: a client sends the same one with request after request. */
const parsedSignedHeaders = new Map<string, readonly string[]>();
const PARSED_SIGNED_HEADERS_KEPT = 64;

function parseSignedHeaders(value: string): readonly string[] | undefined {
  const known = parsedSignedHeaders.get(value);
  if (known !== undefined) return known;
  const names = value.split(';').map((n) => n.trim().toLowerCase());
  if (names.some((n) => n === '' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(n))) return undefined;
  if (parsedSignedHeaders.size >= PARSED_SIGNED_HEADERS_KEPT) parsedSignedHeaders.clear();
  const frozen = Object.freeze(names);
  parsedSignedHeaders.set(value, frozen);
  return frozen;
}

/** Every x-amz-* header must be signed, or a holder of a presigned URL could add, say, x-amz-acl. */
function unsignedAmzHeaders(headers: HeaderBag, signed: readonly string[], exempt: readonly string[]): string[] {
  return Object.keys(headers)
    .map((name) => name.toLowerCase())
    .filter((name) => name.startsWith('x-amz-') && !signed.includes(name) && !exempt.includes(name));
}

/** What an x-amz-content-sha256 value says about the body: its hash, none, or one of the aws-chunked framings. */
export type PayloadHashKind = 'sha256' | 'unsigned' | 'streaming' | 'streaming-trailer' | 'unsigned-trailer';

/**
 * Interprets x-amz-content-sha256 (or a presigned URL's payload hash): 64 hex digits or one of the values
 * S3 defines; anything else is InvalidArgument, whether or not the request signs it.
 */
export function parsePayloadHash(value: string): { ok: true; mode: PayloadHashKind } | { ok: false; error: S3Error } {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { ok: true, mode: 'sha256' };
  switch (value) {
    case UNSIGNED_PAYLOAD:
      return { ok: true, mode: 'unsigned' };
    case STREAMING_PAYLOAD:
      return { ok: true, mode: 'streaming' };
    case STREAMING_PAYLOAD_TRAILER:
      return { ok: true, mode: 'streaming-trailer' };
    case STREAMING_UNSIGNED_PAYLOAD_TRAILER:
      return { ok: true, mode: 'unsigned-trailer' };
    case 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD':
    case 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER':
      return { ok: false, error: new S3Error('NotImplemented', 'Signature Version 4A is not supported.') };
    default:
      return {
        ok: false,
        error: new S3Error(
          'InvalidArgument',
          'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, ' +
            'STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
          { fields: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value } },
        ),
      };
  }
}

function skewError(requestMs: number, nowMs: number, maxSkewMs: number): S3Error | undefined {
  if (Math.abs(nowMs - requestMs) <= maxSkewMs) return undefined;
  return new S3Error('RequestTimeTooSkewed', undefined, {
    fields: {
      RequestTime: formatAmzDate(requestMs),
      ServerTime: new Date(nowMs).toISOString(),
      MaxAllowedSkewMilliseconds: String(maxSkewMs),
    },
  });
}

function fail<T>(error: S3Error): VerifyResult<T> {
  return { ok: false, error };
}

async function signingKeyFor(options: SigV4Options, credential: Credential): Promise<Buffer | S3Error> {
  const secret = await options.lookupSecret(credential.accessKeyId);
  if (secret === undefined) {
    return new S3Error('InvalidAccessKeyId', undefined, { fields: { AWSAccessKeyId: credential.accessKeyId } });
  }
  return options.keyCache !== undefined
    ? options.keyCache.get(secret, credential.date, credential.region, credential.service)
    : deriveSigningKey(secret, credential.date, credential.region, credential.service);
}

function mismatch(accessKeyId: string, toSign: string, provided: string, canonical: string): S3Error {
  return new S3Error('SignatureDoesNotMatch', undefined, {
    fields: { AWSAccessKeyId: accessKeyId, StringToSign: toSign, SignatureProvided: provided, CanonicalRequest: canonical },
  });
}

// ---------------------------------------------------------------------------------------------
// Authorization header

interface AuthorizationHeader {
  readonly credential: Credential;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

function malformedHeader(detail: string, fields?: Record<string, string>): S3Error {
  return new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${detail}`, fields === undefined ? {} : { fields });
}

const CREDENTIAL_FORMAT = 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".';

export function parseAuthorizationHeader(value: string): AuthorizationHeader | S3Error {
  const text = value.trim();
  if (text.startsWith(SIGV4A_ALGORITHM)) return new S3Error('NotImplemented', 'Signature Version 4A is not supported.');
  if (!text.startsWith(`${SIGV4_ALGORITHM} `)) {
    return new S3Error('InvalidArgument', 'Unsupported Authorization Type', {
      fields: { ArgumentName: 'Authorization', ArgumentValue: value },
    });
  }
  const names: string[] = [];
  let credentialText: string | undefined;
  let signedText: string | undefined;
  let signature: string | undefined;
  for (const part of text.slice(SIGV4_ALGORITHM.length).split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return malformedHeader(`the authorization component "${item}" is malformed.`);
    const name = item.slice(0, eq).trim();
    if (names.includes(name)) return malformedHeader(`the authorization component "${item}" is malformed.`);
    names.push(name);
    const value = item.slice(eq + 1).trim();
    if (name === 'Credential') credentialText = value;
    else if (name === 'SignedHeaders') signedText = value;
    else if (name === 'Signature') signature = value;
  }
  if (credentialText === undefined) return malformedHeader('missing Credential.');
  if (signedText === undefined) return malformedHeader('missing SignedHeaders.');
  if (signature === undefined) return malformedHeader('missing Signature.');
  const credential = parseCredential(credentialText);
  if (credential === undefined) return malformedHeader(CREDENTIAL_FORMAT);
  const signedHeaders = parseSignedHeaders(signedText);
  if (signedHeaders === undefined) return malformedHeader('the SignedHeaders component is malformed.');
  // A signature that is not 64 hex digits is still only a signature that does not match: S3 answers
  // SignatureDoesNotMatch for it, as for any other.
  return { credential, signedHeaders, signature: signature.toLowerCase() };
}

/** The request time of a header-signed request: x-amz-date, or a Date header as a fallback. */
function requestTimestamp(headers: HeaderBag): { timestamp: string; ms: number } | undefined {
  const amzDate = getHeader(headers, 'x-amz-date');
  if (amzDate !== undefined) {
    const ms = parseAmzDate(amzDate.trim());
    return ms === undefined ? undefined : { timestamp: amzDate.trim(), ms };
  }
  const date = getHeader(headers, 'date');
  if (date === undefined) return undefined;
  const ms = parseHttpDate(date);
  return ms === undefined ? undefined : { timestamp: formatAmzDate(ms), ms };
}

export async function verifySigV4Header(request: SignedRequest, options: SigV4Options): Promise<VerifyResult<SigV4Identity>> {
  const authorization = getHeader(request.headers, 'authorization');
  if (authorization === undefined) return fail(new S3Error('AccessDenied'));
  const parsed = parseAuthorizationHeader(authorization);
  if (parsed instanceof S3Error) return fail(parsed);
  const { credential, signedHeaders, signature } = parsed;

  const time = requestTimestamp(request.headers);
  if (time === undefined) return fail(new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header'));
  const scopeIssue = scopeProblem(credential, time.timestamp, options);
  if (scopeIssue !== undefined) return fail(malformedHeader(scopeIssue.message, scopeIssue.fields));
  if (!signedHeaders.includes('host')) return fail(malformedHeader('the SignedHeaders component must include host.'));
  const skew = skewError(time.ms, options.nowMs, options.maxSkewMs ?? MAX_CLOCK_SKEW_MS);
  if (skew !== undefined) return fail(skew);

  const payloadHash = getHeader(request.headers, 'x-amz-content-sha256')?.trim();
  if (payloadHash === undefined) {
    return fail(new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256'));
  }
  const payload = parsePayloadHash(payloadHash);
  if (!payload.ok) return fail(payload.error);

  const unsigned = unsignedAmzHeaders(request.headers, signedHeaders, []);
  if (unsigned.length > 0) {
    return fail(new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      fields: { HeadersNotSigned: unsigned.join(', ') },
    }));
  }

  const uri = canonicalUri(stripQuery(request.path));
  const query = canonicalQueryString(request.query);
  if (uri === undefined || query === undefined) return fail(new S3Error('InvalidURI'));

  const key = await signingKeyFor(options, credential);
  if (key instanceof S3Error) return fail(key);
  const scope = scopeOf(credential);
  const { canonical, toSign, expected } = expectedSignature(key, time.timestamp, scope, { method: request.method, canonicalUri: uri, canonicalQuery: query, headers: request.headers, signedHeaders, payloadHash });
  if (!signaturesEqual(expected, signature)) return fail(mismatch(credential.accessKeyId, toSign, signature, canonical));

  let mode: PayloadMode;
  switch (payload.mode) {
    case 'sha256':
      mode = { type: 'sha256', sha256: payloadHash.toLowerCase() };
      break;
    case 'unsigned':
      mode = { type: 'unsigned' };
      break;
    case 'unsigned-trailer':
      mode = { type: 'streaming-unsigned-trailer' };
      break;
    case 'streaming':
    case 'streaming-trailer':
      mode = {
        type: 'streaming-signed',
        trailer: payload.mode === 'streaming-trailer',
        signing: { signingKey: key, scope, timestamp: time.timestamp, seedSignature: expected },
      };
      break;
  }
  return {
    ok: true,
    identity: { accessKeyId: credential.accessKeyId, presigned: false, region: credential.region, signedHeaders, payload: mode },
  };
}

function scopeOf(credential: Credential): string {
  return `${credential.date}/${credential.region}/${credential.service}/${credential.terminator}`;
}

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

// ---------------------------------------------------------------------------------------------
// Presigned URLs

function queryError(message: string): S3Error {
  return new S3Error('AuthorizationQueryParametersError', message);
}

function credentialParameterError(message: string, fields: Record<string, string> | undefined): S3Error {
  return new S3Error('AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; ${message}`, fields === undefined ? {} : { fields });
}

export async function verifySigV4Presigned(request: SignedRequest, options: SigV4Options): Promise<VerifyResult<SigV4Identity>> {
  const pairs = parseQueryPairs(request.query);
  if (pairs === undefined) return fail(new S3Error('InvalidURI'));
  const param = (name: string): string | undefined => pairs.find(([n]) => n === name)?.[1];

  const algorithm = param('X-Amz-Algorithm');
  const credentialText = param('X-Amz-Credential');
  const amzDate = param('X-Amz-Date');
  const expiresText = param('X-Amz-Expires');
  const signedText = param('X-Amz-SignedHeaders');
  const signature = param('X-Amz-Signature');
  if (
    algorithm === undefined || credentialText === undefined || amzDate === undefined ||
    expiresText === undefined || signedText === undefined || signature === undefined
  ) {
    return fail(queryError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, ' +
        'X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    ));
  }
  if (algorithm === SIGV4A_ALGORITHM) return fail(new S3Error('NotImplemented', 'Signature Version 4A is not supported.'));
  if (algorithm !== SIGV4_ALGORITHM) {
    return fail(queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'));
  }
  const credential = parseCredential(credentialText);
  if (credential === undefined) return fail(queryError(`Error parsing the X-Amz-Credential parameter; ${CREDENTIAL_FORMAT}`));
  const requestMs = parseAmzDate(amzDate);
  if (requestMs === undefined) return fail(queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""));
  if (/^-\d{1,10}$/.test(expiresText)) return fail(queryError('X-Amz-Expires must be non-negative'));
  if (!/^\d{1,10}$/.test(expiresText)) return fail(queryError('X-Amz-Expires should be a number'));
  const expiresSeconds = Number(expiresText);
  if (expiresSeconds > MAX_PRESIGNED_EXPIRES_SECONDS) {
    return fail(queryError('X-Amz-Expires must be less than a week (in seconds) that is 604800'));
  }
  const scopeIssue = scopeProblem(credential, amzDate, options);
  if (scopeIssue !== undefined) return fail(credentialParameterError(scopeIssue.message, scopeIssue.fields));
  const signedHeaders = parseSignedHeaders(signedText);
  if (signedHeaders === undefined || !signedHeaders.includes('host')) {
    return fail(queryError('X-Amz-SignedHeaders must include host.'));
  }

  const maxSkewMs = options.maxSkewMs ?? MAX_CLOCK_SKEW_MS;
  if (requestMs - options.nowMs > maxSkewMs) {
    return fail(new S3Error('AccessDenied', 'Request is not valid yet'));
  }
  const expiresAtMs = requestMs + expiresSeconds * 1000;
  if (options.nowMs > expiresAtMs) {
    return fail(new S3Error('AccessDenied', 'Request has expired', {
      fields: {
        'X-Amz-Expires': expiresText,
        Expires: new Date(expiresAtMs).toISOString(),
        ServerTime: new Date(options.nowMs).toISOString(),
      },
    }));
  }

  // A presigned URL cannot know the body, so S3 signs it as UNSIGNED-PAYLOAD unless the URL or a
  // signed header names a hash. A hash the header declares is checked against the body all the same.
  const headerHash = getHeader(request.headers, 'x-amz-content-sha256')?.trim();
  const payloadHash = param('X-Amz-Content-Sha256') ?? (signedHeaders.includes('x-amz-content-sha256') ? headerHash : undefined) ?? UNSIGNED_PAYLOAD;
  const payload = parsePayloadHash(payloadHash);
  const declared = headerHash === undefined ? payload : parsePayloadHash(headerHash);
  if (!payload.ok) return fail(payload.error);
  if (!declared.ok) return fail(declared.error);
  const streaming = (mode: PayloadHashKind): boolean => mode !== 'sha256' && mode !== 'unsigned';
  if (streaming(payload.mode) || streaming(declared.mode)) {
    return fail(new S3Error('InvalidRequest', 'Presigned requests cannot use a streaming payload.'));
  }

  const unsigned = unsignedAmzHeaders(request.headers, signedHeaders, ['x-amz-content-sha256']);
  if (unsigned.length > 0) {
    return fail(new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      fields: { HeadersNotSigned: unsigned.join(', ') },
    }));
  }

  const uri = canonicalUri(stripQuery(request.path));
  const query = canonicalQueryString(request.query, 'X-Amz-Signature');
  if (uri === undefined || query === undefined) return fail(new S3Error('InvalidURI'));

  const key = await signingKeyFor(options, credential);
  if (key instanceof S3Error) return fail(key);
  const { canonical, toSign, expected } = expectedSignature(key, amzDate, scopeOf(credential), { method: request.method, canonicalUri: uri, canonicalQuery: query, headers: request.headers, signedHeaders, payloadHash });
  if (!signaturesEqual(expected, signature)) return fail(mismatch(credential.accessKeyId, toSign, signature, canonical));

  return {
    ok: true,
    identity: {
      accessKeyId: credential.accessKeyId,
      presigned: true,
      region: credential.region,
      signedHeaders,
      payload: payload.mode === 'sha256'
        ? { type: 'sha256', sha256: payloadHash.toLowerCase() }
        : declared.mode === 'sha256' && headerHash !== undefined ? { type: 'sha256', sha256: headerHash.toLowerCase() } : { type: 'unsigned' },
    },
  };
}
