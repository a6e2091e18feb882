import {
  DeleteBucketLifecycleCommand, GetBucketLifecycleConfigurationCommand, PutBucketLifecycleConfigurationCommand, S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { failure, type Harness, signedRequest, startHarness } from '../../support/gateway-harness.js';

const BUCKET = 'aging';

describe('actors/gateway lifecycle configuration', function () {
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

  it('keeps, gives back and removes a bucket\'s rules', async () => {
    expect(await failure(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'NoSuchLifecycleConfiguration', status: 404 });
    const rules = [
      { ID: 'tmp', Filter: { Prefix: 'tmp/' }, Status: 'Enabled' as const, Expiration: { Days: 7 } },
      {
        ID: 'old', Filter: { And: { Prefix: 'data/', Tags: [{ Key: 'keep', Value: 'no' }], ObjectSizeGreaterThan: 1024 } }, Status: 'Enabled' as const,
        NoncurrentVersionExpiration: { NoncurrentDays: 30, NewerNoncurrentVersions: 2 },
      },
      { ID: 'uploads', Filter: {}, Status: 'Disabled' as const, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 } },
    ];
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: BUCKET, LifecycleConfiguration: { Rules: rules } }));
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }));
    expect(got.Rules).to.deep.equal(rules);
    expect(h.view.bucket(BUCKET)?.lifecycle?.rules.map((rule) => rule.id)).to.deep.equal(['tmp', 'old', 'uploads']);
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: BUCKET }));
    expect(await failure(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'NoSuchLifecycleConfiguration', status: 404 });
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: BUCKET }));
  });

  it('refuses what it cannot honour or S3 refuses, changing nothing', async () => {
    const put = (body: string) => signedRequest(h.endpoint, 'alice', { method: 'PUT', path: `/${BUCKET}?lifecycle`, body });
    const doc = (rule: string) => `<LifecycleConfiguration><Rule>${rule}</Rule></LifecycleConfiguration>`;
    const cases: Array<[string, number, string]> = [
      [doc('<ID>t</ID><Prefix></Prefix><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>'), 501, 'NotImplemented'],
      [doc('<ID>t</ID><Prefix></Prefix><Status>enabled</Status><Expiration><Days>1</Days></Expiration>'), 400, 'MalformedXML'],
      [doc(`<ID>${'a'.repeat(256)}</ID><Prefix></Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>`), 400, 'InvalidArgument'],
      [doc('<ID>t</ID><Prefix></Prefix><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>'), 400, 'InvalidArgument'],
      ['<LifecycleConfiguration><Rule><ID>t</ID><Prefix>a</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>t</ID><Prefix>b</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>', 400, 'InvalidArgument'],
      ['<LifecycleConfiguration', 400, 'MalformedXML'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await put(body);
      expect([answer.status, /<Code>([^<]+)</.exec(answer.text)?.[1]], body).to.deep.equal([status, code]);
    }
    expect(h.view.bucket(BUCKET)?.lifecycle).to.equal(undefined);
    expect(await failure(h.client('bob').send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET })))).to.deep.equal({ name: 'AccessDenied', status: 403 });
  });
});
