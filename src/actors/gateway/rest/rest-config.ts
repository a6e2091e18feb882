/**
 * The plain REST API's settings (`gateway.rest` in a gateway's config file, the `--rest-*` flags),
 * checked once at start-up and frozen. The API is off unless `gateway.rest` is given. It has no
 * signatures: whoever reaches its port from an allowed network acts as the configured cluster user, so
 * a listener on any address but loopback must name the networks it trusts.
 */
import { isIP } from 'node:net';
import { isCidr } from '../client-networks.js';

export interface RestConfig {
  readonly host: string;
  /** 0 picks a free port (logged at start-up). */
  readonly port: number;
  /** CIDR blocks of the clients served (an address alone is one host); every other client is answered 403. */
  readonly allow: readonly string[];
  /** The cluster user every request acts as: its rights on a bucket are checked as for S3. */
  readonly user: string;
}

export const DEFAULT_REST_HOST = '127.0.0.1';
export const DEFAULT_REST_PORT = 8081;
/** Whom a REST API bound to loopback serves when no `allow` list is given. */
export const LOOPBACK_NETWORKS: readonly string[] = Object.freeze(['127.0.0.0/8', '::1/128']);

const KNOWN_KEYS = ['enabled', 'host', 'port', 'allow', 'user'];
const HOST_NAME = /^[A-Za-z0-9.-]{1,253}$/;

export type RestConfigResult =
  | { readonly ok: true; readonly config: RestConfig | undefined }
  | { readonly ok: false; readonly problem: string };

/** Undefined, or `enabled: false`: the API is off. */
export function parseRestConfig(raw: unknown): RestConfigResult {
  if (raw === undefined) return { ok: true, config: undefined };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('gateway.rest must be an object of settings');
  const record = raw as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(record)) {
    if (!KNOWN_KEYS.includes(key)) return fail(`gateway.rest.${key} is not a known setting (known: ${KNOWN_KEYS.join(', ')})`);
  }
  const enabled = record.enabled ?? true;
  if (typeof enabled !== 'boolean') return fail('gateway.rest.enabled must be true or false');
  if (!enabled) return { ok: true, config: undefined };
  const host = record.host ?? DEFAULT_REST_HOST;
  if (typeof host !== 'string' || !(HOST_NAME.test(host) || isIP(host) !== 0)) {
    return fail(`gateway.rest.host must be a host name or IP address (got ${JSON.stringify(host)})`);
  }
  const rawPort = record.port ?? DEFAULT_REST_PORT;
  const port = typeof rawPort === 'string' && rawPort.trim() !== '' ? Number(rawPort) : rawPort;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    return fail(`gateway.rest.port must be an integer from 0 to 65535 (got ${JSON.stringify(rawPort)})`);
  }
  const user = record.user;
  if (typeof user !== 'string' || user.trim() === '') {
    return fail('gateway.rest.user must name the cluster user that requests to the REST API act as');
  }
  const allow = record.allow;
  if (allow === undefined && !isLoopbackHost(host)) {
    return fail(
      `gateway.rest.allow must list the networks trusted to use the unsigned REST API when it listens on ${host}, ` +
        'an address other than loopback (for example ["10.0.0.0/8"])',
    );
  }
  const networks = allow ?? LOOPBACK_NETWORKS;
  if (!Array.isArray(networks) || networks.length === 0 || !networks.every((c): c is string => typeof c === 'string' && isCidr(c))) {
    return fail(`gateway.rest.allow must be a non-empty list of CIDR blocks such as 10.0.0.0/8 or ::1/128 (got ${JSON.stringify(allow)})`);
  }
  return { ok: true, config: Object.freeze({ host, port, allow: Object.freeze([...networks]), user }) };
}

/** An address only this machine can reach: 127.0.0.0/8, ::1 or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === 'localhost' || lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  return isIP(lower) === 4 && lower.startsWith('127.');
}

function fail(problem: string): RestConfigResult {
  return { ok: false, problem };
}
