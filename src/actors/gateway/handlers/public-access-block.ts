/**
 * The bucket's public access block (Get/Put/DeletePublicAccessBlock); the refusals its switches make
 * are public-access-refusals.ts's.
 */
import { S3Error } from '../../../protocol/s3/errors.js';
import { buildPublicAccessBlock, MAX_XML_BODY_BYTES, parsePublicAccessBlock } from '../../../protocol/s3/xml.js';
import { readSmallBody } from '../request-body.js';
import { bucketOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { deleteBucketDocument, putBucketDocument } from './buckets.js';

export function getPublicAccessBlock(ctx: RequestContext): void {
  const bucket = bucketOf(ctx);
  if (bucket.publicAccessBlock === undefined) throw new S3Error('NoSuchPublicAccessBlockConfiguration', undefined, { fields: { BucketName: bucket.name } });
  sendXml(ctx, 200, buildPublicAccessBlock(bucket.publicAccessBlock));
}

export async function putPublicAccessBlock(ctx: RequestContext): Promise<void> {
  const parsed = parsePublicAccessBlock(await readSmallBody(ctx, MAX_XML_BODY_BYTES.versioning));
  if (!parsed.ok) throw parsed.error;
  const block = parsed.value;
  const wanted = JSON.stringify(block);
  await putBucketDocument(ctx, { kind: 'publicAccessBlock', value: block }, (changed) => JSON.stringify(changed.publicAccessBlock) === wanted);
  sendEmpty(ctx, 200);
}

export function deletePublicAccessBlock(ctx: RequestContext): Promise<void> {
  return deleteBucketDocument(ctx, 'publicAccessBlock', (bucket) => bucket.publicAccessBlock !== undefined);
}
