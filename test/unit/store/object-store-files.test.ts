import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { open as lmdbOpen } from 'lmdb';
import { ObjectStore } from '../../../src/store/object-store.js';
import { dataKey, metaKey } from '../../../src/store/store-keys.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';

const clock = (wallMs: number): Hlc => ({ wallMs, counter: 0, node: 'n1' });
const KiB = 1024;

function meta(address: ObjectAddress, at: Hlc, sizeBytes: number, deleted = false): ObjectMeta {
  return { bucket: address.bucket, key: address.key, sizeBytes, etag: 'e', contentType: '', userMeta: {}, clock: at, lastModifiedMs: at.wallMs, ringChecksum: 1, deleted };
}

describe('store/object-store body files', () => {
  let dir: string;
  let store: ObjectStore;
  const a: ObjectAddress = { kind: 'chunk', bucket: 'photos', key: 'big\nv1\n0' };

  const open = (): ObjectStore => ObjectStore.open({ path: dir, logger: memoryLogger('error').logger, fileBodyMinBytes: 64 * KiB });
  /** Body files on disk, temporary ones included. */
  const files = (): string[] => {
    const root = join(dir, 'objects', 'bodies');
    if (!existsSync(root)) return [];
    return readdirSync(root).flatMap((sub) => readdirSync(join(root, sub)));
  };
  const put = (address: ObjectAddress, at: Hlc, body: Buffer, keepPrevious = false) =>
    store.apply({ address, meta: meta(address, at, body.length), body, keepPrevious });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-files-'));
    store = open();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a large body in a file of its own, reads it whole and in slices, and counts it as used space', async () => {
    const small = Buffer.from('small stays in LMDB');
    const large = randomBytes(300 * KiB + 7);
    const before = store.usedBytes();
    await put({ ...a, key: 'small' }, clock(1), small);
    await put(a, clock(1), large);
    expect(files()).to.have.length(1);
    expect((await store.readBody({ ...a, key: 'small' }, clock(1)))?.toString()).to.equal(small.toString());
    expect((await store.readBody(a, clock(1)) as Buffer).equals(large)).to.equal(true);
    expect((await store.readBody(a, clock(1), { offsetBytes: 100_000, lengthBytes: 5000 }) as Buffer).equals(large.subarray(100_000, 105_000))).to.equal(true);
    expect(await store.readBody(a, clock(1), { offsetBytes: large.length - 1, lengthBytes: 2 })).to.equal('out-of-range');
    expect(store.usedBytes() - before).to.be.at.least(large.length);
  });

  it('removes a replaced body file once the write that replaced it is settled, and keeps it through a revert', async () => {
    await put(a, clock(1), randomBytes(100 * KiB));
    const second = randomBytes(100 * KiB);
    await put(a, clock(2), second, true);
    expect(files(), 'the replaced version stays until settled').to.have.length(2);
    await store.settle(a, clock(2));
    await waitFor(() => files().length === 1);
    expect((await store.readBody(a, clock(2)) as Buffer).equals(second)).to.equal(true);

    await put(a, clock(3), randomBytes(100 * KiB), true);
    expect(await store.revert(a, clock(3))).to.deep.equal({ reverted: true, restored: clock(2) });
    await waitFor(() => files().length === 1);
    expect((await store.readBody(a, clock(2)) as Buffer).equals(second), 'the restored version reads back').to.equal(true);
    expect(await store.readBody(a, clock(3))).to.equal(undefined);
  });

  it('keeps the files of a chain of unsettled writes while they may come back, and removes each once it cannot', async () => {
    const first = randomBytes(100 * KiB);
    await put(a, clock(1), first);
    await put(a, clock(2), randomBytes(100 * KiB), true);
    await put(a, clock(3), randomBytes(100 * KiB), true);
    expect(files(), 'every version an undo could give back').to.have.length(3);
    expect(await store.revert(a, clock(2))).to.deep.equal({ reverted: true, beneathNewest: true });
    await waitFor(() => files().length === 2);
    expect(await store.revert(a, clock(3))).to.deep.equal({ reverted: true, restored: clock(1) });
    await waitFor(() => files().length === 1);
    expect((await store.readBody(a, clock(1)) as Buffer).equals(first)).to.equal(true);

    await put(a, clock(4), randomBytes(100 * KiB), true);
    await put(a, clock(5), randomBytes(100 * KiB), true);
    await store.settle(a, clock(5));
    await waitFor(() => files().length === 1);
    expect(await store.readBody(a, clock(5))).to.not.equal(undefined);
  });

  it('keeps the file when the same version arrives twice, and drops one a newer version made useless', async () => {
    const body = randomBytes(80 * KiB);
    await put(a, clock(5), body);
    expect(await put(a, clock(5), body)).to.deep.include({ applied: false });
    expect(await put(a, clock(4), randomBytes(80 * KiB))).to.deep.include({ applied: false });
    await waitFor(() => files().length === 1);
    expect((await store.readBody(a, clock(5)) as Buffer).equals(body)).to.equal(true);
  });

  it('removes the file of a deleted version, and every file of a purged namespace', async () => {
    await put(a, clock(1), randomBytes(70 * KiB));
    await store.apply({ address: a, meta: meta(a, clock(2), 0, true), keepPrevious: false });
    await waitFor(() => files().length === 0);
    const other: ObjectAddress = { kind: 'chunk', bucket: 'gone~0123456789abcdef', key: 'x\nv\n0' };
    for (let i = 0; i < 5; i++) await put({ ...other, key: `x\nv\n${i}` }, clock(1), randomBytes(70 * KiB));
    expect(files()).to.have.length(5);
    await store.markDeleted([{ namespace: other.bucket, deletedAtMs: 1 }]);
    while (!(await store.purgeNamespace(other.bucket, 2, 2)).finished);
    await waitFor(() => files().length === 0);
  });

  it('reads a large body an earlier release kept in LMDB, and moves it to a file when it is overwritten', async () => {
    const body = randomBytes(300 * KiB);
    await store.close();
    // The earlier layout: every body in the data table, whatever its size, and no body_files table.
    const root = lmdbOpen({ path: join(dir, 'objects'), maxDbs: 16 });
    const key = dataKey(a, clock(1));
    await root.openDB({ name: 'meta', keyEncoding: 'binary' }).put(metaKey(a), meta(a, clock(1), body.length));
    await root.openDB({ name: 'data', keyEncoding: 'binary', encoding: 'binary' }).put(key, body);
    await root.close();
    store = open();
    expect((await store.readBody(a, clock(1)) as Buffer).equals(body)).to.equal(true);
    expect((await store.readBody(a, clock(1), { offsetBytes: 1000, lengthBytes: 10 }) as Buffer).equals(body.subarray(1000, 1010))).to.equal(true);
    const next = randomBytes(200 * KiB);
    await put(a, clock(2), next);
    expect(files()).to.have.length(1);
    expect((await store.readBody(a, clock(2)) as Buffer).equals(next)).to.equal(true);
    expect(await store.readBody(a, clock(1)), 'the old body left the data table').to.equal(undefined);
  });

  it('sweeps files that a crash left without their record, and leaves the others', async () => {
    const body = randomBytes(90 * KiB);
    await put(a, clock(1), body);
    await store.close();
    const orphanDir = join(dir, 'objects', 'bodies', 'ab');
    mkdirSync(orphanDir, { recursive: true });
    const orphan = join(orphanDir, 'ab'.padEnd(32, '0'));
    writeFileSync(orphan, 'left by a crash');
    writeFileSync(`${orphan}.0123.tmp`, 'half written');
    for (const path of [orphan, `${orphan}.0123.tmp`]) utimesSync(path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    store = open();
    expect(await store.sweepBodyFiles()).to.equal(2);
    expect(files()).to.have.length(1);
    expect((await store.readBody(a, clock(1)) as Buffer).equals(body)).to.equal(true);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  // Files are unlinked right after their transaction commits; this bounds the wait.
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check(), 'condition met').to.equal(true);
}
