/**
 * The NFS gateway's writes to the store, on the S3 handlers' own paths: bodies are hashed and cut into
 * chunks by body-writer.ts as they stream (bounded memory whatever the size), records are written by
 * object-records.ts (versioning honoured), and what a write replaced is retired as after a PutObject.
 * An object written here reads back over S3 byte for byte, and the other way round.
 */
import { newVersionId } from '../../../core/chunk-layout.js';
import type { ObjectMeta } from '../../../core/object-meta.js';
import type { ObjectFields } from '../../../protocol/cluster/storage-api.js';
import { deleteChunks } from '../../common/chunk-deletion.js';
import { writeAclOf } from '../acl-requests.js';
import { readBody } from '../body-reader.js';
import { recordBody, writeBody } from '../body-writer.js';
import { hashing } from '../handlers/copy-object.js';
import { afterRecordWrite, recordMayLand } from '../handlers/put-object.js';
import { keepsBodiesInline, writeObjectRecord } from '../object-records.js';
import { currentObject } from '../object-versions.js';
import { bodyDecryptor, readDataKey } from '../server-side-encryption.js';
import { expectOk } from '../storage-errors.js';
import type { Scope } from './nfs-scope.js';
import type { FileStore } from './open-files.js';

const CONTENT_TYPE = 'application/octet-stream';

/** Stores `sizeBytes` bytes from `pieces` as the current version of `key`, with `userMeta`. */
export async function storeObject(scope: Scope, key: string, sizeBytes: number, pieces: AsyncIterable<Buffer>, userMeta: Readonly<Record<string, string>>): Promise<ObjectMeta> {
  const deps = scope.gateway;
  const bucket = scope.bucket.name;
  const versionId = newVersionId();
  const hashes = deps.digests.hashesFor({ sha256: false, checksum: undefined }, sizeBytes);
  let stored;
  try {
    stored = await writeBody({ ...deps, memory: scope.memory }, { bucket, key, versionId }, hashing(pieces, hashes), {
      chunkSizeBytes: deps.config.chunkSizeBytes,
      maxChunksInFlight: deps.config.maxChunksInFlight,
      expectedBytes: sizeBytes,
      allowInline: keepsBodiesInline(scope.bucket),
    });
  } catch (error) {
    hashes.abandon();
    throw error;
  }
  let committed = false;
  let mayLand = false;
  try {
    const digests = await hashes.digests();
    const fields: ObjectFields = {
      bucket,
      key,
      sizeBytes: stored.sizeBytes,
      etag: digests.md5.toString('hex'),
      contentType: CONTENT_TYPE,
      userMeta,
      ...(stored.layout === undefined ? {} : { chunks: stored.layout }),
      acl: writeAclOf(deps.authView, {}, scope.bucket, scope.user.userId),
    };
    const result = await writeObjectRecord(deps, scope.bucket, fields, recordBody(stored), undefined);
    mayLand = recordMayLand(result);
    const { meta, replaced } = expectOk(result);
    committed = true;
    afterRecordWrite(deps, replaced, meta, stored.inline);
    return meta;
  } finally {
    if (!committed && !mayLand) await deleteChunks(deps, bucket, key, stored.layout);
  }
}

/** An empty object (a new file, a truncated one, a directory's marker). */
export function storeEmpty(scope: Scope, key: string, userMeta: Readonly<Record<string, string>>): Promise<ObjectMeta> {
  return storeObject(scope, key, 0, (async function* () {})(), userMeta);
}

/** The fields a record is written with again, without what the coordinator stamps. */
function fieldsOf(meta: ObjectMeta): ObjectFields {
  const { clock: _clock, ringChecksum: _ring, deleted: _deleted, lastModifiedMs: _modified, versionId: _version, deleteMarker: _marker, noncurrent: _noncurrent, ...fields } = meta;
  return fields;
}

/**
 * Writes `meta`'s record again with other user metadata: a chunked body keeps its chunks (the new record
 * names the same ones, so nothing is retired), a body in the record is sent again.
 */
export async function rewriteMetadata(scope: Scope, meta: ObjectMeta, userMeta: Readonly<Record<string, string>>): Promise<ObjectMeta> {
  const deps = scope.gateway;
  let body: Uint8Array | undefined;
  let current = meta;
  if (meta.chunks === undefined && meta.sizeBytes > 0) {
    const got = expectOk(await deps.storage.get('object', scope.bucket.name, meta.key, { withBody: true }));
    current = got.meta;
    body = got.body;
  } else if (meta.sizeBytes === 0) {
    body = new Uint8Array(0);
  }
  const result = await writeObjectRecord(deps, scope.bucket, { ...fieldsOf(current), userMeta }, body, undefined);
  const { meta: written, replaced } = expectOk(result);
  afterRecordWrite(deps, replaced, written, current.chunks === undefined ? body : undefined);
  return written;
}

/** The bytes of `meta` (its current version) from `start` to `end` inclusive, read as a ranged GET reads them. */
export function readObjectRange(scope: Scope, meta: ObjectMeta, inline: Uint8Array | undefined, start: number, end: number): AsyncGenerator<Buffer> {
  const deps = scope.gateway;
  const { dataKey } = readDataKey(deps, meta.encryption, {});
  const decrypt = bodyDecryptor(meta, dataKey);
  return readBody({ storage: deps.storage, memory: scope.memory, meta, inline, ...(decrypt === undefined ? {} : { decrypt }) }, { start, end }, deps.config);
}

/** Copies the current version of `from` to `to` (a rename's first half); undefined when `from` is gone. */
export async function copyObject(scope: Scope, from: string, to: string): Promise<ObjectMeta | undefined> {
  const deps = scope.gateway;
  const meta = await currentObject(deps, scope.bucket.name, from);
  if (meta === undefined) return undefined;
  if (meta.chunks === undefined && meta.encryption === undefined) {
    const got = expectOk(await deps.storage.get('object', scope.bucket.name, from, { withBody: true }));
    const body = got.body ?? new Uint8Array(0);
    const result = await writeObjectRecord(deps, scope.bucket, { ...fieldsOf(got.meta), key: to }, body, undefined);
    const { meta: written, replaced } = expectOk(result);
    afterRecordWrite(deps, replaced, written, body);
    return written;
  }
  const pieces = meta.sizeBytes === 0 ? (async function* () {})() : readObjectRange(scope, meta, undefined, 0, meta.sizeBytes - 1);
  return storeObject(scope, to, meta.sizeBytes, pieces, meta.userMeta);
}

/** The bucket of `scope` as open files store into it and read from it. */
export function fileStoreOf(scope: Scope): FileStore {
  return {
    bucketTag: scope.bucketTag,
    store: (key, sizeBytes, pieces, userMeta) => storeObject(scope, key, sizeBytes, pieces, userMeta),
    read: (meta, start, end) => readObjectRange(scope, meta, undefined, start, end),
  };
}
