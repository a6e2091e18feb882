import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { memoryLogger } from '../../../src/runtime/logger.js';
import { DurableQueue } from '../../../src/store/durable-queue.js';
import { ObjectStore } from '../../../src/store/object-store.js';

interface Repair {
  readonly peer: string;
}
const isRepair = (value: unknown): value is Repair => typeof value === 'object' && value !== null && typeof (value as Repair).peer === 'string';

describe('store/durable-queue', () => {
  let dir: string;
  let store: ObjectStore;
  let logged: ReturnType<typeof memoryLogger>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-queue-'));
    logged = memoryLogger('debug');
    store = ObjectStore.open({ path: dir, logger: logged.logger, durable: false });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands out due items earliest first and coalesces by item key', async () => {
    const queue = store.queue('repair', isRepair);
    await queue.enqueue('k3', { peer: 'c' }, 1000, 3000);
    await queue.enqueue('k1', { peer: 'a' }, 1000, 1000);
    await queue.enqueue('k2', { peer: 'b' }, 1000, 2000);
    await queue.enqueue('k3', { peer: 'c2' }, 1500, 1500);
    expect(queue.size).to.equal(3);
    expect(queue.due(999, 10)).to.deep.equal([]);
    expect(queue.due(2500, 10).map((i) => [i.itemKey, i.payload.peer])).to.deep.equal([['k1', 'a'], ['k3', 'c2'], ['k2', 'b']]);
    expect(queue.due(5000, 2).length).to.equal(2);
  });

  it('backs off exponentially up to the cap, and completes items', async () => {
    const queue = store.queue('repair', isRepair);
    await queue.enqueue('k', { peer: 'x' }, 0);
    const backoff = { initialMs: 100, maxMs: 1000 };
    const dues: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      await queue.retry('k', 10_000, 'peer down', backoff);
      dues.push(queue.due(100_000, 1)[0]!.dueMs - 10_000);
    }
    expect(dues).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
    expect(queue.due(100_000, 1)[0]).to.include({ attempts: 6, lastError: 'peer down' });
    await queue.complete('k');
    expect(queue.size).to.equal(0);
    expect(queue.due(100_000, 10)).to.deep.equal([]);
  });

  it('merges a refreshed item as told, keeps one refreshed meanwhile from being completed, and clears in batches', async () => {
    const queue = store.queue('repair', isRepair);
    const other = store.queue('revert', isRepair);
    await other.enqueue('o', { peer: 'kept' }, 0);
    const keepFirst = (queued: Repair): Repair => queued;
    await queue.enqueue('k', { peer: 'first' }, 0);
    await queue.enqueue('k', { peer: 'second' }, 0, 0, keepFirst);
    expect(queue.due(10, 1)[0]!.payload.peer).to.equal('first');
    await queue.complete('k', (item) => item.payload.peer === 'first');
    expect(queue.size).to.equal(1);
    for (let i = 0; i < 25; i++) await queue.enqueue(`many-${i}`, { peer: 'p' }, i, i + 100);
    await queue.clear(10);
    expect(queue.size).to.equal(0);
    expect(queue.length).to.equal(0);
    expect(queue.due(1_000_000, 100)).to.deep.equal([]);
    expect(other.size).to.equal(1);
  });

  it('keeps its length as items come, coalesce and go, counting the store once', async () => {
    await store.queue('repair', isRepair).enqueue('before', { peer: 'a' }, 0);
    const queue = store.queue('repair', isRepair);
    expect(queue.length).to.equal(1);
    await queue.enqueue('k1', { peer: 'a' }, 0);
    await queue.enqueue('k1', { peer: 'a2' }, 0);
    await queue.enqueue('k2', { peer: 'b' }, 0);
    await queue.retry('k2', 0, 'failed');
    expect(queue.length).to.equal(3);
    await queue.complete('k1');
    await queue.complete('k1');
    await queue.complete('never-there');
    expect(queue.length).to.equal(2);
    expect(queue.length).to.equal(queue.size);
  });

  it('counts an item whose write had run but not yet committed when its length was first asked', async function () {
    const root = open({ path: join(dir, 'raw'), noSync: true });
    try {
      const db = root.openDB<unknown, Buffer>({ name: 'queues', keyEncoding: 'binary' });
      let ran = 0;
      const write = (action: () => void): Promise<void> =>
        root.transaction(() => {
          action();
          ran++;
        }).then(() => undefined);
      const queue = new DurableQueue<Repair>(() => db, 'repair', isRepair, write, logged.logger);
      // The window: an enqueue's action has run in the write transaction, whose commit readers do not
      // see yet. How soon the commit shows is up to LMDB's write thread, so the test tries a few times.
      let seen = false;
      for (let attempt = 0; attempt < 50 && !seen; attempt++) {
        const before = ran;
        const enqueued = queue.enqueue(`k${attempt}`, { peer: 'a' }, 0);
        while (ran === before) await new Promise((resolve) => setImmediate(resolve));
        seen = queue.size === attempt;
        if (seen) expect(queue.length, `attempt ${attempt}`).to.equal(attempt + 1);
        await enqueued;
      }
      expect(queue.length).to.equal(queue.size);
      // Where every commit showed at once, the window this test is about never opened.
      if (!seen) this.skip();
    } finally {
      await root.close();
    }
  });

  it('wakes items for a target that came back', async () => {
    const queue = store.queue('repair', isRepair);
    await queue.enqueue('k1', { peer: 'a' }, 0, 60_000);
    await queue.enqueue('k2', { peer: 'b' }, 0, 60_000);
    expect(await queue.wake(10, (item) => item.payload.peer === 'a')).to.equal(1);
    expect(queue.due(10, 10).map((i) => i.itemKey)).to.deep.equal(['k1']);
  });

  it('keeps items across a restart and keeps queues apart', async () => {
    await store.queue('repair', isRepair).enqueue('k', { peer: 'a' }, 0);
    await store.queue('other', isRepair).enqueue('k', { peer: 'z' }, 0);
    await store.close();
    store = ObjectStore.open({ path: dir, logger: logged.logger, durable: false });
    expect(store.queue('repair', isRepair).due(1, 10).map((i) => i.payload.peer)).to.deep.equal(['a']);
    expect(store.queue('other', isRepair).due(1, 10).map((i) => i.payload.peer)).to.deep.equal(['z']);
  });

  it('reports and drops an item that does not validate', async () => {
    const loose = store.queue('repair', (value: unknown): value is unknown => true);
    await loose.enqueue('bad', { not: 'a repair' }, 0);
    await loose.enqueue('good', { peer: 'a' }, 0);
    const strict = store.queue('repair', isRepair);
    expect(strict.due(10, 10).map((i) => i.itemKey)).to.deep.equal(['good']);
    expect(logged.lines.some((line) => line.msg === 'queue item does not decode; dropping it')).to.equal(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(strict.size).to.equal(1);
  });
});
