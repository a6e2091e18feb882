/**
 * Where `leofs dev` puts a local cluster unless told otherwise; `leofs-adm` looks there first, so that
 * it finds a local cluster by itself.
 */
export const DEV_DATA_DIR = './data/dev';
export const DEV_MANAGER_PORT = 4010;
/** The cluster ports of a dev control plane of several managers started with --manager-port 0. */
export const DEV_MANAGER_PORTS_FILE = 'manager-ports';
/** The cluster cookie, in the dev data directory (mode 0600). */
export const DEV_COOKIE_FILE = 'cookie';
/** The gateway's SSE-S3 master keys, in the dev data directory (mode 0600). */
export const DEV_SSE_KEY_FILE = 'sse-keys';
/** The id of the master key a new dev cluster is given. */
export const DEV_SSE_KEY_ID = 'dev-1';
