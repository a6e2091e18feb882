/**
 * S3's XML: builders for every response document and parsers for the request bodies the router's
 * operations carry. Parsers accept only the expected root and shape and answer anything else with
 * MalformedXML, so handlers receive plain typed values.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  CHECKSUM_ALGORITHMS, checksumXmlName, quoteEtag, unquoteEtag, type ChecksumAlgorithm,
} from './checksums.js';
import { escapeXmlText, s3UrlEncode } from './encoding.js';
import { S3Error } from './errors.js';
import { formatIsoDate } from './headers.js';
import { MAX_PART_NUMBER, type EncodingType } from './router.js';
import { defaultRetentionProblem, isRetentionMode, type ObjectLockConfig, type Retention } from '../../core/object-lock.js';
import type { PublicAccessBlock } from '../../core/public-access-block.js';
import { lifecycleProblem, type LifecycleConfig, type LifecycleFilter, type LifecycleRule } from '../../core/lifecycle.js';
import {
  corsProblem, MAX_CORS_AGE_SECONDS, MAX_CORS_RULE_ID_CHARS, MAX_CORS_RULES, type CorsConfig, type CorsMethod, type CorsRule,
} from '../../core/cors.js';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

// ---------------------------------------------------------------------------------------------
// A minimal element tree, so every text node goes through one escaping function

type Content = string | number | boolean | readonly (XmlNode | undefined)[];
interface XmlNode {
  readonly name: string;
  readonly content: Content;
  readonly attributes?: Readonly<Record<string, string>>;
}

function el(name: string, content: Content, attributes?: Readonly<Record<string, string>>): XmlNode {
  return attributes === undefined ? { name, content } : { name, content, attributes };
}

/** An element only when there is a value for it. */
function opt(name: string, value: string | number | boolean | undefined): XmlNode | undefined {
  return value === undefined ? undefined : el(name, value);
}

function render(node: XmlNode): string {
  // Appends to one string: concatenation beats map/join (see documentBytes for long documents).
  let out = openingTag(node);
  const { content } = node;
  if (typeof content === 'string') out += escapeXmlText(content);
  else if (typeof content === 'number' || typeof content === 'boolean') out += String(content);
  else for (const child of content) if (child !== undefined) out += render(child);
  return `${out}</${node.name}>`;
}

function openingTag(node: XmlNode): string {
  let out = `<${node.name}`;
  if (node.attributes !== undefined) {
    for (const [name, value] of Object.entries(node.attributes)) out += ` ${name}="${escapeXmlText(value)}"`;
  }
  return `${out}>`;
}

function document(root: string, children: readonly (XmlNode | undefined)[]): string {
  return DECLARATION + render(el(root, children, { xmlns: S3_XMLNS }));
}

/**
 * A document as the bytes it is sent as, in pieces of at most a few dozen kilobytes. A listing runs to
 * hundreds of kilobytes: as one string, appended to element by element, it made a rope of tens of
 * thousands of pieces whose flattening when sent took several times as long as rendering it, and
 * memory that large is fresh pages for every response, each faulted in on first touch.
 */
export class XmlBytes {
  constructor(readonly chunks: readonly Buffer[]) {}

  get byteLength(): number {
    return this.chunks.reduce((total, chunk) => total + chunk.length, 0);
  }

  toString(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Rendered children are appended to one string until it holds this many characters, which is then
 * encoded into a Buffer of its own size. A listing's thousand entries each written into a 32 KiB chunk
 * took a third longer: the writes' own overhead, and chunks a third used (room was kept for three bytes
 * a character) faulted in fresh for every page.
 */
const XML_BATCH_CHARS = 8 * 1024;

/** Markup rendered already, its texts escaped: children a long document writes without an element tree. */
interface RenderedXml {
  readonly rendered: string;
}

/** `more`: further children, a listing's thousand entries, passed as lists of their own rather than spread into one. */
function documentBytes(root: string, children: readonly (XmlNode | RenderedXml | undefined)[], ...more: ReadonlyArray<readonly (XmlNode | RenderedXml)[]>): XmlBytes {
  const chunks: Buffer[] = [];
  let pending = DECLARATION + openingTag(el(root, [], { xmlns: S3_XMLNS }));
  for (const list of [children, ...more]) {
    for (const child of list) {
      if (child === undefined) continue;
      pending += 'rendered' in child ? child.rendered : render(child);
      if (pending.length >= XML_BATCH_CHARS) {
        chunks.push(Buffer.from(pending, 'utf8'));
        pending = '';
      }
    }
  }
  chunks.push(Buffer.from(`${pending}</${root}>`, 'utf8'));
  return new XmlBytes(chunks);
}

type Time = Date | number;

function checksumNodes(checksums: ChecksumValues | undefined): Array<XmlNode | undefined> {
  if (checksums === undefined) return [];
  return CHECKSUM_ALGORITHMS.map((a) => opt(checksumXmlName(a), checksums[a]));
}

function encoder(encodingType: EncodingType): (value: string | undefined) => string | undefined {
  return (value) => (value === undefined || encodingType !== 'url' ? value : s3UrlEncode(value));
}

// ---------------------------------------------------------------------------------------------
// Response documents

export interface Owner {
  readonly id: string;
  readonly displayName: string;
}

export type ChecksumValues = Partial<Readonly<Record<ChecksumAlgorithm, string>>>;

function ownerNode(name: 'Owner' | 'Initiator', owner: Owner): XmlNode {
  return el(name, [el('ID', owner.id), el('DisplayName', owner.displayName)]);
}

export interface BucketSummary {
  readonly name: string;
  readonly creationDate: Time;
  readonly region?: string;
}

export function buildListAllMyBucketsResult(input: {
  readonly owner: Owner;
  readonly buckets: readonly BucketSummary[];
  readonly prefix?: string | undefined;
  readonly continuationToken?: string | undefined;
}): string {
  return document('ListAllMyBucketsResult', [
    ownerNode('Owner', input.owner),
    el(
      'Buckets',
      input.buckets.map((b) =>
        el('Bucket', [el('Name', b.name), el('CreationDate', formatIsoDate(b.creationDate)), opt('BucketRegion', b.region)]),
      ),
    ),
    opt('ContinuationToken', input.continuationToken),
    opt('Prefix', input.prefix),
  ]);
}

/** GetBucketLocation: empty for us-east-1, as S3 answers it. */
export function buildLocationConstraint(region: string | undefined): string {
  const value = region === undefined || region === 'us-east-1' ? '' : region;
  return DECLARATION + render(el('LocationConstraint', value, { xmlns: S3_XMLNS }));
}

/** GetBucketVersioning: no Status at all for a bucket that never had versioning enabled. */
/** GetObjectTagging and GetBucketTagging: the tags in key order. */
export function buildTagging(tags: ReadonlyArray<readonly [string, string]>): string {
  return document('Tagging', [el('TagSet', tags.map(([key, value]) => el('Tag', [el('Key', key), el('Value', value)])))]);
}

/** GetObjectLockConfiguration: enabled, with the default retention rule if there is one. */
export function buildObjectLockConfiguration(config: ObjectLockConfig): string {
  const rule = config.defaultRetention;
  return document('ObjectLockConfiguration', [
    el('ObjectLockEnabled', 'Enabled'),
    rule === undefined ? undefined : el('Rule', [el('DefaultRetention', [el('Mode', rule.mode), opt('Days', rule.days), opt('Years', rule.years)])]),
  ]);
}

export function buildRetention(retention: Retention): string {
  return document('Retention', [el('Mode', retention.mode), el('RetainUntilDate', formatIsoDate(retention.untilMs))]);
}

export function buildLegalHold(on: boolean): string {
  return document('LegalHold', [el('Status', on ? 'ON' : 'OFF')]);
}

/** The answer to a form upload that asked for success_action_status 201. */
export function buildPostResponse(object: { readonly location: string; readonly bucket: string; readonly key: string; readonly etag: string }): string {
  // S3 writes this one document without its namespace, and browsers' scripts look its elements up bare.
  return DECLARATION + render(el('PostResponse', [el('Location', object.location), el('Bucket', object.bucket), el('Key', object.key), el('ETag', object.etag)]));
}

export function buildPolicyStatus(isPublic: boolean): string {
  return document('PolicyStatus', [el('IsPublic', isPublic ? 'true' : 'false')]);
}

/** GetBucketLifecycleConfiguration: the rules in the form they were given. */
export function buildLifecycleConfiguration(config: LifecycleConfig): string {
  return document('LifecycleConfiguration', config.rules.map((rule) => el('Rule', [
    el('ID', rule.id),
    rule.filterForm === 'rule-prefix' ? el('Prefix', rule.filter.prefix ?? '') : el('Filter', filterNodes(rule.filter)),
    el('Status', rule.enabled ? 'Enabled' : 'Disabled'),
    rule.expiration === undefined ? undefined : el('Expiration', [
      opt('Days', rule.expiration.days),
      rule.expiration.dateMs === undefined ? undefined : el('Date', formatIsoDate(rule.expiration.dateMs)),
      opt('ExpiredObjectDeleteMarker', rule.expiration.expiredObjectDeleteMarker),
    ]),
    rule.noncurrentExpiration === undefined ? undefined : el('NoncurrentVersionExpiration', [
      el('NoncurrentDays', rule.noncurrentExpiration.noncurrentDays),
      opt('NewerNoncurrentVersions', rule.noncurrentExpiration.newerNoncurrentVersions),
    ]),
    rule.abortIncompleteUploadDays === undefined ? undefined : el('AbortIncompleteMultipartUpload', [el('DaysAfterInitiation', rule.abortIncompleteUploadDays)]),
  ])));
}

function filterNodes(filter: LifecycleFilter): Array<XmlNode | undefined> {
  const parts: XmlNode[] = [
    ...(filter.prefix === undefined ? [] : [el('Prefix', filter.prefix)]),
    ...Object.entries(filter.tags ?? {}).map(([key, value]) => el('Tag', [el('Key', key), el('Value', value)])),
    ...(filter.sizeGreaterThan === undefined ? [] : [el('ObjectSizeGreaterThan', filter.sizeGreaterThan)]),
    ...(filter.sizeLessThan === undefined ? [] : [el('ObjectSizeLessThan', filter.sizeLessThan)]),
  ];
  return parts.length <= 1 ? parts : [el('And', parts)];
}

/** GetBucketCors: the rules as they were given, each rule's elements in the order S3 writes them. */
export function buildCorsConfiguration(config: CorsConfig): string {
  return document('CORSConfiguration', config.rules.map((rule) => el('CORSRule', [
    opt('ID', rule.id),
    ...rule.allowedMethods.map((method) => el('AllowedMethod', method)),
    ...rule.allowedOrigins.map((origin) => el('AllowedOrigin', origin)),
    ...rule.allowedHeaders.map((header) => el('AllowedHeader', header)),
    opt('MaxAgeSeconds', rule.maxAgeSeconds),
    ...rule.exposeHeaders.map((header) => el('ExposeHeader', header)),
  ])));
}

export function buildVersioningConfiguration(status: 'Enabled' | 'Suspended' | undefined): string {
  return document('VersioningConfiguration', [opt('Status', status)]);
}

export interface ObjectSummary {
  readonly key: string;
  readonly lastModified: Time;
  readonly etag: string;
  readonly size: number;
  readonly storageClass?: string;
  readonly owner?: Owner;
  readonly checksumAlgorithm?: ChecksumAlgorithm;
}

/**
 * A listing's <Contents>, written out directly: a page holds a thousand of them, and building their
 * element trees took as long as all else the page costs the gateway. Every text is escaped as render does.
 */
function contentsXml(o: ObjectSummary, encode: (v: string) => string | undefined, withOwner: boolean): RenderedXml {
  let out = `<Contents><Key>${escapeXmlText(encode(o.key) ?? o.key)}</Key><LastModified>${formatIsoDate(o.lastModified)}</LastModified>`;
  out += `<ETag>${quotedEtagXml(o.etag)}</ETag>`;
  if (o.checksumAlgorithm !== undefined) out += `<ChecksumAlgorithm>${escapeXmlText(o.checksumAlgorithm)}</ChecksumAlgorithm>`;
  out += `<Size>${o.size}</Size>`;
  if (withOwner && o.owner !== undefined) out += render(ownerNode('Owner', o.owner));
  return { rendered: `${out}<StorageClass>${escapeXmlText(o.storageClass ?? 'STANDARD')}</StorageClass></Contents>` };
}

/** An ETag quoted, as XML text: a listing writes one per key, and its quotes always need escaping. */
function quotedEtagXml(etag: string): string {
  const quoted = quoteEtag(etag);
  return quoted === etag ? escapeXmlText(quoted) : `&quot;${escapeXmlText(etag)}&quot;`;
}

function commonPrefixNodes(prefixes: readonly string[], encode: (v: string) => string | undefined): XmlNode[] {
  return prefixes.map((p) => el('CommonPrefixes', [el('Prefix', encode(p) ?? p)]));
}

export interface ListObjectsV1Input {
  readonly bucket: string;
  readonly prefix: string;
  readonly marker: string | undefined;
  readonly delimiter: string | undefined;
  readonly maxKeys: number;
  readonly isTruncated: boolean;
  /** Sent only when a delimiter was given and the listing is truncated, as S3 does. */
  readonly nextMarker: string | undefined;
  readonly encodingType: EncodingType;
  readonly contents: readonly ObjectSummary[];
  readonly commonPrefixes: readonly string[];
}

export function buildListObjectsResult(input: ListObjectsV1Input): XmlBytes {
  const encode = encoder(input.encodingType);
  return documentBytes('ListBucketResult', [
    el('Name', input.bucket),
    el('Prefix', encode(input.prefix) ?? ''),
    el('Marker', encode(input.marker) ?? ''),
    el('MaxKeys', input.maxKeys),
    opt('Delimiter', encode(input.delimiter)),
    el('IsTruncated', input.isTruncated),
    opt('EncodingType', input.encodingType),
    opt('NextMarker', encode(input.nextMarker)),
  ], input.contents.map((o) => contentsXml(o, encode, true)), commonPrefixNodes(input.commonPrefixes, encode));
}

export interface ListObjectsV2Input {
  readonly bucket: string;
  readonly prefix: string;
  readonly delimiter: string | undefined;
  readonly maxKeys: number;
  readonly isTruncated: boolean;
  readonly continuationToken: string | undefined;
  readonly nextContinuationToken: string | undefined;
  readonly startAfter: string | undefined;
  readonly encodingType: EncodingType;
  readonly fetchOwner: boolean;
  readonly contents: readonly ObjectSummary[];
  readonly commonPrefixes: readonly string[];
}

export function buildListObjectsV2Result(input: ListObjectsV2Input): XmlBytes {
  const encode = encoder(input.encodingType);
  return documentBytes('ListBucketResult', [
    el('Name', input.bucket),
    el('Prefix', encode(input.prefix) ?? ''),
    opt('ContinuationToken', input.continuationToken),
    opt('NextContinuationToken', input.nextContinuationToken),
    el('KeyCount', input.contents.length + input.commonPrefixes.length),
    el('MaxKeys', input.maxKeys),
    opt('Delimiter', encode(input.delimiter)),
    el('IsTruncated', input.isTruncated),
    opt('StartAfter', encode(input.startAfter)),
    opt('EncodingType', input.encodingType),
  ], input.contents.map((o) => contentsXml(o, encode, input.fetchOwner)), commonPrefixNodes(input.commonPrefixes, encode));
}

export type VersionEntry =
  | {
      readonly kind: 'version';
      readonly key: string;
      readonly versionId: string;
      readonly isLatest: boolean;
      readonly lastModified: Time;
      readonly etag: string;
      readonly size: number;
      readonly storageClass?: string;
      readonly owner?: Owner;
    }
  | {
      readonly kind: 'delete-marker';
      readonly key: string;
      readonly versionId: string;
      readonly isLatest: boolean;
      readonly lastModified: Time;
      readonly owner?: Owner;
    };

export interface ListVersionsInput {
  readonly bucket: string;
  readonly prefix: string;
  readonly keyMarker: string | undefined;
  readonly versionIdMarker: string | undefined;
  readonly nextKeyMarker: string | undefined;
  readonly nextVersionIdMarker: string | undefined;
  readonly delimiter: string | undefined;
  readonly maxKeys: number;
  readonly isTruncated: boolean;
  readonly encodingType: EncodingType;
  /** Versions and delete markers in key order, as S3 interleaves them. */
  readonly entries: readonly VersionEntry[];
  readonly commonPrefixes: readonly string[];
}

export function buildListVersionsResult(input: ListVersionsInput): XmlBytes {
  const encode = encoder(input.encodingType);
  return documentBytes('ListVersionsResult', [
    el('Name', input.bucket),
    el('Prefix', encode(input.prefix) ?? ''),
    el('KeyMarker', encode(input.keyMarker) ?? ''),
    el('VersionIdMarker', input.versionIdMarker ?? ''),
    opt('NextKeyMarker', encode(input.nextKeyMarker)),
    opt('NextVersionIdMarker', input.nextVersionIdMarker),
    el('MaxKeys', input.maxKeys),
    opt('Delimiter', encode(input.delimiter)),
    el('IsTruncated', input.isTruncated),
    opt('EncodingType', input.encodingType),
    ...input.entries.map((e) =>
      e.kind === 'version'
        ? el('Version', [
            el('Key', encode(e.key) ?? e.key),
            el('VersionId', e.versionId),
            el('IsLatest', e.isLatest),
            el('LastModified', formatIsoDate(e.lastModified)),
            el('ETag', quoteEtag(e.etag)),
            el('Size', e.size),
            e.owner === undefined ? undefined : ownerNode('Owner', e.owner),
            el('StorageClass', e.storageClass ?? 'STANDARD'),
          ])
        : el('DeleteMarker', [
            e.owner === undefined ? undefined : ownerNode('Owner', e.owner),
            el('Key', encode(e.key) ?? e.key),
            el('VersionId', e.versionId),
            el('IsLatest', e.isLatest),
            el('LastModified', formatIsoDate(e.lastModified)),
          ]),
    ),
    ...commonPrefixNodes(input.commonPrefixes, encode),
  ]);
}

export function buildInitiateMultipartUploadResult(input: {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly checksumAlgorithm?: ChecksumAlgorithm;
}): string {
  return document('InitiateMultipartUploadResult', [
    el('Bucket', input.bucket),
    el('Key', input.key),
    el('UploadId', input.uploadId),
    opt('ChecksumAlgorithm', input.checksumAlgorithm),
  ]);
}

export function buildCompleteMultipartUploadResult(input: {
  readonly location: string;
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
  readonly checksums?: ChecksumValues;
  readonly checksumType?: 'COMPOSITE' | 'FULL_OBJECT';
}): string {
  return document('CompleteMultipartUploadResult', [
    el('Location', input.location),
    el('Bucket', input.bucket),
    el('Key', input.key),
    el('ETag', quoteEtag(input.etag)),
    ...checksumNodes(input.checksums),
    opt('ChecksumType', input.checksumType),
  ]);
}

export interface PartSummary {
  readonly partNumber: number;
  readonly lastModified: Time;
  readonly etag: string;
  readonly size: number;
  readonly checksums?: ChecksumValues;
}

export function buildListPartsResult(input: {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly partNumberMarker: number;
  readonly nextPartNumberMarker: number | undefined;
  readonly maxParts: number;
  readonly isTruncated: boolean;
  readonly parts: readonly PartSummary[];
  readonly initiator: Owner;
  readonly owner: Owner;
  readonly storageClass?: string;
  readonly checksumAlgorithm?: ChecksumAlgorithm;
}): string {
  return document('ListPartsResult', [
    el('Bucket', input.bucket),
    el('Key', input.key),
    el('UploadId', input.uploadId),
    el('PartNumberMarker', input.partNumberMarker),
    opt('NextPartNumberMarker', input.nextPartNumberMarker),
    el('MaxParts', input.maxParts),
    el('IsTruncated', input.isTruncated),
    ...input.parts.map((p) =>
      el('Part', [
        el('PartNumber', p.partNumber),
        el('LastModified', formatIsoDate(p.lastModified)),
        el('ETag', quoteEtag(p.etag)),
        el('Size', p.size),
        ...checksumNodes(p.checksums),
      ]),
    ),
    ownerNode('Initiator', input.initiator),
    ownerNode('Owner', input.owner),
    el('StorageClass', input.storageClass ?? 'STANDARD'),
    opt('ChecksumAlgorithm', input.checksumAlgorithm),
  ]);
}

export interface UploadSummary {
  readonly key: string;
  readonly uploadId: string;
  readonly initiator: Owner;
  readonly owner: Owner;
  readonly storageClass?: string;
  readonly initiated: Time;
}

export function buildListMultipartUploadsResult(input: {
  readonly bucket: string;
  readonly keyMarker: string | undefined;
  readonly uploadIdMarker: string | undefined;
  readonly nextKeyMarker: string | undefined;
  readonly nextUploadIdMarker: string | undefined;
  readonly delimiter: string | undefined;
  readonly prefix: string;
  readonly maxUploads: number;
  readonly isTruncated: boolean;
  readonly encodingType: EncodingType;
  readonly uploads: readonly UploadSummary[];
  readonly commonPrefixes: readonly string[];
}): string {
  const encode = encoder(input.encodingType);
  return document('ListMultipartUploadsResult', [
    el('Bucket', input.bucket),
    el('KeyMarker', encode(input.keyMarker) ?? ''),
    el('UploadIdMarker', input.uploadIdMarker ?? ''),
    opt('NextKeyMarker', encode(input.nextKeyMarker)),
    opt('NextUploadIdMarker', input.nextUploadIdMarker),
    opt('Delimiter', encode(input.delimiter)),
    el('Prefix', encode(input.prefix) ?? ''),
    el('MaxUploads', input.maxUploads),
    el('IsTruncated', input.isTruncated),
    opt('EncodingType', input.encodingType),
    ...input.uploads.map((u) =>
      el('Upload', [
        el('Key', encode(u.key) ?? u.key),
        el('UploadId', u.uploadId),
        ownerNode('Initiator', u.initiator),
        ownerNode('Owner', u.owner),
        el('StorageClass', u.storageClass ?? 'STANDARD'),
        el('Initiated', formatIsoDate(u.initiated)),
      ]),
    ),
    ...commonPrefixNodes(input.commonPrefixes, encode),
  ]);
}

export interface ObjectPartsPage {
  readonly totalPartsCount: number;
  readonly partNumberMarker: number;
  readonly nextPartNumberMarker: number | undefined;
  readonly maxParts: number;
  readonly isTruncated: boolean;
  readonly parts: ReadonlyArray<{ readonly partNumber: number; readonly size: number; readonly checksums?: ChecksumValues }>;
}

/** GetObjectAttributes: only the attributes asked for (the caller leaves the others undefined). */
export function buildGetObjectAttributesResult(input: {
  readonly etag?: string | undefined;
  readonly checksum?: { readonly values: ChecksumValues; readonly type: 'COMPOSITE' | 'FULL_OBJECT' } | undefined;
  readonly objectParts?: ObjectPartsPage | undefined;
  readonly storageClass?: string | undefined;
  readonly objectSize?: number | undefined;
}): string {
  const { checksum, objectParts } = input;
  return document('GetObjectAttributesOutput', [
    // Unlike everywhere else, S3 writes this ETag without quotes.
    opt('ETag', input.etag === undefined ? undefined : unquoteEtag(input.etag)),
    checksum === undefined ? undefined : el('Checksum', [...checksumNodes(checksum.values), el('ChecksumType', checksum.type)]),
    objectParts === undefined
      ? undefined
      : el('ObjectParts', [
          el('PartsCount', objectParts.totalPartsCount),
          el('PartNumberMarker', objectParts.partNumberMarker),
          opt('NextPartNumberMarker', objectParts.nextPartNumberMarker),
          el('MaxParts', objectParts.maxParts),
          el('IsTruncated', objectParts.isTruncated),
          ...objectParts.parts.map((p) => el('Part', [el('PartNumber', p.partNumber), el('Size', p.size), ...checksumNodes(p.checksums)])),
        ]),
    opt('StorageClass', input.storageClass),
    opt('ObjectSize', input.objectSize),
  ]);
}

export function buildCopyObjectResult(input: {
  readonly etag: string;
  readonly lastModified: Time;
  readonly checksums?: ChecksumValues;
}): string {
  return document('CopyObjectResult', [
    el('ETag', quoteEtag(input.etag)),
    el('LastModified', formatIsoDate(input.lastModified)),
    ...checksumNodes(input.checksums),
  ]);
}

export function buildCopyPartResult(input: {
  readonly etag: string;
  readonly lastModified: Time;
  readonly checksums?: ChecksumValues;
}): string {
  return document('CopyPartResult', [
    el('ETag', quoteEtag(input.etag)),
    el('LastModified', formatIsoDate(input.lastModified)),
    ...checksumNodes(input.checksums),
  ]);
}

export interface DeletedEntry {
  readonly key: string;
  readonly versionId?: string;
  readonly deleteMarker?: boolean;
  readonly deleteMarkerVersionId?: string;
}

export interface DeleteErrorEntry {
  readonly key: string;
  readonly versionId?: string;
  readonly code: string;
  readonly message: string;
}

/** DeleteObjects' answer; in quiet mode only the failures are listed, as S3 does. */
export function buildDeleteResult(input: {
  readonly quiet: boolean;
  readonly deleted: readonly DeletedEntry[];
  readonly errors: readonly DeleteErrorEntry[];
}): string {
  const deleted = input.quiet
    ? []
    : input.deleted.map((d) =>
        el('Deleted', [
          el('Key', d.key),
          opt('VersionId', d.versionId),
          opt('DeleteMarker', d.deleteMarker),
          opt('DeleteMarkerVersionId', d.deleteMarkerVersionId),
        ]),
      );
  const errors = input.errors.map((e) =>
    el('Error', [el('Key', e.key), opt('VersionId', e.versionId), el('Code', e.code), el('Message', e.message)]),
  );
  return document('DeleteResult', [...deleted, ...errors]);
}

export const ACL_PERMISSIONS = ['FULL_CONTROL', 'WRITE', 'WRITE_ACP', 'READ', 'READ_ACP'] as const;
export type AclPermission = (typeof ACL_PERMISSIONS)[number];

export type Grantee =
  | { readonly type: 'CanonicalUser'; readonly id: string; readonly displayName?: string }
  | { readonly type: 'Group'; readonly uri: string };

export interface Grant {
  readonly grantee: Grantee;
  readonly permission: AclPermission;
}

export interface AccessControlPolicy {
  readonly owner: Owner;
  readonly grants: readonly Grant[];
}

export const ALL_USERS_GROUP = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS_GROUP = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';

export function buildAccessControlPolicy(policy: AccessControlPolicy): string {
  return document('AccessControlPolicy', [
    ownerNode('Owner', policy.owner),
    el(
      'AccessControlList',
      policy.grants.map((g) =>
        el('Grant', [
          el(
            'Grantee',
            g.grantee.type === 'CanonicalUser'
              ? [el('ID', g.grantee.id), opt('DisplayName', g.grantee.displayName)]
              : [el('URI', g.grantee.uri)],
            { 'xmlns:xsi': XSI_NS, 'xsi:type': g.grantee.type },
          ),
          el('Permission', g.permission),
        ]),
      ),
    ),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/** Upper bounds on request documents; the gateway stops reading (MaxMessageLengthExceeded) past them. */
export const MAX_XML_BODY_BYTES = {
  createBucket: 64 * 1024,
  acl: 64 * 1024,
  versioning: 64 * 1024,
  tagging: 64 * 1024,
  objectLock: 64 * 1024,
  cors: 64 * 1024,
  /** 1000 rules with filters. */
  lifecycle: 2 * 1024 * 1024,
  /** 1000 keys of up to 1024 bytes, escaped, with version ids. */
  delete: 2 * 1024 * 1024,
  /** 10 000 parts with an ETag and a checksum each. */
  completeMultipartUpload: 4 * 1024 * 1024,
} as const;

export const MAX_DELETE_OBJECTS = 1000;

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: S3Error };

/** One parsed element: its text, or its children by name in document order, or both. */
interface Element {
  readonly text: string;
  readonly children: ReadonlyMap<string, readonly Element[]>;
}

class Malformed extends Error {}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  cdataPropName: '#cdata',
  commentPropName: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: () => true,
});

/**
 * Validates and parses a small request document with root `root`. DOCTYPEs are refused outright:
 * S3 documents never have one and entity declarations are an expansion attack.
 */
function parseDocument(body: Uint8Array | string, root: string, maxBytes: number): Element {
  const byteLength = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (byteLength > maxBytes) throw new Malformed();
  const text = bodyText(body);
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new Malformed();
  if (XMLValidator.validate(text) !== true) throw new Malformed();
  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch {
    throw new Malformed();
  }
  if (typeof parsed !== 'object' || parsed === null) throw new Malformed();
  const names = Object.keys(parsed).filter((n) => n !== '#text');
  if (names.length !== 1 || names[0] !== root) throw new Malformed();
  const values = (parsed as Record<string, unknown>)[root];
  if (!Array.isArray(values) || values.length !== 1) throw new Malformed();
  return toElement(values[0]);
}

function toElement(raw: unknown): Element {
  if (typeof raw === 'string') return { text: decodeEntities(raw), children: new Map() };
  if (typeof raw !== 'object' || raw === null) throw new Malformed();
  const children = new Map<string, Element[]>();
  let text = '';
  let cdata: string | undefined;
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '#text') {
      if (typeof value !== 'string') throw new Malformed();
      text = decodeEntities(value);
    } else if (name === '#cdata') {
      if (!Array.isArray(value)) throw new Malformed();
      cdata = value.map((v) => (typeof v === 'string' ? v : '')).join('');
    } else {
      if (!Array.isArray(value)) throw new Malformed();
      children.set(name, value.map(toElement));
    }
  }
  if (cdata !== undefined) {
    // Text and CDATA mixed in one element lose their order in the parse; refuse rather than guess.
    if (text !== '' || children.size > 0) throw new Malformed();
    text = cdata;
  }
  return { text, children };
}

const ENTITY = /&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));|&/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (_match, dec: string | undefined, hex: string | undefined, named: string | undefined) => {
    if (named !== undefined) return NAMED[named]!;
    if (dec === undefined && hex === undefined) throw new Malformed();
    const code = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new Malformed();
    return String.fromCodePoint(code);
  });
}

/** Child elements named `name`; elements with other names are checked against `allowed`. */
function only(element: Element, allowed: readonly string[]): void {
  for (const name of element.children.keys()) if (!allowed.includes(name)) throw new Malformed();
  if (element.children.size > 0 && element.text.trim() !== '') throw new Malformed();
}

function all(element: Element, name: string): readonly Element[] {
  return element.children.get(name) ?? [];
}

/** The text of the single child `name`, undefined when absent; twice is malformed. */
function leaf(element: Element, name: string): string | undefined {
  const found = element.children.get(name);
  if (found === undefined) return undefined;
  if (found.length !== 1 || found[0]!.children.size > 0) throw new Malformed();
  return found[0]!.text;
}

function run<T>(parse: () => T): ParseResult<T> {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    if (error instanceof Malformed) return { ok: false, error: new S3Error('MalformedXML') };
    if (error instanceof S3Error) return { ok: false, error };
    throw error;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function bodyText(body: Uint8Array | string): string {
  if (typeof body === 'string') return body;
  try {
    return strictUtf8.decode(body);
  } catch {
    throw new Malformed();
  }
}

function isBlank(body: Uint8Array | string): boolean {
  if (typeof body === 'string') return body.trim() === '';
  return body.every((b) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d);
}

/** CreateBucket's optional body; an empty body means no location constraint. */
export function parseCreateBucketConfiguration(
  body: Uint8Array | string,
): ParseResult<{ readonly locationConstraint: string | undefined }> {
  if (isBlank(body)) return { ok: true, value: { locationConstraint: undefined } };
  return run(() => {
    const root = parseDocument(body, 'CreateBucketConfiguration', MAX_XML_BODY_BYTES.createBucket);
    only(root, ['LocationConstraint', 'Location', 'Bucket', 'Tags']);
    const location = leaf(root, 'LocationConstraint')?.trim();
    return { locationConstraint: location === '' ? undefined : location };
  });
}

export interface VersioningConfiguration {
  /** Undefined when the document leaves the status as it is. */
  readonly status: 'Enabled' | 'Suspended' | undefined;
  readonly mfaDelete: 'Enabled' | 'Disabled' | undefined;
}

/** PutBucketVersioning's body: a Status of Enabled or Suspended, and optionally MfaDelete. */
export function parseVersioningConfiguration(body: Uint8Array | string): ParseResult<VersioningConfiguration> {
  return run(() => {
    const root = parseDocument(body, 'VersioningConfiguration', MAX_XML_BODY_BYTES.versioning);
    only(root, ['Status', 'MfaDelete']);
    const status = leaf(root, 'Status')?.trim();
    const mfaDelete = leaf(root, 'MfaDelete')?.trim();
    if (status !== undefined && status !== 'Enabled' && status !== 'Suspended') throw new Malformed();
    if (mfaDelete !== undefined && mfaDelete !== 'Enabled' && mfaDelete !== 'Disabled') throw new Malformed();
    return { status, mfaDelete };
  });
}

/**
 * PutObjectTagging's and PutBucketTagging's body: a TagSet of Tag elements with a Key and a Value each.
 * The pairs come back as given, for the caller to check against its limits.
 */
export function parseTagging(body: Uint8Array | string): ParseResult<ReadonlyArray<readonly [string, string]>> {
  return run(() => {
    const root = parseDocument(body, 'Tagging', MAX_XML_BODY_BYTES.tagging);
    only(root, ['TagSet']);
    const sets = all(root, 'TagSet');
    if (sets.length !== 1) throw new Malformed();
    const set = sets[0]!;
    only(set, ['Tag']);
    return all(set, 'Tag').map((tag) => {
      only(tag, ['Key', 'Value']);
      const key = leaf(tag, 'Key');
      const value = leaf(tag, 'Value');
      if (key === undefined || value === undefined) throw new Malformed();
      return [key, value] as const;
    });
  });
}

/**
 * PutObjectLockConfiguration's body: ObjectLockEnabled must be Enabled; a Rule's DefaultRetention has a
 * Mode and exactly one of Days and Years, a positive whole number (InvalidRetentionPeriod otherwise).
 */
/**
 * PutBucketEncryption's body: one rule whose default algorithm is given as written (the caller refuses
 * what it cannot honour); BucketKeyEnabled, a KMS notion, is read and ignored.
 */
export function parseBucketEncryption(body: Uint8Array | string): ParseResult<{ readonly algorithm: string; readonly kmsKeyId?: string }> {
  return run(() => {
    const root = parseDocument(body, 'ServerSideEncryptionConfiguration', MAX_XML_BODY_BYTES.versioning);
    only(root, ['Rule']);
    const rules = all(root, 'Rule');
    if (rules.length !== 1) throw new Malformed();
    const rule = rules[0]!;
    only(rule, ['ApplyServerSideEncryptionByDefault', 'BucketKeyEnabled']);
    const defaults = all(rule, 'ApplyServerSideEncryptionByDefault');
    if (defaults.length !== 1) throw new Malformed();
    only(defaults[0]!, ['SSEAlgorithm', 'KMSMasterKeyID']);
    const algorithm = leaf(defaults[0]!, 'SSEAlgorithm')?.trim();
    if (algorithm === undefined || algorithm === '') throw new Malformed();
    const kmsKeyId = leaf(defaults[0]!, 'KMSMasterKeyID')?.trim();
    return kmsKeyId === undefined || kmsKeyId === '' ? { algorithm } : { algorithm, kmsKeyId };
  });
}

export function buildBucketEncryption(algorithm: string, kmsKeyId: string | undefined): string {
  return document('ServerSideEncryptionConfiguration', [
    el('Rule', [el('ApplyServerSideEncryptionByDefault', [el('SSEAlgorithm', algorithm), opt('KMSMasterKeyID', kmsKeyId)]), el('BucketKeyEnabled', 'false')]),
  ]);
}

/** PutBucketOwnershipControls' body: one rule naming the object ownership, as written. */
export function parseOwnershipControls(body: Uint8Array | string): ParseResult<string> {
  return run(() => {
    const root = parseDocument(body, 'OwnershipControls', MAX_XML_BODY_BYTES.versioning);
    only(root, ['Rule']);
    const rules = all(root, 'Rule');
    if (rules.length !== 1) throw new Malformed();
    only(rules[0]!, ['ObjectOwnership']);
    const ownership = leaf(rules[0]!, 'ObjectOwnership')?.trim();
    if (ownership === undefined) throw new Malformed();
    return ownership;
  });
}

export function buildOwnershipControls(ownership: string): string {
  return document('OwnershipControls', [el('Rule', [el('ObjectOwnership', ownership)])]);
}

/** PutPublicAccessBlock's body: the four switches, each absent one false, as S3 reads it. */
export function parsePublicAccessBlock(body: Uint8Array | string): ParseResult<PublicAccessBlock> {
  return run(() => {
    const root = parseDocument(body, 'PublicAccessBlockConfiguration', MAX_XML_BODY_BYTES.versioning);
    only(root, PUBLIC_ACCESS_SWITCHES.map(([element]) => element));
    const flag = (element: string): boolean => {
      const text = leaf(root, element)?.trim().toLowerCase();
      if (text !== undefined && text !== 'true' && text !== 'false') throw new Malformed();
      return text === 'true';
    };
    return {
      blockPublicAcls: flag('BlockPublicAcls'),
      ignorePublicAcls: flag('IgnorePublicAcls'),
      blockPublicPolicy: flag('BlockPublicPolicy'),
      restrictPublicBuckets: flag('RestrictPublicBuckets'),
    };
  });
}

export function buildPublicAccessBlock(block: PublicAccessBlock): string {
  return document('PublicAccessBlockConfiguration', PUBLIC_ACCESS_SWITCHES.map(([element, field]) => el(element, String(block[field]))));
}

const PUBLIC_ACCESS_SWITCHES: ReadonlyArray<readonly [string, keyof PublicAccessBlock]> = [
  ['BlockPublicAcls', 'blockPublicAcls'], ['IgnorePublicAcls', 'ignorePublicAcls'],
  ['BlockPublicPolicy', 'blockPublicPolicy'], ['RestrictPublicBuckets', 'restrictPublicBuckets'],
];

export function parseObjectLockConfiguration(body: Uint8Array | string): ParseResult<ObjectLockConfig> {
  return run(() => {
    const root = parseDocument(body, 'ObjectLockConfiguration', MAX_XML_BODY_BYTES.objectLock);
    only(root, ['ObjectLockEnabled', 'Rule']);
    if (leaf(root, 'ObjectLockEnabled')?.trim() !== 'Enabled') throw new Malformed();
    const rules = all(root, 'Rule');
    if (rules.length === 0) return {};
    if (rules.length > 1) throw new Malformed();
    only(rules[0]!, ['DefaultRetention']);
    const defaults = all(rules[0]!, 'DefaultRetention');
    if (defaults.length !== 1) throw new Malformed();
    const rule = defaults[0]!;
    only(rule, ['Mode', 'Days', 'Years']);
    const mode = leaf(rule, 'Mode')?.trim();
    if (!isRetentionMode(mode)) throw new Malformed();
    const days = leaf(rule, 'Days')?.trim();
    const years = leaf(rule, 'Years')?.trim();
    if (days !== undefined && years !== undefined) throw new Malformed();
    const period = { ...(days === undefined ? {} : { days: Number(days) }), ...(years === undefined ? {} : { years: Number(years) }) };
    const problem = defaultRetentionProblem(period);
    if (problem !== undefined) throw new S3Error('InvalidRetentionPeriod', `The default retention is not valid: ${problem}.`);
    return { defaultRetention: { mode, ...period } };
  });
}

/** PutObjectRetention's body: a Mode and a RetainUntilDate (ISO 8601). */
export function parseRetention(body: Uint8Array | string): ParseResult<Retention> {
  return run(() => {
    const root = parseDocument(body, 'Retention', MAX_XML_BODY_BYTES.objectLock);
    only(root, ['Mode', 'RetainUntilDate']);
    const mode = leaf(root, 'Mode')?.trim();
    const until = leaf(root, 'RetainUntilDate')?.trim();
    if (!isRetentionMode(mode) || until === undefined) throw new Malformed();
    const untilMs = Date.parse(until);
    if (!Number.isFinite(untilMs)) throw new Malformed();
    return { mode, untilMs };
  });
}

/** PutObjectLegalHold's body: a Status of ON or OFF. */
export function parseLegalHold(body: Uint8Array | string): ParseResult<boolean> {
  return run(() => {
    const root = parseDocument(body, 'LegalHold', MAX_XML_BODY_BYTES.objectLock);
    only(root, ['Status']);
    const status = leaf(root, 'Status')?.trim();
    if (status !== 'ON' && status !== 'OFF') throw new Malformed();
    return status === 'ON';
  });
}

/**
 * PutBucketLifecycleConfiguration's body, checked as S3 checks it (core/lifecycle.ts). Transitions
 * between storage classes cannot be honoured by a store with one class: NotImplemented. A rule without
 * an ID gets one.
 */
export function parseLifecycleConfiguration(body: Uint8Array | string, newRuleId: () => string): ParseResult<LifecycleConfig> {
  return run(() => {
    const root = parseDocument(body, 'LifecycleConfiguration', MAX_XML_BODY_BYTES.lifecycle);
    only(root, ['Rule']);
    const rules = all(root, 'Rule').map((rule): LifecycleRule => {
      for (const name of rule.children.keys()) {
        if (name !== 'Transition' && name !== 'NoncurrentVersionTransition') continue;
        // A malformed transition is the client's error whatever the store supports.
        for (const transition of all(rule, name)) {
          const date = leaf(transition, 'Date');
          if (date !== undefined) lifecycleDate(date);
        }
        throw new S3Error('NotImplemented', 'This store has one storage class; lifecycle transitions are not supported.');
      }
      only(rule, ['ID', 'Prefix', 'Filter', 'Status', 'Expiration', 'NoncurrentVersionExpiration', 'AbortIncompleteMultipartUpload']);
      const status = leaf(rule, 'Status')?.trim();
      if (status !== 'Enabled' && status !== 'Disabled') throw new Malformed();
      const rulePrefix = leaf(rule, 'Prefix');
      const filters = all(rule, 'Filter');
      if (filters.length > 1 || (filters.length === 1 && rulePrefix !== undefined)) throw new Malformed();
      const filter = filters.length === 1 ? parseLifecycleFilter(filters[0]!) : rulePrefix === undefined || rulePrefix === '' ? {} : { prefix: rulePrefix };
      return {
        id: leaf(rule, 'ID') ?? newRuleId(),
        enabled: status === 'Enabled',
        filter,
        filterForm: filters.length === 1 ? 'filter' : 'rule-prefix',
        ...optionalChild(rule, 'Expiration', (expiration) => {
          only(expiration, ['Days', 'Date', 'ExpiredObjectDeleteMarker']);
          const days = leaf(expiration, 'Days');
          const date = leaf(expiration, 'Date');
          const marker = leaf(expiration, 'ExpiredObjectDeleteMarker')?.trim();
          if (marker !== undefined && marker !== 'true' && marker !== 'false') throw new Malformed();
          return {
            expiration: {
              ...(days === undefined ? {} : { days: wholeNumber(days) }),
              ...(date === undefined ? {} : { dateMs: lifecycleDate(date) }),
              ...(marker === undefined ? {} : { expiredObjectDeleteMarker: marker === 'true' }),
            },
          };
        }),
        ...optionalChild(rule, 'NoncurrentVersionExpiration', (noncurrent) => {
          only(noncurrent, ['NoncurrentDays', 'NewerNoncurrentVersions']);
          const days = leaf(noncurrent, 'NoncurrentDays');
          const newer = leaf(noncurrent, 'NewerNoncurrentVersions');
          if (days === undefined) throw new Malformed();
          return { noncurrentExpiration: { noncurrentDays: wholeNumber(days), ...(newer === undefined ? {} : { newerNoncurrentVersions: wholeNumber(newer) }) } };
        }),
        ...optionalChild(rule, 'AbortIncompleteMultipartUpload', (abort) => {
          only(abort, ['DaysAfterInitiation']);
          const days = leaf(abort, 'DaysAfterInitiation');
          if (days === undefined) throw new Malformed();
          return { abortIncompleteUploadDays: wholeNumber(days) };
        }),
      };
    });
    const config = { rules };
    const problem = lifecycleProblem(config);
    if (problem !== undefined) throw problem.code === 'MalformedXML' ? new Malformed() : new S3Error('InvalidArgument', problem.message);
    return config;
  });
}

function parseLifecycleFilter(filter: Element): LifecycleFilter {
  only(filter, ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And']);
  const ands = all(filter, 'And');
  if (ands.length > 1 || (ands.length === 1 && filter.children.size > 1)) throw new Malformed();
  const source = ands[0] ?? filter;
  if (ands.length === 0 && filter.children.size > 1) throw new Malformed();
  if (ands.length === 1) only(source, ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan']);
  const prefix = leaf(source, 'Prefix');
  const tags: Array<[string, string]> = all(source, 'Tag').map((tag) => {
    only(tag, ['Key', 'Value']);
    const key = leaf(tag, 'Key');
    const value = leaf(tag, 'Value');
    if (key === undefined || value === undefined) throw new Malformed();
    return [key, value];
  });
  if (new Set(tags.map(([key]) => key)).size !== tags.length) throw new S3Error('InvalidArgument', 'A tag key is given twice in a filter.');
  const greater = leaf(source, 'ObjectSizeGreaterThan');
  const less = leaf(source, 'ObjectSizeLessThan');
  return {
    ...(prefix === undefined ? {} : { prefix }),
    ...(tags.length === 0 ? {} : { tags: Object.fromEntries(tags) }),
    ...(greater === undefined ? {} : { sizeGreaterThan: wholeNumber(greater, true) }),
    ...(less === undefined ? {} : { sizeLessThan: wholeNumber(less, true) }),
  };
}

function optionalChild<T>(element: Element, name: string, parse: (child: Element) => T): T | Record<string, never> {
  const found = all(element, name);
  if (found.length === 0) return {};
  if (found.length > 1) throw new Malformed();
  return parse(found[0]!);
}

/** A whole number as text; a negative or fractional one is left for the rule's check (InvalidArgument). */
function wholeNumber(text: string, allowZero = false): number {
  const trimmed = text.trim();
  if (!/^-?[0-9]+$/.test(trimmed)) throw new Malformed();
  const value = Number(trimmed);
  if (allowZero && value < 0) throw new S3Error('InvalidArgument', 'An object size bound cannot be negative.');
  return value;
}

/** A lifecycle date: ISO 8601 at midnight UTC, as `2030-01-01` or `2030-01-01T00:00:00.000Z`. */
function lifecycleDate(text: string): number {
  const trimmed = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]00:00))?$/.test(trimmed)) throw new S3Error('InvalidArgument', "'Date' must be in ISO 8601 format");
  const ms = Date.parse(trimmed.length === 10 ? `${trimmed}T00:00:00Z` : trimmed);
  if (!Number.isFinite(ms)) throw new S3Error('InvalidArgument', "'Date' must be in ISO 8601 format");
  return ms;
}

/**
 * PutBucketCors' body, checked as S3 checks it (core/cors.ts). What S3's schema refuses is MalformedXML,
 * found across the whole document first: no rule or more than 100, a rule without an AllowedOrigin or an
 * AllowedMethod, an ID over 255 characters, a MaxAgeSeconds that is not a 32-bit count. What the schema
 * admits but S3 does not (an unknown method, a second wildcard) is InvalidRequest. Values are kept as
 * written, spaces and case included.
 */
export function parseCorsConfiguration(body: Uint8Array | string): ParseResult<CorsConfig> {
  return run(() => {
    const root = parseDocument(body, 'CORSConfiguration', MAX_XML_BODY_BYTES.cors);
    only(root, ['CORSRule']);
    const elements = all(root, 'CORSRule');
    if (elements.length === 0 || elements.length > MAX_CORS_RULES) throw new Malformed();
    const rules = elements.map((rule): CorsRule => {
      only(rule, ['ID', 'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader', 'MaxAgeSeconds']);
      const id = leaf(rule, 'ID');
      const maxAge = leaf(rule, 'MaxAgeSeconds');
      const allowedOrigins = leafTexts(rule, 'AllowedOrigin');
      const allowedMethods = leafTexts(rule, 'AllowedMethod');
      if (allowedOrigins.length === 0 || allowedMethods.length === 0) throw new Malformed();
      if (id !== undefined && id.length > MAX_CORS_RULE_ID_CHARS) throw new Malformed();
      return {
        ...(id === undefined ? {} : { id }),
        allowedOrigins,
        // Any other method is refused by corsProblem below.
        allowedMethods: allowedMethods as CorsMethod[],
        allowedHeaders: leafTexts(rule, 'AllowedHeader'),
        exposeHeaders: leafTexts(rule, 'ExposeHeader'),
        ...(maxAge === undefined ? {} : { maxAgeSeconds: corsMaxAge(maxAge) }),
      };
    });
    const config = { rules };
    const problem = corsProblem(config);
    if (problem !== undefined) throw new S3Error('InvalidRequest', problem);
    return config;
  });
}

/** The texts of every child `name`, in document order; a child with elements inside is malformed. */
function leafTexts(element: Element, name: string): string[] {
  return all(element, name).map((child) => {
    if (child.children.size > 0) throw new Malformed();
    return child.text;
  });
}

function corsMaxAge(text: string): number {
  const trimmed = text.trim();
  if (!/^[0-9]+$/.test(trimmed)) throw new Malformed();
  const seconds = Number(trimmed);
  if (seconds > MAX_CORS_AGE_SECONDS) throw new Malformed();
  return seconds;
}

export interface DeleteRequest {
  readonly quiet: boolean;
  /** `etag`: delete only if the key's current version has it (a conditional delete, like If-Match). */
  readonly objects: ReadonlyArray<{ readonly key: string; readonly versionId: string | undefined; readonly etag?: string }>;
}

/** DeleteObjects' body: 1 to 1000 `Object` entries, each with a `Key`. */
export function parseDeleteRequest(body: Uint8Array | string): ParseResult<DeleteRequest> {
  return run(() => {
    const root = parseDocument(body, 'Delete', MAX_XML_BODY_BYTES.delete);
    only(root, ['Object', 'Quiet']);
    const quietText = leaf(root, 'Quiet')?.trim().toLowerCase();
    if (quietText !== undefined && quietText !== 'true' && quietText !== 'false') throw new Malformed();
    const entries = all(root, 'Object');
    if (entries.length === 0 || entries.length > MAX_DELETE_OBJECTS) throw new Malformed();
    const objects = entries.map((entry) => {
      only(entry, ['Key', 'VersionId', 'ETag', 'LastModifiedTime', 'Size']);
      const key = leaf(entry, 'Key');
      if (key === undefined) throw new Malformed();
      const etag = leaf(entry, 'ETag');
      return { key, versionId: leaf(entry, 'VersionId'), ...(etag === undefined ? {} : { etag }) };
    });
    return { quiet: quietText === 'true', objects };
  });
}

export interface CompletedPart {
  readonly partNumber: number;
  /** Without quotes. */
  readonly etag: string;
  readonly checksums: ChecksumValues;
}

/**
 * CompleteMultipartUpload's body. Parts must be listed in strictly ascending part number order
 * (InvalidPartOrder otherwise), each with a PartNumber in 1..10000 and an ETag.
 */
export function parseCompleteMultipartUpload(body: Uint8Array | string): ParseResult<{ readonly parts: readonly CompletedPart[] }> {
  return run(() => {
    const root = parseDocument(body, 'CompleteMultipartUpload', MAX_XML_BODY_BYTES.completeMultipartUpload);
    only(root, ['Part']);
    const entries = all(root, 'Part');
    if (entries.length === 0 || entries.length > MAX_PART_NUMBER) throw new Malformed();
    const checksumNames = CHECKSUM_ALGORITHMS.map(checksumXmlName);
    const parts = entries.map((entry): CompletedPart => {
      only(entry, ['PartNumber', 'ETag', ...checksumNames]);
      const numberText = leaf(entry, 'PartNumber')?.trim();
      const etag = leaf(entry, 'ETag');
      if (numberText === undefined || etag === undefined || !/^\d{1,9}$/.test(numberText)) throw new Malformed();
      const partNumber = Number(numberText);
      if (partNumber < 1 || partNumber > MAX_PART_NUMBER) {
        throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
          fields: { ArgumentName: 'partNumber', ArgumentValue: numberText },
        });
      }
      const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
      for (const algorithm of CHECKSUM_ALGORITHMS) {
        const value = leaf(entry, checksumXmlName(algorithm));
        if (value !== undefined) checksums[algorithm] = value.trim();
      }
      return { partNumber, etag: unquoteEtag(etag), checksums };
    });
    for (let i = 1; i < parts.length; i++) {
      if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) throw new S3Error('InvalidPartOrder');
    }
    return { parts };
  });
}

/**
 * PutBucketAcl / PutObjectAcl's body. Grantees by e-mail address are not supported by S3 in most
 * regions and not here: they are refused as NotImplemented.
 */
export function parseAccessControlPolicy(body: Uint8Array | string): ParseResult<AccessControlPolicy> {
  const result = run(() => {
    const root = parseDocument(body, 'AccessControlPolicy', MAX_XML_BODY_BYTES.acl);
    only(root, ['Owner', 'AccessControlList']);
    const ownerElements = all(root, 'Owner');
    if (ownerElements.length !== 1) throw new Malformed();
    const ownerElement = ownerElements[0]!;
    only(ownerElement, ['ID', 'DisplayName']);
    const ownerId = leaf(ownerElement, 'ID');
    if (ownerId === undefined) throw new Malformed();
    const owner: Owner = { id: ownerId.trim(), displayName: leaf(ownerElement, 'DisplayName') ?? '' };
    const lists = all(root, 'AccessControlList');
    if (lists.length > 1) throw new Malformed();
    const list = lists[0];
    const grants: Grant[] = [];
    if (list !== undefined) {
      only(list, ['Grant']);
      for (const grant of all(list, 'Grant')) {
        only(grant, ['Grantee', 'Permission']);
        const permission = leaf(grant, 'Permission')?.trim();
        const found = ACL_PERMISSIONS.find((p) => p === permission);
        const grantees = all(grant, 'Grantee');
        if (found === undefined || grantees.length !== 1) throw new Malformed();
        const grantee = grantees[0]!;
        only(grantee, ['ID', 'DisplayName', 'URI', 'EmailAddress']);
        const id = leaf(grantee, 'ID');
        const uri = leaf(grantee, 'URI');
        if (leaf(grantee, 'EmailAddress') !== undefined) throw new S3Error('UnresolvableGrantByEmailAddress');
        if (id !== undefined) {
          const displayName = leaf(grantee, 'DisplayName');
          grants.push({
            grantee: displayName === undefined ? { type: 'CanonicalUser', id: id.trim() } : { type: 'CanonicalUser', id: id.trim(), displayName },
            permission: found,
          });
        } else if (uri !== undefined) {
          grants.push({ grantee: { type: 'Group', uri: uri.trim() }, permission: found });
        } else {
          throw new Malformed();
        }
      }
    }
    return { owner, grants };
  });
  if (!result.ok && result.error.code === 'MalformedXML') return { ok: false, error: new S3Error('MalformedACLError') };
  return result;
}
