import { expect } from 'chai';
import { DeadlineStorage, expectOk, storageFailureError } from '../../../src/actors/gateway/storage-errors.js';
import { S3Error } from '../../../src/protocol/s3/errors.js';
import type { StorageFailureCode } from '../../../src/protocol/cluster/storage-api.js';
import { ManualClock } from '../../../src/runtime/clock.js';
import { MemoryStorage } from '../../support/memory-storage.js';

describe('actors/gateway/storage-errors', () => {
  it('maps every storage failure to one S3 error', () => {
    const cases = {
      NotFound: ['NoSuchKey', 404],
      QuorumFailed: ['ServiceUnavailable', 503],
      Unavailable: ['ServiceUnavailable', 503],
      Timeout: ['ServiceUnavailable', 503],
      SlowDown: ['SlowDown', 503],
      InsufficientStorage: ['InsufficientStorage', 507],
      InternalError: ['InternalError', 500],
      NoSuchBucket: ['NoSuchBucket', 404],
      BucketBusy: ['ServiceUnavailable', 503],
      PreconditionFailed: ['PreconditionFailed', 412],
      ConditionalConflict: ['ConditionalRequestConflict', 409],
      NoSuchVersion: ['NoSuchVersion', 404],
      InlineBody: ['InternalError', 500],
      StagedBodyRefused: ['InternalError', 500],
      ObjectLocked: ['AccessDenied', 403],
      TooManyVersions: ['InvalidRequest', 400],
    } as const satisfies Record<StorageFailureCode, readonly [string, number]>;
    for (const [code, [s3, status]] of Object.entries(cases)) {
      const error = storageFailureError({ code: code as keyof typeof cases });
      expect([error.code, error.status], code).to.deep.equal([s3, status]);
    }
    expect(storageFailureError({ code: 'NotFound' }, 'NoSuchUpload').code).to.equal('NoSuchUpload');
    expect(storageFailureError({ code: 'PreconditionFailed', condition: 'If-None-Match' }).fields).to.deep.equal({ Condition: 'If-None-Match' });
    expect(() => expectOk({ ok: false, code: 'SlowDown', message: '' })).to.throw(S3Error, /reduce your request rate/);
  });

  it('fails a call that does not answer in time with Timeout, and ignores its late answer', async () => {
    const clock = new ManualClock();
    const inner = new MemoryStorage();
    inner.inject(() => true, 'hang');
    const storage = new DeadlineStorage(inner, clock, 1_000);
    const pending = storage.get('object', 'b', 'k');
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(999);
    let settled = false;
    void pending.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).to.equal(false);
    clock.advance(1);
    expect(await pending).to.deep.include({ ok: false, code: 'Timeout' });
    expect(clock.pendingTimers).to.equal(0);
  });

  it('turns an exception thrown by storage into InternalError', async () => {
    const inner = new MemoryStorage();
    inner.inject(() => true, 'throw');
    const storage = new DeadlineStorage(inner, new ManualClock(), 1_000);
    expect(await storage.put('object', { bucket: 'b', key: 'k', sizeBytes: 0, etag: '', contentType: '', userMeta: {} })).to.deep.include({ ok: false, code: 'InternalError' });
  });
});
