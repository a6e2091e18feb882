import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFiles, type FileStore } from '../../../../../src/actors/gateway/nfs/open-files.js';
import type { ObjectMeta } from '../../../../../src/core/object-meta.js';
import { ManualClock } from '../../../../../src/runtime/clock.js';
import { memoryLogger } from '../../../../../src/runtime/logger.js';

class FakeStore implements FileStore {
  readonly bucketTag = '0011223344556677';
  readonly stored = new Map<string, Buffer>();

  async store(key: string, sizeBytes: number, pieces: AsyncIterable<Buffer>, userMeta: Readonly<Record<string, string>>): Promise<ObjectMeta> {
    const parts: Buffer[] = [];
    for await (const piece of pieces) parts.push(piece);
    const body = Buffer.concat(parts);
    expect(body.length).to.equal(sizeBytes);
    this.stored.set(key, body);
    return { key, sizeBytes, userMeta, lastModifiedMs: 0 } as unknown as ObjectMeta;
  }

  async *read(meta: ObjectMeta, start: number, end: number): AsyncIterable<Buffer> {
    yield this.stored.get(meta.key)!.subarray(start, end + 1);
  }
}

describe('NFS open files', () => {
  let dir: string;
  const clock = new ManualClock();
  const open = (options: Partial<{ memoryBytes: number; fileMemoryBytes: number; maxOpenFiles: number }> = {}) =>
    new OpenFiles({ memoryBytes: 1 << 20, fileMemoryBytes: 256 * 1024, maxOpenFiles: 8, idleFlushMs: 1000, spillDir: dir, clock, log: memoryLogger().logger, ...options });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-open-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gather writes at any offset, in any order, and store them as one object', async () => {
    const store = new FakeStore();
    const files = open();
    const content = randomBytes(200_000);
    const file = await files.open(store, 'a.bin', undefined, {});
    const pieces = [...Array(20).keys()].map((i) => i * 10_000).reverse();
    await Promise.all(pieces.map((at) => file.locked(() => file.write(at, content.subarray(at, at + 10_000)))));
    expect(file.size).to.equal(200_000);
    expect(await file.locked(() => file.read(5, 10))).to.deep.equal(content.subarray(5, 15));
    await files.flush(file);
    expect(store.stored.get('a.bin')).to.deep.equal(content);
  });

  it('spill a file larger than its memory share to the disk, and let it go when idle', async () => {
    const store = new FakeStore();
    const files = open();
    const content = randomBytes(3 * 1024 * 1024 + 5);
    const file = await files.open(store, 'big.bin', undefined, {});
    for (let at = 0; at < content.length; at += 64 * 1024) await file.locked(() => file.write(at, content.subarray(at, at + 64 * 1024)));
    expect(readdirSync(join(dir))).to.have.length(1);
    expect(await file.locked(() => file.read(3 * 1024 * 1024 - 2, 7))).to.deep.equal(content.subarray(3 * 1024 * 1024 - 2, 3 * 1024 * 1024 + 5));
    clock.advance(1000);
    await new Promise((resolve) => setImmediate(resolve));
    await file.locked(async () => undefined);
    expect(store.stored.get('big.bin')).to.deep.equal(content);
    expect(files.count).to.equal(0);
    expect(existsSync(dir) ? readdirSync(dir) : []).to.deep.equal([]);
  });

  it('open an existing object with its bytes, so a write in the middle keeps the rest', async () => {
    const store = new FakeStore();
    store.stored.set('old.txt', Buffer.from('hello world'));
    const files = open();
    const meta = { key: 'old.txt', sizeBytes: 11, userMeta: { mode: '33188' }, lastModifiedMs: 5 } as unknown as ObjectMeta;
    const file = await files.open(store, 'old.txt', meta, {});
    expect(file.dirty).to.equal(false);
    await file.locked(() => file.write(6, Buffer.from('WORLD!')));
    await file.locked(() => file.truncate(14));
    await files.flush(file);
    expect(store.stored.get('old.txt')!.toString('latin1')).to.equal('hello WORLD!\0\0');
    expect(file.userMeta).to.deep.equal({ mode: '33188' });
  });

  it('store and close the least recently written file to stay within maxOpenFiles', async () => {
    const store = new FakeStore();
    const files = open({ maxOpenFiles: 2 });
    for (const name of ['1', '2', '3']) {
      const file = await files.open(store, name, undefined, {});
      await file.locked(() => file.write(0, Buffer.from(name)));
    }
    expect(files.count).to.equal(2);
    expect([...store.stored.keys()]).to.deep.equal(['1']);
    await files.closeAll();
    expect([...store.stored.keys()].sort()).to.deep.equal(['1', '2', '3']);
  });
});
