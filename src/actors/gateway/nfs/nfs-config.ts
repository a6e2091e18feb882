/**
 * The NFS v3 gateway's settings (`gateway.nfs` in a gateway's config file, `--protocol nfs` and the
 * `--nfs-*` flags), checked once at start-up and frozen. An export names a bucket (or `*`, every
 * bucket), the client addresses allowed to mount it, and the cluster user those clients act as: that
 * user's rights on the bucket are checked as for S3.
 */
import { isIP } from 'node:net';
import { boundedIntegers } from '../config-numbers.js';
import { isCidr } from '../client-networks.js';

export interface NfsExport {
  /** A bucket name, or `*` for every bucket. */
  readonly bucket: string;
  /** CIDR blocks of the clients allowed (an address alone is one host). */
  readonly clients: readonly string[];
  /** The cluster user whose access to the bucket the clients have. */
  readonly user: string;
  /** Writes answer NFS3ERR_ROFS. */
  readonly readOnly: boolean;
  /** Owner and group shown for files and directories that never had them set over NFS. */
  readonly uid: number;
  readonly gid: number;
}

export interface NfsConfig {
  readonly enabled: boolean;
  readonly host: string;
  /** MOUNT and NFS share this TCP port; 0 picks a free one (logged at start-up). */
  readonly port: number;
  readonly exports: readonly NfsExport[];
  /** An open file that no WRITE touched for this long is stored (and its buffer let go). */
  readonly writeIdleFlushMs: number;
  /** Memory for the buffered writes of all open files; beyond it files spill to the gateway's disk. */
  readonly writeMemoryBytes: number;
  /** A file whose buffered bytes grow past this spills to the gateway's disk. */
  readonly fileMemoryBytes: number;
  /** The gateway's disk taken by spilled files, holes of sparse files counted: beyond it writes answer NFS3ERR_NOSPC. */
  readonly maxSpillBytes: number;
  /** The largest file taken (a WRITE or SETATTR beyond it answers NFS3ERR_FBIG); S3's PutObject limit by default. */
  readonly maxFileBytes: number;
  /** Files with buffered writes at once; the oldest idle one is stored to make room. */
  readonly maxOpenFiles: number;
  /** Calls of one connection being answered at once; the connection is not read beyond that. */
  readonly maxCallsPerConnection: number;
  readonly maxConnections: number;
  /** Connections from one client address at once. */
  readonly maxConnectionsPerAddress: number;
  /** A connection with no call arriving or being answered for this long is closed (clients reconnect). */
  readonly idleConnectionMs: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_NFS_CONFIG: NfsConfig = Object.freeze({
  enabled: false,
  host: '127.0.0.1',
  port: 2049,
  exports: Object.freeze([]) as readonly NfsExport[],
  writeIdleFlushMs: 5_000,
  writeMemoryBytes: 64 * MiB,
  fileMemoryBytes: 1 * MiB,
  maxSpillBytes: 16 * 1024 * MiB,
  maxFileBytes: 5 * 1024 * MiB,
  maxOpenFiles: 1024,
  maxCallsPerConnection: 32,
  maxConnections: 256,
  maxConnectionsPerAddress: 32,
  idleConnectionMs: 300_000,
});

type NumberKey = 'port' | 'writeIdleFlushMs' | 'writeMemoryBytes' | 'fileMemoryBytes' | 'maxSpillBytes' | 'maxFileBytes' | 'maxOpenFiles' | 'maxCallsPerConnection' | 'maxConnections' | 'maxConnectionsPerAddress' | 'idleConnectionMs';

const BOUNDS: Readonly<Record<NumberKey, readonly [number, number]>> = {
  port: [0, 65535],
  writeIdleFlushMs: [10, 3_600_000],
  writeMemoryBytes: [0, 64 * 1024 * MiB],
  fileMemoryBytes: [0, 1024 * MiB],
  maxSpillBytes: [0, 1024 * 1024 * 1024 * MiB],
  // S3's largest object.
  maxFileBytes: [1, 5 * 1024 * 1024 * MiB],
  maxOpenFiles: [1, 1_000_000],
  maxCallsPerConnection: [1, 1024],
  maxConnections: [1, 1_000_000],
  maxConnectionsPerAddress: [1, 1_000_000],
  idleConnectionMs: [100, 86_400_000],
};

const KNOWN_KEYS = ['enabled', 'host', 'exports', ...Object.keys(BOUNDS)];
const EXPORT_KEYS = ['bucket', 'clients', 'user', 'readOnly', 'uid', 'gid'];
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export type NfsConfigResult = { readonly ok: true; readonly config: NfsConfig } | { readonly ok: false; readonly problem: string };

export function parseNfsConfig(raw: unknown): NfsConfigResult {
  if (raw === undefined) return { ok: true, config: DEFAULT_NFS_CONFIG };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('gateway.nfs must be an object of settings');
  const record = raw as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(record)) {
    if (!KNOWN_KEYS.includes(key)) return fail(`gateway.nfs.${key} is not a known setting (known: ${KNOWN_KEYS.join(', ')})`);
  }
  const numbers = boundedIntegers(record, BOUNDS, 'gateway.nfs');
  if (typeof numbers === 'string') return fail(numbers);
  const enabled = record.enabled ?? DEFAULT_NFS_CONFIG.enabled;
  if (typeof enabled !== 'boolean') return fail('gateway.nfs.enabled must be true or false');
  const host = record.host ?? DEFAULT_NFS_CONFIG.host;
  if (typeof host !== 'string' || !(/^[A-Za-z0-9.-]{1,253}$/.test(host) || isIP(host) !== 0)) {
    return fail(`gateway.nfs.host must be a host name or IP address (got ${JSON.stringify(host)})`);
  }
  const rawExports = record.exports ?? [];
  if (!Array.isArray(rawExports)) return fail('gateway.nfs.exports must be a list of exports');
  const exports: NfsExport[] = [];
  for (const [index, entry] of rawExports.entries()) {
    const parsed = parseExport(entry, `gateway.nfs.exports[${index}]`);
    if (typeof parsed === 'string') return fail(parsed);
    exports.push(parsed);
  }
  return { ok: true, config: Object.freeze({ ...DEFAULT_NFS_CONFIG, ...numbers, enabled, host, exports: Object.freeze(exports) }) };
}

/** `bucket=cidr[,cidr...]=user`, as the --nfs-export flag takes an export. */
export function parseExportFlag(text: string): NfsExport | string {
  const parts = text.split('=');
  if (parts.length !== 3) return `--nfs-export takes BUCKET=CIDR[,CIDR...]=USER (got ${JSON.stringify(text)})`;
  return parseExport({ bucket: parts[0], clients: parts[1]!.split(',').filter((c) => c !== ''), user: parts[2] }, '--nfs-export');
}

function parseExport(entry: unknown, where: string): NfsExport | string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `${where} must be an object with bucket, clients and user`;
  const record = entry as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(record)) if (!EXPORT_KEYS.includes(key)) return `${where}.${key} is not a known setting (known: ${EXPORT_KEYS.join(', ')})`;
  const { bucket, clients, user } = record;
  if (typeof bucket !== 'string' || !(bucket === '*' || BUCKET_NAME.test(bucket))) return `${where}.bucket must be a bucket name or * (got ${JSON.stringify(bucket)})`;
  if (!Array.isArray(clients) || clients.length === 0 || !clients.every((c): c is string => typeof c === 'string' && isCidr(c))) {
    return `${where}.clients must be a non-empty list of CIDR blocks such as 10.0.0.0/8 or ::1/128 (got ${JSON.stringify(clients)})`;
  }
  if (typeof user !== 'string' || user === '') return `${where}.user must name a cluster user`;
  const readOnly = record.readOnly ?? false;
  if (typeof readOnly !== 'boolean') return `${where}.readOnly must be true or false`;
  const ids: Record<'uid' | 'gid', number> = { uid: 0, gid: 0 };
  for (const key of ['uid', 'gid'] as const) {
    const value = record[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) return `${where}.${key} must be an unsigned 32-bit integer`;
    ids[key] = value;
  }
  return Object.freeze({ bucket, clients: Object.freeze([...clients]), user, readOnly, ...ids });
}

function fail(problem: string): NfsConfigResult {
  return { ok: false, problem };
}
