import { expect } from 'chai';
import { AuthView } from '../../../../../src/actors/common/auth-view.js';
import {
  bucketTagOf, encodeHandle, fileIdOf, FileHandles, MAX_INLINE_KEY_BYTES, parseHandle, type HandleStore,
} from '../../../../../src/actors/gateway/nfs/file-handles.js';
import { AUTH_SNAPSHOT_VERSION, type AuthSnapshot, type BucketRecord } from '../../../../../src/core/auth-snapshot.js';
import { NFS3_FHSIZE } from '../../../../../src/protocol/nfs/nfs3-types.js';

function bucket(name: string, incarnation: string): BucketRecord {
  return { name, owner: 'alice', acl: 'private', createdAtMs: 1, incarnation } as BucketRecord;
}

function viewWith(...buckets: BucketRecord[]): AuthView {
  const view = new AuthView();
  view.install({ version: AUTH_SNAPSHOT_VERSION, revision: 1, users: [], buckets, endpoints: [] } as unknown as AuthSnapshot);
  return view;
}

class MapStore implements HandleStore {
  readonly map = new Map<string, { key: string }>();
  writes = 0;
  get(hash: string) {
    return this.map.get(hash);
  }
  async put(hash: string, value: { key: string }) {
    this.writes++;
    this.map.set(hash, value);
  }
}

describe('NFS file handles', () => {
  const photos = bucket('photos', 'aaaaaaaaaaaa');
  const tag = bucketTagOf(photos);

  it('hold short keys themselves and long keys by hash, never over 64 bytes', () => {
    for (const key of ['', 'a', 'dir/', 'x'.repeat(MAX_INLINE_KEY_BYTES), 'y'.repeat(MAX_INLINE_KEY_BYTES + 1), 'é/'.repeat(300)]) {
      const { handle, keyHash } = encodeHandle(tag, key);
      expect(handle.length).to.be.at.most(NFS3_FHSIZE);
      const parsed = parseHandle(handle);
      expect(parsed.ok).to.equal(true);
      if (!parsed.ok) continue;
      expect(parsed.bucketTag).to.equal(tag);
      if (Buffer.byteLength(key) <= MAX_INLINE_KEY_BYTES) {
        expect(keyHash).to.equal(undefined);
        expect(parsed.hashed ? undefined : parsed.key).to.equal(key);
      } else {
        expect(parsed.hashed ? parsed.keyHash : undefined).to.equal(keyHash);
      }
    }
  });

  it('answer BADHANDLE for bytes they did not make', () => {
    for (const garbage of [Buffer.alloc(0), Buffer.from('short'), Buffer.alloc(20, 7), Buffer.concat([Buffer.from([1, 9]), Buffer.alloc(20)]), Buffer.concat([Buffer.from([1, 1]), Buffer.alloc(8), Buffer.alloc(3)])]) {
      expect(parseHandle(garbage)).to.deep.equal({ ok: false, status: 'NFS3ERR_BADHANDLE' });
    }
  });

  it('resolve across restarts: a new FileHandles over the same store reads handles of long keys', async () => {
    const store = new MapStore();
    const view = viewWith(photos);
    const long = `${'deep/'.repeat(20)}file.bin`;
    const handle = await new FileHandles(view, store).handleFor(tag, long);
    await new FileHandles(view, store).handleFor(tag, long);
    expect(store.writes).to.equal(1);
    const again = new FileHandles(view, store).resolve(handle);
    expect(again.ok && again.key).to.equal(long);
    expect(again.ok && again.bucket.name).to.equal('photos');
    const short = await new FileHandles(view, store).handleFor(tag, 'a/b.txt');
    expect(store.writes).to.equal(1);
    const resolved = new FileHandles(view, new MapStore()).resolve(short);
    expect(resolved.ok && resolved.key).to.equal('a/b.txt');
  });

  it('are STALE once the bucket is a new incarnation, or the long key is unknown', async () => {
    const store = new MapStore();
    const handle = await new FileHandles(viewWith(photos), store).handleFor(tag, 'a.txt');
    expect(new FileHandles(viewWith(bucket('photos', 'bbbbbbbbbbbb')), store).resolve(handle)).to.deep.equal({ ok: false, status: 'NFS3ERR_STALE' });
    const long = encodeHandle(tag, 'z'.repeat(100)).handle;
    expect(new FileHandles(viewWith(photos), new MapStore()).resolve(long)).to.deep.equal({ ok: false, status: 'NFS3ERR_STALE' });
  });

  it('give every key a stable non-zero file id', () => {
    expect(fileIdOf(tag, 'a')).to.equal(fileIdOf(tag, 'a'));
    expect(fileIdOf(tag, 'a')).to.not.equal(fileIdOf(tag, 'b'));
    expect(fileIdOf(tag, '')).to.not.equal(0n);
  });
});
