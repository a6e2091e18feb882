/**
 * A gateway in this process for tests: the real HTTP server and request pipeline on a loopback port
 * chosen at run time, over the in-memory storage, a hand-made AuthView and a bucket admin that acts
 * like the manager (it changes the snapshot and pushes it on a later turn). Clients: the AWS SDK with
 * its defaults, and raw HTTP, signed with @smithy/signature-v4 or not at all.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { AuthView } from '../../src/actors/common/auth-view.js';
import type { StorageApi } from '../../src/protocol/cluster/storage-api.js';
import { namespaceOf } from '../../src/core/bucket-namespace.js';
import type { BucketAdmin } from '../../src/actors/gateway/bucket-admin.js';
import { DEFAULT_GATEWAY_CONFIG, type GatewayConfig } from '../../src/actors/gateway/gateway-config.js';
import { createGatewayDeps, DISK_CACHE_DIR, diskCacheOf, startGatewayServer, type GatewayServer } from '../../src/actors/gateway/gateway-server.js';
import { gatewayMetrics } from '../../src/actors/gateway/gateway-metrics.js';
import { ObjectCache } from '../../src/actors/gateway/object-cache.js';
import type { Registry } from 'prom-client';
import type { GatewayDeps } from '../../src/actors/gateway/request-context.js';
import { AUTH_SNAPSHOT_VERSION, type AuthSnapshot, type BucketAcl, type BucketRecord, type UserRecord } from '../../src/core/auth-snapshot.js';
import type { BucketVersioning } from '../../src/core/object-versioning.js';
import type { ObjectLockConfig } from '../../src/core/object-lock.js';
import type { LifecycleConfig } from '../../src/core/lifecycle.js';
import type { BucketDocument } from '../../src/protocol/cluster/auth.js';
import type { MasterKeys } from '../../src/core/object-encryption.js';
import { systemClock, type Clock } from '../../src/runtime/clock.js';
import type { CachePeers } from '../../src/actors/gateway/cache-invalidation.js';
import { memoryLogger } from '../../src/runtime/logger.js';
import { MemoryStorage } from './memory-storage.js';
import { NodeSha256 } from './node-sha256.js';
import { DROP_IDLE_CONNECTIONS_EARLY } from './sdk-connections.js';
export { NodeSha256 };

export const USERS: Readonly<Record<'admin' | 'alice' | 'bob', UserRecord>> = {
  admin: { userId: 'admin', accessKeyId: 'ADMINACCESSKEY000001', secretAccessKey: 'admin/secret+key0000000000', role: 'admin', createdAtMs: 1 },
  alice: { userId: 'alice', accessKeyId: 'ALICEACCESSKEY000001', secretAccessKey: 'alice/secret+key0000000000', role: 'normal', createdAtMs: 1 },
  bob: { userId: 'bob', accessKeyId: 'BOBACCESSKEY00000001', secretAccessKey: 'bob/secret+key00000000000', role: 'normal', createdAtMs: 1 },
};
export type UserName = keyof typeof USERS;

export const MiB = 1024 * 1024;

/**
 * Acts like the manager: checks, changes the snapshot, and pushes it to the view on a later turn. A
 * deletion finds the bucket empty by listing `storage` (when given) as the manager lists storage nodes.
 */
export class FakeBucketAdmin implements BucketAdmin {
  private revision = 1;
  unavailable = false;

  constructor(
    private readonly view: AuthView,
    private readonly storage?: StorageApi,
  ) {}

  async create(request: { name: string; owner: string; acl: BucketAcl; location: string | undefined; objectLock?: boolean }) {
    if (this.unavailable) return { ok: false as const, code: 'Timeout' as const, message: 'no manager' };
    const existing = this.view.bucket(request.name);
    if (existing !== undefined) {
      return existing.owner === request.owner
        ? { ok: false as const, code: 'BucketAlreadyOwnedByYou' as const, message: 'yours' }
        : { ok: false as const, code: 'BucketAlreadyExists' as const, message: 'taken' };
    }
    const bucket: BucketRecord = {
      name: request.name,
      incarnation: randomBytes(8).toString('hex'),
      owner: request.owner,
      acl: request.acl,
      createdAtMs: Date.now(),
      ...(request.location ? { location: request.location } : {}),
      ...(request.objectLock ? { objectLock: {}, versioning: 'Enabled' as const } : {}),
    };
    this.push((snapshot) => ({ ...snapshot, buckets: [...snapshot.buckets, bucket] }));
    return { ok: true as const, bucket };
  }

  async delete(name: string, requester: string) {
    if (this.unavailable) return { ok: false as const, code: 'Timeout' as const, message: 'no manager' };
    const bucket = this.view.bucket(name);
    if (bucket === undefined) return { ok: false as const, code: 'NoSuchBucket' as const, message: 'none' };
    if (bucket.owner !== requester) return { ok: false as const, code: 'AccessDenied' as const, message: 'not yours' };
    if (this.storage !== undefined) {
      const namespace = namespaceOf(bucket);
      const objects = await this.storage.list('object', namespace, { maxKeys: 1, includeDeleteMarkers: true });
      if (!objects.ok) return { ok: false as const, code: 'Unavailable' as const, message: 'storage did not answer' };
      if (objects.result.contents.length > 0) return { ok: false as const, code: 'BucketNotEmpty' as const, message: 'not empty' };
    }
    this.push((snapshot) => ({ ...snapshot, buckets: snapshot.buckets.filter((b) => b.name !== name) }));
    return { ok: true as const, notified: 0, storageNodes: 0 };
  }

  updateAcl(name: string, requester: string, acl: BucketAcl) {
    return this.change(name, requester, ({ grants: _explicit, ...bucket }) => ({ ...bucket, acl }));
  }

  updateVersioning(name: string, requester: string, versioning: BucketVersioning) {
    if (versioning !== 'Enabled' && this.view.bucket(name)?.objectLock !== undefined) return Promise.resolve(invalidState('object lock needs versioning'));
    return this.change(name, requester, (bucket) => ({ ...bucket, versioning }));
  }

  updateObjectLock(name: string, requester: string, objectLock: ObjectLockConfig) {
    if (this.view.bucket(name)?.versioning !== 'Enabled') return Promise.resolve(invalidState('versioning is not enabled'));
    return this.change(name, requester, (bucket) => ({ ...bucket, objectLock }));
  }

  updateTags(name: string, requester: string, tags: Readonly<Record<string, string>>) {
    return this.change(name, requester, ({ tags: _old, ...bucket }) => (Object.keys(tags).length === 0 ? bucket : { ...bucket, tags }));
  }

  updateLifecycle(name: string, requester: string, config: LifecycleConfig | null) {
    return this.change(name, requester, ({ lifecycle: _old, ...bucket }) => (config === null ? bucket : { ...bucket, lifecycle: config }));
  }

  updateDocument(name: string, requester: string, document: BucketDocument) {
    switch (document.kind) {
      case 'policy':
        return this.change(name, requester, ({ policy: _old, ...bucket }) => (document.value === null ? bucket : { ...bucket, policy: document.value }));
      case 'cors':
        return this.change(name, requester, ({ cors: _old, ...bucket }) => (document.value === null ? bucket : { ...bucket, cors: document.value }));
      case 'objectOwnership':
        return this.change(name, requester, ({ objectOwnership: _old, ...bucket }) => (document.value === null ? bucket : { ...bucket, objectOwnership: document.value }));
      case 'grants':
        return this.change(name, requester, (bucket) => ({ ...bucket, grants: document.value }));
      case 'defaultEncryption':
        return this.change(name, requester, ({ defaultEncryption: _old, defaultKmsKeyId: _key, ...bucket }) => (document.value === null ? bucket : {
          ...bucket, defaultEncryption: document.value.algorithm, ...(document.value.kmsKeyId === undefined ? {} : { defaultKmsKeyId: document.value.kmsKeyId }),
        }));
      case 'publicAccessBlock':
        return this.change(name, requester, ({ publicAccessBlock: _old, ...bucket }) => (document.value === null ? bucket : { ...bucket, publicAccessBlock: document.value }));
    }
  }

  private async change(name: string, requester: string, change: (bucket: BucketRecord) => BucketRecord) {
    if (this.unavailable) return { ok: false as const, code: 'Timeout' as const, message: 'no manager' };
    const bucket = this.view.bucket(name);
    if (bucket === undefined) return { ok: false as const, code: 'NoSuchBucket' as const, message: 'none' };
    if (bucket.owner !== requester) return { ok: false as const, code: 'AccessDenied' as const, message: 'not yours' };
    const changed = change(bucket);
    this.push((snapshot) => ({ ...snapshot, buckets: snapshot.buckets.map((b) => (b.name === name ? changed : b)) }));
    return { ok: true as const, bucket: changed };
  }

  /** Ends a bucket's incarnation whatever it holds, as `leofs-adm delete-bucket` has the manager do. */
  forget(name: string): void {
    this.push((snapshot) => ({ ...snapshot, buckets: snapshot.buckets.filter((b) => b.name !== name) }));
  }

  /** Installs a bucket directly, as if created long ago. */
  addBucket(name: string, owner: UserName, acl: BucketAcl = 'private', options: { readonly legacy?: boolean } = {}): void {
    // A legacy bucket was created before incarnations existed: its keys are stored under its bare name.
    const bucket: BucketRecord = { name, ...(options.legacy ? {} : { incarnation: randomBytes(8).toString('hex') }), owner, acl, createdAtMs: Date.now() };
    this.install({ ...this.view.current!, buckets: [...this.view.current!.buckets, bucket] });
  }

  private push(change: (snapshot: AuthSnapshot) => AuthSnapshot): void {
    setImmediate(() => this.install(change(this.view.current!)));
  }

  private install(snapshot: AuthSnapshot): void {
    this.view.install({ ...snapshot, revision: ++this.revision });
  }
}

function invalidState(message: string) {
  return { ok: false as const, code: 'InvalidBucketState' as const, message };
}

export interface Harness {
  readonly storage: MemoryStorage;
  readonly view: AuthView;
  readonly admin: FakeBucketAdmin;
  readonly deps: GatewayDeps;
  readonly server: GatewayServer;
  readonly endpoint: string;
  readonly logs: Array<Record<string, unknown>>;
  client(user?: UserName, config?: Partial<S3ClientConfig>): S3Client;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly config?: Partial<GatewayConfig>;
  readonly storage?: MemoryStorage;
  readonly endpoints?: readonly string[];
  /** Master keys for SSE-S3; none by default. */
  readonly masterKeys?: MasterKeys;
  /** The system clock by default. */
  readonly clock?: Clock;
  /** The other gateways, told of writes in HTTP-cache mode; nobody by default. */
  readonly cachePeers?: CachePeers;
  /** Where the gateway's instruments go; none by default. */
  readonly metrics?: Registry;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const storage = options.storage ?? new MemoryStorage();
  const view = new AuthView();
  view.install({
    version: AUTH_SNAPSHOT_VERSION,
    origin: 'test',
    revision: 1,
    users: Object.values(USERS),
    buckets: [],
    endpoints: [...(options.endpoints ?? [])],
  });
  const admin = new FakeBucketAdmin(view, storage);
  const { logger, lines } = memoryLogger('debug');
  const config: GatewayConfig = { ...DEFAULT_GATEWAY_CONFIG, httpPort: 0, ...options.config };
  const clock = options.clock ?? systemClock;
  // The instruments read the caches, so with metrics the caches are made first, as the gateway's tree does.
  const caches = options.metrics === undefined ? undefined : {
    cache: new ObjectCache(config.cacheBytes, config.cacheMaxObjectBytes),
    diskCache: diskCacheOf(config, DISK_CACHE_DIR, clock, logger),
  };
  const deps = createGatewayDeps({
    config, storage, authView: view, bucketAdmin: admin, clock, log: logger, node: 'gateway_test@127.0.0.1',
    ...(caches === undefined || options.metrics === undefined ? {} : { ...caches, requests: gatewayMetrics(options.metrics, caches.cache, caches.diskCache) }),
    ...(options.masterKeys === undefined ? {} : { masterKeys: options.masterKeys }),
    ...(options.cachePeers === undefined ? {} : { cachePeers: options.cachePeers }),
  });
  const server = await startGatewayServer(deps);
  const endpoint = `http://127.0.0.1:${server.port}`;
  const clients: S3Client[] = [];
  return {
    storage,
    view,
    admin,
    deps,
    server,
    endpoint,
    logs: lines,
    client(user: UserName = 'alice', extra: Partial<S3ClientConfig> = {}) {
      const client = new S3Client({
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        maxAttempts: 1,
        requestHandler: DROP_IDLE_CONNECTIONS_EARLY,
        credentials: { accessKeyId: USERS[user].accessKeyId, secretAccessKey: USERS[user].secretAccessKey },
        ...extra,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.destroy();
      await server.close(2_000);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
}

export interface RawRequest {
  readonly method: string;
  /** Path and query, already encoded. */
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
}

export function rawRequest(endpoint: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: request.method, path: request.path, headers: request.headers ?? {}, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const body = Buffer.concat(parts);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}



export interface SignOptions {
  /** x-amz-content-sha256; the SHA-256 of the body by default. */
  readonly payloadHash?: string;
  readonly signingDate?: Date;
  /** The region of the credential scope; us-east-1 by default. */
  readonly region?: string;
}

/** Headers signed with SigV4 as `user`, for a raw request to the harness. */
export async function signedHeaders(endpoint: string, user: UserName, request: RawRequest, options: SignOptions = {}): Promise<Record<string, string>> {
  const url = new URL(endpoint);
  const { path, query } = splitPath(request.path);
  const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body);
  const payloadHash = options.payloadHash ?? createHash('sha256').update(body).digest('hex');
  const signed = await signerFor(user, options.region).sign(
    {
      method: request.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query,
      headers: { host: url.host, 'x-amz-content-sha256': payloadHash, ...(request.headers ?? {}) },
    },
    { signingDate: options.signingDate ?? new Date() },
  );
  return signed.headers as Record<string, string>;
}

function splitPath(pathAndQuery: string): { path: string; query: Record<string, string> } {
  const q = pathAndQuery.indexOf('?');
  const query: Record<string, string> = {};
  if (q !== -1) {
    for (const part of pathAndQuery.slice(q + 1).split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      query[decodeURIComponent(eq === -1 ? part : part.slice(0, eq))] = eq === -1 ? '' : decodeURIComponent(part.slice(eq + 1));
    }
  }
  return { path: q === -1 ? pathAndQuery : pathAndQuery.slice(0, q), query };
}

function signerFor(user: UserName, region = 'us-east-1'): SignatureV4 {
  return new SignatureV4({
    service: 's3', region, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false,
    credentials: { accessKeyId: USERS[user].accessKeyId, secretAccessKey: USERS[user].secretAccessKey },
  });
}

/** A presigned URL's path and query for `user`, signing only the host, valid for a minute. */
export async function presignedPath(endpoint: string, user: UserName, request: { readonly method: string; readonly path: string }, options: Omit<SignOptions, 'payloadHash'> = {}): Promise<string> {
  const url = new URL(endpoint);
  const { path, query } = splitPath(request.path);
  const signed = await signerFor(user, options.region).presign(
    // The payload hash header only tells the signer what to sign (a URL is signed as UNSIGNED-PAYLOAD); it is not sent.
    { method: request.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query, headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
    { signingDate: options.signingDate ?? new Date(), expiresIn: 60 },
  );
  const signedQuery = Object.entries(signed.query as Record<string, string>).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return `${path}?${signedQuery}`;
}

export async function signedRequest(endpoint: string, user: UserName, request: RawRequest, options: SignOptions = {}): Promise<RawResponse> {
  return rawRequest(endpoint, { ...request, headers: await signedHeaders(endpoint, user, request, options) });
}

/** The text of one element of an XML document, for quick assertions. */
export function xmlValue(text: string, element: string): string | undefined {
  const m = new RegExp(`<${element}>([\\s\\S]*?)</${element}>`).exec(text);
  return m?.[1];
}

/** Polls until `check` holds. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Deterministic bytes, different for every offset and seed. */
export function pattern(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The body of an SDK GetObject answer, whole. */
export async function bodyOf(output: { Body?: unknown }): Promise<Buffer> {
  const body = output.Body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await body.transformToByteArray());
}

/** The S3 error an SDK call failed with, by name and status; throws if it succeeded. */
export async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('the request succeeded');
}
