/**
 * PutObject: the request's headers decide the new object's fields, encryption and lock; its body is
 * written as every new object is (object-writes.ts): stored as it arrives, digests checked once it has
 * all arrived, and only then the record written, which is the moment it becomes visible.
 */
import type { ObjectMeta } from '../../../core/object-meta.js';
import type { WriteCondition } from '../../../core/write-condition.js';
import { quoteEtag } from '../../../protocol/s3/checksums.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { getHeader, parseStorageClass, type HeaderBag } from '../../../protocol/s3/headers.js';
import { checksumHeaders, descriptiveFields, toMetaAlgorithm } from '../object-headers.js';
import { writtenVersionHeaders } from '../object-records.js';
import { afterRecordWrite, writeNewObject } from '../object-writes.js';
import { requestedLock } from './object-lock.js';
import { writeAclOf } from '../acl-requests.js';
import { authorizeAclOnWrite } from '../authorization.js';
import { encryptionForWrite, encryptionHeaders, requestedEncryption } from '../server-side-encryption.js';
import { requestedTags } from './tagging.js';
import { MAX_UPLOAD_BYTES, openBody } from '../request-body.js';
import { bucketOf, type OperationOf, type RequestContext } from '../request-context.js';
import { sendEmpty } from '../responses.js';

export async function putObject(ctx: RequestContext, op: OperationOf<'PutObject'>): Promise<void> {
  const { deps, headers } = ctx;
  checkWriteHeaders(headers);
  authorizeAclOnWrite(ctx, bucketOf(ctx), op.key, headers);
  const acl = writeAclOf(deps.authView, headers, bucketOf(ctx), ctx.user?.userId);
  const described = descriptiveFields(headers);
  const tags = requestedTags(headers);
  const lock = requestedLock(headers, ctx.bucket, deps.clock.now());
  const encryption = encryptionForWrite(deps, ctx.bucket, requestedEncryption(headers));
  const body = openBody(ctx, { requireLength: true, maxBytes: MAX_UPLOAD_BYTES, tooLarge: 'EntityTooLarge' });

  const { written } = await writeNewObject(deps, ctx.memory, {
    bucket: op.bucket,
    key: op.key,
    bucketRecord: ctx.bucket,
    pieces: body.pieces(),
    unhashed: () => body.unhashedPieces(),
    expectedBytes: body.declaredBytes,
    encryption,
    description: { ...described, ...(tags === undefined ? {} : { tags }), acl, ...lock },
    condition: writeConditionOf(headers),
    finish: async () => {
      const digests = await body.finish();
      return {
        md5Hex: digests.md5Hex,
        ...(digests.checksum === undefined ? {} : { checksums: { [toMetaAlgorithm(digests.checksum.algorithm)]: digests.checksum.base64 } }),
      };
    },
  });
  sendEmpty(ctx, 200, {
    ETag: quoteEtag(written.etag), ...checksumHeaders(written.checksums), ...writtenVersionHeaders(written), ...encryptionHeaders(written.encryption, encryption?.keyMd5),
  });
}

export { afterRecordWrite, encryptedIfAsked, recordMayLand } from '../object-writes.js';

/** What every write of an object's record is followed by: the cache learns, the replaced version goes. */
export function afterObjectWrite(ctx: RequestContext, replaced: ObjectMeta | undefined, written: ObjectMeta, inline: Uint8Array | undefined): void {
  afterRecordWrite(ctx.deps, replaced, written, inline);
}


/**
 * Headers of a write this store cannot honour are refused before any byte is stored (object lock
 * headers are judged by object-lock.ts, ACLs by acl-requests.ts, against the bucket).
 */
export function checkWriteHeaders(headers: HeaderBag): void {
  const storageClass = parseStorageClass(headers);
  if (!storageClass.ok) throw storageClass.error;
  for (const name of Object.keys(headers)) {
    const refusal = UNHONOURED_WRITE_HEADERS.find(([pattern]) => pattern.test(name));
    if (refusal) throw refusal[1](name);
  }
}


/** Write headers of features this store does not have, with the answer S3 gives where it has one. */
const UNHONOURED_WRITE_HEADERS: ReadonlyArray<readonly [RegExp, (header: string) => S3Error]> = [
  [/^x-amz-website-redirect-location$/, (header) => new S3Error('NotImplemented', 'Website redirects are not supported.', { fields: { Header: header } })],
];

/** If-Match and If-None-Match of a write, for the storage cluster to decide atomically. */
export function writeConditionOf(headers: HeaderBag): WriteCondition | undefined {
  const ifMatch = getHeader(headers, 'if-match');
  const ifNoneMatch = getHeader(headers, 'if-none-match');
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return { ...(ifMatch === undefined ? {} : { ifMatch }), ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }) };
}
