/**
 * A request described for the access decision: the condition keys a bucket policy can test, taken
 * from the connection, the signature, the headers and the query. Filled once per request; handlers
 * that decide more than the routed action (a copy's source, each key of a batch delete) reuse it.
 */
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { UserRecord } from '../../core/auth-snapshot.js';
import { conditionContext, type ConditionContext } from '../../core/policy-conditions.js';
import type { Authentication } from '../../protocol/s3/auth.js';
import { getHeader, getQuery, parseTaggingHeader, type HeaderBag, type QueryInput } from '../../protocol/s3/headers.js';
import type { S3Operation } from '../../protocol/s3/router.js';

export interface AccessContextInput {
  readonly req: IncomingMessage;
  readonly headers: HeaderBag;
  readonly query: QueryInput;
  readonly operation: S3Operation;
  readonly auth: Authentication;
  readonly user: UserRecord | undefined;
  readonly nowMs: number;
}

const HEADER_KEYS = [
  'x-amz-acl', 'x-amz-grant-read', 'x-amz-grant-write', 'x-amz-grant-read-acp', 'x-amz-grant-write-acp', 'x-amz-grant-full-control',
  'x-amz-metadata-directive', 'x-amz-server-side-encryption', 'x-amz-server-side-encryption-customer-algorithm',
  'x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-storage-class', 'x-amz-content-sha256',
] as const;

const LIST_OPERATIONS: ReadonlySet<S3Operation['type']> = new Set(['ListObjects', 'ListObjectsV2', 'ListObjectVersions', 'ListMultipartUploads']);

/**
 * The context of a request, worked out when a policy first reads it: most requests meet no bucket
 * policy. What the connection says is taken at once, while the socket is sure to be there.
 */
export function accessContext(input: AccessContextInput): ConditionContext {
  const connection = { remoteAddress: input.req.socket.remoteAddress, encrypted: (input.req.socket as Partial<TLSSocket>).encrypted === true };
  return new LazyConditionContext(() => buildContext(input, connection));
}

function buildContext(input: AccessContextInput, connection: { readonly remoteAddress: string | undefined; readonly encrypted: boolean }): ConditionContext {
  const { headers, query, auth, user } = input;
  const header = (name: string): string | undefined => getHeader(headers, name);
  const listing = LIST_OPERATIONS.has(input.operation.type);
  const tags = requestTags(headers);
  const entries: Record<string, string | readonly string[] | undefined> = {
    'aws:SourceIp': sourceIp(connection.remoteAddress),
    'aws:SecureTransport': connection.encrypted ? 'true' : 'false',
    'aws:CurrentTime': new Date(input.nowMs).toISOString(),
    'aws:EpochTime': String(Math.floor(input.nowMs / 1000)),
    'aws:Referer': header('referer'),
    'aws:UserAgent': header('user-agent'),
    'aws:username': user?.userId,
    'aws:userid': user?.userId,
    'aws:PrincipalType': user === undefined ? 'Anonymous' : 'User',
    's3:prefix': listing ? getQuery(query, 'prefix') : undefined,
    's3:delimiter': listing ? getQuery(query, 'delimiter') : undefined,
    's3:max-keys': listing ? getQuery(query, 'max-keys') : undefined,
    's3:VersionId': getQuery(query, 'versionId'),
    's3:authType': authType(auth),
    's3:signatureversion': auth.scheme.startsWith('sigv4') ? 'AWS4-HMAC-SHA256' : auth.scheme.startsWith('sigv2') ? 'AWS' : undefined,
    's3:x-amz-copy-source': copySource(header('x-amz-copy-source')),
    's3:object-lock-mode': header('x-amz-object-lock-mode'),
    's3:object-lock-retain-until-date': header('x-amz-object-lock-retain-until-date'),
    's3:object-lock-legal-hold': header('x-amz-object-lock-legal-hold'),
    's3:RequestObjectTagKeys': tags === undefined ? undefined : [...tags.keys()],
  };
  for (const name of HEADER_KEYS) entries[`s3:${name}`] = header(name);
  for (const [key, value] of tags ?? []) entries[`s3:RequestObjectTag/${key}`] = value;
  return conditionContext(entries);
}

/** A condition context built on its first read. */
class LazyConditionContext implements ConditionContext {
  private built: ConditionContext | undefined;

  constructor(private readonly build: () => ConditionContext) {}

  private get context(): ConditionContext {
    return (this.built ??= this.build());
  }

  get size(): number {
    return this.context.size;
  }

  get(key: string): readonly string[] | undefined {
    return this.context.get(key);
  }

  has(key: string): boolean {
    return this.context.has(key);
  }

  forEach(callback: (value: readonly string[], key: string, map: ReadonlyMap<string, readonly string[]>) => void, thisArg?: unknown): void {
    this.context.forEach((value, key) => callback.call(thisArg, value, key, this));
  }

  entries(): MapIterator<[string, readonly string[]]> {
    return this.context.entries();
  }

  keys(): MapIterator<string> {
    return this.context.keys();
  }

  values(): MapIterator<readonly string[]> {
    return this.context.values();
  }

  [Symbol.iterator](): MapIterator<[string, readonly string[]]> {
    return this.context[Symbol.iterator]();
  }
}

/** IPv4 clients of a dual-stack socket appear as `::ffff:a.b.c.d`; policies name them as `a.b.c.d`. */
function sourceIp(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

function authType(auth: Authentication): string | undefined {
  switch (auth.scheme) {
    case 'sigv4-header':
    case 'sigv2-header':
      return 'REST-HEADER';
    case 'sigv4-query':
    case 'sigv2-query':
      return 'REST-QUERY-STRING';
    case 'anonymous':
    case 'trusted-network':
      return undefined;
  }
}

/** `bucket/key` as policies name a copy's source: decoded, without the leading slash or a version. */
function copySource(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const withoutVersion = value.split('?versionId=')[0] ?? value;
  let decoded: string;
  try {
    decoded = decodeURIComponent(withoutVersion);
  } catch {
    decoded = withoutVersion;
  }
  return decoded.startsWith('/') ? decoded.slice(1) : decoded;
}

/** The tags of x-amz-tagging; undefined when absent, or malformed (the write itself refuses it). */
function requestTags(headers: HeaderBag): Map<string, string> | undefined {
  const parsed = parseTaggingHeader(headers);
  return parsed.ok && parsed.value !== undefined ? new Map(parsed.value) : undefined;
}
