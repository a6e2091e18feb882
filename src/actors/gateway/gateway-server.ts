/**
 * The gateway's HTTP server: node:http with bounded header size, header and idle timeouts and
 * keep-alive, limits on open connections in all and per client address, error documents in the
 * listener's own format even for requests node itself refuses, and a graceful close that lets requests in progress finish before
 * connections are cut.
 */
import type { MasterKeys } from '../../core/object-encryption.js';
import { createHash } from 'node:crypto';
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Clock } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/logger.js';
import { S3Error } from '../../protocol/s3/errors.js';
import { SigningKeyCache } from '../../protocol/s3/sigv4.js';
import type { AuthView } from '../common/auth-view.js';
import type { StorageApi } from '../../protocol/cluster/storage-api.js';
import { BackgroundWork } from './background-work.js';
import type { BucketAdmin } from './bucket-admin.js';
import type { GatewayConfig } from './gateway-config.js';
import { BodyFraming } from './body-framing.js';
import { BodyMemory } from './body-memory.js';
import { ChunkBuffers } from './chunk-buffers.js';
import { PieceBuffers } from './piece-buffers.js';
import { DigestPool } from './digest-pool.js';
import { ConnectionLimits } from './connection-limits.js';
import { ObjectCache } from './object-cache.js';
import { DiskCache } from './disk-cache.js';
import { CacheInvalidatingStorage, NO_PEERS, type CachePeers } from './cache-invalidation.js';
import { join } from 'node:path';
import { UNOBSERVED, type RequestObserver } from './gateway-metrics.js';
import type { GatewayDeps } from './request-context.js';
import { S3_ENTRY, createRequestHandler, newRequestId, type RequestEntry } from './request-handler.js';
import { DeadlineStorage } from './storage-errors.js';

export interface GatewayDepsInput {
  readonly config: GatewayConfig;
  readonly storage: StorageApi;
  readonly authView: AuthView;
  readonly bucketAdmin: BucketAdmin;
  readonly clock: Clock;
  readonly log: Logger;
  /** Names this gateway in x-amz-id-2. */
  readonly node: string;
  /** Kept across restarts of the listener when given. */
  readonly cache?: ObjectCache;
  /** Kept across restarts of the listener when given; otherwise made from the config. */
  readonly diskCache?: DiskCache;
  /** The other gateways, told of writes in HTTP-cache mode. */
  readonly cachePeers?: CachePeers;
  /** Told of every answered request (the gateway's metrics). */
  readonly requests?: RequestObserver;
  /** The operator's master keys for SSE-S3; without them SSE-S3 is refused. */
  readonly masterKeys?: MasterKeys;
}

export function createGatewayDeps(input: GatewayDepsInput): GatewayDeps {
  const bodyMemory = new BodyMemory(
    input.config.bodyMemoryBytes,
    Math.floor((input.config.bodyMemoryBytes * input.config.maxBodyMemoryPerUserPercent) / 100),
  );
  const cache = input.cache ?? new ObjectCache(input.config.cacheBytes, input.config.cacheMaxObjectBytes);
  const diskCache = input.diskCache ?? diskCacheOf(input.config, join('.', DISK_CACHE_DIR), input.clock, input.log);
  const peers = input.config.cacheMode === 'http' ? (input.cachePeers ?? NO_PEERS) : NO_PEERS;
  const storage = new CacheInvalidatingStorage(
    new DeadlineStorage(input.storage, input.clock, input.config.storageTimeoutMs),
    (bucket, key) => {
      cache.invalidate(bucket, key);
      diskCache.invalidate(bucket, key);
    },
    (bucket, key) => peers.announce(bucket, key),
  );
  return {
    config: input.config,
    storage,
    authView: input.authView,
    bucketAdmin: input.bucketAdmin,
    cache,
    diskCache,
    clock: input.clock,
    log: input.log,
    requests: input.requests ?? UNOBSERVED,
    hostId: createHash('sha256').update(input.node).digest('base64'),
    keyCache: new SigningKeyCache(),
    background: new BackgroundWork(input.log, input.clock),
    bodyMemory,
    chunkBuffers: new ChunkBuffers(input.config.chunkSizeBytes, bodyMemory, input.clock, IDLE_BUFFER_MS),
    pieceBuffers: new PieceBuffers(input.config.readPieceBytes, PIECE_BUFFERS_KEPT, input.clock, IDLE_BUFFER_MS),
    digests: new DigestPool(input.config.digestThreads, input.log),
    masterKeys: input.masterKeys,
  };
}

/** The disk tier's directory under the gateway's data directory, unless the config names one. */
export const DISK_CACHE_DIR = 'object-cache';

/** The disk tier the config asks for; `defaultDir` unless the config names its directory. */
export function diskCacheOf(config: GatewayConfig, defaultDir: string, clock: Clock, log: Logger): DiskCache {
  return new DiskCache({
    dir: config.cacheDiskDir ?? defaultDir,
    maxBytes: config.cacheDiskBytes,
    maxObjectBytes: config.cacheDiskMaxObjectBytes,
    // Objects the memory tier takes stay there, unless it is off.
    minObjectBytes: config.cacheBytes === 0 ? 0 : config.cacheMaxObjectBytes,
  }, clock, log);
}

export interface GatewayServer {
  readonly host: string;
  readonly port: number;
  /** Requests being answered now. */
  readonly inFlight: number;
  /** Stops accepting, waits up to `timeoutMs` for requests in progress, then cuts what is left. */
  close(timeoutMs: number): Promise<void>;
}

/** A request being answered on a connection. */
interface Busy {
  readonly req: IncomingMessage;
  /** Where a body node stops parsing is reported to the request reading it. */
  readonly framing: BodyFraming;
  /** What to tell the connection once the request is answered. */
  refusal: S3Error | undefined;
}

/** Chunk buffers no upload took for this long are let go, and piece buffers no download took. */
const IDLE_BUFFER_MS = 5_000;
/** Piece buffers kept idle at most: enough for the pieces of a few downloads between reads. */
const PIECE_BUFFERS_KEPT = 16;
/** A connection on which nothing moves either way for this long is closed. */
const IDLE_SOCKET_TIMEOUT_MS = 120_000;
/** A refused connection is given this long to read its answer before it is cut. */
const REFUSED_LINGER_MS = 1_000;

/** Where a listener opens, what it serves, and to whom. */
export interface ListenerOptions {
  /** Names the listener in the log: `S3`, `REST`. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** How its requests are routed and who they act as. */
  readonly entry: RequestEntry;
  /** The clients it serves; any other is answered 403 AccessDenied as it connects, before any request is read. */
  readonly admits?: (remoteAddress: string | undefined) => boolean;
}

export function s3ListenerOptions(config: GatewayConfig): ListenerOptions {
  return { name: 'S3', host: config.httpHost, port: config.httpPort, entry: S3_ENTRY };
}

export async function startGatewayServer(deps: GatewayDeps, listener: ListenerOptions = s3ListenerOptions(deps.config)): Promise<GatewayServer> {
  const { config, log } = deps;
  await deps.diskCache.open();
  const handle = createRequestHandler(deps, listener.entry);
  /** Connections with a request in progress, and what to tell them once it is answered. */
  const busySockets = new Map<Duplex, Busy>();
  let inFlight = 0;
  let idleWaiter: (() => void) | undefined;
  const limits = new ConnectionLimits(config.maxConnections, config.maxConnectionsPerAddress);
  /** Connections answered 503 as they opened: whatever they send is not served. */
  const refusedSockets = new WeakSet<Duplex>();

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (refusedSockets.has(req.socket)) {
      req.resume();
      return;
    }
    inFlight++;
    const busy: Busy = { req, framing: new BodyFraming(), refusal: undefined };
    busySockets.set(req.socket, busy);
    res.on('close', () => {
      inFlight--;
      busySockets.delete(req.socket);
      if (busy.refusal !== undefined) refuse(req.socket, busy.refusal);
      // Nothing after a broken body can be parsed: the connection ends with the answer.
      else if (busy.framing.broken !== undefined) req.socket.end();
      if (inFlight === 0) idleWaiter?.();
    });
    handle(req, res, busy.framing);
  };
  const server: Server = createServer(
    { maxHeaderSize: config.maxHeaderBytes, requestTimeout: 0, headersTimeout: config.headersTimeoutMs },
    onRequest,
  );
  // `Expect: 100-continue` is answered only once the request has been authorized and its handler starts
  // reading the body (request-body.ts), so a refused upload gets its error instead of an invitation to
  // send. Any other expectation is ignored, as S3 does, rather than refused with 417.
  server.on('checkContinue', onRequest);
  server.on('checkExpectation', onRequest);
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  server.timeout = Math.max(IDLE_SOCKET_TIMEOUT_MS, config.bodyIdleTimeoutMs * 2);
  const refuse = (socket: Duplex, s3: S3Error): void => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const requestId = newRequestId();
    const { contentType, body } = listener.entry.errorDocument(s3, { requestId, hostId: deps.hostId }, {});
    const head = [
      `HTTP/1.1 ${s3.status} ${STATUS_CODES[s3.status] ?? 'Error'}`,
      `x-amz-request-id: ${requestId}`,
      `x-amz-id-2: ${deps.hostId}`,
      `Content-Type: ${contentType}`,
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
    ];
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  };
  // Before node's own listener, so a refused connection costs no more than its answer.
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (listener.admits !== undefined && !listener.admits(address)) {
      refusedSockets.add(socket);
      log.info(`a client outside the networks the ${listener.name} API serves was refused`, { address: address ?? null });
      refuse(socket, new S3Error('AccessDenied', `This address may not use the ${listener.name} API.`));
      const linger = deps.clock.setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
      socket.once('close', () => linger.cancel());
      return;
    }
    if (address !== undefined && limits.admit(address)) {
      socket.once('close', () => limits.leave(address));
      return;
    }
    refusedSockets.add(socket);
    log.debug('a connection over the limits was refused', { address: address ?? null, open: limits.open });
    refuse(socket, new S3Error('SlowDown', 'Too many connections; please reduce your request rate.'));
    const linger = deps.clock.setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
    socket.once('close', () => linger.cancel());
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const busy = busySockets.get(socket);
    // A connection that ended mid-request cannot send the rest: cutting it fails that request's body.
    if (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) {
      socket.destroy();
      return;
    }
    // A body node could not parse fails that request, which is answered at once with the error; garbage
    // after a complete request: answer that request first, then refuse the rest.
    if (busy !== undefined && !busy.req.complete) busy.framing.break(clientErrorOf(error));
    else if (busy !== undefined) busy.refusal = clientErrorOf(error);
    else refuse(socket, clientErrorOf(error));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(listener.port, listener.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => log.error(`the ${listener.name} listener failed`, { error }));
  const address = server.address() as AddressInfo;

  return {
    host: address.address,
    port: address.port,
    get inFlight() {
      return inFlight;
    },
    async close(timeoutMs) {
      const startedMs = deps.clock.now();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = deps.clock.setTimeout(resolve, timeoutMs);
          idleWaiter = () => {
            timer.cancel();
            resolve();
          };
        });
      }
      server.closeAllConnections();
      await closed;
      await deps.background.settle(Math.max(0, timeoutMs - (deps.clock.now() - startedMs)));
      await deps.digests.close();
      deps.chunkBuffers.close();
      deps.pieceBuffers.close();
    },
  };
}

/** What node refused before a request reached us, as S3 says it. */
function clientErrorOf(error: NodeJS.ErrnoException): S3Error {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new S3Error('RequestHeaderSectionTooLarge');
    case 'HPE_HEADERS_TIMEOUT':
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new S3Error('RequestTimeout');
    case 'HPE_INVALID_CHUNK_SIZE':
      return new S3Error('InvalidRequest', 'The chunked transfer encoding of the request body is not valid: a chunk size is not hexadecimal.');
    default:
      return new S3Error('InvalidRequest', 'The request is not valid HTTP.');
  }
}

