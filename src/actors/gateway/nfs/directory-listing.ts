/**
 * READDIR and READDIRPLUS over the sorted listing: a directory's entries are the keys and common
 * prefixes under its prefix with `/` as delimiter, paged from the storage nodes' sorted indexes, so a
 * directory of any size is read a page at a time.
 *
 * A cookie must let the client resume after any entry, and 64 bits cannot hold a key. So an entry's
 * cookie is a hash of its name, and the gateway remembers which key each cookie it handed out stands
 * for (a bounded map). A cookie it no longer remembers (after a restart, say) is found again by
 * reading the directory from its start, hashing names until one matches; only a cookie that matches
 * nothing is NFS3ERR_BAD_COOKIE. Cookies 1 and 2 stand for `.` and `..`.
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
import { attributesAt, attributesOf, parentOf, type FsNode } from './nodes.js';

const DOT_COOKIE = 1n;
const DOTDOT_COOKIE = 2n;
/** Directories read from the start to find a forgotten cookie stop after this many entries. */
const MAX_COOKIE_SCAN_ENTRIES = 1_000_000;
const LIST_PAGE_KEYS = 1000;
/** Entries whose attributes are read at once for READDIRPLUS. */
const ATTRIBUTE_READS = 16;
const COOKIE_VERIFIER = Buffer.alloc(NFS3_COOKIEVERFSIZE);

/** The cookie of the entry called `name`: never 0, 1 or 2. */
export function cookieOf(name: string): bigint {
  return createHash('md5').update(name, 'utf8').digest().readBigUInt64BE(0) | (1n << 63n);
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
    const keys = [
      ...listed.contents.filter((entry) => entry.key !== dirKey && !entry.key.endsWith('/')).map((entry) => entry.key),
      ...listed.commonPrefixes,
    ].sort(compareKeys);
    const children = keys.map((key) => {
      const name = key.slice(dirKey.length).replace(/\/$/, '');
      return { name, key, cookie: cookieOf(name) };
    // Keys with empty, `.` or `..` segments (`a//b`, `a/../b`) have no place in a file tree.
    }).filter((child) => child.name !== '' && child.name !== '.' && child.name !== '..');
    if (children.length > 0 || !listed.isTruncated || listed.nextMarker === undefined) return { children, reachedEnd: !listed.isTruncated };
    marker = listed.nextMarker;
  }
}

/** The key a cookie stands for, from memory or by reading the directory again. */
async function keyOfCookie(scope: Scope, dirKey: string, cookie: bigint): Promise<string> {
  const cookies = scope.caller.deps.cookies;
  const known = cookies.keyOf(scope.bucketTag, dirKey, cookie);
  if (known !== undefined) return known;
  let after: string | undefined;
  for (let scanned = 0; scanned < MAX_COOKIE_SCAN_ENTRIES;) {
    const page = await listChildren(scope, dirKey, after, LIST_PAGE_KEYS);
    for (const child of page.children) {
      cookies.remember(scope.bucketTag, dirKey, child.cookie, child.key);
      if (child.cookie === cookie) return child.key;
    }
    scanned += page.children.length;
    if (page.reachedEnd || page.children.length === 0) break;
    after = page.children[page.children.length - 1]!.key;
  }
  throw new NfsError('NFS3ERR_BAD_COOKIE');
}

type Entry = { readonly kind: 'dot' | 'dotdot' } | ({ readonly kind: 'child' } & Child);

/** The entries after `cookie`, at most about `maxKeys` of them, `.` and `..` first. */
async function entriesAfter(scope: Scope, dirKey: string, cookie: bigint, maxKeys: number): Promise<{ entries: Entry[]; reachedEnd: boolean }> {
  const entries: Entry[] = [];
  let after: string | undefined;
  if (cookie === 0n) entries.push({ kind: 'dot' }, { kind: 'dotdot' });
  else if (cookie === DOT_COOKIE) entries.push({ kind: 'dotdot' });
  else if (cookie !== DOTDOT_COOKIE) after = await keyOfCookie(scope, dirKey, cookie);
  const page = await listChildren(scope, dirKey, after, maxKeys);
  for (const child of page.children) {
    scope.caller.deps.cookies.remember(scope.bucketTag, dirKey, child.cookie, child.key);
    entries.push({ kind: 'child', ...child });
  }
  return { entries, reachedEnd: page.reachedEnd };
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

export async function readdir(scope: Scope, dir: FsNode, cookie: bigint, count: number): Promise<ReaddirResult> {
  const dirAttributes = attributesOf(scope, dir);
  const maxKeys = Math.max(8, Math.min(LIST_PAGE_KEYS, Math.floor(count / 24)));
  const { entries, reachedEnd } = await entriesAfter(scope, dir.key, cookie, maxKeys);
  return fitReaddir(count, { dirAttributes, cookieverf: COOKIE_VERIFIER, entries: entries.map((entry) => basicEntry(scope, dir.key, entry)), reachedEnd });
}

export async function readdirplus(scope: Scope, dir: FsNode, cookie: bigint, dircount: number, maxcount: number): Promise<ReaddirplusResult> {
  const dirAttributes = attributesOf(scope, dir);
  const maxKeys = Math.max(8, Math.min(LIST_PAGE_KEYS, Math.floor(maxcount / 160), Math.floor(dircount / 16)));
  const { entries, reachedEnd } = await entriesAfter(scope, dir.key, cookie, maxKeys);
  // Fitted first with stand-in attributes (they take the same room), so only entries sent are read.
  const planned: ReaddirplusEntry[] = entries.map((entry) => ({
    ...basicEntry(scope, dir.key, entry),
    attributes: dirAttributes,
    handle: encodeHandle(scope.bucketTag, keyOfEntry(dir.key, entry)).handle,
  }));
  const fitted = fitReaddirplus(dircount, maxcount, { dirAttributes, cookieverf: COOKIE_VERIFIER, entries: planned, reachedEnd });
  if (fitted.status !== 'NFS3_OK') return fitted;
  const handles = scope.caller.deps.handles;
  // The entries fitted are the first of those planned, in order.
  const fittedAt = fitted.entries.map((entry, index) => ({ entry, key: keyOfEntry(dir.key, entries[index]!) }));
  const filled = await mapBounded(fittedAt, ATTRIBUTE_READS, async ({ entry, key }): Promise<ReaddirplusEntry> => {
    const attributes: Fattr3 | undefined = key === dir.key ? dirAttributes : await attributesAt(scope, key);
    return { ...entry, attributes, handle: await handles.handleFor(scope.bucketTag, key) };
  });
  return { ...fitted, entries: filled };
}
