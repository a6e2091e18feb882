import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { constants, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { AlignedStaging } from '../../../src/store/aligned-staging.js';
import { BodyFiles, type BodyFilesOptions } from '../../../src/store/body-files.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Every file under the bodies root, temporary ones included. */
function filesUnder(root: string): string[] {
  return readdirSync(root).flatMap((sub) => readdirSync(join(root, sub)));
}

describe('store/body-files', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'leofs-bodies-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  async function writeAndReadBack(files: BodyFiles, bodies: readonly Buffer[]): Promise<void> {
    await Promise.all(bodies.map((body, i) => files.write(`${i}`.padStart(4, '0'), body)));
    for (const [i, body] of bodies.entries()) {
      const name = `${i}`.padStart(4, '0');
      expect(statSync(join(root, name.slice(0, 2), name)).size, `size of body ${i}`).to.equal(body.length);
      expect((await files.read(name, 0, body.length))!.equals(body), `body ${i}`).to.equal(true);
    }
    const tail = bodies.at(-1)!;
    const name = `${bodies.length - 1}`.padStart(4, '0');
    expect((await files.read(name, tail.length - 5000, 5000))!.equals(tail.subarray(tail.length - 5000))).to.equal(true);
    expect(filesUnder(root).filter((file) => file.endsWith('.tmp'))).to.deep.equal([]);
  }

  /** Opens as the store does, and remembers whether each open asked for a direct write. */
  function recordingOpen(directs: boolean[]): NonNullable<BodyFilesOptions['openFile']> {
    return async (path, flags, mode) => {
      directs.push((flags & constants.O_DIRECT) !== 0);
      return open(path, flags, mode);
    };
  }

  /** An error as the file system gives it. */
  const einval = (): NodeJS.ErrnoException => Object.assign(new Error('EINVAL: invalid argument'), { code: 'EINVAL' });

  it('writes bodies past the page cache, padded and cut back to their length, one slot or many', async function () {
    const directs: boolean[] = [];
    const files = new BodyFiles(root, memoryLogger('error').logger, { openFile: recordingOpen(directs) });
    await files.write('probe', randomBytes(128 * KiB));
    // A file system without direct writes takes the page-cache path, tested below.
    if (!files.writesDirect) this.skip();
    const sizes = [0, 128 * KiB + 7, 256 * KiB, 2 * MiB, 2 * MiB + 1, 5 * MiB + 123];
    await writeAndReadBack(files, sizes.map((size) => randomBytes(size)));
    expect(files.writesDirect).to.equal(true);
    expect(directs).to.deep.equal(new Array(sizes.length + 1).fill(true));
  });

  it('queues bodies for the staging slots when more are written at once than there are slots', async function () {
    const staging = new AlignedStaging(64 * KiB, 1);
    let held = 0;
    let mostHeld = 0;
    let taken = 0;
    const counting = {
      take: async () => {
        const slot = await staging.take();
        taken++;
        mostHeld = Math.max(mostHeld, ++held);
        return slot;
      },
      give: (slot: Buffer) => {
        held--;
        staging.give(slot);
      },
    };
    const files = new BodyFiles(root, memoryLogger('error').logger, { staging: counting });
    await writeAndReadBack(files, Array.from({ length: 8 }, (_, i) => randomBytes(130 * KiB + i * 4099)));
    if (!files.writesDirect) this.skip();
    expect([taken, mostHeld, held]).to.deep.equal([8, 1, 0]);
  });

  it('hands a slot given back to the body that waited longest', async () => {
    const staging = new AlignedStaging(64 * KiB, 1);
    const first = await staging.take();
    const order: string[] = [];
    const second = staging.take().then((slot) => (order.push('second'), slot));
    const third = staging.take().then((slot) => (order.push('third'), slot));
    staging.give(first);
    staging.give(await second);
    expect(await third).to.equal(first);
    expect(order).to.deep.equal(['second', 'third']);
    expect(() => new AlignedStaging(4096, 1)).to.throw(RangeError);
  });

  const refusals: ReadonlyArray<{ readonly how: string; readonly options: () => BodyFilesOptions }> = [
    {
      how: 'the open (the kernel has created the file by then)',
      options: () => ({
        openFile: async (path, flags, mode) => {
          if ((flags & constants.O_DIRECT) === 0) return open(path, flags, mode);
          await (await open(path, flags & ~constants.O_DIRECT, mode)).close();
          throw einval();
        },
      }),
    },
    {
      how: 'the first write',
      options: () => ({
        openFile: async (path, flags, mode) => {
          const file = await open(path, flags & ~constants.O_DIRECT, mode);
          if ((flags & constants.O_DIRECT) !== 0) file.write = () => Promise.reject(einval());
          return file;
        },
      }),
    },
    {
      how: 'the staging memory',
      options: () => ({ staging: { take: () => Promise.reject(new RangeError('WebAssembly.Memory(): could not allocate memory')), give: () => undefined } }),
    },
  ];
  for (const { how, options } of refusals) {
    it(`writes through the page cache from then on when direct writes fail at ${how}, leaving nothing half written`, async () => {
      const { logger, lines } = memoryLogger('info');
      const files = new BodyFiles(root, logger, options());
      await writeAndReadBack(files, [randomBytes(200 * KiB), randomBytes(300 * KiB + 3)]);
      expect(files.writesDirect).to.equal(false);
      expect(lines.filter((line) => /cannot be written past the page cache/.test(String(line.msg)))).to.have.length(1);
    });
  }

  it('answers a disk that fills up mid-body with its own error, and leaves no file behind', async () => {
    const files = new BodyFiles(root, memoryLogger('error').logger, {
      openFile: async (path, flags, mode) => {
        const file = await open(path, flags & ~constants.O_DIRECT, mode);
        let writes = 0;
        // A first short write, as a nearly full disk gives, then the full disk's refusal.
        file.write = (async (buffer: Buffer, offset: number, length: number, position: number) => {
          if (++writes === 1) return { bytesWritten: Math.min(length, 64 * KiB), buffer };
          if (writes === 2) expect([offset, position]).to.deep.equal([64 * KiB, 64 * KiB]);
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        }) as FileHandle['write'];
        return file;
      },
    });
    const failed = await files.write('full', randomBytes(300 * KiB)).then(() => undefined, (error: NodeJS.ErrnoException) => error);
    expect(failed?.code).to.equal('ENOSPC');
    expect(filesUnder(root)).to.deep.equal([]);
  });

  it('writes through the page cache when told to, and when writes need not be durable', () => {
    expect(new BodyFiles(root, memoryLogger('error').logger, { directWrites: false }).writesDirect).to.equal(false);
    expect(new BodyFiles(root, memoryLogger('error').logger, { durable: false }).writesDirect).to.equal(false);
  });
});
