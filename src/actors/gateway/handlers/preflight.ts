/**
 * CORS preflight (OPTIONS on a bucket or an object). Buckets here carry no CORS configuration, so a
 * well-formed preflight is refused the way S3 refuses it for a bucket without one; a malformed one
 * is a 400 before that.
 */
import { S3Error } from '../../../protocol/s3/errors.js';
import type { OperationOf } from '../request-context.js';

const CORS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);

export function preflight(op: OperationOf<'PreflightRequest'>): never {
  if (op.origin === undefined || op.origin === '') {
    throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  }
  if (op.requestMethod === undefined || !CORS_METHODS.has(op.requestMethod)) {
    throw new S3Error('BadRequest', `Invalid Access-Control-Request-Method: ${op.requestMethod ?? ''}`);
  }
  // S3 names the bucket as the resource type whichever was addressed.
  throw new S3Error('AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.', {
    fields: { Method: 'OPTIONS', ResourceType: 'BUCKET' },
  });
}
