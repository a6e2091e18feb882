/**
 * Bucket lifecycle configuration: kept by the manager with the bucket, applied by the storage nodes'
 * lifecycle workers (actors/storage/lifecycle-worker.ts).
 */
import { randomHex } from '../../../core/random-id.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { buildLifecycleConfiguration, MAX_XML_BODY_BYTES, parseLifecycleConfiguration } from '../../../protocol/s3/xml.js';
import { readSmallBody } from '../request-body.js';
import { bucketOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { changeBucket } from './buckets.js';

export function getBucketLifecycle(ctx: RequestContext): void {
  const bucket = bucketOf(ctx);
  if (bucket.lifecycle === undefined) throw new S3Error('NoSuchLifecycleConfiguration', undefined, { fields: { BucketName: bucket.name } });
  sendXml(ctx, 200, buildLifecycleConfiguration(bucket.lifecycle));
}

export async function putBucketLifecycle(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const parsed = parseLifecycleConfiguration(await readSmallBody(ctx, MAX_XML_BODY_BYTES.lifecycle), () => randomHex(16));
  if (!parsed.ok) throw parsed.error;
  const config = parsed.value;
  const wanted = JSON.stringify(config);
  await changeBucket(ctx, bucket, (admin, requester) => admin.updateLifecycle(bucket.name, requester, config), (changed) => JSON.stringify(changed.lifecycle) === wanted);
  sendEmpty(ctx, 200);
}

/** Answers 204 whether or not the bucket had rules, as S3 does. */
export async function deleteBucketLifecycle(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  if (bucket.lifecycle !== undefined) {
    await changeBucket(ctx, bucket, (admin, requester) => admin.updateLifecycle(bucket.name, requester, null), (changed) => changed.lifecycle === undefined);
  }
  sendEmpty(ctx, 204);
}
