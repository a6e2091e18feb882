/**
 * How an admin tool (leofs-adm, leofs shell) reaches the cluster: the managers' cluster ports (commands
 * run on whichever leads), the cookie that authorizes it, and the cluster port's TLS when it has one.
 * Both tools take the same flags, read here.
 */
import { homedir } from 'node:os';
import type { Argv } from 'yargs';
import { createLogger } from '../runtime/logger.js';
import type { TlsOptions } from '../runtime/remote/transport.js';
import { CookieRefused, ManagerUnreachable, openAdminClient, type AdminClient } from './admin-client.js';
import { ConfigError, parseTlsFiles, readConfigFile, type RawSettings } from './config.js';
import { parseManagerAddresses } from './manager-addresses.js';
import { findCookie, type CookieSearchPlaces } from './cookie.js';
import { DEV_MANAGER_PORT } from './dev-defaults.js';
import { readTlsFiles } from './tls-files.js';

/** Exit statuses of the admin tools: refused (by the manager, or a wrong flag), manager unreachable or silent. */
export const EXIT_REFUSED = 1;
export const EXIT_UNREACHABLE = 2;

/** Where `leofs dev` puts its manager. */
export const DEFAULT_MANAGER = `127.0.0.1:${DEV_MANAGER_PORT}`;

export function adminConnectionOptions(yargs: Argv): Argv {
  return yargs
    .option('manager', {
      alias: 'managers',
      type: 'string',
      describe: `host:port of the managers' cluster ports, comma-separated; commands run on the leader (or LEOFS_MANAGER, or the managers of --config; default ${DEFAULT_MANAGER})`,
    })
    .option('cookie-file', { type: 'string', describe: 'file holding the cluster cookie (or LEOFS_COOKIE_FILE; default ./data/dev/cookie, then ~/.leofs/cookie)' })
    .option('cookie', { type: 'string', describe: 'the cluster cookie itself (or LEOFS_COOKIE); visible to other local users in ps' })
    .option('tls', { type: 'boolean', describe: "the cluster port speaks TLS, with a certificate the system's CAs vouch for" })
    .option('tls-ca', { type: 'string', describe: "PEM file of the CA the cluster's certificates chain to (implies --tls)" })
    .option('config', { type: 'string', describe: "a node's JSON config file: its tls section (caFile) and managers are used" })
    .option('verbose', { type: 'boolean', default: false, describe: 'log the connection to stderr' });
}

export interface AdminConnection {
  /** host:port of every manager to ask who leads. */
  readonly managers: readonly string[];
  readonly cookie: string;
  readonly tls?: TlsOptions;
}

type Args = Readonly<Record<string, unknown>>;

const flag = (args: Args, name: string): string | undefined => (typeof args[name] === 'string' ? (args[name] as string) : undefined);

/** The connection the flags, the environment and the files describe; a ConfigError says what is missing or wrong. */
export function resolveAdminConnection(args: Args, places: CookieSearchPlaces): AdminConnection {
  const config = flag(args, 'config') === undefined ? undefined : readConfigFile(flag(args, 'config')!);
  const managers = managerAddresses(args, places.env, config);
  const found = findCookie({ cookie: flag(args, 'cookie'), cookieFile: flag(args, 'cookie-file') }, places);
  if (!found.ok) throw new ConfigError(found.problem);
  // Of a node's TLS files only the CA matters to a tool that dials; the node's key may not even be readable to the operator.
  const caFile = flag(args, 'tls-ca') ?? (config ? parseTlsFiles(config.tls)?.caFile : undefined);
  const useTls = caFile !== undefined || args.tls === true || config?.tls !== undefined;
  const tls = useTls ? readTlsFiles(caFile === undefined ? {} : { caFile }) : undefined;
  return { managers, cookie: found.cookie, ...(tls ? { tls } : {}) };
}

/** --manager, else LEOFS_MANAGER, else the config's managers (or manager), else where `leofs dev` puts its manager. */
function managerAddresses(args: Args, env: NodeJS.ProcessEnv, config: RawSettings | undefined): readonly string[] {
  const given: ReadonlyArray<readonly [string, unknown]> = [
    ['--manager', flag(args, 'manager')],
    ['LEOFS_MANAGER', env.LEOFS_MANAGER || undefined],
    [`managers of ${flag(args, 'config')}`, config?.managers],
    [`manager of ${flag(args, 'config')}`, config?.manager],
  ];
  const [source, value] = given.find(([, each]) => each !== undefined) ?? ['the default manager', DEFAULT_MANAGER];
  const parsed = parseManagerAddresses(value, source);
  if (!parsed.ok) throw new ConfigError(parsed.problem);
  return parsed.addresses;
}

export type Connected =
  | { readonly ok: true; readonly client: AdminClient; readonly connection: AdminConnection }
  | { readonly ok: false; readonly problem: string; readonly exitCode: number };

/**
 * Connects as the flags say (--verbose logs the connection): a flag, cookie or manager problem comes
 * back with the exit status it means; anything else is thrown.
 */
export async function connectFromFlags(args: Args, options: { readonly timeoutMs: number; readonly namePrefix?: string }): Promise<Connected> {
  let connection: AdminConnection;
  try {
    connection = resolveAdminConnection(args, { env: process.env, cwd: process.cwd(), home: homedir() });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { ok: false, problem: error.message, exitCode: EXIT_REFUSED };
  }
  const logger = args.verbose === true ? createLogger({ level: 'debug' }) : undefined;
  try {
    const { managers, ...rest } = connection;
    const client = await openAdminClient({ ...rest, manager: managers, ...options, ...(logger ? { logger } : {}) });
    return { ok: true, client, connection };
  } catch (error) {
    if (error instanceof ManagerUnreachable) return { ok: false, problem: error.message, exitCode: EXIT_UNREACHABLE };
    if (error instanceof CookieRefused) return { ok: false, problem: error.message, exitCode: EXIT_REFUSED };
    throw error;
  }
}
