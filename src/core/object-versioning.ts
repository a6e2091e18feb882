/**
 * S3 versioning over one record per key. The record describes the key's current version and lists the
 * older ones (`noncurrent`, newest first), so every version travels with the record: replication, read
 * repair, anti-entropy and rebalance carry them without knowing about versions, and a listing still
 * visits one record per key.
 *
 * A versioned write changes the list it finds, so it is decided on the key's replicas against their
 * newest record, by the same compare-and-set that decides conditional writes: `applyVersionedWrite`
 * is the rule the coordinator applies there. The order of versions is the order in which those writes
 * were chosen, which is the order of the records' clocks.
 *
 * Bodies of versions that are not current live in chunk objects, never in the record: a record holds
 * the body of its current version only. A version whose body is in the record (written before the
 * bucket had versioning) is moved into a chunk by the writer before it can become noncurrent.
 */
import { isObjectAcl, type ObjectAcl } from './acl.js';
import type { Hlc } from './hlc.js';
import { compareHlc, isHlc } from './hlc.js';
import { randomHex } from './random-id.js';
import { carriesBody, userMetaSizeBytes, type ChunkLayout, type ObjectMeta, type VersionFields } from './object-meta.js';
import { isTags, MAX_OBJECT_TAGS, type Tags } from './object-tags.js';
import { hasValidLock, isRetention, removalBlocker, retentionChangeProblem, type Retention } from './object-lock.js';

export const BUCKET_VERSIONING = ['Enabled', 'Suspended'] as const;
export type BucketVersioning = (typeof BUCKET_VERSIONING)[number];

export function isBucketVersioning(value: unknown): value is BucketVersioning {
  return (BUCKET_VERSIONING as readonly unknown[]).includes(value);
}

/** The id S3 gives the version of a key written while versioning was never enabled or is suspended. */
export const NULL_VERSION_ID = 'null';

const VERSION_ID = /^[0-9a-f]{32}$/;

/** A fresh S3 version id: 128 random bits, hex. */
export function newObjectVersionId(): string {
  return randomHex(16);
}

/** Whether `text` can name a version: one this store makes, or `null`. */
export function isObjectVersionId(text: string): boolean {
  return text === NULL_VERSION_ID || VERSION_ID.test(text);
}

/** A version's S3 id: `null` for the null version. */
export function versionIdOf(version: { readonly versionId?: string }): string {
  return version.versionId ?? NULL_VERSION_ID;
}

/**
 * How a write changes the versions of its key.
 *   put     a new version; in a suspended bucket it is the null version and replaces the old one.
 *   marker  a delete marker as the new current version (DeleteObject without a version id).
 *   remove  one version goes for good (DeleteObject with a version id).
 *   retag   one version's tags are replaced (PutObjectTagging, DeleteObjectTagging); without a version
 *           id, the current version's. Its modification time stays.
 *   protect one version's retention and legal hold are set (PutObjectRetention, PutObjectLegalHold).
 *   reacl   one version's ACL is replaced (PutObjectAcl); its modification time stays.
 * Removing a version (or replacing the null version) under object lock is refused (core/object-lock.ts);
 * `bypassGovernance`: the request bypasses GOVERNANCE retention and its user is allowed to.
 * `rechunked`: the key's current version, stamped at `clock`, whose body is in its record, has been
 * copied into these chunks; used when that version is kept (see the refusal `InlineBody`).
 */
export type VersionedWrite =
  | { readonly type: 'put'; readonly mode: BucketVersioning; readonly versionId: string; readonly rechunked?: Rechunked }
  | { readonly type: 'marker'; readonly mode: BucketVersioning; readonly versionId: string; readonly rechunked?: Rechunked }
  | {
      readonly type: 'remove';
      readonly versionId: string;
      readonly bypassGovernance?: boolean;
      /** Only while the version is an older one (lifecycle judged it so): a version current again stays. */
      readonly onlyIfNoncurrent?: boolean;
      readonly rechunked?: Rechunked;
    }
  | { readonly type: 'retag'; readonly versionId?: string; readonly tags: Tags; readonly rechunked?: Rechunked }
  | { readonly type: 'reacl'; readonly versionId?: string; readonly acl: ObjectAcl; readonly rechunked?: Rechunked }
  | {
      readonly type: 'protect';
      readonly versionId?: string;
      /** New retention; null removes it; absent leaves it. */
      readonly retention?: Retention | null;
      /** New legal hold; absent leaves it. */
      readonly legalHold?: boolean;
      readonly bypassGovernance?: boolean;
      readonly rechunked?: Rechunked;
    };

export interface Rechunked {
  readonly clock: Hlc;
  readonly layout: ChunkLayout;
}

export type VersionedOutcome =
  /** The record to write; `deleted` when no version is left (it is written as a tombstone). */
  | { readonly ok: true; readonly record: RecordFields; readonly deleted: boolean }
  /** `remove` or `retag` of a version the key does not have (or of a delete marker's tags). */
  | { readonly ok: false; readonly code: 'NoSuchVersion' }
  /**
   * The current version keeps its body in its record and would be kept by this write: the writer must
   * copy it into chunks and send the write again with `rechunked`.
   */
  | { readonly ok: false; readonly code: 'InlineBody'; readonly clock: Hlc }
  /** The write would remove a version, or loosen its retention, against its object lock. */
  | { readonly ok: false; readonly code: 'ObjectLocked'; readonly reason: string }
  /** The key keeps as many versions as one record may hold: older ones must go first. */
  | { readonly ok: false; readonly code: 'TooManyVersions'; readonly reason: string };

/** A record as a write proposes it; the coordinator adds the clock, modification time and ring checksum. */
export type RecordFields = Omit<ObjectMeta, 'clock' | 'lastModifiedMs' | 'ringChecksum' | 'deleted'> & { readonly lastModifiedMs?: number };

/** The versions a record holds, newest (current) first; none for a tombstone or no record. */
export function versionsOf(record: ObjectMeta | undefined): VersionFields[] {
  if (record === undefined || record.deleted) return [];
  return [currentVersionOf(record), ...(record.noncurrent ?? [])];
}

/** The record's current version, without what belongs to the record. */
function currentVersionOf(record: ObjectMeta): VersionFields {
  const { bucket: _b, key: _k, clock: _c, ringChecksum: _r, deleted: _d, writeId: _w, noncurrent: _n, ...version } = record;
  return version;
}

/** The version `versionId` of a record, as a record of its own for a reader; undefined when absent. */
export function findVersion(record: ObjectMeta | undefined, versionId: string): { readonly meta: ObjectMeta; readonly current: boolean } | undefined {
  const versions = versionsOf(record);
  const index = versions.findIndex((version) => versionIdOf(version) === versionId);
  if (index < 0) return undefined;
  if (index === 0) return { meta: record!, current: true };
  // Only what belongs to the record comes from it: every field of the version is the version's own.
  const { bucket, key, clock, ringChecksum, deleted } = record!;
  return { meta: { bucket, key, clock, ringChecksum, deleted, ...versions[index]! }, current: false };
}

/**
 * The record a versioned write makes of `head` (the key's newest record on its replicas). `written`: the
 * new version's fields for a put (ignored otherwise).
 */
export function applyVersionedWrite(
  head: ObjectMeta | undefined,
  target: { readonly bucket: string; readonly key: string },
  write: VersionedWrite,
  written: VersionFields | undefined,
  nowMs: number,
): VersionedOutcome {
  let versions = versionsOf(head);
  const inline = head !== undefined && carriesBody(head);
  let dropped = new Set<number>();
  let added: VersionFields | undefined;
  switch (write.type) {
    case 'put':
    case 'marker': {
      const fields = write.type === 'put' ? written ?? emptyVersion() : emptyVersion();
      const { versionId: _v, deleteMarker: _m, ...plain } = fields;
      added = {
        ...plain,
        ...(write.type === 'marker' ? { deleteMarker: true as const } : {}),
        ...(write.mode === 'Enabled' ? { versionId: write.versionId } : {}),
      };
      // A suspended bucket has one null version at most: the new one replaces it.
      if (write.mode === 'Suspended') dropped = indexesWhere(versions, (version) => version.versionId === undefined);
      break;
    }
    case 'remove': {
      const index = versions.findIndex((version) => versionIdOf(version) === write.versionId);
      if (index < 0 || (index === 0 && write.onlyIfNoncurrent === true)) return { ok: false, code: 'NoSuchVersion' };
      dropped = new Set([index]);
      break;
    }
    case 'retag':
    case 'reacl':
    case 'protect': {
      const index = write.versionId === undefined ? 0 : versions.findIndex((version) => versionIdOf(version) === write.versionId);
      const version = versions[index];
      if (version === undefined || version.deleteMarker) return { ok: false, code: 'NoSuchVersion' };
      const changed = write.type === 'retag' ? retagged(version, write.tags) : write.type === 'reacl' ? { ...version, acl: write.acl } : protectedVersion(version, write, nowMs);
      if ('reason' in changed) return { ok: false, code: 'ObjectLocked', reason: changed.reason };
      versions[index] = changed;
      break;
    }
  }
  for (const index of dropped) {
    const reason = removalBlocker(versions[index]!, nowMs, write.type === 'remove' && write.bypassGovernance === true);
    if (reason !== undefined) return { ok: false, code: 'ObjectLocked', reason };
  }
  if (inline && !dropped.has(0)) {
    if (write.rechunked === undefined || compareHlc(write.rechunked.clock, head.clock) !== 0) return { ok: false, code: 'InlineBody', clock: head.clock };
    versions[0] = { ...versions[0]!, chunks: write.rechunked.layout };
  }
  versions = versions.filter((_, index) => !dropped.has(index));
  if (added !== undefined) {
    versions.unshift(added);
    const full = recordFullness(versions);
    if (full !== undefined) return { ok: false, code: 'TooManyVersions', reason: full };
  }
  const [current, ...older] = versions;
  if (current === undefined) return { ok: true, record: stamped({ ...target, ...emptyVersion() }), deleted: true };
  const record = { ...target, ...current, ...(older.length > 0 ? { noncurrent: older } : {}) };
  // A new version is modified when it is stamped; one that stays current keeps its time.
  return { ok: true, record: current === added ? stamped(record) : record, deleted: false };
}

function stamped(record: RecordFields): RecordFields {
  const { lastModifiedMs: _modified, ...rest } = record;
  return rest;
}

/** The most versions one key keeps: all travel in its record, which every write of the key rewrites. */
export const MAX_VERSIONS_PER_KEY = 1_000;
/** What a record may take, roughly, well within what one cluster message carries. */
const MAX_RECORD_BYTES = 8 * 1024 * 1024;

/** Why a record of these versions would be too large (undefined when it is not). */
function recordFullness(versions: readonly VersionFields[]): string | undefined {
  if (versions.length > MAX_VERSIONS_PER_KEY) return `a key keeps at most ${MAX_VERSIONS_PER_KEY} versions`;
  let bytes = 0;
  for (const version of versions) {
    bytes += 256 + userMetaSizeBytes(version.userMeta ?? {}) + 48 * ((version.multipart?.parts.length ?? 0) + (version.chunks?.chunkSizesBytes.length ?? 0));
  }
  return bytes > MAX_RECORD_BYTES ? `the key's versions take about ${bytes} bytes of metadata, more than one record holds (${MAX_RECORD_BYTES})` : undefined;
}

function retagged(version: VersionFields, tags: Tags): VersionFields {
  const { tags: _old, ...untagged } = version;
  return Object.keys(tags).length === 0 ? untagged : { ...untagged, tags };
}

function protectedVersion(version: VersionFields, write: Extract<VersionedWrite, { type: 'protect' }>, nowMs: number): VersionFields | { readonly reason: string } {
  const { retention: oldRetention, legalHold: oldHold, ...rest } = version;
  let retention = oldRetention;
  if (write.retention !== undefined) {
    const next = write.retention ?? undefined;
    const problem = retentionChangeProblem(oldRetention, next, nowMs, write.bypassGovernance === true);
    if (problem !== undefined) return { reason: problem };
    retention = next;
  }
  const legalHold = write.legalHold === undefined ? oldHold === true : write.legalHold;
  return { ...rest, ...(retention === undefined ? {} : { retention }), ...(legalHold ? { legalHold: true as const } : {}) };
}

function indexesWhere<T>(items: readonly T[], test: (item: T) => boolean): Set<number> {
  const found = new Set<number>();
  items.forEach((item, index) => {
    if (test(item)) found.add(index);
  });
  return found;
}

function emptyVersion(): VersionFields {
  return { sizeBytes: 0, etag: '', contentType: '', userMeta: {}, lastModifiedMs: 0 };
}

/** The chunk runs (by their write ids) that any version of a record stores its body in. */
export function chunkRunsOf(record: ObjectMeta | undefined): ReadonlySet<string> {
  const runs = new Set<string>();
  if (record === undefined) return runs;
  for (const version of [record, ...(record.noncurrent ?? [])]) {
    for (const run of version.chunks?.runs ?? []) runs.add(run.versionId);
  }
  return runs;
}

/**
 * The chunk layouts of `loser` that `winner` does not use, one per version, for deleting: chunks shared
 * with the winner (a version kept, a version stamped again) are never among them.
 */
export function layoutsDroppedBy(loser: ObjectMeta, winner: ObjectMeta): ChunkLayout[] {
  const kept = chunkRunsOf(winner);
  // Chunks keyed by index alone (an earlier layout) are the same keys for every version that has one.
  const keepsIndexKeyed = [winner, ...(winner.noncurrent ?? [])].some((version) => version.chunks !== undefined && version.chunks.runs === undefined);
  const dropped: ChunkLayout[] = [];
  for (const version of [loser, ...(loser.noncurrent ?? [])]) {
    const layout = version.chunks;
    if (layout === undefined) continue;
    if (layout.runs === undefined) {
      if (!keepsIndexKeyed) dropped.push(layout);
      continue;
    }
    if (layout.runs.some((run) => kept.has(run.versionId))) continue;
    dropped.push(layout);
  }
  return dropped;
}

/** Checks the versioning fields of a record that arrived from outside. */
export function hasValidVersions(meta: {
  readonly versionId?: unknown;
  readonly deleteMarker?: unknown;
  readonly noncurrent?: unknown;
  readonly tags?: unknown;
  readonly retention?: unknown;
  readonly legalHold?: unknown;
  readonly acl?: unknown;
}): boolean {
  if (meta.tags !== undefined && !isTags(meta.tags, MAX_OBJECT_TAGS)) return false;
  if (meta.acl !== undefined && !isObjectAcl(meta.acl)) return false;
  if (!hasValidLock(meta)) return false;
  if (meta.versionId !== undefined && (typeof meta.versionId !== 'string' || !VERSION_ID.test(meta.versionId))) return false;
  if (meta.deleteMarker !== undefined && meta.deleteMarker !== true) return false;
  if (meta.noncurrent === undefined) return true;
  return Array.isArray(meta.noncurrent) && meta.noncurrent.every(isVersionFields);
}

function isVersionFields(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const version = value as Record<string, unknown>;
  return (
    typeof version['sizeBytes'] === 'number' &&
    typeof version['etag'] === 'string' &&
    typeof version['lastModifiedMs'] === 'number' &&
    version['noncurrent'] === undefined &&
    hasValidVersions(version)
  );
}

/** Checks a versioned write that arrived from another node. */
export function isVersionedWrite(value: unknown): value is VersionedWrite {
  if (typeof value !== 'object' || value === null) return false;
  const write = value as Record<string, unknown>;
  const { type, mode, versionId, rechunked } = write;
  if (rechunked !== undefined && !isRechunked(rechunked)) return false;
  const optionalId = versionId === undefined || (typeof versionId === 'string' && isObjectVersionId(versionId));
  const { bypassGovernance } = write;
  if (bypassGovernance !== undefined && typeof bypassGovernance !== 'boolean') return false;
  if (type === 'retag') return mode === undefined && optionalId && isTags(write['tags'], MAX_OBJECT_TAGS);
  if (type === 'reacl') return mode === undefined && optionalId && isObjectAcl(write['acl']);
  if (type === 'protect') {
    const { retention, legalHold } = write;
    return mode === undefined && optionalId && (retention === undefined || retention === null || isRetention(retention)) &&
      (legalHold === undefined || typeof legalHold === 'boolean');
  }
  if (typeof versionId !== 'string' || !isObjectVersionId(versionId)) return false;
  if (type === 'remove') return mode === undefined && (write['onlyIfNoncurrent'] === undefined || typeof write['onlyIfNoncurrent'] === 'boolean');
  if (type !== 'put' && type !== 'marker') return false;
  if (mode === 'Suspended') return versionId === NULL_VERSION_ID;
  return mode === 'Enabled' && versionId !== NULL_VERSION_ID;
}

function isRechunked(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { clock, layout } = value as Record<string, unknown>;
  if (!isHlc(clock) || typeof layout !== 'object' || layout === null) return false;
  const { chunkSizesBytes, runs } = layout as Record<string, unknown>;
  return Array.isArray(chunkSizesBytes) && chunkSizesBytes.every((size) => typeof size === 'number') && Array.isArray(runs);
}
