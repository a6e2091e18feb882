/**
 * A bucket's default encryption (Get/Put/DeleteBucketEncryption): objects written to it without an
 * encryption of their own are encrypted with SSE-S3. SSE-KMS is not offered.
 */
import { S3Error } from '../../../protocol/s3/errors.js';
import { buildBucketEncryption, MAX_XML_BODY_BYTES, parseBucketEncryption } from '../../../protocol/s3/xml.js';
import { readSmallBody } from '../request-body.js';
import { bucketOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { deleteBucketDocument, putBucketDocument } from './buckets.js';

export function getBucketEncryption(ctx: RequestContext): void {
  const bucket = bucketOf(ctx);
  if (bucket.defaultEncryption === undefined) throw new S3Error('ServerSideEncryptionConfigurationNotFoundError', undefined, { fields: { BucketName: bucket.name } });
  sendXml(ctx, 200, buildBucketEncryption(bucket.defaultEncryption));
}

export async function putBucketEncryption(ctx: RequestContext): Promise<void> {
  const parsed = parseBucketEncryption(await readSmallBody(ctx, MAX_XML_BODY_BYTES.versioning));
  if (!parsed.ok) throw parsed.error;
  const { algorithm } = parsed.value;
  if (algorithm === 'aws:kms' || algorithm === 'aws:kms:dsse') throw new S3Error('NotImplemented', 'SSE-KMS is not supported: this store has no key management service; use AES256.');
  if (algorithm !== 'AES256') throw new S3Error('MalformedXML');
  if (ctx.deps.masterKeys === undefined) throw new S3Error('NotImplemented', 'SSE-S3 is not available: this gateway has no master keys configured.');
  await putBucketDocument(ctx, { kind: 'defaultEncryption', value: 'AES256' }, (changed) => changed.defaultEncryption === 'AES256');
  sendEmpty(ctx, 200);
}

export function deleteBucketEncryption(ctx: RequestContext): Promise<void> {
  return deleteBucketDocument(ctx, 'defaultEncryption', (bucket) => bucket.defaultEncryption !== undefined);
}
