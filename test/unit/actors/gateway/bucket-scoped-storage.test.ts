/**
 * The request's view of storage hands a write's answer on whole: records named by bucket again, and
 * whatever else the answer says (that a chunk was sent on, so its buffer must not be reused).
 */
import { expect } from 'chai';
import type { BucketRecord } from '../../../../src/core/auth-snapshot.js';
import { namespaceOf } from '../../../../src/core/bucket-namespace.js';
import type { ObjectMeta } from '../../../../src/core/object-meta.js';
import type { AuthView } from '../../../../src/actors/common/auth-view.js';
import { BucketScopedStorage } from '../../../../src/actors/gateway/bucket-scoped-storage.js';
import type { ObjectFields, PutResult, StorageApi } from '../../../../src/protocol/cluster/storage-api.js';

const bucket = { name: 'photos', incarnation: '0123456789abcdef' } as BucketRecord;
const fields: ObjectFields = { bucket: 'photos', key: 'cat', sizeBytes: 1, etag: 'e', contentType: 'image/jpeg', userMeta: {} };

describe('actors/gateway/bucket-scoped-storage', () => {
  it('names records by bucket again and hands on that a write was sent on', async () => {
    const written: string[] = [];
    const inner = {
      put: (_kind, asked): Promise<PutResult> => {
        written.push(asked.bucket);
        const meta = { ...asked, clock: { wallMs: 1, counter: 0, node: 'n' }, lastModifiedMs: 1, ringChecksum: 1, deleted: false } as ObjectMeta;
        return Promise.resolve({ ok: true, meta, replaced: meta, resent: true });
      },
    } as Pick<StorageApi, 'put'> as StorageApi;
    const scoped = new BucketScopedStorage(inner, { bucket: () => undefined } as unknown as AuthView, bucket);
    const result = await scoped.put('chunk', fields, Buffer.from('x'));
    expect(written).to.deep.equal([namespaceOf(bucket)]);
    expect(result).to.deep.include({ ok: true, resent: true });
    if (!result.ok) throw new Error('the write failed');
    expect(result.meta.bucket).to.equal('photos');
    expect(result.replaced?.bucket).to.equal('photos');
  });
});
