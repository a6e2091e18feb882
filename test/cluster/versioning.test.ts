/**
 * Bucket versioning, object lock and lifecycle through a real cluster (a manager, three storage nodes with N=3, W=2, R=2, D=2 and a
 * gateway, each its own process): versions written, hidden and removed while a replica is down reach it
 * once it is back, and every version reads back from replicas that include it.
 */
import {
  CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, PutBucketLifecycleConfigurationCommand, GetObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { eventually } from '../support/eventually.js';
import { ProcessCluster } from '../support/process-cluster.js';

const BUCKET = 'archive';

describe('bucket versioning with real processes (N=3, W=2, R=2, D=2)', function () {
  this.timeout(180_000);
  const cluster = new ProcessCluster({ storageNodes: 3, gateways: 1, settings: { n: 3, w: 2, r: 2, d: 2 }, storageSettings: { lifecyclePauseMs: 200 } });
  let s3: S3Client;

  before(async () => {
    await cluster.start();
    s3 = cluster.client(0, cluster.credentials, 20_000);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    await cluster.stop();
  });

  async function text(key: string, versionId?: string): Promise<string> {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
    return got.Body!.transformToString();
  }

  async function listed(key: string): Promise<string[]> {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
    return [
      ...(page.Versions ?? []).map((v) => `${v.VersionId}${v.IsLatest ? '*' : ''}`),
      ...(page.DeleteMarkers ?? []).map((d) => `marker ${d.VersionId}${d.IsLatest ? '*' : ''}`),
    ].sort();
  }

  it('carries versions written, hidden and removed while a replica was down to it once it is back', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'doc', Body: 'before versioning' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'doc', Body: 'one' }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'doc', Body: 'two' }));

    const down = cluster.storage[2]!;
    await down.kill('SIGKILL');
    const v3 = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'doc', Body: 'three, written with a replica down' }));
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'doc' }));
    expect(marker.DeleteMarker).to.equal(true);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'doc', VersionId: v1.VersionId }));
    await down.start();
    await down.waitFor((line) => line.msg === 'ring loaded from local state' || line.msg === 'ring installed', 20_000);

    await eventually(async () => {
      const where = await cluster.run<'whereis'>({ command: 'whereis', bucket: BUCKET, key: 'doc' });
      const clocks = where.replicas.map((row) => (row.answer.ok && row.answer.exists ? row.answer.clock : 'missing'));
      return where.replicas.length === 3 && new Set(clocks).size === 1 && !clocks.includes('missing');
    }, 60_000, 'every replica holds the newest record of the key');

    // With another replica down, reads need the one that was away. Until the last writes have settled
    // (and the chunks come back by anti-entropy as the records did) a read or listing that cannot judge a
    // version without the node killed is answered 503, which a client retries.
    await cluster.storage[0]!.kill('SIGKILL');
    try {
      const reads: Record<string, string> = {};
      let versions: string[] = [];
      await eventually(async () => {
        try {
          versions = await listed('doc');
          for (const [name, id] of [['v3', v3.VersionId], ['v2', v2.VersionId], ['null', 'null']] as const) reads[name] = await text('doc', id);
          return true;
        } catch (error) {
          if ((error as { name?: string }).name !== 'ServiceUnavailable') throw error;
          return false;
        }
      }, 60_000, 'every version readable with the other replica down');
      expect(versions).to.deep.equal([`marker ${marker.VersionId}*`, 'null', v2.VersionId, v3.VersionId].sort());
      expect(reads).to.deep.equal({ v3: 'three, written with a replica down', v2: 'two', null: 'before versioning' });
      const gone = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'doc', VersionId: v1.VersionId })).catch((error: { name: string }) => error.name);
      expect(gone).to.equal('NoSuchVersion');
      const hidden = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'doc' })).catch((error: { name: string }) => error.name);
      expect(hidden).to.equal('NoSuchKey');
    } finally {
      await cluster.storage[0]!.start();
    }
  });

  it('keeps a version under object lock from leofs-adm delete-bucket as from S3', async () => {
    await cluster.storage[0]!.waitFor((line) => line.msg === 'ring loaded from local state' || line.msg === 'ring installed', 20_000);
    await s3.send(new CreateBucketCommand({ Bucket: 'vault', ObjectLockEnabledForBucket: true }));
    const locked = await s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'ledger', Body: 'kept', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date('2100-01-01T00:00:00Z') }));
    const purge = await cluster.adm('delete-bucket', 'vault', cluster.credentials.accessKeyId);
    expect(purge.code).to.equal(1);
    expect(purge.stderr).to.include('object lock');
    const removal = await s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: 'ledger', VersionId: locked.VersionId, BypassGovernanceRetention: true }))
      .catch((error: { name: string }) => error.name);
    expect(removal).to.equal('AccessDenied');
    const emptied = await s3.send(new DeleteBucketCommand({ Bucket: 'vault' })).catch((error: { name: string }) => error.name);
    expect(emptied).to.equal('BucketNotEmpty');
    expect(await s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'ledger' })).then((got) => got.Body!.transformToString())).to.equal('kept');
  });

  it('shows lifecycle passes and explains a key through leofs-adm, the storage nodes learning the rules from the manager', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'aging' }));
    await s3.send(new PutObjectCommand({ Bucket: 'aging', Key: 'tmp/report', Body: 'x' }));
    await s3.send(new PutBucketLifecycleConfigurationCommand({
      Bucket: 'aging',
      LifecycleConfiguration: { Rules: [{ ID: 'week', Filter: { Prefix: 'tmp/' }, Status: 'Enabled', Expiration: { Days: 7 } }] },
    }));
    await eventually(async () => {
      const shown = await cluster.adm('lifecycle-status', 'aging');
      // Every node has finished a pass over the bucket, each judging the keys it is first replica of.
      return shown.code === 0 && (shown.stdout.match(/aging/g) ?? []).length === 3 && !shown.stdout.includes('not answering');
    }, 30_000, 'a lifecycle pass on every storage node');
    const explained = await cluster.adm('lifecycle-explain', 'aging', 'tmp/report');
    expect(explained.code, explained.stderr).to.equal(0);
    expect(explained.stdout).to.match(/rule "week": the current version expires at 20\d\d-/);
    expect(explained.stdout).to.include('nothing to do now');
    const none = await cluster.adm('lifecycle-explain', 'archive', 'doc');
    expect(none.code).to.equal(1);
    expect(none.stderr).to.include('no lifecycle rules');
  });
});
