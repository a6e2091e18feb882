/**
 * Node configuration: a JSON file (optional) overlaid by command-line flags, validated once at start-up
 * with messages that say which setting is wrong and why, then frozen and passed down.
 */
import { readFileSync } from 'node:fs';
import { isLogLevel, type LogLevel } from '../runtime/logger.js';
import type { TransportLimits } from '../runtime/remote/transport.js';
import { ROLES, type Role } from '../protocol/cluster/roles.js';
import { storageJoinProblem } from '../actors/manager/ring-keeper.js';
import { DEFAULT_NUM_OF_VNODES } from '../core/ring/ring.js';
import { parseGatewayConfig, type GatewayConfig } from '../actors/gateway/gateway-config.js';
import { readCookieFile } from './cookie.js';
import { DEFAULT_WATCHDOG_THRESHOLDS, type WatchdogThresholds } from '../core/watchdog-rules.js';
import { thresholdProblem } from '../protocol/cluster/watchdog.js';
import type { MetaFormat } from '../store/meta-encoding.js';
import { parseManagerAddresses } from './manager-addresses.js';
import { isLoopbackHost } from '../protocol/console/web.js';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile?: string;
}

export interface NodeConfig {
  readonly role: Role;
  /** name@host; the host part is also where the cluster port listens unless clusterHost says otherwise. */
  readonly name: string;
  readonly clusterHost: string;
  /** 0 picks a free port (logged at start-up). */
  readonly clusterPort: number;
  /**
   * host:port of every manager's cluster port (the control plane). Storage and gateway nodes need at
   * least one and follow whichever leads; on a manager, the whole control plane including itself.
   */
  readonly managers: readonly string[];
  readonly dataDir: string;
  readonly cookie: string;
  readonly logLevel: LogLevel;
  readonly tls: TlsFiles | undefined;
  readonly transport: Partial<TransportLimits>;
  /** A storage node's place in the ring; told to the manager when the node joins. */
  readonly storage: StorageSettings;
  /** A gateway's S3 listener, cache and limits (defaults on other roles). */
  readonly gateway: GatewayConfig;
  /** Where /metrics and /health/* are served; absent: not served. */
  readonly metrics: { readonly host: string; readonly port: number } | undefined;
  readonly watchdog: WatchdogSettings;
  /** The manager's web console (`console`); absent: not served. */
  readonly console: ConsoleSettings | undefined;
  /** Managers: how often each member's request counters are sampled for the last hour's charts (`trafficSampleIntervalMs`). */
  readonly trafficSampleIntervalMs: number;
}

export interface ConsoleSettings {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** Required to listen anywhere but loopback, together with `tls`. */
  readonly allowRemote: boolean;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** A session unused this long ends (default 30 minutes). */
  readonly sessionIdleMinutes: number;
}

export interface WatchdogSettings {
  /** How often the watchdog samples. */
  readonly intervalMs: number;
  readonly thresholds: WatchdogThresholds;
}

const DEFAULT_WATCHDOG_INTERVAL_MS = 5_000;

export interface StorageSettings {
  /** The node's weight: how many points it has on the ring. */
  readonly numOfVnodes: number;
  /** Replicas are spread over racks first when the cluster is rack-aware. */
  readonly rack?: string;
  /**
   * Names the node's vnode points (default: the part of its name before @). A node joining with the
   * alias of a detached node takes over its place on the ring, so a rebalance moves only its ranges.
   */
  readonly alias?: string;
  /** The manager's default for how fast each receiving node pulls data in a rebalance, MB/s (0: no limit). */
  readonly rebalanceRateMBps?: number;
  /** How long after a rebalance the data of ranges a node no longer holds is kept (default 1 hour; at most half of tombstoneGraceMs). */
  readonly releaseGraceMs?: number;
  /** How fast a storage node ships its writes to each linked cluster, MB/s (default 20; 0: no limit). */
  readonly linkRateMBps?: number;
  /** Keys a storage node compares with each linked cluster per second (default 1000). */
  readonly linkSyncKeysPerSecond?: number;
  /** Rest between two whole comparisons with a linked cluster (default 10 minutes). */
  readonly linkSyncPauseMs?: number;
  /** Refuse writes (InsufficientStorage) once the object store would grow past this many bytes. */
  readonly capacityBytes?: number;
  /** Turn read-only while the file system has less free space than this (default 256 MiB). */
  readonly minFreeDiskBytes: number;
  /** Write object bodies past the page cache (O_DIRECT) where the file system allows it (default true). */
  readonly directBodyWrites?: boolean;
  /** The format object metadata is written in (1 or 2; default 1); both are read. */
  readonly metaFormat?: MetaFormat;
  /** How fast the data of deleted buckets is removed, in records (objects, chunks, parts) per second. */
  readonly purgeKeysPerSecond: number;
  /** Chunks and part records nothing names are removed once older than this (default 1 day). */
  readonly orphanAgeMs?: number;
  /** Multipart uploads started longer ago than this are aborted (default 7 days). */
  readonly uploadMaxAgeMs?: number;
  /** Records the orphan sweep looks at per second at most (default 2000). */
  readonly sweepKeysPerSecond?: number;
  /** Rest between two passes of the orphan sweep (default 10 minutes). */
  readonly sweepPauseMs?: number;
  /** How often a node looks whether a compaction would pay; 0 turns automatic compaction off (default 10 minutes). */
  readonly autoCompactionIntervalMs?: number;
  /** A compaction starts by itself when it would give back at least this share of the LMDB file, in percent (default 25). */
  readonly autoCompactionMinReclaimPercent?: number;
  /** ... of an LMDB file at least this large (default 64 MiB). */
  readonly autoCompactionMinFileBytes?: number;
  /** Anti-entropy's pause between ranges once a whole walk found every range in step (default 1 s). */
  readonly antiEntropyQuietIntervalMs?: number;
  /** Keys the lifecycle worker looks at per second at most (default 1000). */
  readonly lifecycleKeysPerSecond?: number;
  /** Rest between two lifecycle passes (default 1 hour). */
  readonly lifecyclePauseMs?: number;
  /** How long a conditional write keeps retrying while concurrent ones preempt it (default 10 s). */
  readonly conditionalWriteDeadlineMs?: number;
  /** A tombstone is purged once older than this and held (or outdone) by every replica of its key. */
  readonly tombstoneGraceMs: number;
  /** How many tombstones per second the reaper looks at, at most. */
  readonly tombstonePurgeKeysPerSecond: number;
  /** Replicas unreachable longer than this stop blocking purges; a node away that long drops its live data on return. */
  readonly purgeHorizonMs: number;
}

export const DEFAULT_MIN_FREE_DISK_BYTES = 256 * 1024 * 1024;
/** Per receiving node: leaves most of a small machine's disk and network to clients. */
export const DEFAULT_REBALANCE_RATE_MBPS = 20;
export const DEFAULT_PURGE_KEYS_PER_SECOND = 5_000;
const MAX_PURGE_KEYS_PER_SECOND = 1_000_000;
export const DEFAULT_TOMBSTONE_GRACE_MS = 24 * 60 * 60_000;
export const DEFAULT_TOMBSTONE_PURGE_KEYS_PER_SECOND = 1_000;
export const DEFAULT_PURGE_HORIZON_MS = 7 * 24 * 60 * 60_000;
/** Below a second, a delete could still be on its way to a replica when its tombstone is judged. */
const MIN_TOMBSTONE_GRACE_MS = 1_000;
/** The horizon must leave room for a node to notice it was cut off (a minute's presence records, and more). */
const MIN_PURGE_HORIZON_MS = 10 * 60_000;
/** About a century: large enough to turn purging without a replica off. */
const MAX_DURATION_MS = 100 * 365 * 24 * 60 * 60_000;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Settings as they come from a file or flags: anything, checked below. */
export type RawSettings = Readonly<Record<string, unknown>>;

export function readConfigFile(path: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold a JSON object`);
  return parsed as RawSettings;
}

/** Flags win over the file; undefined flags do not erase file settings. */
export function overlay(file: RawSettings, flags: RawSettings): RawSettings {
  const merged: Record<string, unknown> = { ...file };
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) merged[key] = value;
  return merged;
}

const NODE_NAME = /^[A-Za-z0-9_.-]{1,64}@[A-Za-z0-9_.:-]{1,190}$/;

export function validateNodeConfig(raw: RawSettings, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const role = raw.role;
  if (!ROLES.includes(role as Role)) throw new ConfigError(`role must be one of ${ROLES.join(', ')} (got ${JSON.stringify(role)})`);
  const name = requireString(raw, 'name');
  if (!NODE_NAME.test(name)) throw new ConfigError(`name must look like name@host, e.g. storage_0@127.0.0.1 (got ${JSON.stringify(name)})`);
  const clusterHost = optionalString(raw, 'clusterHost') ?? name.slice(name.indexOf('@') + 1);
  const clusterPort = port(raw.clusterPort, 'clusterPort');
  const managers = managerAddresses(raw);
  if (role === 'manager') {
    const problem = controlPlaneProblem(managers, clusterHost, clusterPort);
    if (problem !== undefined) throw new ConfigError(problem);
  }
  if (role !== 'manager' && managers.length === 0) throw new ConfigError(`a ${String(role)} node needs --manager host:port (every manager, comma-separated) to find the cluster`);
  const cookie = clusterCookie(raw, env);
  const logLevel = raw.logLevel ?? 'info';
  if (!isLogLevel(logLevel)) throw new ConfigError(`logLevel must be debug, info, warn or error (got ${JSON.stringify(logLevel)})`);
  return Object.freeze({
    role: role as Role,
    name,
    clusterHost,
    clusterPort,
    managers,
    dataDir: optionalString(raw, 'data') ?? `./data/${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`,
    cookie,
    logLevel,
    tls: parseTlsFiles(raw.tls),
    transport: Object.freeze(transportLimits(raw.transport)),
    storage: Object.freeze(storageSettings(raw.storage)),
    gateway: gatewaySettings(raw.gateway),
    metrics: metricsListener(raw),
    watchdog: watchdogSettings(raw.watchdog),
    console: consoleSettings(raw.console, role as Role),
    trafficSampleIntervalMs: trafficSampleInterval(raw.trafficSampleIntervalMs),
  });
}

const CONSOLE_KEYS = ['port', 'host', 'allowRemote', 'tls', 'sessionIdleMinutes'];
const MIN_SESSION_IDLE_MINUTES = 0.05;

/**
 * `console`: the manager's web console, on loopback unless `host` says otherwise. Anywhere else it is
 * reachable by others, so it must be asked for twice: `allowRemote: true`, and `tls`, since a login
 * carries a secret and the cookie a session.
 */
function consoleSettings(value: unknown, role: Role): ConsoleSettings | undefined {
  if (value === undefined) return undefined;
  if (role !== 'manager') throw new ConfigError('console is served by managers only (--role manager)');
  const raw = value;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('console must be an object, e.g. {"port": 4020}');
  const record = raw as RawSettings;
  for (const key of Object.keys(record)) if (!CONSOLE_KEYS.includes(key)) throw new ConfigError(`console.${key} is not a known setting (known: ${CONSOLE_KEYS.join(', ')})`);
  const host = optionalString(record, 'host') ?? '127.0.0.1';
  const allowRemote = record.allowRemote ?? false;
  if (typeof allowRemote !== 'boolean') throw new ConfigError('console.allowRemote must be true or false');
  const tls = record.tls === undefined ? undefined : parseTlsFiles(record.tls);
  if (!isLoopbackHost(host)) {
    if (!allowRemote) throw new ConfigError(`console.host ${host} is not loopback: the console would be reachable from other machines; set console.allowRemote to true (with tls) to mean it`);
    if (tls === undefined) throw new ConfigError(`console.host ${host} is not loopback: give console.tls (certFile, keyFile), since logins carry secrets`);
  }
  const idle = record.sessionIdleMinutes ?? 30;
  // Fractions are taken (0.5: half a minute), down to a few seconds for trying out expiry.
  if (typeof idle !== 'number' || !Number.isFinite(idle) || idle < MIN_SESSION_IDLE_MINUTES || idle > 24 * 60) {
    throw new ConfigError(`console.sessionIdleMinutes must be a number of minutes from ${MIN_SESSION_IDLE_MINUTES} (3 s) to 1440`);
  }
  return Object.freeze({ host, port: port(record.port, 'console.port'), allowRemote, tls: tls === undefined ? undefined : Object.freeze({ certFile: tls.certFile, keyFile: tls.keyFile }), sessionIdleMinutes: idle });
}

/**
 * A manager names itself in Raft by its entry in the managers list, so that entry must be exactly its
 * own cluster address; the list is the same, in the same order, on every manager.
 */
function controlPlaneProblem(managers: readonly string[], clusterHost: string, clusterPort: number): string | undefined {
  if (managers.length === 0) return undefined;
  if (clusterPort === 0) return 'a manager in a managers list needs a fixed --cluster-port: the others reach it at the address the list gives';
  const self = `${clusterHost}:${clusterPort}`;
  if (!managers.includes(self)) return `this manager's cluster address ${self} is not in the managers list (${managers.join(', ')}); list every manager, this one included, the same way on each`;
  return undefined;
}

/** `manager` (as earlier releases had it) or `managers`: one host:port, a comma-separated list, or a JSON array. */
function managerAddresses(raw: RawSettings): readonly string[] {
  const given = (['manager', 'managers'] as const).filter((key) => raw[key] !== undefined);
  if (given.length === 0) return Object.freeze([]);
  if (given.length > 1) throw new ConfigError('give the managers once: manager or managers, not both');
  const parsed = parseManagerAddresses(raw[given[0]!], given[0]!);
  if (!parsed.ok) throw new ConfigError(parsed.problem);
  return Object.freeze([...parsed.addresses]);
}

/** From the settings (cookie or cookieFile), else LEOFS_COOKIE, else LEOFS_COOKIE_FILE. */
function clusterCookie(raw: RawSettings, env: NodeJS.ProcessEnv): string {
  const inline = optionalString(raw, 'cookie');
  const file = optionalString(raw, 'cookieFile');
  if (inline !== undefined && file !== undefined) throw new ConfigError('give the cluster cookie once: cookie or cookieFile, not both');
  let cookie = inline ?? (file === undefined ? undefined : fromFile(file)) ?? (env.LEOFS_COOKIE || undefined);
  if (cookie === undefined && env.LEOFS_COOKIE_FILE) cookie = fromFile(env.LEOFS_COOKIE_FILE);
  if (cookie === undefined) throw new ConfigError('a cluster cookie is required: --cookie-file PATH ("cookieFile" in the config file), LEOFS_COOKIE_FILE or LEOFS_COOKIE (or --cookie)');
  if (cookie.length < 8) throw new ConfigError('the cluster cookie must be at least 8 characters');
  return cookie;
}

function fromFile(path: string): string {
  const read = readCookieFile(path);
  if (!read.ok) throw new ConfigError(read.problem);
  return read.cookie;
}

function requireString(raw: RawSettings, key: string): string {
  const value = raw[key];
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(`${key} is required`);
  return value;
}

function optionalString(raw: RawSettings, key: string): string | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(`${key} must be a non-empty string`);
  return value;
}

function port(value: unknown, key: string): number {
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > 65535) {
    throw new ConfigError(`${key} must be a port number between 0 and 65535 (got ${JSON.stringify(value)})`);
  }
  return number;
}

/** `watchdog`: `intervalMs` and any threshold of core/watchdog-rules.ts, each checked. */
function watchdogSettings(value: unknown): WatchdogSettings {
  if (value === undefined) return { intervalMs: DEFAULT_WATCHDOG_INTERVAL_MS, thresholds: DEFAULT_WATCHDOG_THRESHOLDS };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError('watchdog must be an object of thresholds, e.g. {"diskReadOnlyFreeBytes": 1073741824}');
  const { intervalMs = DEFAULT_WATCHDOG_INTERVAL_MS, ...rest } = value as RawSettings;
  if (typeof intervalMs !== 'number' || !Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 600_000) throw new ConfigError('watchdog.intervalMs must be an integer from 100 to 600000');
  const thresholds: Record<string, number> = { ...DEFAULT_WATCHDOG_THRESHOLDS };
  for (const [name, setting] of Object.entries(rest)) {
    const problem = typeof setting === 'number' ? thresholdProblem(name, setting) : `${name} must be a number`;
    if (problem) throw new ConfigError(`watchdog: ${problem}`);
    thresholds[name] = setting as number;
  }
  return { intervalMs, thresholds: thresholds as unknown as WatchdogThresholds };
}

const DEFAULT_TRAFFIC_SAMPLE_INTERVAL_MS = 10_000;

/** Below 100 ms the samples would cost more than they tell; above 10 minutes an hour holds too few points. */
function trafficSampleInterval(value: unknown): number {
  if (value === undefined) return DEFAULT_TRAFFIC_SAMPLE_INTERVAL_MS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 100 || value > 600_000) throw new ConfigError('trafficSampleIntervalMs must be an integer from 100 to 600000');
  return value;
}

/** `metricsPort` turns the endpoint on; it listens on loopback unless `metricsHost` says otherwise. */
function metricsListener(raw: RawSettings): NodeConfig['metrics'] {
  const host = optionalString(raw, 'metricsHost');
  if (raw.metricsPort === undefined) {
    if (host !== undefined) throw new ConfigError('metricsHost needs metricsPort (--metrics-port) too');
    return undefined;
  }
  return Object.freeze({ host: host ?? '127.0.0.1', port: port(raw.metricsPort, 'metricsPort') });
}

/** A config's `tls` section: certFile and keyFile, and caFile when peers' certificates chain to a private CA. */
export function parseTlsFiles(value: unknown): TlsFiles | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new ConfigError('tls must be an object with certFile and keyFile');
  const record = value as RawSettings;
  const certFile = requireString(record, 'certFile');
  const keyFile = requireString(record, 'keyFile');
  const caFile = optionalString(record, 'caFile');
  return Object.freeze({ certFile, keyFile, ...(caFile ? { caFile } : {}) });
}

const STORAGE_KEYS = [
  'numOfVnodes', 'rack', 'capacityBytes', 'minFreeDiskBytes', 'directBodyWrites', 'metaFormat', 'purgeKeysPerSecond', 'orphanAgeMs', 'uploadMaxAgeMs', 'sweepKeysPerSecond', 'sweepPauseMs',
  'autoCompactionIntervalMs', 'autoCompactionMinReclaimPercent', 'autoCompactionMinFileBytes', 'antiEntropyQuietIntervalMs', 'lifecycleKeysPerSecond', 'lifecyclePauseMs',
  'conditionalWriteDeadlineMs', 'tombstoneGraceMs', 'tombstonePurgeKeysPerSecond', 'purgeHorizonMs', 'alias', 'rebalanceRateMBps', 'releaseGraceMs',
  'linkRateMBps', 'linkSyncKeysPerSecond', 'linkSyncPauseMs',
];
/** Inclusive bounds of the storage settings that are optional whole numbers. */
const STORAGE_NUMBERS: Readonly<Record<
  'orphanAgeMs' | 'uploadMaxAgeMs' | 'sweepKeysPerSecond' | 'sweepPauseMs' | 'autoCompactionIntervalMs' | 'autoCompactionMinReclaimPercent' | 'autoCompactionMinFileBytes' | 'antiEntropyQuietIntervalMs' | 'lifecycleKeysPerSecond' | 'lifecyclePauseMs' | 'conditionalWriteDeadlineMs' | 'rebalanceRateMBps' | 'releaseGraceMs' | 'linkRateMBps' | 'linkSyncKeysPerSecond' | 'linkSyncPauseMs',
  readonly [number, number]
>> = {
  rebalanceRateMBps: [0, 100_000],
  linkRateMBps: [0, 100_000],
  linkSyncKeysPerSecond: [1, 1_000_000],
  linkSyncPauseMs: [100, 7 * 24 * 3_600_000],
  releaseGraceMs: [1_000, 365 * 24 * 3_600_000],
  orphanAgeMs: [1_000, 365 * 24 * 3_600_000],
  uploadMaxAgeMs: [1_000, 3650 * 24 * 3_600_000],
  sweepKeysPerSecond: [1, 1_000_000],
  sweepPauseMs: [100, 24 * 3_600_000],
  autoCompactionIntervalMs: [0, 7 * 24 * 3_600_000],
  autoCompactionMinReclaimPercent: [1, 99],
  autoCompactionMinFileBytes: [0, Number.MAX_SAFE_INTEGER],
  antiEntropyQuietIntervalMs: [1, 60_000],
  lifecycleKeysPerSecond: [1, 1_000_000],
  lifecyclePauseMs: [100, 7 * 24 * 3_600_000],
  conditionalWriteDeadlineMs: [100, 10 * 60_000],
};

/** Automatic compaction checks no more often than this: each check reads the statistics of every table. */
const MIN_AUTO_COMPACTION_INTERVAL_MS = 1_000;

const TOMBSTONE_DEFAULTS = {
  tombstoneGraceMs: DEFAULT_TOMBSTONE_GRACE_MS,
  tombstonePurgeKeysPerSecond: DEFAULT_TOMBSTONE_PURGE_KEYS_PER_SECOND,
  purgeHorizonMs: DEFAULT_PURGE_HORIZON_MS,
};

function storageSettings(value: unknown): StorageSettings {
  if (value === undefined) return { numOfVnodes: DEFAULT_NUM_OF_VNODES, minFreeDiskBytes: DEFAULT_MIN_FREE_DISK_BYTES, purgeKeysPerSecond: DEFAULT_PURGE_KEYS_PER_SECOND, ...TOMBSTONE_DEFAULTS };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError('storage must be an object, e.g. {"numOfVnodes": 168, "rack": "r1"}');
  const record = value as RawSettings;
  for (const key of Object.keys(record)) {
    if (!STORAGE_KEYS.includes(key)) throw new ConfigError(`storage.${key} is not a known setting (known: ${STORAGE_KEYS.join(', ')})`);
  }
  const placement = {
    numOfVnodes: record.numOfVnodes ?? DEFAULT_NUM_OF_VNODES,
    ...(record.rack !== undefined ? { rack: record.rack } : {}),
    ...(record.alias !== undefined ? { alias: record.alias } : {}),
  };
  const problem = storageJoinProblem(placement);
  if (problem) throw new ConfigError(`storage.${problem}`);
  for (const key of ['capacityBytes', 'minFreeDiskBytes'] as const) {
    const bytes = record[key];
    if (bytes !== undefined && (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0)) throw new ConfigError(`storage.${key} must be a number of bytes`);
  }
  if (record.directBodyWrites !== undefined && typeof record.directBodyWrites !== 'boolean') throw new ConfigError('storage.directBodyWrites must be true or false');
  if (record.metaFormat !== undefined && record.metaFormat !== 1 && record.metaFormat !== 2 && record.metaFormat !== 3) throw new ConfigError('storage.metaFormat must be 1, 2 or 3');
  const purgeRate = record.purgeKeysPerSecond ?? DEFAULT_PURGE_KEYS_PER_SECOND;
  if (typeof purgeRate !== 'number' || !Number.isInteger(purgeRate) || purgeRate < 1 || purgeRate > MAX_PURGE_KEYS_PER_SECOND) {
    throw new ConfigError(`storage.purgeKeysPerSecond must be an integer from 1 to ${MAX_PURGE_KEYS_PER_SECOND}`);
  }
  const optional: Partial<Record<keyof typeof STORAGE_NUMBERS, number>> = {};
  for (const [key, [min, max]] of Object.entries(STORAGE_NUMBERS) as Array<[keyof typeof STORAGE_NUMBERS, readonly [number, number]]>) {
    const value = record[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ConfigError(`storage.${key} must be an integer from ${min} to ${max}`);
    optional[key] = value;
  }
  const checkMs = optional.autoCompactionIntervalMs;
  if (checkMs !== undefined && checkMs > 0 && checkMs < MIN_AUTO_COMPACTION_INTERVAL_MS) {
    throw new ConfigError(`storage.autoCompactionIntervalMs must be 0 (off) or at least ${MIN_AUTO_COMPACTION_INTERVAL_MS}`);
  }
  return {
    ...(placement as Pick<StorageSettings, 'numOfVnodes' | 'rack' | 'alias'>),
    ...optional,
    ...(record.capacityBytes !== undefined ? { capacityBytes: record.capacityBytes as number } : {}),
    ...(record.directBodyWrites !== undefined ? { directBodyWrites: record.directBodyWrites as boolean } : {}),
    ...(record.metaFormat !== undefined ? { metaFormat: record.metaFormat as MetaFormat } : {}),
    minFreeDiskBytes: (record.minFreeDiskBytes as number | undefined) ?? DEFAULT_MIN_FREE_DISK_BYTES,
    purgeKeysPerSecond: purgeRate,
    ...tombstoneSettings(record),
  };
}

function tombstoneSettings(record: RawSettings): Pick<StorageSettings, 'tombstoneGraceMs' | 'tombstonePurgeKeysPerSecond' | 'purgeHorizonMs'> {
  const integerIn = (key: keyof typeof TOMBSTONE_DEFAULTS, min: number, max: number, unit: string): number => {
    const value = record[key] ?? TOMBSTONE_DEFAULTS[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ConfigError(`storage.${key} must be an integer from ${min} to ${max} (${unit})`);
    return value;
  };
  return {
    tombstoneGraceMs: integerIn('tombstoneGraceMs', MIN_TOMBSTONE_GRACE_MS, MAX_DURATION_MS, 'milliseconds'),
    tombstonePurgeKeysPerSecond: integerIn('tombstonePurgeKeysPerSecond', 1, MAX_PURGE_KEYS_PER_SECOND, 'tombstones per second'),
    purgeHorizonMs: integerIn('purgeHorizonMs', MIN_PURGE_HORIZON_MS, MAX_DURATION_MS, 'milliseconds'),
  };
}

const LIMIT_KEYS: ReadonlyArray<keyof TransportLimits> = [
  'maxFrameBytes',
  'highWaterMarkBytes',
  'maxBufferedBytes',
  'maxQueuedWhileConnecting',
  'maxHandshakingConnections',
  'maxHandshakingPerAddress',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'handshakeTimeoutMs',
  'inboundHandshakeTimeoutMs',
  'refusalLogLines',
  'refusalLogIntervalMs',
  'reconnectInitialMs',
  'reconnectMaxMs',
];

function transportLimits(value: unknown): Partial<TransportLimits> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw new ConfigError('transport must be an object of limits');
  const limits: Record<string, number> = {};
  for (const [key, setting] of Object.entries(value)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) throw new ConfigError(`transport.${key} is not a known setting (known: ${LIMIT_KEYS.join(', ')})`);
    if (typeof setting !== 'number' || !Number.isInteger(setting) || setting <= 0) throw new ConfigError(`transport.${key} must be a positive integer`);
    limits[key] = setting;
  }
  if (limits.maxFrameBytes !== undefined && limits.maxFrameBytes < 6 * 1024 * 1024) {
    throw new ConfigError('transport.maxFrameBytes must be at least 6 MiB so that a 5 MiB chunk and its envelope fit');
  }
  return limits;
}

function gatewaySettings(value: unknown): GatewayConfig {
  const result = parseGatewayConfig(value);
  if (!result.ok) throw new ConfigError(result.problem);
  return result.config;
}
