import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import { BodyFileMismatch, machineIdentity, NotABodyFile, readBodyFile } from '../../../src/store/same-machine.js';
import type { ObjectAddress } from '../../../src/store/store-keys.js';

const KiB = 1024;
const NAME = `ab${'0123456789abcdef0123456789abcd'}`;

async function refusal(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: Error) => error,
  );
}

describe('store/same-machine', function () {
  let dir: string;

  before(function () {
    // Machines are told apart by what Linux shows in /proc; elsewhere nothing is read across processes.
    if (machineIdentity() === undefined) this.skip();
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-same-machine-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names this machine the same way every time', () => {
    const identity = machineIdentity();
    expect(identity).to.match(/^[0-9a-f-]{36}\/mnt:\[\d+\]\/\d+:\d+$/);
    expect(machineIdentity()).to.equal(identity);
  });

  describe('readBodyFile', () => {
    const body = randomBytes(200 * KiB);
    let path: string;

    beforeEach(() => {
      mkdirSync(join(dir, 'bodies', 'ab'), { recursive: true });
      path = join(dir, 'bodies', 'ab', NAME);
      writeFileSync(path, body);
    });

    it('reads the slice it is pointed at', async () => {
      const read = await readBodyFile({ path, offset: 1000, length: 50 * KiB, fileBytes: body.length });
      expect(read.equals(body.subarray(1000, 1000 + 50 * KiB))).to.equal(true);
    });

    it('reads into the buffer it is given when that is as long as the slice, and into its own otherwise', async () => {
      const into = Buffer.alloc(50 * KiB);
      const read = await readBodyFile({ path, offset: 1000, length: 50 * KiB, fileBytes: body.length }, into);
      expect(read).to.equal(into);
      expect(into.equals(body.subarray(1000, 1000 + 50 * KiB))).to.equal(true);
      const shorter = Buffer.alloc(10);
      const own = await readBodyFile({ path, offset: 0, length: 11, fileBytes: body.length }, shorter);
      expect(own).to.not.equal(shorter);
      expect(own.equals(body.subarray(0, 11))).to.equal(true);
      expect(shorter.equals(Buffer.alloc(10))).to.equal(true);
    });

    it('reads nothing that is not named like a body file, nor outside the file', async () => {
      const other = join(dir, 'secret.key');
      writeFileSync(other, body);
      for (const wrong of [other, join(dir, 'bodies', 'cd', NAME), `${dir}/bodies/ab/../ab/${NAME}`, `${dir}/../${dir.split('/').pop()!}/bodies/ab/${NAME}`, `${path}.tmp`, `bodies/ab/${NAME}`]) {
        expect(await refusal(readBodyFile({ path: wrong, offset: 0, length: 1, fileBytes: body.length })), wrong).to.be.instanceOf(NotABodyFile);
      }
      for (const [offset, length] of [[-2, 10], [body.length - 1, 2], [0.5, 1]]) {
        expect(await refusal(readBodyFile({ path, offset: offset!, length: length!, fileBytes: body.length })), `${offset} ${length}`).to.be.instanceOf(NotABodyFile);
      }
    });

    it('refuses a file of another size than it was told, a link or a pipe in a body file\'s place', async () => {
      expect(await refusal(readBodyFile({ path, offset: 0, length: 1, fileBytes: body.length + 1 }))).to.be.instanceOf(BodyFileMismatch);
      const linked = join(dir, 'bodies', 'ab', `ab${'f'.repeat(30)}`);
      symlinkSync(path, linked);
      expect((await refusal(readBodyFile({ path: linked, offset: 0, length: 1, fileBytes: body.length })) as NodeJS.ErrnoException).code).to.equal('ELOOP');
      // Opening a pipe for reading would wait for a writer that never comes.
      const pipe = join(dir, 'bodies', 'ab', `ab${'e'.repeat(30)}`);
      execFileSync('mkfifo', [pipe]);
      expect(await refusal(readBodyFile({ path: pipe, offset: 0, length: 1, fileBytes: 0 }))).to.be.instanceOf(NotABodyFile);
    });

    it('fails with ENOENT when the file is gone', async () => {
      rmSync(path);
      expect((await refusal(readBodyFile({ path, offset: 0, length: 1, fileBytes: body.length })) as NodeJS.ErrnoException).code).to.equal('ENOENT');
    });
  });

  describe('ObjectStore.bodyFileOf', () => {
    const at: Hlc = { wallMs: 1, counter: 0, node: 'n1' };
    const address: ObjectAddress = { kind: 'chunk', bucket: 'photos', key: 'big\nv1\n0' };
    const meta = (key: string, sizeBytes: number): ObjectMeta => ({ bucket: 'photos', key, sizeBytes, etag: 'e', contentType: '', userMeta: {}, clock: at, lastModifiedMs: 1, ringChecksum: 1, deleted: false });
    let store: ObjectStore;

    beforeEach(() => {
      store = ObjectStore.open({ path: join(dir, 'store'), logger: memoryLogger('error').logger, fileBodyMinBytes: 64 * KiB });
    });
    afterEach(() => store.close());

    it('points at a body kept in a file, whole or sliced, where another process can read it', async () => {
      const body = randomBytes(100 * KiB + 3);
      await store.apply({ address, meta: meta(address.key, body.length), body, keepPrevious: false });
      const whole = store.bodyFileOf(address, at);
      expect(whole).to.include({ offset: 0, length: body.length, fileBytes: body.length });
      if (whole === undefined || whole === 'out-of-range') throw new Error('no body file');
      expect((await readBodyFile(whole)).equals(body)).to.equal(true);
      const slice = store.bodyFileOf(address, at, { offsetBytes: 10, lengthBytes: 20 });
      if (slice === undefined || slice === 'out-of-range') throw new Error('no body file');
      expect((await readBodyFile(slice)).equals(body.subarray(10, 30))).to.equal(true);
      expect(store.bodyFileOf(address, at, { offsetBytes: body.length, lengthBytes: 1 })).to.equal('out-of-range');
    });

    it('points at nothing for a body kept in the store itself, or a version it does not hold', async () => {
      const small = { ...address, key: 'small' };
      await store.apply({ address: small, meta: meta('small', 10), body: Buffer.alloc(10), keepPrevious: false });
      expect(store.bodyFileOf(small, at)).to.equal(undefined);
      expect(store.bodyFileOf(address, at)).to.equal(undefined);
    });
  });
});
