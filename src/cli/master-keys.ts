/**
 * The operator's SSE-S3 master keys, read once when a gateway starts. One key a line, `<id> <base64 of
 * 32 bytes>`; blank lines and lines starting with `#` are skipped. The last key is the current one, which
 * wraps the keys of new objects; the earlier ones stay to unwrap the keys of older objects, so a key is
 * rotated by appending a line and restarting the gateways.
 *
 * The keys come from the gateway's `sseKeyFile` setting (`--sse-key-file`), else from LEOFS_SSE_KEYS (the
 * same lines, also separated by `;`). A key file readable by others is refused, as the cookie file is.
 * Problems name the line, never its content: a malformed line may well be key material.
 */
import { readFileSync, statSync } from 'node:fs';
import type { MasterKeys } from '../core/object-encryption.js';

export const MASTER_KEY_BYTES = 32;
export const SSE_KEYS_ENV = 'LEOFS_SSE_KEYS';

export type MasterKeysResult =
  | { readonly ok: true; readonly masterKeys: MasterKeys }
  | { readonly ok: false; readonly problem: string };

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Standard base64 with its padding, as `openssl rand -base64 32` prints it. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const LINE_FORMAT = `<id> <base64 of ${MASTER_KEY_BYTES} bytes>`;

const problem = (text: string): MasterKeysResult => ({ ok: false, problem: text });

/** The keys in `text`; `source` says where it came from in problems, e.g. "the SSE key file /etc/leofs/sse-keys". */
export function parseMasterKeys(text: string, source: string): MasterKeysResult {
  const keys = new Map<string, Uint8Array>();
  const lineOf = new Map<string, number>();
  let current: string | undefined;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `${source}, line ${index + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) return problem(`${at}: expected ${LINE_FORMAT}`);
    const [id, encoded] = fields as [string, string];
    if (!KEY_ID.test(id)) return problem(`${at}: a key id is 1 to 64 letters, digits, '.', '_' or '-'`);
    const earlier = lineOf.get(id);
    if (earlier !== undefined) return problem(`${at}: the key id ${id} is already on line ${earlier}`);
    if (!BASE64.test(encoded)) return problem(`${at}: the key of ${id} is not base64 (the standard alphabet, padded with =)`);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== MASTER_KEY_BYTES) return problem(`${at}: the key of ${id} is ${key.length} bytes; a master key is ${MASTER_KEY_BYTES} bytes (openssl rand -base64 ${MASTER_KEY_BYTES})`);
    keys.set(id, key);
    lineOf.set(id, index + 1);
    current = id;
  }
  if (current === undefined) return problem(`${source} holds no key; expected lines of ${LINE_FORMAT}`);
  return { ok: true, masterKeys: Object.freeze({ current, keys }) };
}

/** The keys in the file at `path`, which only its owner may read. */
export function readMasterKeyFile(path: string, platform: NodeJS.Platform = process.platform): MasterKeysResult {
  const source = `the SSE key file ${path}`;
  let text: string;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) return problem(`${source} is not a file`);
    // Windows has no such modes; there the file's ACL is the operator's to set.
    if (platform !== 'win32' && (stats.mode & 0o077) !== 0) {
      return problem(`${source} can be read by other users (mode ${(stats.mode & 0o777).toString(8)}); make it private: chmod 600 ${path}`);
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return problem(`cannot read ${source}: ${(error as Error).message}`);
  }
  return parseMasterKeys(text, source);
}

export interface MasterKeySources {
  /** The gateway's `sseKeyFile` setting. */
  readonly sseKeyFile: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly platform?: NodeJS.Platform;
}

/**
 * The gateway's master keys from `sseKeyFile`, else from LEOFS_SSE_KEYS; `undefined` when neither is
 * given, which leaves SSE-S3 off. A source that is given but unusable is a problem, not a reason to look
 * further.
 */
export function findMasterKeys(sources: MasterKeySources): MasterKeysResult | undefined {
  if (sources.sseKeyFile !== undefined) return readMasterKeyFile(sources.sseKeyFile, sources.platform);
  const inline = sources.env[SSE_KEYS_ENV];
  // A `;` stands for a line break, which many places that set the environment cannot hold.
  if (inline) return parseMasterKeys(inline.replaceAll(';', '\n'), SSE_KEYS_ENV);
  return undefined;
}

/** A key file's content for a new key under `id`, with a line saying how to add the next one. */
export function masterKeyFileText(id: string, key: Uint8Array): string {
  return `# SSE-S3 master keys, ${LINE_FORMAT}; the last key is the current one: rotate by appending a line.\n${id} ${Buffer.from(key).toString('base64')}\n`;
}
