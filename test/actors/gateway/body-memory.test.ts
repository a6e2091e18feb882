import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { BodyMemory } from '../../../src/actors/gateway/body-memory.js';
import { MiB, pattern, startHarness, type Harness } from '../../support/gateway-harness.js';

describe('actors/gateway body memory', function () {
  this.timeout(120_000);

  it('grants in order, waits when full, and never strands an oversized request', async () => {
    const memory = new BodyMemory(10);
    const [a, b, c] = [memory.account('a'), memory.account('b'), memory.account('c')];
    expect(a.tryAcquire(6)).to.equal(true);
    expect(b.tryAcquire(6)).to.equal(false);
    const order: string[] = [];
    const first = b.acquire(5).then(() => order.push('first'));
    const second = c.acquire(1).then(() => order.push('second'));
    expect(memory.account('d').tryAcquire(1), 'no overtaking a waiter').to.equal(false);
    a.release(6);
    await Promise.all([first, second]);
    expect(order).to.deep.equal(['first', 'second']);
    expect(memory.inUseBytes).to.equal(6);
    b.release(5);
    c.release(1);
    const big = memory.account('e');
    const oversized = big.acquire(50);
    await oversized;
    expect(memory.inUseBytes, 'larger than the whole budget, granted when nothing else is held').to.equal(50);
    big.release(50);
    expect(memory.inUseBytes).to.equal(0);
  });

  it('keeps a waiting oversized request ahead of everyone who comes later', async () => {
    const memory = new BodyMemory(10);
    const holder = memory.account('a');
    expect(holder.tryAcquire(4)).to.equal(true);
    let granted = false;
    const oversized = memory.account('b').acquire(30).then(() => (granted = true));
    expect(memory.account('c').tryAcquire(1), 'later requests wait behind it').to.equal(false);
    holder.release(4);
    await oversized;
    expect(granted).to.equal(true);
    expect(memory.inUseBytes).to.equal(30);
  });

  it('takes the whole budget for one request while nobody else wants any', () => {
    const memory = new BodyMemory(10);
    const alone = memory.account('a');
    for (let i = 0; i < 5; i++) expect(alone.tryAcquire(2), `grant ${i}`).to.equal(true);
    expect(alone.heldBytes).to.equal(10);
    expect(alone.overShare, 'nobody waits').to.equal(false);
  });

  it('keeps the requests of one user within its cap, always, and serves other users past its waiters', async () => {
    const memory = new BodyMemory(10, 6);
    const hogs = Array.from({ length: 4 }, () => memory.account('hog'));
    expect(hogs[0]!.tryAcquire(3)).to.equal(true);
    expect(hogs[1]!.tryAcquire(3)).to.equal(true);
    expect(hogs[2]!.tryAcquire(3), 'over the cap although the budget has room').to.equal(false);
    let hogServed = false;
    const waitingHog = hogs[3]!.acquire(3).then(() => (hogServed = true));
    const other = memory.account('bob');
    expect(other.tryAcquire(2), 'a waiter held back by its own cap does not hold back others').to.equal(true);
    await other.acquire(2);
    expect(memory.userBytes('bob')).to.equal(4);
    expect(memory.userBytes('hog')).to.equal(6);
    expect(hogServed).to.equal(false);
    hogs[0]!.release(3);
    await waitingHog;
    expect(memory.userBytes('hog')).to.equal(6);
  });

  it('gives a user its first grant even when it is larger than the cap', async () => {
    const memory = new BodyMemory(10, 4);
    const big = memory.account('a');
    await big.acquire(8);
    expect(big.heldBytes).to.equal(8);
    expect(memory.account('a').tryAcquire(1)).to.equal(false);
  });

  it('does not count an uncapped account against its user', async () => {
    const memory = new BodyMemory(10, 4);
    const writer = memory.account('a');
    expect(writer.tryAcquire(4)).to.equal(true);
    const reader = memory.account('a', { capped: false });
    expect(reader.tryAcquire(2), 'the user is at its cap, but this account is outside it').to.equal(true);
  });

  it('while others wait, gives a request over its share nothing more, but a request holding nothing its first grant', async () => {
    const memory = new BodyMemory(12);
    const [a, b] = [memory.account('a'), memory.account('b')];
    expect(a.tryAcquire(4)).to.equal(true);
    expect(a.tryAcquire(4), 'uncontended: beyond its share').to.equal(true);
    expect(b.tryAcquire(3)).to.equal(true);
    const c = memory.account('c');
    let cServed = false;
    const waiting = c.acquire(4).then(() => (cServed = true));
    // Three requests are active: a share is 4 bytes; a holds 8 and b 3 while c waits.
    expect(a.overShare).to.equal(true);
    expect(b.overShare).to.equal(false);
    expect(a.tryAcquire(1), 'over its share while c waits').to.equal(false);
    a.release(4);
    await waiting;
    expect(cServed).to.equal(true);
    expect(memory.account('d').tryAcquire(1), 'a newcomer holding nothing gets its first grant').to.equal(true);
  });

  it('asks a request over its share to give back what it holds idle when another starts waiting', async () => {
    const memory = new BodyMemory(10);
    const hog = memory.account('a');
    expect(hog.tryAcquire(5)).to.equal(true);
    expect(hog.tryAcquire(5)).to.equal(true);
    let asked = 0;
    hog.onContention(() => {
      asked++;
      if (hog.overShare) hog.release(5);
    });
    await memory.account('b').acquire(5);
    expect(asked).to.equal(1);
    expect(hog.heldBytes).to.equal(5);
    expect(memory.inUseBytes).to.equal(10);
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
