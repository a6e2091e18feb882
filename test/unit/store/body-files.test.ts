import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { AlignedStaging } from '../../../src/store/aligned-staging.js';
import { BodyFiles } from '../../../src/store/body-files.js';

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

  it('writes bodies past the page cache, padded and cut back to their length, one slot or many', async function () {
    const files = new BodyFiles(root, memoryLogger('error').logger);
    const sizes = [128 * KiB + 7, 256 * KiB, 2 * MiB, 2 * MiB + 1, 5 * MiB + 123];
    await files.write('probe', randomBytes(128 * KiB));
    // A file system without direct writes (tmpfs on older kernels) takes the page-cache path, tested below.
    if (!files.writesDirect) this.skip();
    await writeAndReadBack(files, sizes.map((size) => randomBytes(size)));
    expect(files.writesDirect).to.equal(true);
  });

  it('queues bodies for the staging slots when more are written at once than there are slots', async function () {
    const files = new BodyFiles(root, memoryLogger('error').logger, { staging: new AlignedStaging(64 * KiB, 1) });
    await writeAndReadBack(files, Array.from({ length: 8 }, (_, i) => randomBytes(130 * KiB + i * 4099)));
  });

  it('writes through the page cache from then on when a direct write is refused, leaving nothing half written', async () => {
    const { logger, lines } = memoryLogger('info');
    // Slots one byte off a page boundary: every file system that takes direct writes refuses them.
    const misaligned = { take: () => Promise.resolve(Buffer.alloc(64 * KiB + 1).subarray(1)), give: () => undefined };
    const files = new BodyFiles(root, logger, { staging: misaligned });
    await writeAndReadBack(files, [randomBytes(200 * KiB), randomBytes(300 * KiB + 3)]);
    expect(files.writesDirect).to.equal(false);
    expect(lines.filter((line) => /refuses direct writes/.test(String(line.msg)))).to.have.length(1);
  });

  it('writes through the page cache when told to, and when writes need not be durable', () => {
    expect(new BodyFiles(root, memoryLogger('error').logger, { directWrites: false }).writesDirect).to.equal(false);
    expect(new BodyFiles(root, memoryLogger('error').logger, { durable: false }).writesDirect).to.equal(false);
  });
});
