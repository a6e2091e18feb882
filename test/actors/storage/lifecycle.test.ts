/**
 * The lifecycle worker in an in-process cluster (N=3, W=2, R=1, D=2) whose nodes share a wall clock the
 * test steps forward by days: nothing is expired before its time; once it has come, current versions
 * expire (deleted, or hidden by a delete marker where the bucket is versioned), older versions and lone
 * delete markers go, incomplete uploads are aborted, and versions under object lock stay. Each node
 * tells how its passes went, and why a key was or was not expired.
 */
import { expect } from 'chai';
import type { BucketRecord } from '../../../src/core/auth-snapshot.js';
import { namespaceOf } from '../../../src/core/bucket-namespace.js';
import type { LifecycleConfig } from '../../../src/core/lifecycle.js';
import { newObjectVersionId, versionIdOf, versionsOf } from '../../../src/core/object-versioning.js';
import { newUploadId, uploadRecordKey } from '../../../src/core/upload-records.js';
import { lifecycleRef, type LifecycleExplainReply, type LifecycleStatus } from '../../../src/protocol/cluster/lifecycle.js';
import { systemClock, type Clock } from '../../../src/runtime/clock.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const DAY_MS = 24 * 60 * 60 * 1000;

const rule = (id: string, fields: Partial<LifecycleConfig['rules'][number]>): LifecycleConfig['rules'][number] => ({
  id, enabled: true, filter: {}, filterForm: 'filter', ...fields,
});

const logs: BucketRecord = {
  name: 'logs', incarnation: '0123456789abcdef', owner: 'alice', acl: 'private', createdAtMs: 0,
  lifecycle: {
    rules: [
      rule('tmp', { filter: { prefix: 'tmp/' }, expiration: { days: 1 }, abortIncompleteUploadDays: 1 }),
      rule('off', { enabled: false, filter: { prefix: 'keep/' }, expiration: { days: 1 } }),
    ],
  },
};
const archive: BucketRecord = {
  name: 'archive', incarnation: 'fedcba9876543210', owner: 'alice', acl: 'private', createdAtMs: 0, versioning: 'Enabled',
  lifecycle: {
    rules: [
      rule('old', { noncurrentExpiration: { noncurrentDays: 1, newerNoncurrentVersions: 1 } }),
      rule('markers', { expiration: { expiredObjectDeleteMarker: true } }),
      rule('early', { filter: { prefix: 'early/' }, expiration: { days: 1 } }),
    ],
  },
};
const LOGS = namespaceOf(logs);
const ARCHIVE = namespaceOf(archive);

describe('lifecycle worker (in-process cluster, a wall clock stepped by days)', function () {
  this.timeout(60_000);
  let cluster: StorageCluster;
  let offsetMs = 0;
  const clock: Clock = { ...systemClock, now: () => Date.now() + offsetMs };

  before(async () => {
    const tuning = { lifecyclePauseMs: 100, lifecycleKeysPerSecond: 100_000 };
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false }, () => ({ tuning, clock, buckets: () => Promise.resolve([logs, archive]) }));
    await cluster.start();
  });
  after(async () => {
    await cluster?.stop();
  });

  /** A versioned write carries no body here: bodies of versions live in chunks, which these rules do not touch. */
  async function put(bucket: string, key: string, body: string, versioned = false, extra: object = {}): Promise<string | undefined> {
    const written = versioned
      ? await cluster.client.put('object', { ...objectFields(bucket, key, ''), ...extra }, undefined, undefined, { type: 'put', mode: 'Enabled', versionId: newObjectVersionId() })
      : await cluster.client.put('object', { ...objectFields(bucket, key, body), ...extra }, Buffer.from(body));
    expect(written.ok, JSON.stringify(written)).to.equal(true);
    return written.ok ? written.meta.versionId : undefined;
  }

  async function versions(bucket: string, key: string): Promise<string[]> {
    const got = await cluster.client.get('object', bucket, key);
    return got.ok ? versionsOf(got.meta).map((version) => `${versionIdOf(version)}${version.deleteMarker ? ' marker' : ''}`) : [];
  }

  async function status(): Promise<LifecycleStatus[]> {
    return Promise.all(cluster.nodes.map((n) => n.name).map(async (node) => {
      const reply = await cluster.clientNode.system.ask<never, LifecycleStatus>(lifecycleRef(node) as never, (replyTo) => ({ type: 'status', replyTo }) as never, 5_000);
      if (isRuntimeFailure(reply)) throw new Error(`${node}: ${reply.message}`);
      return reply;
    }));
  }

  /** Resolves once every node has finished a pass over both buckets that started after now. */
  async function aPassLater(): Promise<void> {
    const since = clock.now();
    await eventually(async () => {
      const nodes = await status();
      return nodes.every((node) => ['logs', 'archive'].every((bucket) => (node.buckets.find((b) => b.bucket === bucket)?.lastRun?.startedAtMs ?? 0) >= since));
    }, 20_000, 'a lifecycle pass on every node');
  }

  it('expires nothing before its time, and everything its rules name once that time has come', async () => {
    await put(LOGS, 'tmp/a', 'a');
    await put(LOGS, 'tmp/b', 'b');
    await put(LOGS, 'keep/c', 'c');
    const upload = uploadRecordKey('tmp/big', newUploadId());
    expect((await cluster.client.put('upload', objectFields(LOGS, upload, ''))).ok).to.equal(true);
    const v1 = await put(ARCHIVE, 'doc', 'one', true);
    const v2 = await put(ARCHIVE, 'doc', 'two', true);
    const v3 = await put(ARCHIVE, 'doc', 'three', true);
    const locked = await put(ARCHIVE, 'ledger', 'kept', true, { retention: { mode: 'COMPLIANCE', untilMs: Date.now() + 365 * DAY_MS } });
    await put(ARCHIVE, 'ledger', 'newer', true);
    await put(ARCHIVE, 'ledger', 'newest', true);
    // Written before the bucket had versioning: its body is in its record, and moves when a marker covers it.
    await put(ARCHIVE, 'early/report', 'from before');
    const marker = await cluster.client.delete('object', ARCHIVE, 'gone', undefined, { type: 'marker', mode: 'Enabled', versionId: newObjectVersionId() });
    expect(marker.ok).to.equal(true);

    await aPassLater();
    expect((await cluster.client.get('object', LOGS, 'tmp/a')).ok).to.equal(true);
    expect((await cluster.client.get('upload', LOGS, upload)).ok).to.equal(true);
    expect(await versions(ARCHIVE, 'doc')).to.deep.equal([v3, v2, v1]);

    offsetMs = 3 * DAY_MS;
    await aPassLater();
    expect((await cluster.client.get('object', LOGS, 'tmp/a')).ok).to.equal(false);
    expect((await cluster.client.get('object', LOGS, 'tmp/b')).ok).to.equal(false);
    expect((await cluster.client.get('object', LOGS, 'keep/c')).ok, 'a disabled rule expires nothing').to.equal(true);
    expect((await cluster.client.get('upload', LOGS, upload)).ok).to.equal(false);
    // The newest older version is kept (NewerNoncurrentVersions 1); the one under COMPLIANCE stays too.
    expect(await versions(ARCHIVE, 'doc')).to.deep.equal([v3, v2]);
    expect(await versions(ARCHIVE, 'ledger')).to.have.length(3);
    expect((await versions(ARCHIVE, 'ledger'))[2]).to.equal(locked);
    expect(await versions(ARCHIVE, 'gone')).to.deep.equal([]);
    const early = await cluster.client.get('object', ARCHIVE, 'early/report');
    expect(early.ok && early.meta.deleteMarker, 'expired under a delete marker').to.equal(true);
    expect(early.ok && early.meta.noncurrent?.[0]?.chunks?.chunkSizesBytes).to.deep.equal([11]);

    // Every pass tries the locked version again, and says it was kept; one node judges the key.
    const nodes = await status();
    const lockedCounts = nodes.map((node) => node.buckets.find((b) => b.bucket === 'archive')?.lastRun?.locked ?? 0);
    expect(lockedCounts.filter((count) => count > 0)).to.deep.equal([1]);
  });

  it('explains for one key which rule does what, and when', async () => {
    await put(LOGS, 'tmp/fresh', 'x');
    const explain = async (namespace: string, key: string, config: LifecycleConfig, versioned: boolean): Promise<LifecycleExplainReply> => {
      const reply = await cluster.clientNode.system.ask<never, LifecycleExplainReply>(lifecycleRef(cluster.nodes[0]!.name) as never, (replyTo) => ({ type: 'explain', namespace, key, config, versioned, replyTo }) as never, 5_000);
      if (isRuntimeFailure(reply)) throw new Error(reply.message);
      return reply;
    };
    const fresh = await explain(LOGS, 'tmp/fresh', logs.lifecycle!, false);
    expect(fresh.ok && fresh.actions).to.deep.equal([]);
    expect(fresh.ok && fresh.explanation.join('\n')).to.match(/rule "tmp": the current version expires at/);
    expect(fresh.ok && fresh.explanation.join('\n')).to.include('rule "off": disabled');
    const other = await explain(LOGS, 'elsewhere', logs.lifecycle!, false);
    expect(other.ok && other.explanation).to.deep.equal(['the key has no version']);
    offsetMs += 3 * DAY_MS;
    const due = await explain(LOGS, 'tmp/fresh', logs.lifecycle!, false);
    expect(due.ok && due.actions.map((action) => action.type)).to.deep.equal(['expire-current']);
  });
});
