/**
 * One request, start to end: route, authenticate, authorize, hand to the operation's handler. Each
 * request runs in its own scope: whatever it throws ends as an S3 error response for that client
 * alone (InternalError, with the request id, for anything unexpected, whose details go only to the
 * log), and nothing it does can reject into the process.
 */
import { randomHex } from '../../core/random-id.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { assertNever } from '../../core/assert-never.js';
import { authenticate } from '../../protocol/s3/auth.js';
import { S3Error, toS3Error, xmlErrorDocument, type ErrorContext, type ErrorDocument } from '../../protocol/s3/errors.js';
import { getHeader, parseQueryString } from '../../protocol/s3/headers.js';
import { routeS3Request, type Addressing, type RouteResult, type S3Operation, type S3RequestInput } from '../../protocol/s3/router.js';
import type { Authentication } from '../../protocol/s3/auth.js';
import type { HeaderBag } from '../../protocol/s3/headers.js';
import { accessContext } from './access-context.js';
import { authorize, authorizeVersion, type AccessAsker, type PendingObjectAccess } from './authorization.js';
import { findObjectVersion } from './object-versions.js';
import type { BucketRecord, UserRecord } from '../../core/auth-snapshot.js';
import type { BodyFraming } from './body-framing.js';
import { BucketScopedStorage } from './bucket-scoped-storage.js';
import {
  deleteBucketOwnershipControls, getBucketAcl, getBucketOwnershipControls, getObjectAcl, putBucketAcl, putBucketOwnershipControls, putObjectAcl,
} from './handlers/acl.js';
import {
  createBucket, deleteBucket, getBucketLocation, getBucketVersioning, putBucketVersioning, headBucket, listBuckets,
} from './handlers/buckets.js';
import { deleteBucketPolicy, getBucketPolicy, getBucketPolicyStatus, putBucketPolicy } from './handlers/bucket-policy.js';
import { copyObject } from './handlers/copy-object.js';
import { corsHeadersFor, deleteBucketCors, getBucketCors, preflight, putBucketCors } from './handlers/cors.js';
import { deleteObject, deleteObjects } from './handlers/delete-object.js';
import { getObject, getObjectAttributes } from './handlers/get-object.js';
import { listObjects, listObjectsV2, listObjectVersions } from './handlers/list-objects.js';
import {
  abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart,
  uploadPartCopy,
} from './handlers/multipart.js';
import { deleteBucketLifecycle, getBucketLifecycle, putBucketLifecycle } from './handlers/lifecycle.js';
import {
  getObjectLegalHold, getObjectLockConfiguration, getObjectRetention, putObjectLegalHold, putObjectLockConfiguration, putObjectRetention,
} from './handlers/object-lock.js';
import { deleteBucketEncryption, getBucketEncryption, putBucketEncryption } from './handlers/bucket-encryption.js';
import { postObject } from './handlers/post-object.js';
import { deletePublicAccessBlock, getPublicAccessBlock, putPublicAccessBlock } from './handlers/public-access-block.js';
import { putObject } from './handlers/put-object.js';
import {
  deleteBucketTagging, deleteObjectTagging, getBucketTagging, getObjectTagging, putBucketTagging, putObjectTagging,
} from './handlers/tagging.js';
import { userIdOf, type GatewayDeps, type RequestContext } from './request-context.js';
import { ClientGone, sendError } from './responses.js';
import { signingRegionsOf } from './signing-region.js';

/** A CORS preflight is sent by a browser without credentials, whatever its URL carries. */
const PREFLIGHT = { ok: true, auth: { scheme: 'anonymous', payload: { type: 'unsigned' } } } as const;

/** Host names under which `<bucket>.<host>` always addresses a bucket, for local use. */
const LOCAL_SUFFIXES = ['localhost', '127.0.0.1'];

/** A routed request, as an entry sees it to tell who sends it. */
export interface RoutedRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** As sent, percent-encoded, without the query. */
  readonly path: string;
  readonly rawQuery: string;
  readonly headers: HeaderBag;
  readonly operation: S3Operation;
  readonly addressing: Addressing;
}

/** Who a request acts as: its authentication, and its user (undefined: anonymous). */
export interface Identity {
  readonly auth: Authentication;
  readonly user: UserRecord | undefined;
}

/**
 * How requests reach the one pipeline: which operations a listener routes to and how it tells who sends
 * them. The S3 API routes every operation and verifies signatures; the REST API (rest/rest-entry.ts)
 * routes plain object requests and names the user itself. Authorization, handlers and the error table are
 * shared; each entry tells errors in its own format (S3 XML, REST JSON).
 */
export interface RequestEntry {
  /** Which API the entry is, as metrics label its requests. */
  readonly api: 'S3' | 'REST';
  route(input: S3RequestInput, deps: GatewayDeps): RouteResult;
  /** Throws the S3 error a request that may not go on is answered with. */
  identify(request: RoutedRequest, deps: GatewayDeps): Promise<Identity>;
  /** The body of an error answer, given the request's headers (empty for a connection refused before any). */
  errorDocument(error: S3Error, context: ErrorContext, headers: HeaderBag): ErrorDocument;
}

/** The S3 API: SigV4, SigV2 or anonymous; path-style and virtual-host addressing; CORS. */
export const S3_ENTRY: RequestEntry = {
  api: 'S3',
  route(input, deps) {
    return routeS3Request(input, { virtualHostSuffixes: [...deps.authView.endpoints(), ...deps.config.virtualHostSuffixes, ...LOCAL_SUFFIXES] });
  },
  async identify(request, deps) {
    const { res, method, path, rawQuery, headers, operation, addressing } = request;
    if (operation.type !== 'PreflightRequest' && addressing.bucket !== undefined) {
      // Before authentication: a page is told why it was refused only if CORS lets it read the answer.
      const cors = corsHeadersFor(deps.authView.bucket(addressing.bucket), method, headers);
      for (const [name, value] of Object.entries(cors)) res.setHeader(name, value);
    }
    const regions = signingRegionsOf(deps.authView, deps.config.region, operation);
    const authenticated = operation.type === 'PreflightRequest' ? PREFLIGHT : await authenticate(
      {
        method,
        path,
        query: rawQuery,
        headers,
        virtualHostBucket: addressing.style === 'virtual-host' ? addressing.bucket : undefined,
      },
      {
        lookupSecret: (accessKeyId) => deps.authView.secretOf(accessKeyId),
        nowMs: deps.clock.now(),
        keyCache: deps.keyCache,
        region: regions?.expected,
        alsoAcceptedRegions: regions?.alsoAccepted,
      },
    );
    if (!authenticated.ok) throw authenticated.error;
    const auth = authenticated.auth;
    if (auth.scheme === 'anonymous') return { auth, user: undefined };
    if (auth.scheme === 'trusted-network') throw new Error('S3 signatures never make a trusted-network request');
    const user = deps.authView.userByAccessKey(auth.accessKeyId);
    if (user === undefined) throw new S3Error('InvalidAccessKeyId');
    return { auth, user };
  },
  errorDocument(error, context) {
    return xmlErrorDocument(error, context);
  },
};

export function newRequestId(): string {
  return randomHex(8).toUpperCase();
}

/**
 * The node:http request listener of a gateway, given also where the server reports a body it could not
 * parse. It never throws and its promise never rejects.
 */
export function createRequestHandler(
  deps: GatewayDeps,
  entry: RequestEntry = S3_ENTRY,
): (req: IncomingMessage, res: ServerResponse, framing: BodyFraming) => void {
  return (req, res, framing) => {
    handleRequest(deps, entry, req, res, framing).catch((error: unknown) => {
      deps.log.error('request handling failed outside its scope', { error });
      res.destroy();
    });
  };
}

async function handleRequest(deps: GatewayDeps, entry: RequestEntry, req: IncomingMessage, res: ServerResponse, framing: BodyFraming): Promise<void> {
  const requestId = newRequestId();
  const startedMs = deps.clock.now();
  const method = (req.method ?? 'GET').toUpperCase();
  const log = deps.log.child({ requestId });
  res.setHeader('x-amz-request-id', requestId);
  res.setHeader('x-amz-id-2', deps.hostId);
  res.setHeader('Server', 'LeoFS');
  // A client that goes away mid-request must not become an unhandled 'error' event.
  req.on('error', () => undefined);
  res.on('error', () => undefined);
  let resource: string | undefined;
  let operation: S3Operation['type'] | undefined;
  res.once('close', () => {
    deps.requests.answered({ api: entry.api, operation: operation ?? 'Unknown', status: res.statusCode, seconds: (deps.clock.now() - startedMs) / 1000, socket: req.socket });
  });
  try {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    const query = parseQueryString(rawQuery);
    if (query === undefined) throw new S3Error('InvalidURI');
    const headers = req.headersDistinct;
    const routed = entry.route({ method, path, query, headers, host: req.headers.host }, deps);
    resource = routed.addressing?.resource;
    if (!routed.ok) throw routed.error;
    operation = routed.operation.type;
    const { auth, user } = await entry.identify({ req, res, method, path, rawQuery, headers, operation: routed.operation, addressing: routed.addressing }, deps);
    const conditions = accessContext({ req, headers, query, operation: routed.operation, auth, user, nowMs: deps.clock.now() });
    const { bucket, pending } = authorize(deps.authView, routed.operation, { user, conditions, log });
    const expectedOwner = getHeader(headers, 'x-amz-expected-bucket-owner');
    // A client that names the owner it expects is refused a bucket of anyone else, as S3 does.
    if (bucket !== undefined && expectedOwner !== undefined && expectedOwner !== bucket.owner) throw new S3Error('AccessDenied');
    const scoped: GatewayDeps = { ...deps, storage: new BucketScopedStorage(deps.storage, deps.authView, bucket) };
    if (pending !== undefined && bucket !== undefined) await authorizeByVersion(scoped, routed.operation, { user, conditions, log }, bucket, pending);
    const memory = deps.bodyMemory.account(userIdOf(user));
    const ctx: RequestContext = {
      deps: scoped, req, res, framing, requestId, method, headers, addressing: routed.addressing, auth, user, conditions, bucket, memory, log,
      ...(pending === undefined ? {} : { pending }),
    };
    await dispatch(ctx, routed.operation);
  } catch (error) {
    if (error instanceof ClientGone) {
      res.destroy();
    } else {
      const s3 = toS3Error(error);
      // NotImplemented refuses what a client asked for; it is no failure of the gateway.
      if (!(error instanceof S3Error) || (s3.status >= 500 && s3.code !== 'NotImplemented')) {
        log.error('request failed', { method, operation: operation ?? null, status: s3.status, code: s3.code, error });
      }
      sendError(req, res, s3, { requestId, hostId: deps.hostId, resource, document: (e, context) => entry.errorDocument(e, context, req.headersDistinct) });
    }
  } finally {
    log.debug('request', { method, operation: operation ?? null, status: res.statusCode, ms: deps.clock.now() - startedMs });
  }
}

/**
 * An object request the bucket alone does not allow, decided by the version's own ACL: the version is
 * read (its record, without its body) before the handler runs.
 */
async function authorizeByVersion(deps: GatewayDeps, op: S3Operation, asker: AccessAsker, bucket: BucketRecord, pending: PendingObjectAccess): Promise<void> {
  const versionId = 'versionId' in op ? op.versionId : undefined;
  authorizeVersion(asker, bucket, pending, await findObjectVersion(deps, bucket.name, pending.key, versionId));
}

async function dispatch(ctx: RequestContext, op: S3Operation): Promise<void> {
  switch (op.type) {
    case 'ListBuckets':
      return listBuckets(ctx, op);
    case 'CreateBucket':
      return createBucket(ctx, op);
    case 'DeleteBucket':
      return deleteBucket(ctx, op);
    case 'HeadBucket':
      return headBucket(ctx);
    case 'GetBucketLocation':
      return getBucketLocation(ctx);
    case 'GetBucketVersioning':
      return getBucketVersioning(ctx);
    case 'PutBucketVersioning':
      return putBucketVersioning(ctx);
    case 'GetBucketLifecycle':
      return getBucketLifecycle(ctx);
    case 'PutBucketLifecycle':
      return putBucketLifecycle(ctx);
    case 'DeleteBucketLifecycle':
      return deleteBucketLifecycle(ctx);
    case 'GetObjectLockConfiguration':
      return getObjectLockConfiguration(ctx);
    case 'PutObjectLockConfiguration':
      return putObjectLockConfiguration(ctx);
    case 'GetObjectRetention':
      return getObjectRetention(ctx, op);
    case 'PutObjectRetention':
      return putObjectRetention(ctx, op);
    case 'GetObjectLegalHold':
      return getObjectLegalHold(ctx, op);
    case 'PutObjectLegalHold':
      return putObjectLegalHold(ctx, op);
    case 'GetBucketTagging':
      return getBucketTagging(ctx);
    case 'PutBucketTagging':
      return putBucketTagging(ctx);
    case 'DeleteBucketTagging':
      return deleteBucketTagging(ctx);
    case 'GetObjectTagging':
      return getObjectTagging(ctx, op);
    case 'PutObjectTagging':
      return putObjectTagging(ctx, op);
    case 'DeleteObjectTagging':
      return deleteObjectTagging(ctx, op);
    case 'GetBucketOwnershipControls':
      return getBucketOwnershipControls(ctx);
    case 'PutBucketOwnershipControls':
      return putBucketOwnershipControls(ctx);
    case 'DeleteBucketOwnershipControls':
      return deleteBucketOwnershipControls(ctx);
    case 'GetBucketEncryption':
      return getBucketEncryption(ctx);
    case 'PutBucketEncryption':
      return putBucketEncryption(ctx);
    case 'DeleteBucketEncryption':
      return deleteBucketEncryption(ctx);
    case 'GetPublicAccessBlock':
      return getPublicAccessBlock(ctx);
    case 'PutPublicAccessBlock':
      return putPublicAccessBlock(ctx);
    case 'DeletePublicAccessBlock':
      return deletePublicAccessBlock(ctx);
    case 'GetBucketCors':
      return getBucketCors(ctx);
    case 'PutBucketCors':
      return putBucketCors(ctx);
    case 'DeleteBucketCors':
      return deleteBucketCors(ctx);
    case 'GetBucketPolicy':
      return getBucketPolicy(ctx);
    case 'PutBucketPolicy':
      return putBucketPolicy(ctx);
    case 'DeleteBucketPolicy':
      return deleteBucketPolicy(ctx);
    case 'GetBucketPolicyStatus':
      return getBucketPolicyStatus(ctx);
    case 'GetBucketAcl':
      return getBucketAcl(ctx);
    case 'PutBucketAcl':
      return putBucketAcl(ctx);
    case 'GetObjectAcl':
      return getObjectAcl(ctx, op);
    case 'PutObjectAcl':
      return putObjectAcl(ctx, op);
    case 'ListObjects':
      return listObjects(ctx, op);
    case 'ListObjectsV2':
      return listObjectsV2(ctx, op);
    case 'ListObjectVersions':
      return listObjectVersions(ctx, op);
    case 'ListMultipartUploads':
      return listMultipartUploads(ctx, op);
    case 'DeleteObjects':
      return deleteObjects(ctx, op);
    case 'PutObject':
      return putObject(ctx, op);
    case 'PostObject':
      return postObject(ctx, op);
    case 'CopyObject':
      return copyObject(ctx, op);
    case 'GetObject':
    case 'HeadObject':
      return getObject(ctx, op);
    case 'GetObjectAttributes':
      return getObjectAttributes(ctx, op);
    case 'DeleteObject':
      return deleteObject(ctx, op);
    case 'CreateMultipartUpload':
      return createMultipartUpload(ctx, op);
    case 'UploadPart':
      return uploadPart(ctx, op);
    case 'UploadPartCopy':
      return uploadPartCopy(ctx, op);
    case 'CompleteMultipartUpload':
      return completeMultipartUpload(ctx, op);
    case 'AbortMultipartUpload':
      return abortMultipartUpload(ctx, op);
    case 'ListParts':
      return listParts(ctx, op);
    case 'PreflightRequest':
      return preflight(ctx, op);
    default:
      return assertNever(op);
  }
}
