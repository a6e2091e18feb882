/**
 * LeoFS's plain REST API: `GET`, `PUT`, `HEAD` and `DELETE` of `/bucket/key`, and `GET /bucket/` for a
 * listing, without S3 signing. A request is routed by the S3 router, path-style only (the Host header
 * names no bucket here), to the same operations the S3 API runs, then kept only if it is one of these;
 * anything else the S3 API offers is NotImplemented (501) here, and a method no object has is
 * MethodNotAllowed (405), as S3 says it.
 */
import { S3Error } from '../s3/errors.js';
import type { HeaderBag, QueryInput } from '../s3/headers.js';
import { routeS3Request, type RouteResult, type S3OperationType } from '../s3/router.js';

export const REST_OPERATIONS: ReadonlySet<S3OperationType> = new Set(['GetObject', 'HeadObject', 'PutObject', 'DeleteObject', 'ListObjects', 'ListObjectsV2']);

export interface RestRequestInput {
  readonly method: string;
  /** The path exactly as sent (percent-encoded). */
  readonly path: string;
  readonly query: QueryInput;
  readonly headers: HeaderBag;
}

export function routeRestRequest(input: RestRequestInput): RouteResult {
  const routed = routeS3Request({ ...input, host: undefined }, { virtualHostSuffixes: [] });
  if (!routed.ok || REST_OPERATIONS.has(routed.operation.type)) return routed;
  const error = new S3Error(
    'NotImplemented',
    `The REST API serves only GET, PUT, HEAD and DELETE of /bucket/key and GET /bucket/ listings; ${routed.operation.type} is offered by the S3 API.`,
  );
  return { ok: false, error: error.withResource(routed.addressing.resource), addressing: routed.addressing };
}
