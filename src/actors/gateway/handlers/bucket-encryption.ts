/**
 * A bucket's default encryption (Get/Put/DeleteBucketEncryption): objects written to it without an
 * encryption of their own are encrypted with SSE-S3, or with SSE-KMS under the key it names (a
 * master key id; the current master key when it names none).
 */
import { S3Error } from '../../../protocol/s3/errors.js';
import { buildBucketEncryption, MAX_XML_BODY_BYTES, parseBucketEncryption } from '../../../protocol/s3/xml.js';
import { readSmallBody } from '../request-body.js';
import { bucketOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { kmsKeyName, kmsKeyNotFound, serverAlgorithm } from '../server-side-encryption.js';
import { deleteBucketDocument, putBucketDocument } from './buckets.js';

export function getBucketEncryption(ctx: RequestContext): void {
  const bucket = bucketOf(ctx);
  if (bucket.defaultEncryption === undefined) throw new S3Error('ServerSideEncryptionConfigurationNotFoundError', undefined, { fields: { BucketName: bucket.name } });
  sendXml(ctx, 200, buildBucketEncryption(bucket.defaultEncryption, bucket.defaultKmsKeyId));
}

export async function putBucketEncryption(ctx: RequestContext): Promise<void> {
  const parsed = parseBucketEncryption(await readSmallBody(ctx, MAX_XML_BODY_BYTES.versioning));
  if (!parsed.ok) throw parsed.error;
  const mode = serverAlgorithm(parsed.value.algorithm);
  const master = ctx.deps.masterKeys;
  if (master === undefined) throw new S3Error('NotImplemented', `${mode} is not available: this gateway has no master keys configured.`);
  const kmsKeyId = parsed.value.kmsKeyId === undefined ? undefined : kmsKeyName(parsed.value.kmsKeyId);
  if (kmsKeyId !== undefined && mode !== 'SSE-KMS') throw new S3Error('InvalidArgument', 'A KMSMasterKeyID goes with aws:kms only.');
  if (kmsKeyId !== undefined && !master.keys.has(kmsKeyId)) throw kmsKeyNotFound(kmsKeyId);
  const algorithm = mode === 'SSE-S3' ? 'AES256' as const : 'aws:kms' as const;
  await putBucketDocument(ctx, { kind: 'defaultEncryption', value: { algorithm, ...(kmsKeyId === undefined ? {} : { kmsKeyId }) } },
    (changed) => changed.defaultEncryption === algorithm && changed.defaultKmsKeyId === kmsKeyId);
  sendEmpty(ctx, 200);
}

export function deleteBucketEncryption(ctx: RequestContext): Promise<void> {
  return deleteBucketDocument(ctx, 'defaultEncryption', (bucket) => bucket.defaultEncryption !== undefined);
}
