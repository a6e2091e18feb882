/**
 * ListObjects (v1), ListObjectsV2 and ListObjectVersions. The storage cluster merges the nodes'
 * sorted pages and applies prefix, delimiter and marker; this file maps S3's three dialects onto
 * that one request and renders the answers. Keys whose current version is a delete marker are listed
 * only among versions.
 */
import { compareKeys } from '../../../core/key-order.js';
import type { ListedVersionSummary, ListingEntry, ListingRequest, ListingResult } from '../../../core/listing.js';
import type { VersionFields } from '../../../core/object-meta.js';
import { NULL_VERSION_ID, versionIdOf, versionsOf } from '../../../core/object-versioning.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import {
  buildListObjectsResult, buildListObjectsV2Result, buildListVersionsResult, type ObjectSummary, type Owner, type VersionEntry,
} from '../../../protocol/s3/xml.js';
import { bucketOf, type OperationOf, type RequestContext } from '../request-context.js';
import { sendXml } from '../responses.js';
import { expectOk, storageFailureError } from '../storage-errors.js';

async function listPage(ctx: RequestContext, bucket: string, request: {
  readonly prefix: string;
  readonly delimiter: string | undefined;
  readonly marker: string | undefined;
  readonly maxKeys: number;
  readonly includeDeleteMarkers?: boolean;
  readonly withVersions?: boolean;
}): Promise<ListingResult<ListingEntry>> {
  const listing: ListingRequest = {
    prefix: request.prefix,
    maxKeys: request.maxKeys,
    ...(request.includeDeleteMarkers ? { includeDeleteMarkers: true } : {}),
    ...(request.withVersions ? { withVersions: true } : {}),
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
  return { id: owner, displayName: ctx.deps.authView.displayName(owner) };
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

/**
 * ListObjectVersions: every version of every key, newest first within a key, delete markers included.
 * MaxKeys counts versions and common prefixes. A page may end inside a key's versions: the next one
 * starts with the rest of that key (its record read once), then lists on after it.
 */
export async function listObjectVersions(ctx: RequestContext, op: OperationOf<'ListObjectVersions'>): Promise<void> {
  const owner = bucketOwner(ctx);
  const page = new VersionPage(op.maxKeys, owner);
  const resumesInKey = op.keyMarker !== undefined && op.keyMarker !== '' && op.versionIdMarker !== undefined && op.versionIdMarker !== '';
  if (resumesInKey && op.keyMarker!.startsWith(op.prefix)) {
    const record = await ctx.deps.storage.get('object', op.bucket, op.keyMarker!, { withBody: false });
    if (!record.ok && record.code !== 'NotFound') throw storageFailureError(record);
    const versions = versionsOf(record.ok ? record.meta : undefined);
    const after = versions.findIndex((version) => versionIdOf(version) === op.versionIdMarker);
    if (after >= 0) {
      page.addKey(op.keyMarker!, versions.slice(after + 1).map((version) => summaryOf(version)), after + 1);
    }
  }
  // A page filled by the rest of the marker's key cannot tell whether more follow: the next one will.
  if (page.full) page.truncate();
  else {
    const listing = await listPage(ctx, op.bucket, {
      prefix: op.prefix, delimiter: op.delimiter, marker: op.keyMarker, maxKeys: page.room, includeDeleteMarkers: true, withVersions: true,
    });
    const items = [
      ...listing.contents.map((entry) => ({ key: entry.key, entry })),
      ...listing.commonPrefixes.map((prefix) => ({ key: prefix, entry: undefined })),
    ].sort((a, b) => compareKeys(a.key, b.key));
    for (const item of items) {
      if (page.full) {
        page.truncate();
        break;
      }
      if (item.entry === undefined) page.addPrefix(item.key);
      else page.addKey(item.key, [currentSummaryOf(item.entry), ...(item.entry.noncurrent ?? [])], 0);
    }
    if (!page.truncated && listing.isTruncated) page.truncate();
  }
  sendXml(ctx, 200, buildListVersionsResult({
    bucket: op.bucket,
    prefix: op.prefix,
    keyMarker: op.keyMarker,
    versionIdMarker: op.versionIdMarker,
    nextKeyMarker: page.truncated ? page.lastKey : undefined,
    nextVersionIdMarker: page.truncated ? page.lastVersionId : undefined,
    delimiter: op.delimiter,
    maxKeys: op.maxKeys,
    isTruncated: page.truncated,
    encodingType: op.encodingType,
    entries: page.entries,
    commonPrefixes: page.commonPrefixes,
  }));
}

/** One page of versions being filled, with where the next page starts. */
class VersionPage {
  readonly entries: VersionEntry[] = [];
  readonly commonPrefixes: string[] = [];
  truncated = false;
  lastKey: string | undefined;
  lastVersionId: string | undefined;

  constructor(private readonly maxKeys: number, private readonly owner: Owner) {}

  get room(): number {
    return this.maxKeys - this.entries.length - this.commonPrefixes.length;
  }

  get full(): boolean {
    return this.room <= 0;
  }

  truncate(): void {
    this.truncated = this.maxKeys > 0;
  }

  /** `versions` of `key` newest first; `skipped`: how many newer ones an earlier page showed. */
  addKey(key: string, versions: readonly ListedVersionSummary[], skipped: number): void {
    for (const [index, version] of versions.entries()) {
      if (this.full) {
        this.truncate();
        return;
      }
      const isLatest = skipped + index === 0;
      this.entries.push(version.deleteMarker
        ? { kind: 'delete-marker', key, versionId: version.versionId, isLatest, lastModified: version.lastModifiedMs, owner: this.owner }
        : { kind: 'version', key, versionId: version.versionId, isLatest, lastModified: version.lastModifiedMs, etag: version.etag, size: version.sizeBytes, owner: this.owner });
      this.lastKey = key;
      this.lastVersionId = version.versionId;
    }
  }

  addPrefix(prefix: string): void {
    this.commonPrefixes.push(prefix);
    this.lastKey = prefix;
    this.lastVersionId = undefined;
  }
}

function currentSummaryOf(entry: ListingEntry): ListedVersionSummary {
  return {
    versionId: entry.versionId ?? NULL_VERSION_ID, sizeBytes: entry.sizeBytes, etag: entry.etag, lastModifiedMs: entry.lastModifiedMs,
    ...(entry.deleteMarker ? { deleteMarker: true as const } : {}),
  };
}

function summaryOf(version: VersionFields): ListedVersionSummary {
  return {
    versionId: versionIdOf(version), sizeBytes: version.sizeBytes, etag: version.etag, lastModifiedMs: version.lastModifiedMs,
    ...(version.deleteMarker ? { deleteMarker: true as const } : {}),
  };
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
