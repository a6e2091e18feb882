/**
 * ListObjects (v1), ListObjectsV2 and ListObjectVersions. The storage cluster merges the nodes'
 * sorted pages and applies prefix, delimiter and marker; this file maps S3's three dialects onto
 * that one request and renders the answers. Buckets are unversioned: every object is its only
 * version, "null".
 */
import type { ListingEntry, ListingRequest, ListingResult } from '../../../core/listing.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import {
  buildListObjectsResult, buildListObjectsV2Result, buildListVersionsResult, type ObjectSummary, type Owner,
} from '../../../protocol/s3/xml.js';
import { bucketOf, type OperationOf, type RequestContext } from '../request-context.js';
import { sendXml } from '../responses.js';
import { expectOk } from '../storage-errors.js';

async function listPage(ctx: RequestContext, bucket: string, request: {
  readonly prefix: string;
  readonly delimiter: string | undefined;
  readonly marker: string | undefined;
  readonly maxKeys: number;
}): Promise<ListingResult<ListingEntry>> {
  const listing: ListingRequest = {
    prefix: request.prefix,
    maxKeys: request.maxKeys,
    ...(request.delimiter === undefined ? {} : { delimiter: request.delimiter }),
    ...(request.marker === undefined || request.marker === '' ? {} : { marker: request.marker }),
  };
  return expectOk(await ctx.deps.storage.list('object', bucket, listing), 'NoSuchBucket').result;
}

function summary(entry: ListingEntry, owner: Owner): ObjectSummary {
  return { key: entry.key, lastModified: entry.lastModifiedMs, etag: entry.etag, size: entry.sizeBytes, owner };
}

/** Objects are listed as owned by their bucket's owner: every writer acts on the owner's behalf. */
function bucketOwner(ctx: RequestContext): Owner {
  const owner = bucketOf(ctx).owner;
  return { id: owner, displayName: owner };
}

export async function listObjects(ctx: RequestContext, op: OperationOf<'ListObjects'>): Promise<void> {
  const owner = bucketOwner(ctx);
  const page = await listPage(ctx, op.bucket, op);
  sendXml(ctx, 200, buildListObjectsResult({
    bucket: op.bucket,
    prefix: op.prefix,
    marker: op.marker,
    delimiter: op.delimiter,
    maxKeys: op.maxKeys,
    isTruncated: page.isTruncated,
    nextMarker: op.delimiter !== undefined && page.isTruncated ? page.nextMarker : undefined,
    encodingType: op.encodingType,
    contents: page.contents.map((entry) => summary(entry, owner)),
    commonPrefixes: page.commonPrefixes,
  }));
}

export async function listObjectsV2(ctx: RequestContext, op: OperationOf<'ListObjectsV2'>): Promise<void> {
  const owner = bucketOwner(ctx);
  const resumes = op.continuationToken !== undefined && op.continuationToken !== '';
  const marker = resumes ? decodeContinuationToken(op.continuationToken!) : op.startAfter;
  const page = await listPage(ctx, op.bucket, { prefix: op.prefix, delimiter: op.delimiter, marker, maxKeys: op.maxKeys });
  sendXml(ctx, 200, buildListObjectsV2Result({
    bucket: op.bucket,
    prefix: op.prefix,
    delimiter: op.delimiter,
    maxKeys: op.maxKeys,
    isTruncated: page.isTruncated,
    continuationToken: op.continuationToken,
    nextContinuationToken: page.isTruncated && page.nextMarker !== undefined ? encodeContinuationToken(page.nextMarker) : undefined,
    startAfter: op.startAfter,
    encodingType: op.encodingType,
    fetchOwner: op.fetchOwner,
    contents: page.contents.map((entry) => summary(entry, owner)),
    commonPrefixes: page.commonPrefixes,
  }));
}

export async function listObjectVersions(ctx: RequestContext, op: OperationOf<'ListObjectVersions'>): Promise<void> {
  const owner = bucketOwner(ctx);
  const page = await listPage(ctx, op.bucket, { prefix: op.prefix, delimiter: op.delimiter, marker: op.keyMarker, maxKeys: op.maxKeys });
  const lastIsKey = page.nextMarker !== undefined && page.contents.some((entry) => entry.key === page.nextMarker);
  sendXml(ctx, 200, buildListVersionsResult({
    bucket: op.bucket,
    prefix: op.prefix,
    keyMarker: op.keyMarker,
    versionIdMarker: op.versionIdMarker,
    nextKeyMarker: page.isTruncated ? page.nextMarker : undefined,
    nextVersionIdMarker: page.isTruncated && lastIsKey ? 'null' : undefined,
    delimiter: op.delimiter,
    maxKeys: op.maxKeys,
    isTruncated: page.isTruncated,
    encodingType: op.encodingType,
    entries: page.contents.map((entry) => ({
      kind: 'version' as const,
      key: entry.key,
      versionId: 'null',
      isLatest: true,
      lastModified: entry.lastModifiedMs,
      etag: entry.etag,
      size: entry.sizeBytes,
      owner,
    })),
    commonPrefixes: page.commonPrefixes,
  }));
}

/** A continuation token is the marker it resumes after, base64url-encoded: opaque to clients, checked when it returns. */
export function encodeContinuationToken(marker: string): string {
  return Buffer.from(marker, 'utf8').toString('base64url');
}

export function decodeContinuationToken(token: string): string {
  const marker = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
  if (marker === undefined || marker === '' || encodeContinuationToken(marker) !== token) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
      fields: { ArgumentName: 'continuation-token', ArgumentValue: token },
    });
  }
  return marker;
}
