/**
 * The console's pages, scripts and styles: files of the project (web/console), read once at start and
 * served from memory with their content type and an ETag. HTML is never cached (it is the door to a
 * session); scripts and styles are revalidated, so a new release is picked up at the next load.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ConsoleAsset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  readonly cacheControl: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Every file the console serves; nothing else under the directory is reachable. */
export const CONSOLE_FILES = ['login.html', 'app.html', 'console.css', 'login.js', 'app.js', 'favicon.svg'] as const;
export type ConsoleFile = (typeof CONSOLE_FILES)[number];

/** web/console of this package: from dist/src/actors/manager/console, or from src/ when run from source. */
export function defaultAssetsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const root = here.includes('/dist/') ? join(here, '../../../../..') : join(here, '../../../..');
  return join(root, 'web', 'console');
}

export function loadConsoleAssets(dir: string = defaultAssetsDir()): ReadonlyMap<ConsoleFile, ConsoleAsset> {
  const assets = new Map<ConsoleFile, ConsoleAsset>();
  for (const name of CONSOLE_FILES) {
    const body = readFileSync(join(dir, name));
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined) throw new Error(`no content type for ${name}`);
    assets.set(name, {
      body,
      contentType,
      etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
      cacheControl: name.endsWith('.html') ? 'no-store' : 'no-cache',
    });
  }
  return assets;
}
