/**
 * PostObject: an HTML form uploads a file straight from a browser. The form's fields come first and are
 * read whole (bounded); they carry the key, the object's headers and, for a signed form, the policy
 * and its signature (protocol/s3/post-policy.ts). The signer is authorized like any writer, then the
 * file part streams into the object's chunks as it arrives, held to the policy's size range on the way.
 * What follows the file is read and ignored, as S3 does.
 */
import { createHash } from 'node:crypto';
import { newVersionId } from '../../../core/chunk-layout.js';
import type { UserRecord } from '../../../core/auth-snapshot.js';
import { quoteEtag } from '../../../protocol/s3/checksums.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { FormDataReader, formBoundary } from '../../../protocol/s3/form-data.js';
import { getHeader, type HeaderBag } from '../../../protocol/s3/headers.js';
import { buildPostResponse } from '../../../protocol/s3/xml.js';
import { checkPostPolicy, parsePostPolicy, postSizeRange, verifyPostSignature, type FormFields, type PostPolicy } from '../../../protocol/s3/post-policy.js';
import type { ObjectFields } from '../../../protocol/cluster/storage-api.js';
import { deleteChunks } from '../../common/chunk-deletion.js';
import { accessContext } from '../access-context.js';
import { authorizeAclOnWrite, authorizeAction } from '../authorization.js';
import { recordBody, writeBody } from '../body-writer.js';
import { descriptiveFields } from '../object-headers.js';
import { keepsBodiesInline, writeObjectRecord, writtenVersionHeaders } from '../object-records.js';
import { MAX_UPLOAD_BYTES, openBody } from '../request-body.js';
import { bucketOf, type OperationOf, type RequestContext } from '../request-context.js';
import { sendEmpty, sendXml } from '../responses.js';
import { expectOk } from '../storage-errors.js';
import { requestedLock } from './object-lock.js';
import { afterObjectWrite, checkWriteHeaders, encryptedIfAsked, recordMayLand } from './put-object.js';
import { encryptionForWrite, encryptionHeaders, etagFor, oneWriteEncryption, requestedEncryption } from '../server-side-encryption.js';
import { taggingDocumentTags } from './tagging.js';
import { writeAclOf } from '../acl-requests.js';

/** What the fields before the file may hold in all (S3 allows about 20 KB of them). */
const MAX_FIELD_BYTES = 64 * 1024;

/** Form fields that become the object's headers, under the header's name. */
const HEADER_FIELDS: ReadonlyMap<string, string> = new Map([
  ['content-type', 'content-type'], ['cache-control', 'cache-control'], ['content-disposition', 'content-disposition'],
  ['content-encoding', 'content-encoding'], ['content-language', 'content-language'], ['expires', 'expires'], ['acl', 'x-amz-acl'],
]);

export async function postObject(ctx: RequestContext, op: OperationOf<'PostObject'>): Promise<void> {
  const boundary = formBoundary(getHeader(ctx.headers, 'content-type'));
  if (boundary === undefined) {
    throw new S3Error('PreconditionFailed', 'Bucket POST must be of the enclosure-type multipart/form-data', { fields: { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' } });
  }
  const body = openBody(ctx, { requireLength: true, maxBytes: MAX_UPLOAD_BYTES + MAX_FIELD_BYTES, tooLarge: 'EntityTooLarge' });
  const form = new FormDataReader(body.pieces()[Symbol.asyncIterator](), boundary);
  try {
    await storeUpload(ctx, op, form, () => body.finish());
  } finally {
    // A refused upload stops reading mid-body; closing the source releases what reading holds.
    await form.close();
  }
}

async function storeUpload(ctx: RequestContext, op: OperationOf<'PostObject'>, form: FormDataReader, finishBody: () => Promise<unknown>): Promise<void> {
  const { deps } = ctx;
  const bucket = bucketOf(ctx);
  const { fields, file } = await readFieldsUpToFile(form);

  const policy = fields.has('policy') ? parsePostPolicy(fields.get('policy')!) : undefined;
  const user = signer(ctx, fields, policy);
  const filename = file.filename ?? '';
  const key = fields.get('key')?.replaceAll('${filename}', filename);
  if (key === undefined || key === '') {
    throw new S3Error('InvalidArgument', "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", { fields: { ArgumentName: 'key', ArgumentValue: '' } });
  }
  const judged = new Map(fields).set('key', key).set('bucket', fields.get('bucket') ?? op.bucket);
  if (policy !== undefined) checkPostPolicy(policy, judged, deps.clock.now());
  if (judged.get('bucket') !== op.bucket) throw new S3Error('AccessDenied', 'Invalid according to Policy: the form names another bucket.');

  const headers = objectHeaders(fields);
  const conditions = accessContext({ req: ctx.req, headers: { ...ctx.headers, ...headers }, query: new Map(), operation: op, auth: ctx.auth, user, nowMs: deps.clock.now() });
  authorizeAction(deps.authView, { user, conditions, log: ctx.log }, op.bucket, 's3:PutObject', key);
  checkWriteHeaders(headers);
  authorizeAclOnWrite({ user, conditions, log: ctx.log }, bucket, key, headers);
  const acl = writeAclOf(deps.authView, headers, bucket, user?.userId);
  const described = descriptiveFields(headers);
  const lock = requestedLock(headers, bucket, deps.clock.now());
  const encryption = encryptionForWrite(deps, bucket, requestedEncryption(headers));
  const tagging = fields.get('tagging');
  const tags = tagging === undefined ? undefined : taggingDocumentTags(tagging);

  const md5 = createHash('md5');
  const range = postSizeRange(policy);
  const versionId = newVersionId();
  const stored = await writeBody({ ...deps, memory: ctx.memory }, { bucket: op.bucket, key, versionId }, encryptedIfAsked(sizedFile(form.partBody(), range, md5), encryption, versionId), {
    chunkSizeBytes: deps.config.chunkSizeBytes,
    maxChunksInFlight: deps.config.maxChunksInFlight,
    expectedBytes: undefined,
    allowInline: keepsBodiesInline(bucket),
  });
  let committed = false;
  let mayLand = false;
  try {
    await form.drain();
    await finishBody();
    const objectFields: ObjectFields = {
      bucket: op.bucket,
      key,
      sizeBytes: stored.sizeBytes,
      etag: etagFor(encryption, md5.digest('hex')),
      ...described,
      ...(stored.layout === undefined ? {} : { chunks: stored.layout }),
      ...(tags === undefined ? {} : { tags }),
      ...(encryption === undefined ? {} : { encryption: oneWriteEncryption(encryption, versionId) }),
      acl,
      ...lock,
    };
    const result = await writeObjectRecord(deps, bucket, objectFields, recordBody(stored), undefined);
    mayLand = recordMayLand(result);
    const { meta: written, replaced } = expectOk(result);
    committed = true;
    afterObjectWrite(ctx, replaced, written, stored.inline);
    answer(ctx, fields, { bucket: op.bucket, key, etag: quoteEtag(written.etag), extraHeaders: { ...writtenVersionHeaders(written), ...encryptionHeaders(written.encryption, encryption?.keyMd5) } });
  } finally {
    if (!committed && !mayLand) await deleteChunks(deps, op.bucket, key, stored.layout);
  }
}

/** The fields up to the file part, and the file part's head; S3 ignores whatever follows the file. */
async function readFieldsUpToFile(form: FormDataReader): Promise<{ fields: Map<string, string>; file: { readonly filename?: string } }> {
  const fields = new Map<string, string>();
  let fieldBytes = 0;
  for (;;) {
    const part = await form.nextPart();
    if (part === undefined) throw new S3Error('IncorrectNumberOfFilesInPostRequest');
    if (part.name === 'file') return { fields, file: part };
    const value = await form.readValue(MAX_FIELD_BYTES - fieldBytes);
    fieldBytes += value.length + part.name.length;
    if (fieldBytes > MAX_FIELD_BYTES) throw new S3Error('MaxPostPreDataLengthExceededError');
    if (fields.has(part.name)) throw new S3Error('InvalidArgument', `The form field ${part.name} appears more than once.`);
    fields.set(part.name, value.toString('utf8'));
  }
}

/**
 * The user who signed the form, undefined for an unsigned one (then the bucket must let anyone write).
 * A policy without a signature, or a signature without a policy, is refused.
 */
function signer(ctx: RequestContext, fields: FormFields, policy: PostPolicy | undefined): UserRecord | undefined {
  const signed = fields.has('signature') || fields.has('x-amz-signature');
  if (policy === undefined) {
    if (signed || fields.has('awsaccesskeyid') || fields.has('x-amz-credential')) throw new S3Error('InvalidArgument', "Bucket POST must contain a field named 'policy'.", { fields: { ArgumentName: 'policy' } });
    return undefined;
  }
  const { accessKeyId } = verifyPostSignature(fields, (id) => ctx.deps.authView.secretOf(id));
  const user = ctx.deps.authView.userByAccessKey(accessKeyId);
  if (user === undefined) throw new S3Error('InvalidAccessKeyId');
  return user;
}

/** The object's headers from the form's fields: content headers, the ACL, x-amz-* (metadata, lock, storage class, encryption). */
function objectHeaders(fields: FormFields): HeaderBag {
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) {
    const header = HEADER_FIELDS.get(name) ?? (name.startsWith('x-amz-') && !isSignatureField(name) ? name : undefined);
    if (header !== undefined) headers[header] = value;
  }
  return headers;
}

function isSignatureField(name: string): boolean {
  return name === 'x-amz-signature' || name === 'x-amz-credential' || name === 'x-amz-algorithm' || name === 'x-amz-date' || name === 'x-amz-security-token';
}

/** The file's bytes, hashed on the way and held to the policy's content-length-range as they pass. */
async function* sizedFile(source: AsyncGenerator<Buffer>, range: { readonly min: number; readonly max: number } | undefined, md5: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const piece of source) {
    size += piece.length;
    if (size > (range?.max ?? MAX_UPLOAD_BYTES)) throw new S3Error('EntityTooLarge', undefined, { fields: { MaxSizeAllowed: String(range?.max ?? MAX_UPLOAD_BYTES), ProposedSize: String(size) } });
    md5.update(piece);
    yield piece;
  }
  if (range !== undefined && size < range.min) throw new S3Error('EntityTooSmall', undefined, { fields: { MinSizeAllowed: String(range.min), ProposedSize: String(size) } });
}

/**
 * S3's answer to a form upload: a redirect to success_action_redirect with the object named in its
 * query, else the status success_action_status asks for (201 with a PostResponse document, or 200),
 * else 204.
 */
function answer(ctx: RequestContext, fields: FormFields, object: { bucket: string; key: string; etag: string; extraHeaders: Record<string, string> }): void {
  const location = `${ctx.req.headers.host === undefined ? '' : `http://${ctx.req.headers.host}`}/${encodeURIComponent(object.bucket)}/${encodeURIComponent(object.key)}`;
  const headers = { ETag: object.etag, Location: location, ...object.extraHeaders };
  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (redirect !== undefined && /^https?:\/\//i.test(redirect)) {
    const query = `bucket=${encodeURIComponent(object.bucket)}&key=${encodeURIComponent(object.key)}&etag=${encodeURIComponent(object.etag)}`;
    sendEmpty(ctx, 303, { ...headers, Location: `${redirect}${redirect.includes('?') ? '&' : '?'}${query}` });
    return;
  }
  switch (fields.get('success_action_status')) {
    case '201':
      sendXml(ctx, 201, buildPostResponse({ location, bucket: object.bucket, key: object.key, etag: object.etag }), headers);
      return;
    case '200':
      sendEmpty(ctx, 200, headers);
      return;
    default:
      sendEmpty(ctx, 204, headers);
  }
}
