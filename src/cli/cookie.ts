/**
 * Where the cluster cookie comes from. The cookie grants full administration, so it is best read from a
 * file only its owner can read, or from the environment; a command-line flag shows it to every local
 * user in `ps`. A cookie file readable by others is refused, as Erlang refuses such a ~/.erlang.cookie.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_COOKIE_FILE, DEV_DATA_DIR } from './dev-defaults.js';

export type CookieResult = { readonly ok: true; readonly cookie: string } | { readonly ok: false; readonly problem: string };

const problem = (text: string): CookieResult => ({ ok: false, problem: text });

/** The cookie in the file at `path`: its content without surrounding white space. */
export function readCookieFile(path: string, platform: NodeJS.Platform = process.platform): CookieResult {
  let text: string;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) return problem(`the cookie file ${path} is not a file`);
    // Windows has no such modes; there the file's ACL is the operator's to set.
    if (platform !== 'win32' && (stats.mode & 0o077) !== 0) {
      return problem(`the cookie file ${path} can be read by other users (mode ${(stats.mode & 0o777).toString(8)}); make it private: chmod 600 ${path}`);
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return problem(`cannot read the cookie file ${path}: ${(error as Error).message}`);
  }
  const cookie = text.trim();
  return cookie.length > 0 ? { ok: true, cookie } : problem(`the cookie file ${path} is empty`);
}

export interface CookieFlags {
  readonly cookie?: string | undefined;
  readonly cookieFile?: string | undefined;
}

export interface CookieSearchPlaces {
  readonly env: NodeJS.ProcessEnv;
  /** Where `./data/dev` is looked for. */
  readonly cwd: string;
  /** Where `~/.leofs/cookie` is looked for. */
  readonly home: string;
  readonly platform?: NodeJS.Platform;
}

/**
 * `leofs-adm`'s cookie, the first of: --cookie, --cookie-file, LEOFS_COOKIE, LEOFS_COOKIE_FILE, the
 * cookie of a `leofs dev` cluster run from this directory (./data/dev/cookie), ~/.leofs/cookie.
 * A file that is named but cannot be used is a problem, not a reason to look further.
 */
export function findCookie(flags: CookieFlags, places: CookieSearchPlaces): CookieResult {
  const read = (path: string): CookieResult => readCookieFile(path, places.platform);
  if (flags.cookie !== undefined) return flags.cookie.length > 0 ? { ok: true, cookie: flags.cookie } : problem('--cookie is empty');
  if (flags.cookieFile !== undefined) return read(flags.cookieFile);
  if (places.env.LEOFS_COOKIE) return { ok: true, cookie: places.env.LEOFS_COOKIE };
  if (places.env.LEOFS_COOKIE_FILE) return read(places.env.LEOFS_COOKIE_FILE);
  for (const path of [join(places.cwd, DEV_DATA_DIR, DEV_COOKIE_FILE), join(places.home, '.leofs', 'cookie')]) {
    if (existsSync(path)) return read(path);
  }
  return problem(
    `the cluster cookie is required: give --cookie-file PATH (or --cookie), set LEOFS_COOKIE_FILE (or LEOFS_COOKIE), ` +
      `or run where ${DEV_DATA_DIR}/${DEV_COOKIE_FILE} is (leofs dev writes it), or keep it in ~/.leofs/cookie`,
  );
}
