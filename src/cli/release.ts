/**
 * The release this program is, as its package.json says: printed by `leofs-adm version`, exported as
 * a metric label, told by every node's status.
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function releaseVersion(): string {
  if (cached === undefined) {
    try {
      // From dist/src/cli/ up to the package's root.
      const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
      const version = (JSON.parse(text) as { version?: unknown }).version;
      cached = typeof version === 'string' ? version : 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
