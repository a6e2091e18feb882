import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NfsError } from '../../../../../src/actors/gateway/nfs/nfs-errors.js';
import { OpenFiles, type FileStore } from '../../../../../src/actors/gateway/nfs/open-files.js';
import type { ObjectMeta } from '../../../../../src/core/object-meta.js';
import { S3Error } from '../../../../../src/protocol/s3/errors.js';
import { ManualClock } from '../../../../../src/runtime/clock.js';
import { memoryLogger } from '../../../../../src/runtime/logger.js';

class FakeStore implements FileStore {
  readonly bucketTag = '0011223344556677';
  readonly stored = new Map<string, Buffer>();
  /** Keys whose every store fails, as a bucket the user may no longer write. */
  readonly refused = new Set<string>();
  /** Reads wait for this, when set. */
  readGate: Promise<void> | undefined;

  async store(key: string, sizeBytes: number, pieces: AsyncIterable<Buffer>, userMeta: Readonly<Record<string, string>>): Promise<ObjectMeta> {
    if (this.refused.has(key)) throw new S3Error('AccessDenied');
    const parts: Buffer[] = [];
    for await (const piece of pieces) parts.push(piece);
    const body = Buffer.concat(parts);
    expect(body.length).to.equal(sizeBytes);
    this.stored.set(key, body);
    return { key, sizeBytes, userMeta, lastModifiedMs: 0 } as unknown as ObjectMeta;
  }

  async *read(meta: ObjectMeta, start: number, end: number): AsyncIterable<Buffer> {
    await this.readGate;
    yield this.stored.get(meta.key)!.subarray(start, end + 1);
  }
}

async function statusOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'NFS3_OK';
  } catch (error) {
    if (error instanceof NfsError) return error.status;
    throw error;
  }
}

type Options = Partial<{ memoryBytes: number; fileMemoryBytes: number; maxOpenFiles: number; maxSpillBytes: number; maxFileBytes: number; log: ReturnType<typeof memoryLogger>['logger'] }>;

describe('NFS open files', () => {
  let dir: string;
  // One clock per test: timers armed by one test never fire in another.
  let clock: ManualClock;
  const open = (options: Options = {}) =>
    new OpenFiles({
      memoryBytes: 1 << 20, fileMemoryBytes: 256 * 1024, maxSpillBytes: 1 << 30, maxFileBytes: 1 << 30, maxOpenFiles: 8, idleFlushMs: 1000,
      spillDir: dir, clock, log: memoryLogger().logger, ...options,
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-open-files-'));
    clock = new ManualClock();
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

  it('forget a modification time set by SETATTR once the bytes change, so the change shows as a new mtime', async () => {
    const store = new FakeStore();
    const files = open();
    const file = await files.open(store, 'touched.txt', undefined, { mtime: '1000000000.0', mode: '420' });
    // Less than the idle time, after which the file would be stored and let go.
    await clock.advance(500);
    await file.locked(() => file.write(0, Buffer.from('changed')));
    expect(file.userMeta).to.deep.equal({ mode: '420' });
    expect(file.modifiedMs).to.equal(clock.now());
    await file.locked(() => file.truncate(3));
    expect(file.userMeta).to.not.have.property('mtime');
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

  it('refuse a write or a truncation past maxFileBytes with NFS3ERR_FBIG, storing nothing', async () => {
    const store = new FakeStore();
    const files = open({ maxFileBytes: 1000 });
    const file = await files.open(store, 'f', undefined, {});
    expect(await statusOf(file.locked(() => file.write(999, Buffer.alloc(2))))).to.equal('NFS3ERR_FBIG');
    expect(await statusOf(file.locked(() => file.truncate(1001)))).to.equal('NFS3ERR_FBIG');
    expect(await statusOf(file.locked(() => file.write(999, Buffer.alloc(1))))).to.equal('NFS3_OK');
    expect(file.size).to.equal(1000);
  });

  it("count a sparse spill file's holes against maxSpillBytes: NFS3ERR_NOSPC beyond it, the disk given back when a file closes", async () => {
    const store = new FakeStore();
    const files = open({ memoryBytes: 64 * 1024, fileMemoryBytes: 64 * 1024, maxSpillBytes: 1024 * 1024 });
    const first = await files.open(store, 'first', undefined, {});
    // One byte far out would be a huge file of zeros once stored.
    expect(await statusOf(first.locked(() => first.write(2 * 1024 * 1024, Buffer.from('x'))))).to.equal('NFS3ERR_NOSPC');
    expect(await statusOf(first.locked(() => first.truncate(2 * 1024 * 1024)))).to.equal('NFS3ERR_NOSPC');
    expect(files.spillBytes).to.equal(0);
    await first.locked(() => first.write(600 * 1024, Buffer.from('x')));
    expect(files.spillBytes).to.equal(600 * 1024 + 1);
    const second = await files.open(store, 'second', undefined, {});
    expect(await statusOf(second.locked(() => second.truncate(500 * 1024)))).to.equal('NFS3ERR_NOSPC');
    await first.locked(() => first.truncate(100 * 1024));
    expect(files.spillBytes).to.equal(100 * 1024);
    await second.locked(() => second.truncate(500 * 1024));
    await files.closeAll();
    expect(files.spillBytes).to.equal(0);
    expect(store.stored.get('first')!.length).to.equal(100 * 1024);
    expect(store.stored.get('second')!.length).to.equal(500 * 1024);
  });

  it('pass over a file whose store fails to make room, and drop it with an error logged once it has failed for good', async () => {
    const store = new FakeStore();
    store.refused.add('bad');
    const { logger, lines } = memoryLogger();
    const files = open({ maxOpenFiles: 2, log: logger });
    const bad = await files.open(store, 'bad', undefined, {});
    await bad.locked(() => bad.write(0, Buffer.from('lost')));
    for (const name of ['1', '2', '3', '4']) {
      const file = await files.open(store, name, undefined, {});
      await file.locked(() => file.write(0, Buffer.from(name)));
    }
    // Each open tried `bad` first, and stored the next one instead, until `bad` was dropped (the third failure).
    expect([...store.stored.keys()].sort()).to.deep.equal(['1', '2']);
    expect(files.count).to.equal(2);
    expect(bad.closed).to.equal(true);
    expect(files.peek(store.bucketTag, 'bad')).to.equal(undefined);
    expect(lines.filter((line) => line.level === 'error' && line.key === 'bad')).to.have.length(1);
    expect(lines.filter((line) => line.level === 'warn' && line.key === 'bad')).to.have.length(2);
  });

  it('count files being opened against maxOpenFiles', async () => {
    const store = new FakeStore();
    store.stored.set('old', Buffer.from('old bytes'));
    let release!: () => void;
    store.readGate = new Promise((resolve) => (release = resolve));
    const files = open({ maxOpenFiles: 1 });
    const meta = { key: 'old', sizeBytes: 9, userMeta: {}, lastModifiedMs: 5 } as unknown as ObjectMeta;
    const opening = files.open(store, 'old', meta, {});
    expect(await statusOf(files.open(store, 'new', undefined, {}))).to.equal('NFS3ERR_JUKEBOX');
    release();
    await opening;
    expect(files.count).to.equal(1);
  });

  it('log a file that cannot be stored as all are closed', async () => {
    const store = new FakeStore();
    store.refused.add('bad');
    const { logger, lines } = memoryLogger();
    const files = open({ log: logger });
    const bad = await files.open(store, 'bad', undefined, {});
    await bad.locked(() => bad.write(0, Buffer.from('lost')));
    await files.closeAll();
    expect(files.count).to.equal(0);
    expect(lines.filter((line) => line.level === 'error' && line.key === 'bad')).to.have.length(1);
  });
});
