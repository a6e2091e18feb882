import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { Hlc } from '../../../src/core/hlc.js';
import type { ObjectKind, ObjectMeta } from '../../../src/core/object-meta.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';

const clock = (wallMs: number): Hlc => ({ wallMs, counter: 0, node: 'n1' });

function meta(address: ObjectAddress, at: Hlc, sizeBytes: number): ObjectMeta {
  return { bucket: address.bucket, key: address.key, sizeBytes, etag: 'e', contentType: '', userMeta: {}, clock: at, lastModifiedMs: at.wallMs, ringChecksum: 1, deleted: false };
}

const OLD = 'leak~0123456789abcdef';
const NEW = 'leak~fedcba9876543210';

describe('store/object-store bucket namespaces', () => {
  let dir: string;
  let store: ObjectStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-namespaces-'));
    store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function put(kind: ObjectKind, bucket: string, key: string, at: Hlc, body: Buffer, keepPrevious = false) {
    const address = { kind, bucket, key };
    return store.apply({ address, meta: meta(address, at, body.length), body, keepPrevious });
  }

  /** Every key of every table of the store's environment that names `namespace`, read straight from LMDB. */
  async function rawKeysOf(namespace: string): Promise<string[]> {
    await store.close();
    const root = open({ path: join(dir, 'objects'), maxDbs: 12, readOnly: true });
    const found: string[] = [];
    try {
      for (const name of ['meta', 'data', 'data_tails', 'ring_index', 'undo']) {
        const db = root.openDB({ name, keyEncoding: 'binary' });
        for (const key of db.getKeys({})) if (Buffer.from(key as Buffer).includes(Buffer.from(namespace))) found.push(`${name}:${Buffer.from(key as Buffer).toString('latin1')}`);
      }
    } finally {
      await root.close();
    }
    store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger });
    return found;
  }

  it('refuses writes to a sealed namespace until the seal is lifted, and keeps what came before', async () => {
    expect(await put('object', OLD, 'before', clock(1), Buffer.from('x'))).to.deep.include({ applied: true });
    expect(await store.sealNamespace(OLD, 'seal-1', 10)).to.equal('sealed');
    expect(await put('object', OLD, 'during', clock(2), Buffer.from('y'))).to.deep.equal({ applied: false, refused: 'sealed' });
    expect(await put('chunk', OLD, 'during\n1\n0', clock(2), Buffer.from('y'))).to.deep.equal({ applied: false, refused: 'sealed' });
    expect(await put('object', NEW, 'other', clock(2), Buffer.from('z')), 'another namespace is not fenced').to.deep.include({ applied: true });
    expect(store.list('object', OLD, { prefix: '', startAt: '', limit: 10 }).entries.map((e) => e.key)).to.deep.equal(['before']);
    await store.unsealNamespace(OLD, 'another-seal');
    expect(await put('object', OLD, 'during', clock(3), Buffer.from('y')), 'only its own id lifts a seal').to.deep.include({ refused: 'sealed' });
    await store.unsealNamespace(OLD, 'seal-1');
    expect(await put('object', OLD, 'during', clock(3), Buffer.from('y'))).to.deep.include({ applied: true });
  });

  it('orders a seal against writes in flight: each write either lands before the seal or is refused', async () => {
    const writes = Array.from({ length: 200 }, (_, i) => put('object', OLD, `k${String(i).padStart(3, '0')}`, clock(i + 1), Buffer.from('v')));
    const sealed = store.sealNamespace(OLD, 's', 0);
    const later = Array.from({ length: 50 }, (_, i) => put('object', OLD, `late${i}`, clock(1000 + i), Buffer.from('v')));
    await sealed;
    const listed = new Set(store.list('object', OLD, { prefix: '', startAt: '', limit: 1000 }).entries.map((e) => e.key));
    const results = await Promise.all([...writes, ...later]);
    for (const [i, result] of results.entries()) {
      const key = i < 200 ? `k${String(i).padStart(3, '0')}` : `late${i - 200}`;
      expect(result.applied ? listed.has(key) : 'refused' in result, key).to.equal(true);
    }
    expect(results.slice(200).every((result) => !result.applied), 'writes asked for after the seal are refused').to.equal(true);
  });

  it('hides a deleted namespace at once, refuses its writes, and purges every byte of it in bounded steps', async () => {
    for (let i = 0; i < 30; i++) await put('object', OLD, `obj${i}`, clock(1), Buffer.alloc(4096 + i, 1));
    await put('chunk', OLD, 'big\nv1\n0', clock(1), Buffer.alloc(5 * 1024 * 1024, 2));
    await put('upload', OLD, 'u/pending\u0001id', clock(1), Buffer.alloc(0));
    await put('object', OLD, 'obj0', clock(2), Buffer.alloc(10, 3), true); // leaves an undo record and a second body
    await put('object', NEW, 'kept', clock(1), Buffer.from('new incarnation'));

    expect(await store.markDeleted([{ namespace: OLD, deletedAtMs: 5 }])).to.deep.equal([OLD]);
    expect(await store.markDeleted([{ namespace: OLD, deletedAtMs: 6 }]), 'marking twice is a no-op').to.deep.equal([]);
    expect(store.getMeta({ kind: 'object', bucket: OLD, key: 'obj1' })).to.equal(undefined);
    expect(store.list('object', OLD, { prefix: '', startAt: '', limit: 100 }).entries).to.deep.equal([]);
    expect([...store.scanRange('0'.repeat(32), 'f'.repeat(32))].map((entry) => entry.address.bucket)).to.deep.equal([NEW]);
    expect(await put('object', OLD, 'late', clock(9), Buffer.from('x'))).to.deep.equal({ applied: false, refused: 'deleted' });
    expect(await store.sealNamespace(OLD, 's', 0), 'a deleted namespace stays deleted').to.equal('deleted');

    let steps = 0;
    for (;;) {
      const progress = await store.purgeNamespace(OLD, 8, 100 + steps);
      expect(progress.removedKeys).to.be.at.most(8);
      steps++;
      if (progress.finished) break;
      expect(steps).to.be.below(100);
    }
    expect(steps).to.be.greaterThan(4);
    const record = store.namespaceRecord(OLD);
    expect(record).to.deep.include({ state: 'deleted', purge: 'finished', removedKeys: 32 });
    expect(record?.state === 'deleted' && record.removedBytes).to.be.greaterThan(5 * 1024 * 1024 + 30 * 4096);
    expect(await rawKeysOf(OLD)).to.deep.equal([]);
    expect(store.getMeta({ kind: 'object', bucket: NEW, key: 'kept' })?.sizeBytes).to.equal(15);
  });

  it('keeps seals, deletions and purge progress across a restart', async () => {
    for (let i = 0; i < 20; i++) await put('object', OLD, `obj${i}`, clock(1), Buffer.from('x'));
    await store.sealNamespace(NEW, 'seal-new', 1);
    await store.markDeleted([{ namespace: OLD, deletedAtMs: 2 }]);
    await store.purgeNamespace(OLD, 5, 3);
    await store.close();
    store = ObjectStore.open({ path: dir, logger: memoryLogger('error').logger });
    expect(store.namespaceRecord(NEW)).to.deep.include({ state: 'sealed', sealId: 'seal-new' });
    expect(store.namespaceRecord(OLD)).to.deep.include({ state: 'deleted', purge: 'purging', removedKeys: 5, startedAtMs: 3 });
    expect(await put('object', NEW, 'k', clock(5), Buffer.from('x'))).to.deep.include({ refused: 'sealed' });
    while (!(await store.purgeNamespace(OLD, 5, 4)).finished);
    expect(store.namespaceRecord(OLD)).to.deep.include({ purge: 'finished', removedKeys: 20 });
  });

  it('restores nothing into a deleted namespace when a late revert arrives', async () => {
    await put('object', OLD, 'k', clock(1), Buffer.from('one'));
    await put('object', OLD, 'k', clock(2), Buffer.from('two'), true);
    await store.markDeleted([{ namespace: OLD, deletedAtMs: 3 }]);
    while (!(await store.purgeNamespace(OLD, 100, 4)).finished);
    expect(await store.revert({ kind: 'object', bucket: OLD, key: 'k' }, clock(2))).to.deep.equal({ reverted: false });
    expect(await rawKeysOf(OLD)).to.deep.equal([]);
  });
});
