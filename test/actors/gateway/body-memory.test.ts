import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { BodyMemory } from '../../../src/actors/gateway/body-memory.js';
import { MiB, pattern, startHarness, type Harness } from '../../support/gateway-harness.js';

describe('actors/gateway body memory', function () {
  this.timeout(120_000);

  it('grants in order, waits when full, and never strands an oversized request', async () => {
    const memory = new BodyMemory(10);
    expect(memory.tryAcquire(6)).to.equal(true);
    expect(memory.tryAcquire(6)).to.equal(false);
    const order: string[] = [];
    const first = memory.acquire(5).then(() => order.push('first'));
    const second = memory.acquire(1).then(() => order.push('second'));
    expect(memory.tryAcquire(1), 'no overtaking a waiter').to.equal(false);
    memory.release(6);
    await Promise.all([first, second]);
    expect(order).to.deep.equal(['first', 'second']);
    expect(memory.inUseBytes).to.equal(6);
    memory.release(6);
    await memory.acquire(50);
    expect(memory.inUseBytes, 'larger than the whole budget, granted when nothing else is held').to.equal(50);
  });

  describe('under concurrent large transfers', () => {
    let h: Harness;
    let s3: S3Client;
    let peakBytes = 0;
    let timer: NodeJS.Timeout;

    beforeEach(async () => {
      h = await startHarness({ config: { chunkSizeBytes: 1 * MiB, bodyMemoryBytes: 8 * MiB, maxChunksInFlight: 2, readPieceBytes: 256 * 1024, readAheadPieces: 4, cacheBytes: 0 } });
      h.admin.addBucket('busy', 'alice');
      s3 = h.client('alice');
      peakBytes = 0;
      timer = setInterval(() => (peakBytes = Math.max(peakBytes, h.deps.bodyMemory.inUseBytes)), 1);
    });

    afterEach(async () => {
      clearInterval(timer);
      await h.close();
    });

    it('keeps uploads and downloads within the budget, and every byte right', async () => {
      const bodies = Array.from({ length: 10 }, (_, i) => pattern(6 * MiB + i * 1000, i + 1));
      await Promise.all(bodies.map((body, i) => s3.send(new PutObjectCommand({ Bucket: 'busy', Key: `o${i}`, Body: body }))));
      const got = await Promise.all(
        bodies.map(async (_, i) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'busy', Key: `o${i}` }))).Body!.transformToByteArray())),
      );
      for (const [i, body] of bodies.entries()) expect(createHash('md5').update(got[i]!).digest('hex'), `o${i}`).to.equal(createHash('md5').update(body).digest('hex'));
      expect(peakBytes, 'body memory in use at most').to.be.at.most(8 * MiB);
      expect(peakBytes, 'the budget was actually used').to.be.at.least(4 * MiB);
      expect(h.deps.bodyMemory.inUseBytes, 'everything given back').to.equal(0);
    });
  });
});
