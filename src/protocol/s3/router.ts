/**
 * Turns method, raw path, query, headers and host into one S3 operation, validating names and
 * numeric parameters on the way so handlers only ever see well-formed input.
 */
import { percentDecode } from './encoding.js';
import { S3Error } from './errors.js';
import { isObjectVersionId } from '../../core/object-versioning.js';
import {
  getHeader, getQuery, parseMetadataDirective, parseResponseOverrides, queryNames, unsupportedTransferEncoding,
  type HeaderBag, type MetadataDirective, type QueryInput, type ResponseOverrides,
} from './headers.js';

export const MAX_KEY_BYTES = 1024;
export const MAX_LIST_KEYS = 1000;
export const MAX_PART_NUMBER = 10_000;
export const MAX_LIST_BUCKETS = 10_000;

// ---------------------------------------------------------------------------------------------
// The operations

interface OnBucket {
  readonly bucket: string;
}
interface OnObject extends OnBucket {
  readonly key: string;
}

export interface CopySource {
  readonly bucket: string;
  readonly key: string;
  /** A version id of the source, when given: one this store makes, or `null`. */
  readonly versionId: string | undefined;
}

export type EncodingType = 'url' | undefined;

export const OBJECT_ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
export type ObjectAttribute = (typeof OBJECT_ATTRIBUTES)[number];

export type S3Operation =
  | { readonly type: 'ListBuckets'; readonly prefix: string | undefined; readonly continuationToken: string | undefined; readonly maxBuckets: number }
  | (OnBucket & { readonly type: 'CreateBucket' })
  | (OnBucket & { readonly type: 'DeleteBucket' })
  | (OnBucket & { readonly type: 'HeadBucket' })
  | (OnBucket & { readonly type: 'GetBucketLocation' })
  | (OnBucket & { readonly type: 'GetBucketVersioning' })
  | (OnBucket & { readonly type: 'PutBucketVersioning' })
  | (OnBucket & { readonly type: 'GetBucketLifecycle' })
  | (OnBucket & { readonly type: 'PutBucketLifecycle' })
  | (OnBucket & { readonly type: 'DeleteBucketLifecycle' })
  | (OnBucket & { readonly type: 'GetBucketOwnershipControls' })
  | (OnBucket & { readonly type: 'PutBucketOwnershipControls' })
  | (OnBucket & { readonly type: 'DeleteBucketOwnershipControls' })
  | (OnBucket & { readonly type: 'GetBucketEncryption' })
  | (OnBucket & { readonly type: 'PutBucketEncryption' })
  | (OnBucket & { readonly type: 'DeleteBucketEncryption' })
  | (OnBucket & { readonly type: 'GetPublicAccessBlock' })
  | (OnBucket & { readonly type: 'PutPublicAccessBlock' })
  | (OnBucket & { readonly type: 'DeletePublicAccessBlock' })
  | (OnBucket & { readonly type: 'GetBucketCors' })
  | (OnBucket & { readonly type: 'PutBucketCors' })
  | (OnBucket & { readonly type: 'DeleteBucketCors' })
  | (OnBucket & { readonly type: 'GetBucketPolicy' })
  | (OnBucket & { readonly type: 'PutBucketPolicy' })
  | (OnBucket & { readonly type: 'DeleteBucketPolicy' })
  | (OnBucket & { readonly type: 'GetBucketPolicyStatus' })
  | (OnBucket & { readonly type: 'GetObjectLockConfiguration' })
  | (OnBucket & { readonly type: 'PutObjectLockConfiguration' })
  | (OnObject & { readonly type: 'GetObjectRetention'; readonly versionId: string | undefined })
  | (OnObject & { readonly type: 'PutObjectRetention'; readonly versionId: string | undefined })
  | (OnObject & { readonly type: 'GetObjectLegalHold'; readonly versionId: string | undefined })
  | (OnObject & { readonly type: 'PutObjectLegalHold'; readonly versionId: string | undefined })
  | (OnBucket & { readonly type: 'GetBucketTagging' })
  | (OnBucket & { readonly type: 'PutBucketTagging' })
  | (OnBucket & { readonly type: 'DeleteBucketTagging' })
  | (OnObject & { readonly type: 'GetObjectTagging'; readonly versionId: string | undefined })
  | (OnObject & { readonly type: 'PutObjectTagging'; readonly versionId: string | undefined })
  | (OnObject & { readonly type: 'DeleteObjectTagging'; readonly versionId: string | undefined })
  | (OnBucket & { readonly type: 'GetBucketAcl' })
  | (OnBucket & { readonly type: 'PutBucketAcl' })
  | (OnObject & { readonly type: 'GetObjectAcl'; readonly versionId: string | undefined })
  | (OnObject & { readonly type: 'PutObjectAcl'; readonly versionId: string | undefined })
  | (OnBucket & {
      readonly type: 'ListObjects';
      readonly prefix: string;
      readonly delimiter: string | undefined;
      readonly marker: string | undefined;
      readonly maxKeys: number;
      readonly encodingType: EncodingType;
    })
  | (OnBucket & {
      readonly type: 'ListObjectsV2';
      readonly prefix: string;
      readonly delimiter: string | undefined;
      /** As sent; an empty token continues nothing and lists from the start. */
      readonly continuationToken: string | undefined;
      readonly startAfter: string | undefined;
      readonly maxKeys: number;
      readonly encodingType: EncodingType;
      readonly fetchOwner: boolean;
    })
  | (OnBucket & {
      readonly type: 'ListObjectVersions';
      readonly prefix: string;
      readonly delimiter: string | undefined;
      readonly keyMarker: string | undefined;
      readonly versionIdMarker: string | undefined;
      readonly maxKeys: number;
      readonly encodingType: EncodingType;
    })
  | (OnBucket & {
      readonly type: 'ListMultipartUploads';
      readonly prefix: string;
      readonly delimiter: string | undefined;
      readonly keyMarker: string | undefined;
      readonly uploadIdMarker: string | undefined;
      readonly maxUploads: number;
      readonly encodingType: EncodingType;
    })
  | (OnBucket & { readonly type: 'DeleteObjects' })
  /** An HTML form upload (multipart/form-data); its key and credentials are fields of the form. */
  | (OnBucket & { readonly type: 'PostObject' })
  /** A browser's CORS preflight; it carries no credentials, so it is answered without any. */
  | (OnBucket & {
      readonly type: 'PreflightRequest';
      readonly key: string | undefined;
      readonly origin: string | undefined;
      readonly requestMethod: string | undefined;
    })
  | (OnObject & { readonly type: 'PutObject' })
  | (OnObject & { readonly type: 'CopyObject'; readonly source: CopySource; readonly metadataDirective: MetadataDirective })
  | (OnObject & {
      readonly type: 'GetObject';
      readonly versionId: string | undefined;
      readonly partNumber: number | undefined;
      readonly overrides: ResponseOverrides;
    })
  | (OnObject & {
      readonly type: 'HeadObject';
      readonly versionId: string | undefined;
      readonly partNumber: number | undefined;
      readonly overrides: ResponseOverrides;
    })
  | (OnObject & {
      readonly type: 'GetObjectAttributes';
      readonly versionId: string | undefined;
      readonly attributes: ReadonlySet<ObjectAttribute>;
      readonly maxParts: number;
      readonly partNumberMarker: number | undefined;
    })
  | (OnObject & { readonly type: 'DeleteObject'; readonly versionId: string | undefined })
  | (OnObject & { readonly type: 'CreateMultipartUpload' })
  | (OnObject & { readonly type: 'UploadPart'; readonly uploadId: string; readonly partNumber: number })
  | (OnObject & {
      readonly type: 'UploadPartCopy';
      readonly uploadId: string;
      readonly partNumber: number;
      readonly source: CopySource;
    })
  | (OnObject & { readonly type: 'CompleteMultipartUpload'; readonly uploadId: string })
  | (OnObject & { readonly type: 'AbortMultipartUpload'; readonly uploadId: string })
  | (OnObject & {
      readonly type: 'ListParts';
      readonly uploadId: string;
      readonly maxParts: number;
      readonly partNumberMarker: number | undefined;
    });

export type S3OperationType = S3Operation['type'];

export interface Addressing {
  /** How the bucket was named: in the path, or in the Host header (SigV2 signs the two differently). */
  readonly style: 'path' | 'virtual-host';
  readonly bucket: string | undefined;
  /** `/bucket/key` as S3 shows it in error documents. */
  readonly resource: string;
}

export type RouteResult =
  | { readonly ok: true; readonly operation: S3Operation; readonly addressing: Addressing }
  | { readonly ok: false; readonly error: S3Error; readonly addressing: Addressing | undefined };

export interface S3RequestInput {
  readonly method: string;
  /** The path exactly as sent (percent-encoded); a query part, if present, is ignored. */
  readonly path: string;
  readonly query: QueryInput;
  readonly headers: HeaderBag;
  /** The Host header (with port, if sent). */
  readonly host: string | undefined;
}

export interface RouterOptions {
  /** Endpoint host names under which `<bucket>.<suffix>` names a bucket, e.g. `s3.example.com`. */
  readonly virtualHostSuffixes: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Sub-resources

/** Sub-resources of real S3 that this store does not offer: 501 whatever the method. */
const UNSUPPORTED_SUBRESOURCES = new Set([
  'accelerate', 'analytics', 'intelligent-tiering', 'inventory',
  'logging', 'metadataTable', 'metrics', 'notification',
  'renameObject', 'replication',
  'requestPayment', 'restore', 'select', 'session', 'torrent', 'website',
]);

const BUCKET_SUBRESOURCES = ['acl', 'cors', 'delete', 'encryption', 'ownershipControls', 'lifecycle', 'location', 'object-lock', 'policy', 'policyStatus', 'publicAccessBlock', 'tagging', 'uploads', 'versioning', 'versions'] as const;
const OBJECT_SUBRESOURCES = ['acl', 'attributes', 'legal-hold', 'retention', 'tagging', 'uploadId', 'uploads'] as const;

// ---------------------------------------------------------------------------------------------
// Entry point

export function routeS3Request(input: S3RequestInput, options: RouterOptions): RouteResult {
  const method = input.method.toUpperCase();
  const rawPath = stripQuery(input.path);
  if (!rawPath.startsWith('/')) return failure(new S3Error('InvalidURI'), undefined);

  const hostBucket = bucketFromHost(input.host, options.virtualHostSuffixes);
  let bucket: string | undefined;
  let rawKey: string;
  let style: Addressing['style'];
  if (hostBucket !== undefined) {
    style = 'virtual-host';
    bucket = hostBucket;
    rawKey = rawPath.slice(1);
  } else {
    style = 'path';
    const slash = rawPath.indexOf('/', 1);
    const rawBucket = slash === -1 ? rawPath.slice(1) : rawPath.slice(1, slash);
    rawKey = slash === -1 ? '' : rawPath.slice(slash + 1);
    if (rawBucket === '' && rawKey === '') {
      bucket = undefined;
    } else {
      bucket = percentDecode(rawBucket, false);
      if (bucket === undefined) return failure(new S3Error('InvalidURI'), undefined);
    }
  }
  const key = percentDecode(rawKey, false);
  const addressing: Addressing = {
    style,
    bucket,
    resource: bucket === undefined ? '/' : `/${bucket}/${key ?? rawKey}`,
  };
  if (key === undefined) return failure(new S3Error('InvalidURI'), addressing);

  let operation: S3Operation;
  try {
    const encoding = unsupportedTransferEncoding(input.headers);
    if (encoding !== undefined) throw encoding;
    if (bucket === undefined) {
      operation = routeService(method, input.query);
    } else {
      if (!isValidBucketName(bucket)) {
        throw new S3Error('InvalidBucketName', undefined, { fields: { BucketName: bucket } });
      }
      operation = key === '' ? routeBucket(method, bucket, input) : routeObject(method, bucket, key, input);
    }
  } catch (error) {
    if (error instanceof S3Error) return failure(error, addressing);
    throw error;
  }
  return { ok: true, operation, addressing };
}

function failure(error: S3Error, addressing: Addressing | undefined): RouteResult {
  return { ok: false, error: addressing === undefined ? error : error.withResource(addressing.resource), addressing };
}

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

/**
 * The bucket named by the Host header: `<bucket>.<suffix>` for a configured suffix, or
 * `<bucket>.localhost` for local development. Undefined means path-style addressing.
 */
export function bucketFromHost(host: string | undefined, suffixes: readonly string[]): string | undefined {
  if (host === undefined) return undefined;
  const hostname = stripPort(host.trim()).toLowerCase();
  if (hostname === '' || hostname.startsWith('[')) return undefined;
  const candidates = [...suffixes.map((s) => stripPort(s.trim()).toLowerCase()), 'localhost'];
  // The longest suffix wins, so `s3.example.com` beats `example.com` for `b.s3.example.com`.
  candidates.sort((a, b) => b.length - a.length);
  for (const suffix of candidates) {
    if (suffix === '') continue;
    if (hostname.length > suffix.length + 1 && hostname.endsWith('.' + suffix)) {
      return hostname.slice(0, hostname.length - suffix.length - 1);
    }
  }
  return undefined;
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

// ---------------------------------------------------------------------------------------------
// Service, bucket and object level

function routeService(method: string, query: QueryInput): S3Operation {
  if (method !== 'GET') throw methodNotAllowed(method, 'SERVICE');
  const maxBuckets = getQuery(query, 'max-buckets');
  return {
    type: 'ListBuckets',
    prefix: getQuery(query, 'prefix'),
    continuationToken: getQuery(query, 'continuation-token'),
    maxBuckets: maxBuckets === undefined ? MAX_LIST_BUCKETS : parseBounded('max-buckets', maxBuckets, 1, MAX_LIST_BUCKETS),
  };
}

function routeBucket(method: string, bucket: string, input: S3RequestInput): S3Operation {
  const { query } = input;
  const has = (name: string): boolean => getQuery(query, name) !== undefined;
  switch (method) {
    case 'GET':
      if (has('location')) return { type: 'GetBucketLocation', bucket };
      if (has('versioning')) return { type: 'GetBucketVersioning', bucket };
      if (has('acl')) return { type: 'GetBucketAcl', bucket };
      if (has('tagging')) return { type: 'GetBucketTagging', bucket };
      if (has('object-lock')) return { type: 'GetObjectLockConfiguration', bucket };
      if (has('lifecycle')) return { type: 'GetBucketLifecycle', bucket };
      if (has('policy')) return { type: 'GetBucketPolicy', bucket };
      if (has('cors')) return { type: 'GetBucketCors', bucket };
      if (has('publicAccessBlock')) return { type: 'GetPublicAccessBlock', bucket };
      if (has('encryption')) return { type: 'GetBucketEncryption', bucket };
      if (has('ownershipControls')) return { type: 'GetBucketOwnershipControls', bucket };
      if (has('policyStatus')) return { type: 'GetBucketPolicyStatus', bucket };
      rejectUnsupported(query);
      if (has('uploads')) {
        return {
          type: 'ListMultipartUploads',
          bucket,
          ...listCommon(query),
          keyMarker: getQuery(query, 'key-marker'),
          uploadIdMarker: getQuery(query, 'upload-id-marker'),
          maxUploads: parseMaxKeys('max-uploads', getQuery(query, 'max-uploads')),
        };
      }
      if (has('versions')) {
        const keyMarker = getQuery(query, 'key-marker');
        const versionIdMarker = getQuery(query, 'version-id-marker');
        if (versionIdMarker !== undefined && versionIdMarker !== '' && (keyMarker === undefined || keyMarker === '')) {
          throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', {
            fields: { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker },
          });
        }
        return {
          type: 'ListObjectVersions',
          bucket,
          ...listCommon(query),
          keyMarker,
          versionIdMarker,
          maxKeys: parseMaxKeys('max-keys', getQuery(query, 'max-keys')),
        };
      }
      if (has('delete')) throw methodNotAllowed(method, 'BUCKET');
      return routeListObjects(bucket, query);
    case 'HEAD':
      return { type: 'HeadBucket', bucket };
    case 'PUT':
      if (has('acl')) return { type: 'PutBucketAcl', bucket };
      if (has('versioning')) return { type: 'PutBucketVersioning', bucket };
      if (has('tagging')) return { type: 'PutBucketTagging', bucket };
      if (has('object-lock')) return { type: 'PutObjectLockConfiguration', bucket };
      if (has('lifecycle')) return { type: 'PutBucketLifecycle', bucket };
      if (has('policy')) return { type: 'PutBucketPolicy', bucket };
      if (has('cors')) return { type: 'PutBucketCors', bucket };
      if (has('publicAccessBlock')) return { type: 'PutPublicAccessBlock', bucket };
      if (has('encryption')) return { type: 'PutBucketEncryption', bucket };
      if (has('ownershipControls')) return { type: 'PutBucketOwnershipControls', bucket };
      rejectUnsupported(query);
      if (BUCKET_SUBRESOURCES.some(has)) throw methodNotAllowed(method, 'BUCKET');
      return { type: 'CreateBucket', bucket };
    case 'DELETE':
      if (has('tagging')) return { type: 'DeleteBucketTagging', bucket };
      if (has('lifecycle')) return { type: 'DeleteBucketLifecycle', bucket };
      if (has('policy')) return { type: 'DeleteBucketPolicy', bucket };
      if (has('cors')) return { type: 'DeleteBucketCors', bucket };
      if (has('publicAccessBlock')) return { type: 'DeletePublicAccessBlock', bucket };
      if (has('encryption')) return { type: 'DeleteBucketEncryption', bucket };
      if (has('ownershipControls')) return { type: 'DeleteBucketOwnershipControls', bucket };
      rejectUnsupported(query);
      if (BUCKET_SUBRESOURCES.some(has)) throw methodNotAllowed(method, 'BUCKET');
      return { type: 'DeleteBucket', bucket };
    case 'POST':
      if (has('delete')) return { type: 'DeleteObjects', bucket };
      rejectUnsupported(query);
      if (BUCKET_SUBRESOURCES.some(has)) throw methodNotAllowed(method, 'BUCKET');
      // A POST to a bucket without a sub-resource is a browser's form upload.
      return { type: 'PostObject', bucket };
    case 'OPTIONS':
      return preflight(bucket, undefined, input.headers);
    default:
      throw methodNotAllowed(method, 'BUCKET');
  }
}

function routeListObjects(bucket: string, query: QueryInput): S3Operation {
  const listType = getQuery(query, 'list-type');
  const common = listCommon(query);
  const maxKeys = parseMaxKeys('max-keys', getQuery(query, 'max-keys'));
  if (listType === undefined) {
    return { type: 'ListObjects', bucket, ...common, marker: getQuery(query, 'marker'), maxKeys };
  }
  if (listType !== '2') {
    throw new S3Error('InvalidArgument', 'Invalid List Type specified in Request', {
      fields: { ArgumentName: 'list-type', ArgumentValue: listType },
    });
  }
  const continuationToken = getQuery(query, 'continuation-token');
  return {
    type: 'ListObjectsV2',
    bucket,
    ...common,
    continuationToken,
    startAfter: getQuery(query, 'start-after'),
    maxKeys,
    fetchOwner: getQuery(query, 'fetch-owner') === 'true',
  };
}

function listCommon(query: QueryInput): { prefix: string; delimiter: string | undefined; encodingType: EncodingType } {
  const delimiter = getQuery(query, 'delimiter');
  const encoding = getQuery(query, 'encoding-type');
  if (encoding !== undefined && encoding.toLowerCase() !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      fields: { ArgumentName: 'encoding-type', ArgumentValue: encoding },
    });
  }
  return {
    prefix: getQuery(query, 'prefix') ?? '',
    delimiter: delimiter === '' ? undefined : delimiter,
    encodingType: encoding === undefined ? undefined : 'url',
  };
}

function routeObject(method: string, bucket: string, key: string, input: S3RequestInput): S3Operation {
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', undefined, {
      fields: { Size: String(keyBytes), MaxSizeAllowed: String(MAX_KEY_BYTES) },
    });
  }
  const { query, headers } = input;
  const has = (name: string): boolean => getQuery(query, name) !== undefined;
  const uploadId = getQuery(query, 'uploadId');
  switch (method) {
    case 'GET':
    case 'HEAD': {
      if (method === 'GET' && uploadId !== undefined) {
        return {
          type: 'ListParts',
          bucket,
          key,
          uploadId,
          maxParts: parseMaxKeys('max-parts', getQuery(query, 'max-parts')),
          partNumberMarker: parseOptionalNonNegative('part-number-marker', getQuery(query, 'part-number-marker')),
        };
      }
      if (method === 'GET' && has('acl')) return { type: 'GetObjectAcl', bucket, key, versionId: parseVersionId(query) };
      if (method === 'GET' && has('tagging')) return { type: 'GetObjectTagging', bucket, key, versionId: parseVersionId(query) };
      if (method === 'GET' && has('retention')) return { type: 'GetObjectRetention', bucket, key, versionId: parseVersionId(query) };
      if (method === 'GET' && has('legal-hold')) return { type: 'GetObjectLegalHold', bucket, key, versionId: parseVersionId(query) };
      if (method === 'GET' && has('attributes')) {
        return {
          type: 'GetObjectAttributes',
          bucket,
          key,
          versionId: parseVersionId(query),
          attributes: parseObjectAttributes(getHeader(headers, 'x-amz-object-attributes')),
          maxParts: parseMaxKeys('x-amz-max-parts', getHeader(headers, 'x-amz-max-parts')),
          partNumberMarker: parseOptionalNonNegative('x-amz-part-number-marker', getHeader(headers, 'x-amz-part-number-marker')),
        };
      }
      rejectUnsupported(query);
      if (OBJECT_SUBRESOURCES.some(has)) throw methodNotAllowed(method, 'OBJECT');
      const rawPart = getQuery(query, 'partNumber');
      const partNumber = rawPart === undefined ? undefined : parsePartNumber(rawPart);
      if (partNumber !== undefined && getHeader(headers, 'range') !== undefined) {
        throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
      }
      return {
        type: method === 'GET' ? 'GetObject' : 'HeadObject',
        bucket,
        key,
        versionId: parseVersionId(query),
        partNumber,
        overrides: parseResponseOverrides(query),
      };
    }
    case 'PUT': {
      const rawPart = getQuery(query, 'partNumber');
      if (uploadId !== undefined || rawPart !== undefined) {
        if (uploadId === undefined || rawPart === undefined) {
          throw new S3Error('InvalidRequest', 'An upload part request needs both uploadId and partNumber.');
        }
        const partNumber = parsePartNumber(rawPart);
        const copySource = getHeader(headers, 'x-amz-copy-source');
        if (copySource !== undefined) {
          return { type: 'UploadPartCopy', bucket, key, uploadId, partNumber, source: parseCopySource(copySource) };
        }
        return { type: 'UploadPart', bucket, key, uploadId, partNumber };
      }
      if (has('acl')) return { type: 'PutObjectAcl', bucket, key, versionId: parseVersionId(query) };
      if (has('tagging')) return { type: 'PutObjectTagging', bucket, key, versionId: parseVersionId(query) };
      if (has('retention')) return { type: 'PutObjectRetention', bucket, key, versionId: parseVersionId(query) };
      if (has('legal-hold')) return { type: 'PutObjectLegalHold', bucket, key, versionId: parseVersionId(query) };
      rejectUnsupported(query);
      if (OBJECT_SUBRESOURCES.some(has)) throw methodNotAllowed(method, 'OBJECT');
      const copySource = getHeader(headers, 'x-amz-copy-source');
      if (copySource !== undefined) {
        const source = parseCopySource(copySource);
        const directive = parseMetadataDirective(headers);
        if (!directive.ok) throw directive.error;
        if (
          source.bucket === bucket && source.key === key && directive.value === 'COPY' &&
          getHeader(headers, 'x-amz-storage-class') === undefined &&
          getHeader(headers, 'x-amz-website-redirect-location') === undefined
        ) {
          throw new S3Error(
            'InvalidRequest',
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
          );
        }
        return { type: 'CopyObject', bucket, key, source, metadataDirective: directive.value };
      }
      return { type: 'PutObject', bucket, key };
    }
    case 'POST':
      if (has('uploads')) return { type: 'CreateMultipartUpload', bucket, key };
      if (uploadId !== undefined) return { type: 'CompleteMultipartUpload', bucket, key, uploadId };
      rejectUnsupported(query);
      throw methodNotAllowed(method, 'OBJECT');
    case 'DELETE':
      if (uploadId !== undefined) return { type: 'AbortMultipartUpload', bucket, key, uploadId };
      if (has('tagging')) return { type: 'DeleteObjectTagging', bucket, key, versionId: parseVersionId(query) };
      rejectUnsupported(query);
      if (OBJECT_SUBRESOURCES.some(has)) throw methodNotAllowed(method, 'OBJECT');
      return { type: 'DeleteObject', bucket, key, versionId: parseVersionId(query) };
    case 'OPTIONS':
      return preflight(bucket, key, headers);
    default:
      throw methodNotAllowed(method, 'OBJECT');
  }
}

function preflight(bucket: string, key: string | undefined, headers: HeaderBag): S3Operation {
  return { type: 'PreflightRequest', bucket, key, origin: getHeader(headers, 'origin'), requestMethod: getHeader(headers, 'access-control-request-method') };
}

function rejectUnsupported(query: QueryInput): void {
  for (const name of queryNames(query)) {
    if (UNSUPPORTED_SUBRESOURCES.has(name)) throw new S3Error('NotImplemented');
  }
}

function methodNotAllowed(method: string, resourceType: 'SERVICE' | 'BUCKET' | 'OBJECT'): S3Error {
  return new S3Error('MethodNotAllowed', undefined, { fields: { Method: method, ResourceType: resourceType } });
}

// ---------------------------------------------------------------------------------------------
// Validation

const IPV4_LIKE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** S3's bucket naming rules for general purpose buckets. */
export function isValidBucketName(name: string): boolean {
  if (name.length < 3 || name.length > 63) return false;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return false;
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) return false;
  if (IPV4_LIKE.test(name)) return false;
  if (name.startsWith('xn--') || name.startsWith('sthree-')) return false;
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3')) return false;
  return true;
}

function parseVersionId(query: QueryInput): string | undefined {
  const value = getQuery(query, 'versionId');
  if (value === undefined) return undefined;
  if (isObjectVersionId(value)) return value;
  throw new S3Error('InvalidArgument', 'Invalid version id specified', {
    fields: { ArgumentName: 'versionId', ArgumentValue: value },
  });
}

/** max-keys and friends: a non-negative integer, clamped to 1000 as S3 does. */
export function parseMaxKeys(name: string, value: string | undefined): number {
  if (value === undefined) return MAX_LIST_KEYS;
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed)) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, {
      fields: { ArgumentName: name, ArgumentValue: value },
    });
  }
  return Math.min(Number(trimmed), MAX_LIST_KEYS);
}

function parseBounded(name: string, value: string, min: number, max: number): number {
  const trimmed = value.trim();
  const n = /^\d{1,10}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(n >= min && n <= max)) {
    throw new S3Error('InvalidArgument', `Argument ${name} must be an integer between ${min} and ${max}`, {
      fields: { ArgumentName: name, ArgumentValue: value },
    });
  }
  return n;
}

function parseOptionalNonNegative(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return parseBounded(name, value, 0, 2_147_483_647);
}

/** x-amz-object-attributes: a comma-separated list of the attributes GetObjectAttributes returns. */
export function parseObjectAttributes(header: string | undefined): ReadonlySet<ObjectAttribute> {
  const names = (header ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) {
    throw new S3Error('InvalidRequest', 'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty');
  }
  const attributes = new Set<ObjectAttribute>();
  for (const name of names) {
    const attribute = OBJECT_ATTRIBUTES.find((known) => known === name);
    if (attribute === undefined) {
      throw new S3Error('InvalidArgument', 'Invalid attribute name specified.', {
        fields: { ArgumentName: 'x-amz-object-attributes', ArgumentValue: name },
      });
    }
    attributes.add(attribute);
  }
  return attributes;
}

export function parsePartNumber(value: string): number {
  const trimmed = value.trim();
  const n = /^\d{1,5}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(n >= 1 && n <= MAX_PART_NUMBER)) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
      fields: { ArgumentName: 'partNumber', ArgumentValue: value },
    });
  }
  return n;
}

/**
 * x-amz-copy-source: `[/]bucket/key[?versionId=id]`, the key URL-encoded. A literal `?` in a key
 * arrives encoded, so the first raw `?` starts the version part.
 */
export function parseCopySource(header: string): CopySource {
  const invalid = (message: string): S3Error =>
    new S3Error('InvalidArgument', message, { fields: { ArgumentName: 'x-amz-copy-source', ArgumentValue: header } });
  let text = header.trim();
  let versionId: string | undefined;
  const q = text.indexOf('?');
  if (q !== -1) {
    const params = text.slice(q + 1);
    text = text.slice(0, q);
    if (!params.startsWith('versionId=')) throw invalid('Invalid copy source encoding.');
    const value = percentDecode(params.slice('versionId='.length), false);
    if (value === undefined || !isObjectVersionId(value)) {
      throw new S3Error('InvalidArgument', 'Invalid version id specified', {
        fields: { ArgumentName: 'x-amz-copy-source', ArgumentValue: header },
      });
    }
    versionId = value;
  }
  const decoded = percentDecode(text.startsWith('/') ? text.slice(1) : text, false);
  if (decoded === undefined) throw invalid('Invalid copy source encoding.');
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) throw invalid('Invalid copy source object key');
  const bucket = decoded.slice(0, slash);
  const key = decoded.slice(slash + 1);
  if (!isValidBucketName(bucket)) throw new S3Error('InvalidBucketName', undefined, { fields: { BucketName: bucket } });
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', undefined, {
      fields: { Size: String(keyBytes), MaxSizeAllowed: String(MAX_KEY_BYTES) },
    });
  }
  return { bucket, key, versionId };
}
