import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StagedBodyRef } from '../../../src/core/staged-body-ref.js';
import { isStagedBodyRef } from '../../../src/core/staged-body-ref.js';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { BodyFiles } from '../../../src/store/body-files.js';
import { ObjectStore } from '../../../src/store/object-store.js';
import { machineIdentity } from '../../../src/store/same-machine.js';
import { removeStagedBodies, StagedBody, StagedBodyRefused, StagingArea, type StagedBodyRefusal } from '../../../src/store/staged-bodies.js';

const KiB = 1024;

async function refusalOf(ref: StagedBodyRef, machine: string | undefined): Promise<StagedBodyRefusal> {
  try {
    const body = await StagedBody.open(ref, machine);
    await body.closeAfterUse();
  } catch (error) {
    if (error instanceof StagedBodyRefused) return error.reason;
    throw error;
  }
  throw new Error(`${ref.path} was taken`);
}

describe('store/staged-bodies', function () {
  let dir: string;
  let machine: string;

  before(function () {
    // Machines are told apart by what Linux shows in /proc; elsewhere nothing is staged.
    const identity = machineIdentity();
    if (identity === undefined) this.skip();
    machine = identity;
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-staged-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const area = (): StagingArea => new StagingArea(join(dir, 'staging'), machine, memoryLogger('error').logger);
  /** The staging directory, holding a file a writer left a minute ago. */
  const leftByEarlierWriter = (): string => {
    const stagingDir = join(dir, 'staging');
    mkdirSync(stagingDir);
    const left = join(stagingDir, `${'a'.repeat(32)}.staged`);
    writeFileSync(left, 'left over');
    utimesSync(left, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    return stagingDir;
  };

  it('stages a body in a private file for a reader on this machine, and removes it when discarded', async () => {
    const staging = area();
    const bytes = randomBytes(300 * KiB + 7);
    const ref = (await staging.stage(bytes))!;
    expect(isStagedBodyRef(ref)).to.equal(true);
    expect(ref).to.include({ machine, sizeBytes: bytes.length });
    expect(statSync(ref.path).mode & 0o777).to.equal(0o600);
    expect(statSync(join(dir, 'staging')).mode & 0o777).to.equal(0o700);
    expect(readFileSync(ref.path).equals(bytes)).to.equal(true);

    const body = await StagedBody.open(ref, machine);
    const piece = Buffer.alloc(1000);
    await body.readInto(piece, 1000, 5000);
    expect(piece.equals(bytes.subarray(5000, 6000))).to.equal(true);
    expect((await body.bytes()).equals(bytes)).to.equal(true);
    // The file is opened: discarding it leaves the reader reading.
    staging.discard(ref);
    let finishRead!: () => void;
    body.track(new Promise<void>((resolve) => (finishRead = resolve)));
    const closed = body.closeAfterUse();
    await body.readInto(piece, 1000, 0);
    expect(piece.equals(bytes.subarray(0, 1000))).to.equal(true);
    finishRead();
    await closed;
    expect(existsSync(ref.path)).to.equal(false);
  });

  it('removes what an earlier writer left when it first stages, and nothing of its own', async () => {
    const stagingDir = leftByEarlierWriter();
    const staging = area();
    const first = (await staging.stage(randomBytes(10)))!;
    const second = (await staging.stage(randomBytes(10)))!;
    expect(readdirSync(stagingDir).sort()).to.deep.equal([first.path, second.path].map((path) => path.split('/').pop()!).sort());
  });

  it('removes what an earlier writer left when opened, and every staged body once a writer stops staging', async () => {
    const stagingDir = leftByEarlierWriter();
    const staging = area();
    await staging.open();
    expect(readdirSync(stagingDir)).to.deep.equal([]);

    const fresh = (await staging.stage(randomBytes(10)))!;
    writeFileSync(join(stagingDir, 'not-staged.txt'), 'kept');
    await removeStagedBodies(stagingDir, memoryLogger('error').logger);
    expect(existsSync(fresh.path)).to.equal(false);
    expect(readdirSync(stagingDir)).to.deep.equal(['not-staged.txt']);
    // Nothing there: nothing to do.
    await removeStagedBodies(join(dir, 'nowhere'), memoryLogger('error').logger);
    // A directory that cannot be made is logged, not thrown.
    writeFileSync(join(dir, 'blocked'), 'a file');
    const { logger, lines } = memoryLogger('warn');
    await new StagingArea(join(dir, 'blocked', 'staging'), machine, logger).open();
    expect(lines.filter((line) => /cannot stage bodies/.test(String(line.msg)))).to.have.length(1);
  });

  it('answers undefined, and logs once, when it cannot stage', async () => {
    writeFileSync(join(dir, 'staging'), 'a file where the directory should be');
    const { logger, lines } = memoryLogger('warn');
    const staging = new StagingArea(join(dir, 'staging'), machine, logger);
    expect(await staging.stage(randomBytes(10))).to.equal(undefined);
    expect(await staging.stage(randomBytes(10))).to.equal(undefined);
    expect(lines.filter((line) => /cannot stage bodies/.test(String(line.msg)))).to.have.length(1);
  });

  it('refuses what is on another machine, not named as a staged body, not a regular file, of another size, or gone', async () => {
    const staging = area();
    const ref = (await staging.stage(randomBytes(4 * KiB)))!;
    expect(await refusalOf({ ...ref, machine: 'another machine' }, machine)).to.equal('elsewhere');
    expect(await refusalOf(ref, undefined)).to.equal('elsewhere');
    const misnamed = join(dir, 'staging', 'body.bin');
    writeFileSync(misnamed, randomBytes(4 * KiB));
    expect(await refusalOf({ ...ref, path: misnamed }, machine)).to.equal('not-staged');
    expect(await refusalOf({ ...ref, path: '/etc/passwd' }, machine)).to.equal('not-staged');
    expect(await refusalOf({ ...ref, sizeBytes: ref.sizeBytes + 1 }, machine)).to.equal('mismatch');

    const link = join(dir, 'staging', `${'b'.repeat(32)}.staged`);
    symlinkSync(ref.path, link);
    expect(await refusalOf({ ...ref, path: link }, machine)).to.equal('not-staged');
    const hardLink = join(dir, 'staging', `${'e'.repeat(32)}.staged`);
    linkSync(ref.path, hardLink);
    expect(await refusalOf({ ...ref, path: hardLink }, machine)).to.equal('not-staged');
    rmSync(hardLink);
    expect(await refusalOf({ ...ref, path: ref.path.replace('/staging/', '/staging/../staging/') }, machine)).to.equal('not-staged');
    expect(await refusalOf({ ...ref, path: `/nowhere/staging/${'f'.repeat(32)}.staged` }, machine)).to.equal('not-staged');
    const directory = join(dir, 'staging', `${'c'.repeat(32)}.staged`);
    mkdirSync(directory);
    expect(await refusalOf({ ...ref, path: directory }, machine)).to.equal('not-staged');
    const fifo = join(dir, 'staging', `${'d'.repeat(32)}.staged`);
    try {
      execFileSync('mkfifo', [fifo]);
      expect(await refusalOf({ ...ref, path: fifo }, machine)).to.equal('not-staged');
    } catch (error) {
      if (!(error as NodeJS.ErrnoException).code) throw error;
    }

    staging.discard(ref);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await refusalOf(ref, machine)).to.equal('gone');
  });

  it('writes a body file from a staged body, past the page cache and through it, as from bytes', async () => {
    const staging = area();
    for (const direct of [true, false]) {
      const files = new BodyFiles(join(dir, `bodies-${direct}`), memoryLogger('error').logger, { directWrites: direct });
      const bytes = randomBytes(5 * 1024 * KiB + 4099);
      const ref = (await staging.stage(bytes))!;
      const body = await StagedBody.open(ref, machine);
      await files.write('0001', body);
      await body.closeAfterUse();
      expect((await files.read('0001', 0, bytes.length))!.equals(bytes), `direct ${direct}`).to.equal(true);
    }
  });

  it('stores a staged body in a file when large and in its record when small, as bytes would be', async () => {
    const store = ObjectStore.open({ path: join(dir, 'store'), logger: memoryLogger('error').logger });
    try {
      const staging = area();
      const clock = { wallMs: Date.now(), counter: 0, node: 'n1' };
      for (const [key, size] of [['large', 700 * KiB], ['small', 3 * KiB]] as const) {
        const bytes = randomBytes(size);
        const body = await StagedBody.open((await staging.stage(bytes))!, machine);
        const address = { kind: 'chunk' as const, bucket: 'b', key };
        const meta = { bucket: 'b', key, sizeBytes: size, etag: '', contentType: '', userMeta: {}, clock, lastModifiedMs: clock.wallMs, ringChecksum: 1, deleted: false };
        expect(await store.apply({ address, meta, body, keepPrevious: false })).to.include({ applied: true });
        await body.closeAfterUse();
        expect(Buffer.from((await store.readBody(address, clock))!).equals(bytes), key).to.equal(true);
        expect(store.bodyFileOf(address, clock) !== undefined, key).to.equal(key === 'large');
      }
    } finally {
      await store.close();
    }
  });
});
