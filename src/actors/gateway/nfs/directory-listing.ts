/**
 * READDIR and READDIRPLUS over the sorted listing: a directory's entries are the keys and common
 * prefixes under its prefix with `/` as delimiter, paged from the storage nodes' sorted indexes, so a
 * directory of any size is read a page at a time, and each page costs the same however far in it is.
 *
 * A cookie must let the client resume after any entry, and 64 bits cannot hold a key. So an entry's
 * cookie is a hash of its key within the directory (`a` for a file, `a/` for a directory, so the two
 * never share one), and the gateway remembers which key each cookie it handed out stands for
 * (directory-cookies.ts, bounded): the next page is listed from just after that key. A cookie it
 * does not remember is NFS3ERR_BAD_COOKIE, never looked for by reading the directory again, and so is
 * one sent with another start's cookie verifier (each start has its own): the client lists again from
 * the start. Cookies 1 and 2 stand for `.` and `..`.
 *
 * A key `a` and keys under `a/` would both be the entry `a`. The file wins, as LOOKUP finds it first
 * (nodes.ts): the entry is the file `a`, listed once, and the keys under `a/` are reached over S3 only
 * until the file is removed or renamed.
 */
import { createHash } from 'node:crypto';
import { compareKeys } from '../../../core/key-order.js';
import { mapBounded } from '../../../runtime/bounded.js';
import { fitReaddir, fitReaddirplus } from '../../../protocol/nfs/nfs3-readdir.js';
import type { ReaddirEntry, ReaddirplusEntry, ReaddirplusResult, ReaddirResult } from '../../../protocol/nfs/nfs3-results.js';
import type { Fattr3 } from '../../../protocol/nfs/nfs3-types.js';
import { NFS3_COOKIEVERFSIZE } from '../../../protocol/nfs/nfs3-types.js';
import { expectOk } from '../storage-errors.js';
import { encodeHandle, fileIdOf } from './file-handles.js';
import { NfsError } from './nfs-errors.js';
import type { Scope } from './nfs-scope.js';
import { attributesAt, attributesOf, findNode, parentOf, type FsNode } from './nodes.js';

const DOT_COOKIE = 1n;
const DOTDOT_COOKIE = 2n;
const LIST_PAGE_KEYS = 1000;
/** Entries whose attributes are read at once for READDIRPLUS. */
const ATTRIBUTE_READS = 16;
/** What clients send as the verifier of a listing's first page, and some with every page. */
const NO_VERIFIER = Buffer.alloc(NFS3_COOKIEVERFSIZE);

/** The cookie of the entry whose key within its directory is `relativeKey` (a directory's with its `/`): never 0, 1 or 2. */
export function cookieOf(relativeKey: string): bigint {
  return createHash('md5').update(relativeKey, 'utf8').digest().readBigUInt64BE(0) | (1n << 63n);
}

interface Child {
  readonly name: string;
  /** The file's key, or the directory's prefix with its `/`. */
  readonly key: string;
  readonly cookie: bigint;
}

interface ChildPage {
  readonly children: readonly Child[];
  readonly reachedEnd: boolean;
}

/** Up to `maxKeys` children of `dirKey` after the key `after` (from the start when undefined). */
async function listChildren(scope: Scope, dirKey: string, after: string | undefined, maxKeys: number): Promise<ChildPage> {
  let marker = after;
  for (;;) {
    const listed = expectOk(await scope.gateway.storage.list('object', scope.bucket.name, {
      prefix: dirKey, delimiter: '/', maxKeys, ...(marker === undefined ? {} : { marker }),
    }), 'NoSuchBucket').result;
    const files = listed.contents.filter((entry) => entry.key !== dirKey && !entry.key.endsWith('/')).map((entry) => entry.key);
    const fileSet = new Set(files);
    const prefixes: string[] = [];
    for (const prefix of listed.commonPrefixes) {
      // The file of the same name wins. It sorts before its prefix: in this page, or at or before the marker.
      const file = prefix.slice(0, -1);
      const shadowed = fileSet.has(file) || (marker !== undefined && compareKeys(file, marker) <= 0 && (await findNode(scope, file)) !== undefined);
      if (!shadowed) prefixes.push(prefix);
    }
    const children = [...files, ...prefixes].sort(compareKeys).map((key) => {
      const relativeKey = key.slice(dirKey.length);
      return { name: relativeKey.replace(/\/$/, ''), key, cookie: cookieOf(relativeKey) };
    // Keys with empty, `.` or `..` segments (`a//b`, `a/../b`) have no place in a file tree.
    }).filter((child) => child.name !== '' && child.name !== '.' && child.name !== '..');
    if (children.length > 0 || !listed.isTruncated || listed.nextMarker === undefined) return { children, reachedEnd: !listed.isTruncated };
    marker = listed.nextMarker;
  }
}

/** The key a cookie stands for; NFS3ERR_BAD_COOKIE when this start of the gateway did not hand it out or has forgotten it. */
function keyOfCookie(scope: Scope, dirKey: string, cookie: bigint, cookieverf: Buffer): string {
  const cookies = scope.caller.deps.cookies;
  if (!cookieverf.equals(NO_VERIFIER) && !cookieverf.equals(cookies.verifier)) throw new NfsError('NFS3ERR_BAD_COOKIE');
  const known = cookies.keyOf(scope.bucketTag, dirKey, cookie);
  if (known === undefined) throw new NfsError('NFS3ERR_BAD_COOKIE');
  return known;
}

type Entry = { readonly kind: 'dot' | 'dotdot' } | ({ readonly kind: 'child' } & Child);

/** The entries after `cookie`, at most about `maxKeys` of them, `.` and `..` first. */
async function entriesAfter(scope: Scope, dirKey: string, cookie: bigint, cookieverf: Buffer, maxKeys: number): Promise<{ entries: Entry[]; reachedEnd: boolean }> {
  const entries: Entry[] = [];
  let after: string | undefined;
  if (cookie === 0n) entries.push({ kind: 'dot' }, { kind: 'dotdot' });
  else if (cookie === DOT_COOKIE) entries.push({ kind: 'dotdot' });
  else if (cookie !== DOTDOT_COOKIE) after = keyOfCookie(scope, dirKey, cookie, cookieverf);
  const page = await listChildren(scope, dirKey, after, maxKeys);
  for (const child of page.children) entries.push({ kind: 'child', ...child });
  return { entries, reachedEnd: page.reachedEnd };
}

/** The cookies of the entries sent (the first of those listed: the rest did not fit), so each can be resumed from. */
function rememberSent(scope: Scope, dirKey: string, sent: readonly Entry[]): void {
  for (const entry of sent) if (entry.kind === 'child') scope.caller.deps.cookies.remember(scope.bucketTag, dirKey, entry.cookie, entry.key);
}

function basicEntry(scope: Scope, dirKey: string, entry: Entry): ReaddirEntry {
  switch (entry.kind) {
    case 'dot':
      return { fileid: fileIdOf(scope.bucketTag, dirKey), name: '.', cookie: DOT_COOKIE };
    case 'dotdot':
      return { fileid: fileIdOf(scope.bucketTag, parentOf(dirKey)), name: '..', cookie: DOTDOT_COOKIE };
    case 'child':
      return { fileid: fileIdOf(scope.bucketTag, entry.key), name: entry.name, cookie: entry.cookie };
  }
}

function keyOfEntry(dirKey: string, entry: Entry): string {
  if (entry.kind === 'child') return entry.key;
  return entry.kind === 'dot' ? dirKey : parentOf(dirKey);
}

export async function readdir(scope: Scope, dir: FsNode, cookie: bigint, cookieverf: Buffer, count: number): Promise<ReaddirResult> {
  const dirAttributes = attributesOf(scope, dir);
  const maxKeys = Math.max(8, Math.min(LIST_PAGE_KEYS, Math.floor(count / 24)));
  const { entries, reachedEnd } = await entriesAfter(scope, dir.key, cookie, cookieverf, maxKeys);
  const fitted = fitReaddir(count, { dirAttributes, cookieverf: scope.caller.deps.cookies.verifier, entries: entries.map((entry) => basicEntry(scope, dir.key, entry)), reachedEnd });
  if (fitted.status === 'NFS3_OK') rememberSent(scope, dir.key, entries.slice(0, fitted.entries.length));
  return fitted;
}

export async function readdirplus(scope: Scope, dir: FsNode, cookie: bigint, cookieverf: Buffer, dircount: number, maxcount: number): Promise<ReaddirplusResult> {
  const dirAttributes = attributesOf(scope, dir);
  const maxKeys = Math.max(8, Math.min(LIST_PAGE_KEYS, Math.floor(maxcount / 160), Math.floor(dircount / 16)));
  const { entries, reachedEnd } = await entriesAfter(scope, dir.key, cookie, cookieverf, maxKeys);
  // Fitted first with stand-in attributes (they take the same room), so only entries sent are read.
  const planned: ReaddirplusEntry[] = entries.map((entry) => ({
    ...basicEntry(scope, dir.key, entry),
    attributes: dirAttributes,
    handle: encodeHandle(scope.bucketTag, keyOfEntry(dir.key, entry)).handle,
  }));
  const fitted = fitReaddirplus(dircount, maxcount, { dirAttributes, cookieverf: scope.caller.deps.cookies.verifier, entries: planned, reachedEnd });
  if (fitted.status !== 'NFS3_OK') return fitted;
  rememberSent(scope, dir.key, entries.slice(0, fitted.entries.length));
  const handles = scope.caller.deps.handles;
  // The entries fitted are the first of those planned, in order.
  const fittedAt = fitted.entries.map((entry, index) => ({ entry, key: keyOfEntry(dir.key, entries[index]!) }));
  const filled = await mapBounded(fittedAt, ATTRIBUTE_READS, async ({ entry, key }): Promise<ReaddirplusEntry> => {
    const attributes: Fattr3 | undefined = key === dir.key ? dirAttributes : await attributesAt(scope, key);
    return { ...entry, attributes, handle: await handles.handleFor(scope.bucketTag, key, true) };
  });
  return { ...fitted, entries: filled };
}
