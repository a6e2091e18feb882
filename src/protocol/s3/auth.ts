/**
 * Picks the authentication scheme a request uses (SigV4 header or URL, SigV2 header or URL, or
 * none) and verifies it, so the gateway makes one call and gets one answer.
 */
import { S3Error } from './errors.js';
import { getHeader } from './headers.js';
import {
  verifySigV2Header, verifySigV2Presigned, type SigV2Identity, type SigV2Options, type SigV2Request,
} from './sigv2.js';
import {
  parsePayloadHash, verifySigV4Header, verifySigV4Presigned, type PayloadMode, type SigV4Identity, type SigV4Options,
} from './sigv4.js';

export type AuthScheme = 'anonymous' | 'sigv4-header' | 'sigv4-query' | 'sigv2-header' | 'sigv2-query';

export type Authentication =
  | { readonly scheme: 'anonymous'; readonly payload: PayloadMode }
  | ({ readonly scheme: 'sigv4-header' | 'sigv4-query' } & SigV4Identity)
  | ({ readonly scheme: 'sigv2-header' | 'sigv2-query' } & SigV2Identity & { readonly payload: PayloadMode })
  /** No signature: the listener trusts the client's network and names the user itself (the REST API). */
  | { readonly scheme: 'trusted-network'; readonly payload: PayloadMode };

export type AuthenticateOptions = SigV4Options & SigV2Options;

function queryHas(rawQuery: string, name: string): boolean {
  return rawQuery.split('&').some((part) => part === name || part.startsWith(`${name}=`));
}

/** Which scheme the request claims, or an error when it claims more than one or none cleanly. */
export function detectAuthScheme(request: SigV2Request): AuthScheme | S3Error {
  const authorization = getHeader(request.headers, 'authorization');
  const v4Query = queryHas(request.query, 'X-Amz-Algorithm') || queryHas(request.query, 'X-Amz-Credential');
  const v2Query = queryHas(request.query, 'AWSAccessKeyId') || queryHas(request.query, 'Signature');
  const claimed = (authorization !== undefined ? 1 : 0) + (v4Query ? 1 : 0) + (v2Query ? 1 : 0);
  if (claimed > 1) {
    return new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { fields: { ArgumentName: 'Authorization', ArgumentValue: authorization ?? '' } },
    );
  }
  if (authorization !== undefined) {
    const text = authorization.trim();
    if (text.startsWith('AWS4-')) return 'sigv4-header';
    if (text.startsWith('AWS ')) return 'sigv2-header';
    return new S3Error('InvalidArgument', 'Unsupported Authorization Type', {
      fields: { ArgumentName: 'Authorization', ArgumentValue: authorization },
    });
  }
  if (v4Query) return 'sigv4-query';
  if (v2Query) return 'sigv2-query';
  return 'anonymous';
}

/**
 * The payload mode of a request whose headers were not signed with SigV4: a declared hash is still
 * checked, a value that is no hash refused, and an unsigned-trailer upload still needs decoding; signed
 * streaming makes no sense.
 */
function unsignedPayloadMode(request: SigV2Request): PayloadMode | S3Error {
  const declared = getHeader(request.headers, 'x-amz-content-sha256')?.trim();
  if (declared === undefined) return { type: 'unsigned' };
  const parsed = parsePayloadHash(declared);
  if (!parsed.ok) return parsed.error;
  switch (parsed.mode) {
    case 'unsigned':
      return { type: 'unsigned' };
    case 'sha256':
      return { type: 'sha256', sha256: declared.toLowerCase() };
    case 'unsigned-trailer':
      return { type: 'streaming-unsigned-trailer' };
    case 'streaming':
    case 'streaming-trailer':
      return new S3Error('InvalidRequest', 'A signed streaming payload needs a Signature Version 4 Authorization header.');
  }
}

export async function authenticate(
  request: SigV2Request,
  options: AuthenticateOptions,
): Promise<{ readonly ok: true; readonly auth: Authentication } | { readonly ok: false; readonly error: S3Error }> {
  const scheme = detectAuthScheme(request);
  if (scheme instanceof S3Error) return { ok: false, error: scheme };
  switch (scheme) {
    case 'sigv4-header':
    case 'sigv4-query': {
      const result = scheme === 'sigv4-header' ? await verifySigV4Header(request, options) : await verifySigV4Presigned(request, options);
      return result.ok ? { ok: true, auth: { scheme, ...result.identity } } : result;
    }
    case 'sigv2-header':
    case 'sigv2-query': {
      const payload = unsignedPayloadMode(request);
      if (payload instanceof S3Error) return { ok: false, error: payload };
      const result = scheme === 'sigv2-header' ? await verifySigV2Header(request, options) : await verifySigV2Presigned(request, options);
      return result.ok ? { ok: true, auth: { scheme, ...result.identity, payload } } : result;
    }
    case 'anonymous': {
      const payload = unsignedPayloadMode(request);
      if (payload instanceof S3Error) return { ok: false, error: payload };
      return { ok: true, auth: { scheme, payload } };
    }
  }
}


/**
 * A request to a listener that trusts its clients' networks: whatever it signs is not looked at, and its
 * body is read as an unsigned one (a declared hash is still checked).
 */
export function trustedNetworkAuthentication(
  request: SigV2Request,
): { readonly ok: true; readonly auth: Authentication } | { readonly ok: false; readonly error: S3Error } {
  const payload = unsignedPayloadMode(request);
  if (payload instanceof S3Error) return { ok: false, error: payload };
  return { ok: true, auth: { scheme: 'trusted-network', payload } };
}
