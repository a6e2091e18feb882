/**
 * What every request handler receives: the gateway's collaborators, and the request as the pipeline
 * has established it (routed, authenticated, authorized).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BucketRecord, UserRecord } from '../../core/auth-snapshot.js';
import type { ConditionContext } from '../../core/policy-conditions.js';
import type { PendingObjectAccess } from './authorization.js';
import type { MasterKeys } from '../../core/object-encryption.js';
import type { Clock } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/logger.js';
import type { Authentication } from '../../protocol/s3/auth.js';
import type { HeaderBag } from '../../protocol/s3/headers.js';
import type { Addressing, S3Operation } from '../../protocol/s3/router.js';
import type { SigningKeyCache } from '../../protocol/s3/sigv4.js';
import type { AuthView } from '../common/auth-view.js';
import type { StorageApi } from '../../protocol/cluster/storage-api.js';
import type { BodyFraming } from './body-framing.js';
import type { BodyMemory, BodyMemoryAccount } from './body-memory.js';
import type { BackgroundWork } from './background-work.js';
import type { BucketAdmin } from './bucket-admin.js';
import type { ChunkBuffers } from './chunk-buffers.js';
import type { PieceBuffers } from './piece-buffers.js';
import type { DigestPool } from './digest-pool.js';
import type { GatewayConfig } from './gateway-config.js';
import type { RequestObserver } from './gateway-metrics.js';
import type { ObjectCache } from './object-cache.js';
import type { DiskCache } from './disk-cache.js';

export interface GatewayDeps {
  readonly config: GatewayConfig;
  /** Every call already carries the configured deadline. */
  readonly storage: StorageApi;
  readonly authView: AuthView;
  readonly bucketAdmin: BucketAdmin;
  /** The memory tier of the object cache: small objects. */
  readonly cache: ObjectCache;
  /** The disk tier: large objects, chunked ones too; off when its size is 0. */
  readonly diskCache: DiskCache;
  readonly clock: Clock;
  readonly log: Logger;
  readonly requests: RequestObserver;
  /** Sent as x-amz-id-2 and HostId: names this gateway in error reports. */
  readonly hostId: string;
  readonly keyCache: SigningKeyCache;
  readonly background: BackgroundWork;
  /** The budget for bodies in flight, shared by all requests. */
  readonly bodyMemory: BodyMemory;
  /** Chunk buffers kept for reuse by uploads. */
  readonly chunkBuffers: ChunkBuffers;
  /** Buffers lent to downloads for their pieces. */
  readonly pieceBuffers: PieceBuffers;
  /** Where request bodies are hashed. */
  readonly digests: DigestPool;
  /** The operator's master keys for SSE-S3 (core/object-encryption.ts); undefined: SSE-S3 is refused. */
  readonly masterKeys: MasterKeys | undefined;
}

export interface RequestContext {
  readonly deps: GatewayDeps;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Tells the body's reader when node could not parse the rest of the body. */
  readonly framing: BodyFraming;
  readonly requestId: string;
  readonly method: string;
  readonly headers: HeaderBag;
  readonly addressing: Addressing;
  readonly auth: Authentication;
  /** Undefined for an anonymous request. */
  readonly user: UserRecord | undefined;
  /** The request as bucket policies see it (access-context.ts). */
  readonly conditions: ConditionContext;
  /**
   * An object action the bucket alone did not allow, allowed by the version read before the handler:
   * a handler that reads the version again decides again on what it read (authorization.ts).
   */
  readonly pending?: PendingObjectAccess;
  /** The bucket the operation addresses, when it exists (every operation but ListBuckets and CreateBucket). */
  readonly bucket: BucketRecord | undefined;
  /** This request's account at the body memory: what its upload or download holds counts against it. */
  readonly memory: BodyMemoryAccount;
  readonly log: Logger;
}

export type OperationOf<T extends S3Operation['type']> = Extract<S3Operation, { readonly type: T }>;

/** The bucket of a bucket-level request; the pipeline has already answered NoSuchBucket otherwise. */
export function bucketOf(ctx: RequestContext): BucketRecord {
  if (ctx.bucket === undefined) throw new Error('the pipeline passed a bucket request without its bucket');
  return ctx.bucket;
}

/** The id objects and uploads record as their writer: the user, or `anonymous`. */
export function requesterId(ctx: RequestContext): string {
  return userIdOf(ctx.user);
}

/** A user's id, or `anonymous` for a request without one. */
export function userIdOf(user: UserRecord | undefined): string {
  return user?.userId ?? 'anonymous';
}
