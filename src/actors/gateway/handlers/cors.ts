/**
 * Bucket CORS: the rules are kept by the manager with the bucket (Put/Get/DeleteBucketCors), answer
 * browsers' preflights, and add CORS headers to ordinary responses (`corsHeadersFor`, errors included,
 * so a page can read why it was refused).
 */
import type { BucketRecord } from '../../../core/auth-snapshot.js';
import { matchActual, matchPreflight, preflightHeaders, actualHeaders, requestedHeaderNames, CORS_METHODS } from '../../../core/cors.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { getHeader, type HeaderBag } from '../../../protocol/s3/headers.js';
import { buildCorsConfiguration, MAX_XML_BODY_BYTES, parseCorsConfiguration } from '../../../protocol/s3/xml.js';
import { readSmallBody } from '../request-body.js';
import { bucketOf, type OperationOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { deleteBucketDocument, putBucketDocument } from './buckets.js';

export function getBucketCors(ctx: RequestContext): void {
  const bucket = bucketOf(ctx);
  if (bucket.cors === undefined) throw new S3Error('NoSuchCORSConfiguration', undefined, { fields: { BucketName: bucket.name } });
  sendXml(ctx, 200, buildCorsConfiguration(bucket.cors));
}

export async function putBucketCors(ctx: RequestContext): Promise<void> {
  const parsed = parseCorsConfiguration(await readSmallBody(ctx, MAX_XML_BODY_BYTES.cors));
  if (!parsed.ok) throw parsed.error;
  const config = parsed.value;
  const wanted = JSON.stringify(config);
  await putBucketDocument(ctx, { kind: 'cors', value: config }, (changed) => JSON.stringify(changed.cors) === wanted);
  sendEmpty(ctx, 200);
}

export function deleteBucketCors(ctx: RequestContext): Promise<void> {
  return deleteBucketDocument(ctx, 'cors', (bucket) => bucket.cors !== undefined);
}

/**
 * A browser's preflight (OPTIONS), sent without credentials: answered from the bucket's rules. A
 * malformed one is a 400; one that no rule allows, or to a bucket without rules, a 403.
 */
export function preflight(ctx: RequestContext, op: OperationOf<'PreflightRequest'>): void {
  if (op.origin === undefined || op.origin === '') {
    throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  }
  if (op.requestMethod === undefined || !(CORS_METHODS as readonly string[]).includes(op.requestMethod)) {
    throw new S3Error('BadRequest', `Invalid Access-Control-Request-Method: ${op.requestMethod ?? 'null'}`);
  }
  const bucket = bucketOf(ctx);
  // S3 names the bucket as the resource type whichever was addressed.
  const forbidden = { fields: { Method: op.requestMethod, ResourceType: 'BUCKET' } };
  if (bucket.cors === undefined) throw new S3Error('AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.', forbidden);
  const request = { origin: op.origin, method: op.requestMethod, requestHeaders: requestedHeaderNames(getHeader(ctx.headers, 'access-control-request-headers')) };
  const rule = matchPreflight(bucket.cors, request);
  if (rule === undefined) throw new S3Error('AccessForbidden', undefined, forbidden);
  sendEmpty(ctx, 200, preflightHeaders(rule, request));
}

/**
 * The CORS headers an ordinary request to `bucket` is answered with: those of the first rule allowing
 * its Origin and method, none without an Origin or a matching rule. A request that names the method
 * it stands for (Access-Control-Request-Method) is matched by that method.
 */
export function corsHeadersFor(bucket: BucketRecord | undefined, method: string, headers: HeaderBag): Record<string, string> {
  const origin = getHeader(headers, 'origin');
  if (bucket?.cors === undefined || origin === undefined || origin === '') return {};
  const rule = matchActual(bucket.cors, { origin, method, accessControlRequestMethod: getHeader(headers, 'access-control-request-method') });
  return rule === undefined ? {} : actualHeaders(rule, origin);
}
