/**
 * The NFS gateway's writes to the store, on the S3 PutObject's own path (object-writes.ts): bodies are
 * encrypted as the bucket says, hashed and cut into chunks as they stream (bounded memory whatever the
 * size), records written with versioning and the bucket's default retention, and what a write replaced
 * is retired as after a PutObject.
 * An object written here reads back over S3 byte for byte, and the other way round.
 */
import type { ObjectMeta } from '../../../core/object-meta.js';
import type { WriteCondition } from '../../../core/write-condition.js';
import { writeAclOf } from '../acl-requests.js';
import { readBody } from '../body-reader.js';
import { hashing } from '../handlers/copy-object.js';
import { requestedLock } from '../handlers/object-lock.js';
import { descriptiveFieldsOf, storedChecksum, toMetaAlgorithm } from '../object-headers.js';
import { currentObject } from '../object-versions.js';
import { writeNewObject } from '../object-writes.js';
import { bodyDecryptor, encryptionForWrite, readDataKey, type RequestedEncryption, type WriteEncryption } from '../server-side-encryption.js';
import { expectOk } from '../storage-errors.js';
import { NfsError } from './nfs-errors.js';
import type { Scope } from './nfs-scope.js';
import type { FileStore } from './open-files.js';

const CONTENT_TYPE = 'application/octet-stream';

/**
 * The encryption of a stored file: the bucket's default, else the kind the object had (SSE-S3, or
 * SSE-KMS with its key), so that an append or a rename never stores an encrypted object decrypted.
 */
function encryptionOf(scope: Scope, template: ObjectMeta | undefined): WriteEncryption | undefined {
  const had = template?.encryption;
  const requested: RequestedEncryption | undefined =
    had === undefined || had.mode === 'SSE-C' || scope.bucket.defaultEncryption !== undefined ? undefined
      : had.mode === 'SSE-S3' ? { mode: 'SSE-S3' } : { mode: 'SSE-KMS', keyId: had.keyId };
  return encryptionForWrite(scope.gateway, scope.bucket, requested);
}

/**
 * Stores `sizeBytes` bytes from `pieces` as a new current version of `key`, with `userMeta`, through
 * the S3 PUT's own path (object-writes.ts): the bucket's default encryption and retention apply. A file
 * that was an object before (`template`: the version it was opened from, or a rename's source) keeps
 * what S3 CopyObject keeps of it: content type and the other descriptive fields, tags, ACL, a
 * full-object checksum (recomputed), and its encryption.
 */
export async function storeObject(
  scope: Scope,
  key: string,
  sizeBytes: number,
  pieces: AsyncIterable<Buffer>,
  userMeta: Readonly<Record<string, string>>,
  template?: ObjectMeta,
  condition?: WriteCondition,
): Promise<ObjectMeta> {
  const deps = scope.gateway;
  const carried = storedChecksum(template?.checksums);
  const algorithm = carried !== undefined && !carried.value.includes('-') ? carried.algorithm : undefined;
  const encryption = encryptionOf(scope, template);
  const hashes = deps.digests.hashesFor({ sha256: false, checksum: algorithm }, sizeBytes);
  const { written } = await writeNewObject(deps, scope.memory, {
    bucket: scope.bucket.name,
    key,
    bucketRecord: scope.bucket,
    pieces: hashing(pieces, hashes),
    expectedBytes: sizeBytes,
    encryption,
    description: {
      ...(template === undefined ? { contentType: CONTENT_TYPE } : descriptiveFieldsOf(template)),
      userMeta,
      ...(template?.tags === undefined ? {} : { tags: template.tags }),
      acl: template?.acl ?? writeAclOf(deps.authView, {}, scope.bucket, scope.user.userId),
      ...requestedLock({}, scope.bucket, deps.clock.now()),
    },
    condition,
    finish: async () => {
      const digests = await hashes.digests();
      return {
        md5Hex: digests.md5.toString('hex'),
        ...(algorithm === undefined || digests.checksum === undefined ? {} : { checksums: { [toMetaAlgorithm(algorithm)]: digests.checksum.toString('base64') } }),
      };
    },
    abandon: () => hashes.abandon(),
  });
  return written;
}

/** An empty object (a new file, a truncated one, a directory's marker). */
export function storeEmpty(scope: Scope, key: string, userMeta: Readonly<Record<string, string>>, template?: ObjectMeta, condition?: WriteCondition): Promise<ObjectMeta> {
  return storeObject(scope, key, 0, (async function* () {})(), userMeta, template, condition);
}

/**
 * Stores `meta`'s bytes again as a new version with other user metadata. The bytes are written anew,
 * never the old chunks named again, and only while `meta` is still the current version: an S3 write in
 * between retires those chunks, and the change answers NFS3ERR_JUKEBOX for the client to try again.
 */
export async function rewriteMetadata(scope: Scope, meta: ObjectMeta, userMeta: Readonly<Record<string, string>>): Promise<ObjectMeta> {
  try {
    return await storeObject(scope, meta.key, meta.sizeBytes, readObjectRange(scope, meta, undefined, 0, meta.sizeBytes - 1), userMeta, meta, { ifMatch: meta.etag });
  } catch (error) {
    const now = await currentObject(scope.gateway, scope.bucket.name, meta.key).catch(() => undefined);
    if (now?.etag !== meta.etag || now.versionId !== meta.versionId) throw new NfsError('NFS3ERR_JUKEBOX', 'the object changed while its attributes were set');
    throw error;
  }
}

/**
 * The bytes of `meta` (its current version) from `start` to `end` inclusive, read as a ranged GET reads
 * them; a body kept in its record is fetched when not given (NFS3ERR_JUKEBOX if the version changed).
 */
export async function* readObjectRange(scope: Scope, meta: ObjectMeta, inline: Uint8Array | undefined, start: number, end: number): AsyncGenerator<Buffer> {
  if (end < start || meta.sizeBytes === 0) return;
  const deps = scope.gateway;
  let body = inline;
  if (meta.chunks === undefined && body === undefined) {
    const got = expectOk(await deps.storage.get('object', scope.bucket.name, meta.key, { withBody: true }));
    if (got.meta.etag !== meta.etag || got.body === undefined) throw new NfsError('NFS3ERR_JUKEBOX', 'the file changed while it was read');
    body = got.body;
  }
  const { dataKey } = readDataKey(deps, meta.encryption, {});
  const decrypt = bodyDecryptor(meta, dataKey);
  yield* readBody({ storage: deps.storage, memory: scope.memory, meta, inline: body, ...(decrypt === undefined ? {} : { decrypt }) }, { start, end }, deps.config);
}

/**
 * Copies the current version of `from` to `to` (a rename's first half), as S3 CopyObject with the COPY
 * directive does: new bytes under `to`, the source's fields kept; undefined when `from` is gone.
 */
export async function copyObject(scope: Scope, from: string, to: string): Promise<ObjectMeta | undefined> {
  const meta = await currentObject(scope.gateway, scope.bucket.name, from);
  if (meta === undefined) return undefined;
  return storeObject(scope, to, meta.sizeBytes, readObjectRange(scope, meta, undefined, 0, meta.sizeBytes - 1), meta.userMeta, meta);
}

/** The bucket of `scope` as open files store into it and read from it. */
export function fileStoreOf(scope: Scope): FileStore {
  return {
    bucketTag: scope.bucketTag,
    store: (key, sizeBytes, pieces, userMeta, template) => storeObject(scope, key, sizeBytes, pieces, userMeta, template),
    read: (meta, start, end) => readObjectRange(scope, meta, undefined, start, end),
  };
}
