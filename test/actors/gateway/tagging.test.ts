import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteBucketTaggingCommand, DeleteObjectTaggingCommand,
  GetBucketTaggingCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutBucketTaggingCommand,
  PutBucketVersioningCommand, PutObjectCommand, PutObjectTaggingCommand, UploadPartCommand, S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { bodyOf, failure, type Harness, startHarness } from '../../support/gateway-harness.js';

const BUCKET = 'labels';

describe('actors/gateway tagging', function () {
  this.timeout(60_000);
  let h: Harness;
  let s3: S3Client;

  beforeEach(async () => {
    h = await startHarness();
    h.admin.addBucket(BUCKET, 'alice');
    s3 = h.client('alice');
  });

  afterEach(async () => {
    await h.close();
  });

  async function tagsOf(key: string, versionId?: string): Promise<Record<string, string>> {
    const got = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
    return Object.fromEntries((got.TagSet ?? []).map((tag) => [tag.Key!, tag.Value!]));
  }

  it('takes tags on PUT, counts them on GET and HEAD, and replaces and removes them without touching the data', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'data', Tagging: 'project=x&team=a%20b' }));
    expect(await tagsOf('k')).to.deep.equal({ project: 'x', team: 'a b' });
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k' }))).TagCount).to.equal(2);
    const before = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k' }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: 'k', Tagging: { TagSet: [{ Key: 'only', Value: 'one' }] } }));
    expect(await tagsOf('k')).to.deep.equal({ only: 'one' });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }));
    expect([(await bodyOf(got)).toString(), got.TagCount, got.ETag]).to.deep.equal(['data', 1, before.ETag]);
    expect(got.LastModified?.getTime()).to.equal(before.LastModified?.getTime());
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: 'k' }));
    expect(await tagsOf('k')).to.deep.equal({});
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k' }))).TagCount).to.equal(undefined);
    expect(await failure(s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'missing' })))).to.deep.equal({ name: 'NoSuchKey', status: 404 });
    expect(await failure(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: 'missing', Tagging: { TagSet: [] } })))).to.deep.equal({ name: 'NoSuchKey', status: 404 });
  });

  it('refuses tag sets beyond S3\'s limits with InvalidTag, storing nothing', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&');
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x', Tagging: eleven })))).to.deep.equal({ name: 'InvalidTag', status: 400 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x', Tagging: `${'a'.repeat(129)}=v` })))).to.deep.equal({ name: 'InvalidTag', status: 400 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x', Tagging: `a=${'v'.repeat(257)}` })))).to.deep.equal({ name: 'InvalidTag', status: 400 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x', Tagging: 'a=1&a=2' })))).to.deep.equal({ name: 'InvalidTag', status: 400 });
    expect(h.storage.liveKeys('object', BUCKET)).to.deep.equal([]);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x', Tagging: `${'a'.repeat(128)}=${'v'.repeat(256)}` }));
    const ten = Array.from({ length: 10 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: 'k', Tagging: { TagSet: ten } }));
    expect(await failure(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: 'k', Tagging: { TagSet: [...ten, { Key: 'x', Value: 'y' }] } }))))
      .to.deep.equal({ name: 'InvalidTag', status: 400 });
    expect(Object.keys(await tagsOf('k'))).to.have.length(10);
  });

  it('copies tags with the object unless REPLACE asks for new ones, and keeps an upload\'s tags', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src', Body: 'x', Tagging: 'a=1' }));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'same', CopySource: `${BUCKET}/src` }));
    expect(await tagsOf('same')).to.deep.equal({ a: '1' });
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'new', CopySource: `${BUCKET}/src`, TaggingDirective: 'REPLACE', Tagging: 'b=2' }));
    expect(await tagsOf('new')).to.deep.equal({ b: '2' });
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp', Tagging: 'c=3' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mp', UploadId: upload.UploadId, PartNumber: 1, Body: 'part' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp', UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    expect(await tagsOf('mp')).to.deep.equal({ c: '3' });
  });

  it('tags each version of a versioned key on its own', async () => {
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'v', Body: 'one', Tagging: 'n=1' }));
    const second = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'v', Body: 'two', Tagging: 'n=2' }));
    const tagged = await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: 'v', VersionId: first.VersionId, Tagging: { TagSet: [{ Key: 'n', Value: 'first' }] } }));
    expect(tagged.VersionId).to.equal(first.VersionId);
    expect(await tagsOf('v', first.VersionId)).to.deep.equal({ n: 'first' });
    expect(await tagsOf('v')).to.deep.equal({ n: '2' });
    expect(await tagsOf('v', second.VersionId)).to.deep.equal({ n: '2' });
    expect(await failure(s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'v', VersionId: 'f'.repeat(32) })))).to.deep.equal({ name: 'NoSuchVersion', status: 404 });
  });

  it('keeps a bucket\'s tags through the manager, and says when it has none', async () => {
    expect(await failure(s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'NoSuchTagSet', status: 404 });
    await s3.send(new PutBucketTaggingCommand({ Bucket: BUCKET, Tagging: { TagSet: [{ Key: 'owner', Value: 'ops' }, { Key: 'cost', Value: '7' }] } }));
    const got = await s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET }));
    expect(got.TagSet).to.deep.equal([{ Key: 'cost', Value: '7' }, { Key: 'owner', Value: 'ops' }]);
    expect(await failure(h.client('bob').send(new GetBucketTaggingCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: BUCKET }));
    expect(await failure(s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'NoSuchTagSet', status: 404 });
  });
});
