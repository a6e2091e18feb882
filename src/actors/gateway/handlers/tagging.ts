/**
 * Object and bucket tagging. An object's tags belong to one version: PutObjectTagging and
 * DeleteObjectTagging replace them on the key's replicas, decided like a versioned write, and leave the
 * version's data and modification time alone. A bucket's tags are the manager's, like its ACL.
 */
import { MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, sortedTags, tagSetProblem, type Tags } from '../../../core/object-tags.js';
import { versionIdOf } from '../../../core/object-versioning.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { parseTaggingHeader, type HeaderBag } from '../../../protocol/s3/headers.js';
import { buildTagging, MAX_XML_BODY_BYTES, parseTagging } from '../../../protocol/s3/xml.js';
import { loadObject } from '../object-versions.js';
import { recheckVersion } from '../authorization.js';
import { changeVersion, versionHeaders } from '../object-records.js';
import { readSmallBody } from '../request-body.js';
import { bucketOf, type OperationOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { changeBucket } from './buckets.js';

/** The tags an upload asks for in x-amz-tagging, checked; undefined when it asks for none. */
export function requestedTags(headers: HeaderBag): Tags | undefined {
  const parsed = parseTaggingHeader(headers);
  if (!parsed.ok) throw parsed.error;
  if (parsed.value === undefined) return undefined;
  return checkedTags(parsed.value, MAX_OBJECT_TAGS);
}

/** The tags of a Tagging document (a form upload's `tagging` field), checked; undefined when it names none. */
export function taggingDocumentTags(document: string): Tags | undefined {
  const parsed = parseTagging(document);
  if (!parsed.ok) throw parsed.error;
  return checkedTags(parsed.value, MAX_OBJECT_TAGS);
}

/** A tag set within `maxTags` and S3's other limits, or InvalidTag saying what is wrong. */
function checkedTags(pairs: ReadonlyArray<readonly [string, string]>, maxTags: number): Tags | undefined {
  const problem = tagSetProblem(pairs, maxTags);
  if (problem !== undefined) throw new S3Error('InvalidTag', `The tag set is not valid: ${problem}.`);
  return pairs.length === 0 ? undefined : Object.fromEntries(pairs);
}

/** The x-amz-tagging-count header of a read, when the version has tags. */
export function tagCountHeaders(tags: Tags | undefined): Record<string, string> {
  const count = Object.keys(tags ?? {}).length;
  return count === 0 ? {} : { 'x-amz-tagging-count': String(count) };
}

export async function getObjectTagging(ctx: RequestContext, op: OperationOf<'GetObjectTagging'>): Promise<void> {
  const { meta } = await loadObject(ctx.deps, op.bucket, op.key, false, op.versionId);
  recheckVersion(ctx, meta);
  sendXml(ctx, 200, buildTagging(sortedTags(meta.tags)), versionHeaders(ctx.bucket, meta));
}

export async function putObjectTagging(ctx: RequestContext, op: OperationOf<'PutObjectTagging'>): Promise<void> {
  const parsed = parseTagging(await readSmallBody(ctx, MAX_XML_BODY_BYTES.tagging));
  if (!parsed.ok) throw parsed.error;
  await retag(ctx, op, checkedTags(parsed.value, MAX_OBJECT_TAGS) ?? {});
}

export async function deleteObjectTagging(ctx: RequestContext, op: OperationOf<'DeleteObjectTagging'>): Promise<void> {
  await retag(ctx, op, {}, 204);
}

async function retag(ctx: RequestContext, op: OperationOf<'PutObjectTagging' | 'DeleteObjectTagging'>, tags: Tags, status = 200): Promise<void> {
  const written = await changeVersion(ctx.deps, { bucket: op.bucket, key: op.key, versionId: op.versionId }, {
    type: 'retag', tags, ...(op.versionId === undefined ? {} : { versionId: op.versionId }),
  });
  const version = op.versionId ?? versionIdOf(written);
  const speaksOfVersions = Object.keys(versionHeaders(ctx.bucket, written)).length > 0 || op.versionId !== undefined;
  sendEmpty(ctx, status, speaksOfVersions ? { 'x-amz-version-id': version } : {});
}

export function getBucketTagging(ctx: RequestContext): void {
  const bucket = bucketOf(ctx);
  if (bucket.tags === undefined) throw new S3Error('NoSuchTagSet', undefined, { fields: { BucketName: bucket.name } });
  sendXml(ctx, 200, buildTagging(sortedTags(bucket.tags)));
}

export async function putBucketTagging(ctx: RequestContext): Promise<void> {
  const parsed = parseTagging(await readSmallBody(ctx, MAX_XML_BODY_BYTES.tagging));
  if (!parsed.ok) throw parsed.error;
  const tags = checkedTags(parsed.value, MAX_BUCKET_TAGS) ?? {};
  const bucket = bucketOf(ctx);
  await changeBucket(ctx, bucket, (admin, requester) => admin.updateTags(bucket.name, requester, tags), (changed) => sameTags(changed.tags, tags));
  sendEmpty(ctx, 204);
}

export async function deleteBucketTagging(ctx: RequestContext): Promise<void> {
  const bucket = bucketOf(ctx);
  await changeBucket(ctx, bucket, (admin, requester) => admin.updateTags(bucket.name, requester, {}), (changed) => changed.tags === undefined);
  sendEmpty(ctx, 204);
}

function sameTags(a: Tags | undefined, b: Tags): boolean {
  return JSON.stringify(sortedTags(a)) === JSON.stringify(sortedTags(b));
}
