/**
 * The gateway's settings (`gateway: { ... }` in a gateway's config file), checked once at start-up and
 * frozen. Every limit the request path relies on is here, with its unit in its name.
 */
import { availableParallelism } from 'node:os';
import { DEFAULT_CHUNK_SIZE_BYTES } from '../../core/chunks.js';
import { boundedIntegers } from './config-numbers.js';
import { DEFAULT_NFS_CONFIG, parseNfsConfig, type NfsConfig } from './nfs/nfs-config.js';
import { parseRestConfig, type RestConfig } from './rest/rest-config.js';

export type CacheMode = 'validated' | 'http';
const CACHE_MODES: readonly CacheMode[] = ['validated', 'http'];

export interface GatewayConfig {
  readonly httpHost: string;
  /** 0 picks a free port (logged at start-up). */
  readonly httpPort: number;
  /** Bytes of small objects the memory cache may hold; 0 turns the cache off. */
  readonly cacheBytes: number;
  /** Larger objects are never cached in memory. */
  readonly cacheMaxObjectBytes: number;
  /**
   * Bytes of larger objects (chunked ones too) the disk tier may hold in files under `cacheDiskDir`;
   * 0 turns it off. Off by default: how much of a gateway's disk may go to it is the operator's call.
   */
  readonly cacheDiskBytes: number;
  /** Larger objects are never cached on disk. */
  readonly cacheDiskMaxObjectBytes: number;
  /** Where the disk tier keeps its files; `<data dir>/object-cache` when absent. */
  readonly cacheDiskDir?: string;
  /**
   * `validated`: every hit is checked with the storage node (its current version, without body) before
   * it is served. `http`: a hit younger than `cacheTtlSeconds` is served without asking, with
   * Cache-Control and Expires; writes through a gateway tell the other gateways to drop their copies.
   */
  readonly cacheMode: CacheMode;
  /** In `http` mode: how long a cached object is served without asking the storage node. */
  readonly cacheTtlSeconds: number;
  readonly maxHeaderBytes: number;
  /** Time a client has to send the request line and headers. */
  readonly headersTimeoutMs: number;
  /** A body that stops arriving for this long fails with RequestTimeout. */
  readonly bodyIdleTimeoutMs: number;
  /**
   * The slowest a client may send a request body or take a response body, measured over
   * `bodyRateWindowMs` of time spent waiting on it; slower uploads fail with RequestTimeout and slower
   * downloads are cut, either way closing the connection. 0: no floor.
   */
  readonly minBodyBytesPerSec: number;
  /** The window `minBodyBytesPerSec` is measured over; the first window of a transfer is not judged. */
  readonly bodyRateWindowMs: number;
  /** The longest a request body may take to arrive, however steadily it does; beyond it RequestTimeout. */
  readonly maxBodyReceiveMs: number;
  /** A connection that is idle between requests is closed after this long. */
  readonly keepAliveTimeoutMs: number;
  /** Deadline of every single call to the storage cluster. */
  readonly storageTimeoutMs: number;
  /** Bodies above this are cut into chunks of this size. */
  readonly chunkSizeBytes: number;
  /** Chunk writes of one upload in flight at once; the request stream waits beyond that. */
  readonly maxChunksInFlight: number;
  /** The most a GET fetches from storage at once; a chunk is read in pieces of this size. */
  readonly readPieceBytes: number;
  /** Pieces a GET fetches ahead of the one it is sending, as far as the body memory allows. */
  readonly readAheadPieces: number;
  /**
   * Read bodies that a storage node on this machine keeps in files from those files, rather than have
   * the node send them (store/same-machine.ts). Needs read access to the storage nodes' data directories.
   */
  readonly sameMachineReads: boolean;
  /**
   * Hand large bodies of plain writes to coordinators on this machine through staging files under the
   * gateway's data directory, rather than send them (store/staged-bodies.ts). The storage nodes need read
   * access to those files.
   */
  readonly sameMachineWrites: boolean;
  /**
   * Threads that hash large request bodies beside the request thread (MD5 for the ETag and any declared
   * checksum); 0 hashes everything on the request thread.
   */
  readonly digestThreads: number;
  /** Memory for bodies in flight across all requests (upload buffers, pieces read ahead); beyond it requests wait. */
  readonly bodyMemoryBytes: number;
  /** The part of `bodyMemoryBytes` the requests of one user (or all anonymous ones) may hold together. */
  readonly maxBodyMemoryPerUserPercent: number;
  /** Open connections from one client address; one more is answered 503 SlowDown and closed. */
  readonly maxConnectionsPerAddress: number;
  /** Open connections from all clients; one more is answered 503 SlowDown and closed. */
  readonly maxConnections: number;
  /** Smallest size of a multipart part that is not the last. */
  readonly minPartSizeBytes: number;
  /** Host names under which `<bucket>.<host>` addresses a bucket, besides the cluster's endpoints. */
  readonly virtualHostSuffixes: readonly string[];
  /** What HeadBucket and ListBuckets report for buckets created without a location. */
  readonly region: string;
  /** How long a stopping gateway waits for requests in progress. */
  readonly shutdownTimeoutMs: number;
  /** The file of SSE-S3 master keys (see src/cli/master-keys.ts); read once when the gateway starts. */
  readonly sseKeyFile?: string;
  /** The NFS v3 gateway beside the S3 API (nfs/nfs-config.ts); off unless enabled. */
  readonly nfs: NfsConfig;
  /** The unsigned REST API on its own port (rest/rest-config.ts); absent: off. */
  readonly rest?: RestConfig;
}

const MiB = 1024 * 1024;

export const DEFAULT_GATEWAY_CONFIG: GatewayConfig = Object.freeze({
  httpHost: '127.0.0.1',
  httpPort: 8080,
  cacheBytes: 64 * MiB,
  cacheMaxObjectBytes: 1 * MiB,
  cacheDiskBytes: 0,
  cacheDiskMaxObjectBytes: 1024 * MiB,
  cacheMode: 'validated',
  cacheTtlSeconds: 300,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 60_000,
  bodyIdleTimeoutMs: 60_000,
  minBodyBytesPerSec: 1024,
  bodyRateWindowMs: 60_000,
  maxBodyReceiveMs: 6 * 3_600_000,
  keepAliveTimeoutMs: 5_000,
  storageTimeoutMs: 30_000,
  chunkSizeBytes: DEFAULT_CHUNK_SIZE_BYTES,
  maxChunksInFlight: 2,
  readPieceBytes: 1 * MiB,
  readAheadPieces: 2,
  sameMachineReads: true,
  sameMachineWrites: true,
  digestThreads: Math.min(4, Math.max(1, availableParallelism() - 1)),
  bodyMemoryBytes: 32 * MiB,
  maxBodyMemoryPerUserPercent: 80,
  maxConnectionsPerAddress: 256,
  maxConnections: 4096,
  minPartSizeBytes: 5 * MiB,
  virtualHostSuffixes: Object.freeze([]) as readonly string[],
  region: 'us-east-1',
  shutdownTimeoutMs: 10_000,
  nfs: DEFAULT_NFS_CONFIG,
});

/** The storage transport refuses bodies over 8 MiB, so a chunk (and an inline body) must stay below. */
export const MAX_CHUNK_SIZE_BYTES = 8 * MiB;

export type GatewayConfigResult = { readonly ok: true; readonly config: GatewayConfig } | { readonly ok: false; readonly problem: string };

type NumberKey = {
  [K in keyof GatewayConfig]-?: GatewayConfig[K] extends number ? K : never;
}[keyof GatewayConfig];

/** Inclusive bounds of each numeric setting. */
const BOUNDS: Readonly<Record<NumberKey, readonly [number, number]>> = {
  httpPort: [0, 65535],
  cacheBytes: [0, 64 * 1024 * MiB],
  cacheMaxObjectBytes: [0, MAX_CHUNK_SIZE_BYTES],
  cacheDiskBytes: [0, 64 * 1024 * 1024 * MiB],
  cacheDiskMaxObjectBytes: [0, 5 * 1024 * 1024 * MiB],
  cacheTtlSeconds: [1, 365 * 24 * 3600],
  maxHeaderBytes: [4096, 1024 * 1024],
  headersTimeoutMs: [100, 3_600_000],
  bodyIdleTimeoutMs: [100, 3_600_000],
  minBodyBytesPerSec: [0, 1024 * MiB],
  bodyRateWindowMs: [100, 3_600_000],
  maxBodyReceiveMs: [100, 7 * 24 * 3_600_000],
  keepAliveTimeoutMs: [100, 3_600_000],
  storageTimeoutMs: [10, 3_600_000],
  chunkSizeBytes: [1024, MAX_CHUNK_SIZE_BYTES],
  maxChunksInFlight: [1, 64],
  readPieceBytes: [64 * 1024, MAX_CHUNK_SIZE_BYTES],
  readAheadPieces: [1, 64],
  digestThreads: [0, 64],
  bodyMemoryBytes: [MAX_CHUNK_SIZE_BYTES, 64 * 1024 * MiB],
  maxBodyMemoryPerUserPercent: [1, 100],
  maxConnectionsPerAddress: [1, 1_000_000],
  maxConnections: [1, 1_000_000],
  minPartSizeBytes: [0, 5 * 1024 * MiB],
  shutdownTimeoutMs: [0, 3_600_000],
};

/** Settings without a default, absent unless given. */
const OPTIONAL_KEYS = ['sseKeyFile', 'rest', 'cacheDiskDir'];
const KNOWN_KEYS = [...Object.keys(DEFAULT_GATEWAY_CONFIG), ...OPTIONAL_KEYS];
const HOST_NAME = /^[A-Za-z0-9.-]{1,253}$/;

/** Validates `gateway` settings from a file and flags; absent settings take their defaults. */
export function parseGatewayConfig(raw: unknown): GatewayConfigResult {
  if (raw === undefined) return { ok: true, config: DEFAULT_GATEWAY_CONFIG };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('gateway must be an object of settings');
  const record = raw as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(record)) {
    if (!KNOWN_KEYS.includes(key)) return fail(`gateway.${key} is not a known setting (known: ${KNOWN_KEYS.join(', ')})`);
  }
  const numbers = boundedIntegers(record, BOUNDS, 'gateway');
  if (typeof numbers === 'string') return fail(numbers);
  const httpHost = record.httpHost ?? DEFAULT_GATEWAY_CONFIG.httpHost;
  if (typeof httpHost !== 'string' || !(HOST_NAME.test(httpHost) || /^[0-9a-fA-F:]+$/.test(httpHost))) {
    return fail(`gateway.httpHost must be a host name or IP address (got ${JSON.stringify(httpHost)})`);
  }
  const region = record.region ?? DEFAULT_GATEWAY_CONFIG.region;
  if (typeof region !== 'string' || !/^[a-z0-9-]{1,64}$/.test(region)) {
    return fail(`gateway.region must be a region name such as us-east-1 (got ${JSON.stringify(region)})`);
  }
  const sseKeyFile = record.sseKeyFile;
  if (sseKeyFile !== undefined && (typeof sseKeyFile !== 'string' || sseKeyFile.trim() === '')) {
    return fail(`gateway.sseKeyFile must be the path of a file of master keys (got ${JSON.stringify(sseKeyFile)})`);
  }
  const cacheDiskDir = record.cacheDiskDir;
  if (cacheDiskDir !== undefined && (typeof cacheDiskDir !== 'string' || cacheDiskDir.trim() === '')) {
    return fail(`gateway.cacheDiskDir must be the path of a directory (got ${JSON.stringify(cacheDiskDir)})`);
  }
  const cacheMode = record.cacheMode ?? DEFAULT_GATEWAY_CONFIG.cacheMode;
  if (!CACHE_MODES.includes(cacheMode as CacheMode)) {
    return fail(`gateway.cacheMode must be one of ${CACHE_MODES.join(', ')} (got ${JSON.stringify(cacheMode)})`);
  }
  const sameMachineReads = record.sameMachineReads ?? DEFAULT_GATEWAY_CONFIG.sameMachineReads;
  if (typeof sameMachineReads !== 'boolean') return fail(`gateway.sameMachineReads must be true or false (got ${JSON.stringify(sameMachineReads)})`);
  const sameMachineWrites = record.sameMachineWrites ?? DEFAULT_GATEWAY_CONFIG.sameMachineWrites;
  if (typeof sameMachineWrites !== 'boolean') return fail(`gateway.sameMachineWrites must be true or false (got ${JSON.stringify(sameMachineWrites)})`);
  const nfs = parseNfsConfig(record.nfs);
  if (!nfs.ok) return fail(nfs.problem);
  const rest = parseRestConfig(record.rest);
  if (!rest.ok) return fail(rest.problem);
  const suffixes = record.virtualHostSuffixes ?? [];
  if (!Array.isArray(suffixes) || !suffixes.every((s): s is string => typeof s === 'string' && HOST_NAME.test(s))) {
    return fail('gateway.virtualHostSuffixes must be a list of host names');
  }
  const config: GatewayConfig = Object.freeze({
    ...DEFAULT_GATEWAY_CONFIG,
    ...numbers,
    httpHost,
    region,
    virtualHostSuffixes: Object.freeze(suffixes.map((s) => s.toLowerCase())),
    nfs: nfs.config,
    cacheMode: cacheMode as CacheMode,
    sameMachineReads,
    sameMachineWrites,
    ...(typeof cacheDiskDir === 'string' ? { cacheDiskDir } : {}),
    ...(typeof sseKeyFile === 'string' ? { sseKeyFile } : {}),
    ...(rest.config === undefined ? {} : { rest: rest.config }),
  });
  if (config.cacheMaxObjectBytes > config.chunkSizeBytes) {
    return fail('gateway.cacheMaxObjectBytes cannot exceed gateway.chunkSizeBytes: only bodies stored whole are cached');
  }
  if (config.rest !== undefined && config.rest.port !== 0 && (config.rest.port === config.httpPort || (config.nfs.enabled && config.rest.port === config.nfs.port))) {
    return fail(`gateway.rest.port ${config.rest.port} is already the port of the S3 API or of NFS: the REST API needs a port of its own`);
  }
  if (config.maxConnectionsPerAddress > config.maxConnections) {
    return fail('gateway.maxConnectionsPerAddress cannot exceed gateway.maxConnections');
  }
  return { ok: true, config };
}

function fail(problem: string): GatewayConfigResult {
  return { ok: false, problem };
}
