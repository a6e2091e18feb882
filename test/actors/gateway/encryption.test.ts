import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteBucketEncryptionCommand, GetBucketEncryptionCommand,
  GetObjectCommand, HeadObjectCommand, PutBucketEncryptionCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { namespaceOf } from '../../../src/core/bucket-namespace.js';
import { chunkKeysOf } from '../../../src/core/chunk-layout.js';
import type { MasterKeys } from '../../../src/core/object-encryption.js';
import { bodyOf, eventually, failure, MiB, pattern, signedRequest, startHarness, xmlValue, type Harness } from '../../support/gateway-harness.js';

const BUCKET = 'vault';
const CUSTOMER_KEY = randomBytes(32);
const OTHER_KEY = randomBytes(32);
const sseC = (key = CUSTOMER_KEY) => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64') });

function masterKeys(current: string, ...ids: string[]): MasterKeys {
  return { current, keys: new Map([current, ...ids].map((id) => [id, Buffer.alloc(32, id.charCodeAt(id.length - 1))])) };
}

describe('actors/gateway server-side encryption', function () {
  this.timeout(60_000);
  let h: Harness;
  let alice: S3Client;

  /** Every stored byte of the object's body, as the storage nodes hold it. */
  async function storedBytes(key: string): Promise<Buffer> {
    const namespace = namespaceOf(h.view.bucket(BUCKET)!);
    const record = await h.storage.get('object', namespace, key, { withBody: true });
    if (!record.ok) throw new Error(record.code);
    if (record.meta.chunks === undefined) return Buffer.from(record.body ?? []);
    const parts: Buffer[] = [];
    for (const chunk of chunkKeysOf(key, record.meta.chunks)) {
      const stored = await h.storage.get('chunk', namespace, chunk, { withBody: true });
      if (!stored.ok) throw new Error(stored.code);
      parts.push(Buffer.from(stored.body!));
    }
    return Buffer.concat(parts);
  }

  beforeEach(async () => {
    h = await startHarness({ masterKeys: masterKeys('k1') });
    h.admin.addBucket(BUCKET, 'alice');
    alice = h.client('alice');
  });

  afterEach(async () => {
    await h.close();
  });

  it('stores an SSE-C object as ciphertext and gives it back only with its key, ranges too', async () => {
    const body = pattern(6 * MiB + 123, 3);
    const put = await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'secret', Body: body, ...sseC() }));
    expect(put.SSECustomerAlgorithm).to.equal('AES256');
    // The ETag of an SSE-C object is not its plaintext's MD5, which a listing would show to anyone listing.
    expect(put.ETag).to.not.equal(`"${createHash('md5').update(body).digest('hex')}"`);
    const stored = await storedBytes('secret');
    expect(stored.length).to.equal(body.length);
    expect(stored.equals(body)).to.equal(false);
    expect(stored.subarray(0, 4096).equals(body.subarray(0, 4096))).to.equal(false);

    const got = await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'secret', ...sseC() }));
    expect((await bodyOf(got)).equals(body)).to.equal(true);
    expect(got.SSECustomerKeyMD5).to.be.a('string');
    const across = await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'secret', Range: `bytes=${5 * MiB - 7}-${5 * MiB + 9}`, ...sseC() }));
    expect((await bodyOf(across)).equals(body.subarray(5 * MiB - 7, 5 * MiB + 10))).to.equal(true);

    expect(await failure(alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'secret' })))).to.deep.equal({ name: 'InvalidRequest', status: 400 });
    expect(await failure(alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'secret', ...sseC(OTHER_KEY) })))).to.deep.equal({ name: 'InvalidRequest', status: 400 });
    expect(await failure(alice.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'secret' })))).to.deep.include({ status: 400 });
    expect((await alice.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'secret', ...sseC() }))).ContentLength).to.equal(body.length);
  });

  it('refuses malformed customer keys and KMS, and SSE-S3 where no master key is configured', async () => {
    const put = (headers: Record<string, string>) => signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}/k`, headers, body: 'x' });
    const key = CUSTOMER_KEY.toString('base64');
    const cases: Array<[Record<string, string>, number, string]> = [
      [{ 'x-amz-server-side-encryption-customer-key': key, 'x-amz-server-side-encryption-customer-key-md5': 'AAAAAAAAAAAAAAAAAAAAAA==' }, 400, 'InvalidArgument'],
      [{ 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }, 400, 'InvalidArgument'],
      [{ 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': key, 'x-amz-server-side-encryption-customer-key-md5': 'AAAAAAAAAAAAAAAAAAAAAA==' }, 400, 'InvalidArgument'],
      [{ 'x-amz-server-side-encryption-customer-algorithm': 'AES128', 'x-amz-server-side-encryption-customer-key': key }, 400, 'InvalidEncryptionAlgorithmError'],
      [{ 'x-amz-server-side-encryption': 'aws:kms:dsse' }, 501, 'NotImplemented'],
      [{ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'no-such-key' }, 400, 'KMS.NotFoundException'],
      [{ 'x-amz-server-side-encryption-aws-kms-key-id': 'k1' }, 400, 'InvalidArgument'],
      [{ 'x-amz-server-side-encryption': 'ROT13' }, 400, 'InvalidArgument'],
    ];
    for (const [headers, status, code] of cases) {
      const answer = await put(headers);
      expect([answer.status, xmlValue(answer.text, 'Code')], JSON.stringify(headers)).to.deep.equal([status, code]);
    }
    const plain = await startHarness();
    try {
      plain.admin.addBucket(BUCKET, 'alice');
      expect(await failure(plain.client('alice').send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x', ServerSideEncryption: 'AES256' })))).to.deep.equal({ name: 'NotImplemented', status: 501 });
    } finally {
      await plain.close();
    }
  });

  it('encrypts with SSE-S3 on request or by the bucket default, and reads older master keys after a rotation', async () => {
    const put = await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'asked', Body: 'hello', ServerSideEncryption: 'AES256' }));
    expect(put.ServerSideEncryption).to.equal('AES256');
    expect(put.ETag).to.equal(`"${createHash('md5').update('hello').digest('hex')}"`);
    expect((await storedBytes('asked')).toString()).to.not.equal('hello');
    const got = await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'asked' }));
    expect([(await bodyOf(got)).toString(), got.ServerSideEncryption]).to.deep.equal(['hello', 'AES256']);
    const named = await signedRequest(h.endpoint, 'alice', { method: 'GET', path: `/${BUCKET}/asked`, headers: { 'x-amz-server-side-encryption': 'AES256' } });
    expect([named.status, xmlValue(named.text, 'Code')]).to.deep.equal([400, 'InvalidArgument']);

    expect(await failure(alice.send(new GetBucketEncryptionCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'ServerSideEncryptionConfigurationNotFoundError', status: 404 });
    await alice.send(new PutBucketEncryptionCommand({ Bucket: BUCKET, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
    expect((await alice.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).to.equal('AES256');
    expect((await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'default', Body: 'by default' }))).ServerSideEncryption).to.equal('AES256');
    expect(await failure(alice.send(new PutBucketEncryptionCommand({ Bucket: BUCKET, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'nope' } }] } })))).to.deep.equal({ name: 'KMS.NotFoundException', status: 400 });
    await alice.send(new DeleteBucketEncryptionCommand({ Bucket: BUCKET }));
    expect((await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'plain', Body: 'plain' }))).ServerSideEncryption).to.equal(undefined);

    // A gateway given a new current key still reads what the old one wrapped.
    const rotated = await startHarness({ storage: h.storage, masterKeys: masterKeys('k2', 'k1') });
    try {
      rotated.admin.addBucket(BUCKET, 'alice');
      rotated.view.install({ ...h.view.current!, revision: h.view.current!.revision + 10 });
      const old = await rotated.client('alice').send(new GetObjectCommand({ Bucket: BUCKET, Key: 'default' }));
      expect((await bodyOf(old)).toString()).to.equal('by default');
      const lost = await startHarness({ storage: h.storage, masterKeys: masterKeys('k9') });
      try {
        lost.view.install({ ...h.view.current!, revision: h.view.current!.revision + 10 });
        expect((await failure(lost.client('alice').send(new GetObjectCommand({ Bucket: BUCKET, Key: 'default' })))).status).to.equal(500);
      } finally {
        await lost.close();
      }
    } finally {
      await rotated.close();
    }
  });

  it('encrypts each part of an SSE-C multipart upload with the upload\'s key, and refuses a part with another', async () => {
    const created = await alice.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'big', ...sseC() }));
    const uploadId = created.UploadId!;
    const first = pattern(5 * MiB, 1);
    const second = pattern(2 * MiB + 5, 2);
    expect(await failure(alice.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'big', UploadId: uploadId, PartNumber: 1, Body: first, ...sseC(OTHER_KEY) })))).to.deep.include({ status: 400 });
    expect(await failure(alice.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'big', UploadId: uploadId, PartNumber: 1, Body: first })))).to.deep.include({ status: 400 });
    const p1 = await alice.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'big', UploadId: uploadId, PartNumber: 1, Body: first, ...sseC() }));
    const p2 = await alice.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'big', UploadId: uploadId, PartNumber: 2, Body: second, ...sseC() }));
    const parts = { Parts: [{ PartNumber: 1, ETag: p1.ETag! }, { PartNumber: 2, ETag: p2.ETag! }] };
    expect(await failure(alice.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'big', UploadId: uploadId, MultipartUpload: parts })))).to.deep.include({ status: 400 });
    await alice.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'big', UploadId: uploadId, MultipartUpload: parts, ...sseC() }));
    const whole = Buffer.concat([first, second]);
    expect((await storedBytes('big')).equals(whole)).to.equal(false);
    const got = await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big', ...sseC() }));
    expect((await bodyOf(got)).equals(whole)).to.equal(true);
    const part2 = await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big', PartNumber: 2, ...sseC() }));
    expect((await bodyOf(part2)).equals(second)).to.equal(true);
  });

  it('copies between encryptions, given the source\'s key', async () => {
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src', Body: 'copied secret', ...sseC() }));
    const source = { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: CUSTOMER_KEY.toString('base64') };
    expect(await failure(alice.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'dst', CopySource: `${BUCKET}/src` })))).to.deep.include({ status: 400 });
    const copied = await alice.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'dst', CopySource: `${BUCKET}/src`, ServerSideEncryption: 'AES256', ...source }));
    expect(copied.ServerSideEncryption).to.equal('AES256');
    expect((await bodyOf(await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dst' })))).toString()).to.equal('copied secret');
    await alice.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'plain-copy', CopySource: `${BUCKET}/src`, ...source }));
    expect((await storedBytes('plain-copy')).toString()).to.equal('copied secret');
    await alice.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'other-key', CopySource: `${BUCKET}/src`, ...source, ...sseC(OTHER_KEY) }));
    expect((await bodyOf(await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'other-key', ...sseC(OTHER_KEY) })))).toString()).to.equal('copied secret');
  });

  it('keeps small encrypted bodies in their record as ciphertext, cached and moved into chunks as they are', async () => {
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'small', Body: 'first words', ...sseC() }));
    expect((await storedBytes('small')).length).to.equal('first words'.length);
    expect((await storedBytes('small')).toString()).to.not.equal('first words');
    for (let i = 0; i < 2; i++) {
      // The second read is served from the gateway's cache, which holds what the record holds.
      expect((await bodyOf(await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small', ...sseC() })))).toString()).to.equal('first words');
    }
    expect(await failure(alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small', ...sseC(OTHER_KEY) })))).to.deep.equal({ name: 'InvalidRequest', status: 400 });
    // Versioning keeps the first body as the null version: it is moved, as it is, into a chunk.
    await alice.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    await eventually(() => h.view.bucket(BUCKET)?.versioning === 'Enabled');
    await alice.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'small', Body: 'second words', ServerSideEncryption: 'AES256' }));
    const older = await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small', VersionId: 'null', Range: 'bytes=6-10', ...sseC() }));
    expect((await bodyOf(older)).toString()).to.equal('words');
    expect((await bodyOf(await alice.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small' })))).toString()).to.equal('second words');
  });

  it('serves SSE-KMS from the master keys, each a KMS key named by its id', async () => {
    const kms = await startHarness({ masterKeys: masterKeys('k2', 'k1') });
    try {
      kms.admin.addBucket(BUCKET, 'alice');
      const client = kms.client('alice');
      const named = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'named', Body: 'under k1', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:us-east-1:000000000000:key/k1' }));
      expect([named.ServerSideEncryption, named.SSEKMSKeyId]).to.deep.equal(['aws:kms', 'k1']);
      const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'named' }));
      expect([(await bodyOf(got)).toString(), got.ServerSideEncryption, got.SSEKMSKeyId]).to.deep.equal(['under k1', 'aws:kms', 'k1']);
      expect((await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'current', Body: 'c', ServerSideEncryption: 'aws:kms' }))).SSEKMSKeyId).to.equal('k2');
      await client.send(new PutBucketEncryptionCommand({ Bucket: BUCKET, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'k1' } }] } }));
      const rule = (await client.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
      expect([rule?.SSEAlgorithm, rule?.KMSMasterKeyID]).to.deep.equal(['aws:kms', 'k1']);
      expect((await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'by-default', Body: 'd' }))).SSEKMSKeyId).to.equal('k1');
    } finally {
      await kms.close();
    }
  });
});
