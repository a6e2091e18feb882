/**
 * AWS Signature Version 2 verification (HMAC-SHA1): `Authorization: AWS id:signature` and the
 * AWSAccessKeyId / Signature / Expires query form. Older tools still speak it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { trimHeaderValue, wireBytes } from './encoding.js';
import { S3Error } from './errors.js';
import { getHeader, parseHttpDate, parseQueryPairs, type HeaderBag } from './headers.js';
import type { SecretLookup, SignedRequest, VerifyResult } from './sigv4.js';
import { MAX_CLOCK_SKEW_MS } from './sigv4.js';

/** The query parameters that name a sub-resource or override and so are part of what is signed. */
export const SIGNED_SUBRESOURCES: ReadonlySet<string> = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'delete', 'encryption', 'intelligent-tiering',
  'inventory', 'legal-hold', 'lifecycle', 'location', 'logging', 'metrics', 'notification', 'object-lock',
  'ownershipControls', 'partNumber', 'policy', 'policyStatus', 'publicAccessBlock', 'replication',
  'requestPayment', 'response-cache-control', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-content-type', 'response-expires', 'restore', 'retention',
  'select', 'select-type', 'tagging', 'torrent', 'uploadId', 'uploads', 'versionId', 'versioning',
  'versions', 'website',
]);

export interface SigV2Request extends SignedRequest {
  /** The bucket when it was named by the Host header; SigV2 then signs `/bucket` before the path. */
  readonly virtualHostBucket: string | undefined;
}

export interface SigV2Options {
  readonly lookupSecret: SecretLookup;
  readonly nowMs: number;
  readonly maxSkewMs?: number | undefined;
}

export interface SigV2Identity {
  readonly accessKeyId: string;
  readonly presigned: boolean;
}

/** `/bucket/key?sub-resources`: the raw path as sent, sub-resources sorted with decoded values. */
export function canonicalizedResource(request: SigV2Request): string | undefined {
  return canonicalizedResources(request)?.[0];
}

/**
 * Every resource string a client may have signed, the one S3 itself signs first: a path-style request
 * that names only a bucket is `/bucket/` (what SDKs sign however they spell the path) or, from clients
 * that sign the path as sent, `/bucket`.
 */
export function canonicalizedResources(request: SigV2Request): string[] | undefined {
  const q = request.path.indexOf('?');
  const path = q === -1 ? request.path : request.path.slice(0, q);
  const pairs = parseQueryPairs(request.query);
  if (pairs === undefined) return undefined;
  const prefix = request.virtualHostBucket === undefined ? '' : `/${request.virtualHostBucket}`;
  const subresources = pairs
    .filter(([name]) => SIGNED_SUBRESOURCES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`));
  const query = subresources.length === 0 ? '' : `?${subresources.join('&')}`;
  const bucketOnly = request.virtualHostBucket === undefined && /^\/[^/]+$/.test(path);
  const paths = bucketOnly ? [`${path}/`, path] : [prefix + path];
  return paths.map((p) => p + query);
}

/** `x-amz-*` headers, lower-case, sorted, repeated values comma-joined, folding whitespace unfolded. */
export function canonicalizedAmzHeaders(headers: HeaderBag, exclude: readonly string[] = []): string {
  const merged = new Map<string, string[]>();
  for (const [rawName, raw] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (raw === undefined || !name.startsWith('x-amz-') || exclude.includes(name)) continue;
    const values = typeof raw === 'string' ? [raw] : raw;
    const list = merged.get(name) ?? [];
    list.push(...values.map((v) => trimHeaderValue(v.replace(/[ \t]*\r?\n[ \t]*/g, ' '))));
    merged.set(name, list);
  }
  return [...merged.keys()]
    .sort()
    .map((name) => `${name}:${merged.get(name)!.join(',')}\n`)
    .join('');
}

export function stringToSignV2(request: SigV2Request, dateLine: string, amzHeaders: string, resource: string): string {
  const md5 = getHeader(request.headers, 'content-md5') ?? '';
  const type = getHeader(request.headers, 'content-type') ?? '';
  return `${request.method.toUpperCase()}\n${trimHeaderValue(md5)}\n${trimHeaderValue(type)}\n${dateLine}\n${amzHeaders}${resource}`;
}

export function signV2(secret: string, toSign: string): string {
  return createHmac('sha1', secret).update(wireBytes(toSign)).digest('base64');
}

function equalBase64(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function fail<T>(error: S3Error): VerifyResult<T> {
  return { ok: false, error };
}

async function lookup(options: SigV2Options, accessKeyId: string): Promise<string | S3Error> {
  const secret = await options.lookupSecret(accessKeyId);
  return secret ?? new S3Error('InvalidAccessKeyId', undefined, { fields: { AWSAccessKeyId: accessKeyId } });
}

function mismatch(accessKeyId: string, toSign: string, provided: string): S3Error {
  return new S3Error('SignatureDoesNotMatch', undefined, {
    fields: { AWSAccessKeyId: accessKeyId, StringToSign: toSign, SignatureProvided: provided },
  });
}

export async function verifySigV2Header(request: SigV2Request, options: SigV2Options): Promise<VerifyResult<SigV2Identity>> {
  const authorization = getHeader(request.headers, 'authorization')?.trim();
  const m = authorization === undefined ? null : /^AWS ([^:\s]+):(\S+)$/.exec(authorization);
  if (m === null) return fail(new S3Error('InvalidArgument', 'Authorization header is invalid -- one and only one \' \' (space) required', {
    fields: { ArgumentName: 'Authorization', ArgumentValue: authorization ?? '' },
  }));
  const accessKeyId = m[1]!;
  const provided = m[2]!;

  const amzDate = getHeader(request.headers, 'x-amz-date');
  const date = getHeader(request.headers, 'date');
  const timeText = amzDate ?? date;
  const requestMs = timeText === undefined ? undefined : parseHttpDate(timeText);
  // A time before the epoch is no time S3 can compare; it is refused like an unreadable date.
  if (requestMs === undefined || requestMs < 0) {
    return fail(new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header'));
  }
  const maxSkewMs = options.maxSkewMs ?? MAX_CLOCK_SKEW_MS;
  if (Math.abs(options.nowMs - requestMs) > maxSkewMs) {
    return fail(new S3Error('RequestTimeTooSkewed', undefined, {
      fields: {
        RequestTime: timeText ?? '',
        ServerTime: new Date(options.nowMs).toISOString(),
        MaxAllowedSkewMilliseconds: String(maxSkewMs),
      },
    }));
  }

  const resources = canonicalizedResources(request);
  if (resources === undefined) return fail(new S3Error('InvalidURI'));
  const secret = await lookup(options, accessKeyId);
  if (secret instanceof S3Error) return fail(secret);

  // With x-amz-date present the Date line is empty and x-amz-date is signed among the amz
  // headers. Clients that set both sign the Date header's value instead, and the AWS
  // documentation's own DELETE example puts x-amz-date on the Date line; all three are accepted.
  const amzHeaders = canonicalizedAmzHeaders(request.headers);
  const candidates: string[] = [];
  for (const resource of resources) {
    candidates.push(stringToSignV2(request, amzDate === undefined ? (date ?? '').trim() : '', amzHeaders, resource));
    if (amzDate !== undefined) {
      if (date !== undefined) candidates.push(stringToSignV2(request, date.trim(), amzHeaders, resource));
      candidates.push(stringToSignV2(request, amzDate.trim(), canonicalizedAmzHeaders(request.headers, ['x-amz-date']), resource));
    }
  }
  for (const toSign of candidates) {
    if (equalBase64(signV2(secret, toSign), provided)) {
      return { ok: true, identity: { accessKeyId, presigned: false } };
    }
  }
  return fail(mismatch(accessKeyId, candidates[0]!, provided));
}

export async function verifySigV2Presigned(request: SigV2Request, options: SigV2Options): Promise<VerifyResult<SigV2Identity>> {
  const pairs = parseQueryPairs(request.query);
  if (pairs === undefined) return fail(new S3Error('InvalidURI'));
  const param = (name: string): string | undefined => pairs.find(([n]) => n === name)?.[1];
  const accessKeyId = param('AWSAccessKeyId');
  const provided = param('Signature');
  const expires = param('Expires');
  if (accessKeyId === undefined || provided === undefined || expires === undefined || accessKeyId === '') {
    return fail(new S3Error('AuthorizationQueryParametersError'));
  }
  if (!/^\d{1,12}$/.test(expires)) {
    return fail(new S3Error('AuthorizationQueryParametersError', 'Invalid date (should be seconds since epoch)'));
  }
  const expiresMs = Number(expires) * 1000;
  if (options.nowMs > expiresMs) {
    return fail(new S3Error('AccessDenied', 'Request has expired', {
      fields: { Expires: new Date(expiresMs).toISOString(), ServerTime: new Date(options.nowMs).toISOString() },
    }));
  }
  const resources = canonicalizedResources(request);
  if (resources === undefined) return fail(new S3Error('InvalidURI'));
  const secret = await lookup(options, accessKeyId);
  if (secret instanceof S3Error) return fail(secret);
  const candidates = resources.map((resource) => stringToSignV2(request, expires, canonicalizedAmzHeaders(request.headers), resource));
  if (!candidates.some((toSign) => equalBase64(signV2(secret, toSign), provided))) return fail(mismatch(accessKeyId, candidates[0]!, provided));
  return { ok: true, identity: { accessKeyId, presigned: true } };
}
