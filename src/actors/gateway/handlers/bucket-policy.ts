/**
 * Bucket policies: checked here when put (core/bucket-policy.ts), kept by the manager with the bucket,
 * and judged on every request by the access decision.
 */
import { MAX_POLICY_BYTES, parseBucketPolicy, policyIsPublic } from '../../../core/bucket-policy.js';
import type { BucketRecord } from '../../../core/auth-snapshot.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { buildPolicyStatus } from '../../../protocol/s3/xml.js';
import { readSmallBody } from '../request-body.js';
import { bucketOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { deleteBucketDocument, putBucketDocument } from './buckets.js';
import { refusePublicPolicy } from '../public-access-refusals.js';

/** Room beyond the policy's own limit, so that an oversized one is refused with the policy's reason. */
const BODY_SLACK_BYTES = 1024;

export function getBucketPolicy(ctx: RequestContext): void {
  const bucket = bucketOf(ctx);
  if (bucket.policy === undefined) throw new S3Error('NoSuchBucketPolicy', undefined, { fields: { BucketName: bucket.name } });
  const body = Buffer.from(bucket.policy.text, 'utf8');
  ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
}

export async function putBucketPolicy(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const text = (await readSmallBody(ctx, MAX_POLICY_BYTES + BODY_SLACK_BYTES)).toString('utf8');
  const parsed = parseBucketPolicy(text, bucket.name);
  if (!parsed.ok) throw new S3Error(parsed.unsupported === true ? 'NotImplemented' : 'MalformedPolicy', parsed.problem);
  const policy = parsed.policy;
  refusePublicPolicy(bucket, policy);
  await putBucketDocument(ctx, { kind: 'policy', value: policy }, (changed) => changed.policy?.text === policy.text);
  sendEmpty(ctx, 204);
}

export function deleteBucketPolicy(ctx: RequestContext): Promise<void> {
  return deleteBucketDocument(ctx, 'policy', (bucket) => bucket.policy !== undefined);
}

export function getBucketPolicyStatus(ctx: RequestContext): void {
  sendXml(ctx, 200, buildPolicyStatus(bucketIsPublic(bucketOf(ctx))));
}

/** Public as S3's policy status counts it: a policy that allows everyone, or an ACL that grants all users or all signed-in users. */
function bucketIsPublic(bucket: BucketRecord): boolean {
  return bucket.acl !== 'private' || (bucket.policy !== undefined && policyIsPublic(bucket.policy));
}
