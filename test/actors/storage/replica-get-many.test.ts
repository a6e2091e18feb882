/**
 * replica_get_many, the batched read a rebalance pulls with: small bodies inside the answer until its
 * byte budget is spent (the rest to ask again), large ones to read alone, and malformed requests refused.
 */
import { expect } from 'chai';
import {
  GET_MANY_BODY_BUDGET_BYTES, MAX_GET_MANY_ITEMS, routerOf, type ReplicaGetManyReply, type RouterMessage,
} from '../../../src/protocol/cluster/storage.js';
import type { RuntimeFailure } from '../../../src/runtime/failures.js';
import { eventually, objectFields, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'many';
const SMALL_BYTES = 60 * 1024;
const SMALL_COUNT = Math.ceil((2 * GET_MANY_BODY_BUDGET_BYTES) / SMALL_BYTES);
const LARGE_BYTES = 200 * 1024;
const TIMEOUT_MS = 10_000;

const smallBody = (i: number): Buffer => Buffer.alloc(SMALL_BYTES, `small-${i}`);

describe('replica_get_many', function () {
  this.timeout(60_000);

  const cluster = new StorageCluster(1, { n: 1, w: 1, r: 1, d: 1, rackAware: false });

  before(async () => {
    await cluster.start();
    for (let i = 0; i < SMALL_COUNT; i++) {
      const put = await cluster.client.put('object', objectFields(BUCKET, `small/${i}`, smallBody(i)), smallBody(i));
      expect(put.ok, `put small/${i}`).to.equal(true);
    }
    const large = Buffer.alloc(LARGE_BYTES, 'large');
    expect((await cluster.client.put('object', objectFields(BUCKET, 'large', large), large)).ok).to.equal(true);
  });
  after(() => cluster.stop());

  function getMany(items: ReadonlyArray<Record<string, unknown>>): Promise<ReplicaGetManyReply | RuntimeFailure> {
    const target = routerOf(cluster.nodes[0]!.name);
    return cluster.clientNode.system.ask<RouterMessage, ReplicaGetManyReply>(target, (replyTo) => ({ type: 'replica_get_many', items, replyTo }) as unknown as RouterMessage, TIMEOUT_MS);
  }

  const address = (key: string): Record<string, unknown> => ({ objectKind: 'object', bucket: BUCKET, key });

  it('answers small bodies until its budget is spent, defers the rest and the large ones, and says what is missing', async () => {
    const keys = ['missing', 'large', ...Array.from({ length: SMALL_COUNT }, (_, i) => `small/${i}`)];
    // Until the writes' settles land, their versions are answered as unsettled: without a body.
    let reply: ReplicaGetManyReply | RuntimeFailure | undefined;
    await eventually(async () => {
      reply = await getMany(keys.map(address));
      if (!reply.ok) throw new Error(reply.message);
      const unsettled = reply.items.filter((item) => 'meta' in item && item.unsettled !== undefined);
      for (const item of unsettled) expect('body' in item && item.body !== undefined, 'an unsettled version comes without its body').to.equal(false);
      return unsettled.length === 0;
    }, 10_000, 'the writes settle');
    if (!reply?.ok) throw new Error('no answer');
    expect(reply.items).to.have.length(keys.length);
    expect(reply.items[0]).to.deep.equal({ meta: null });
    expect(reply.items[1]).to.deep.equal({ deferred: 'alone' });

    const smalls = reply.items.slice(2);
    const answered = smalls.filter((item) => 'meta' in item);
    expect(answered.length, 'some bodies are answered').to.be.greaterThan(0);
    expect(answered.length * SMALL_BYTES).to.be.at.most(GET_MANY_BODY_BUDGET_BYTES);
    // Answered in order, then every one past the budget deferred to the next request.
    smalls.forEach((item, i) => {
      if (i < answered.length) {
        if (!('meta' in item)) throw new Error(`small/${i} was not answered`);
        expect(item.meta?.key).to.equal(`small/${i}`);
        expect(Buffer.from(item.body!).equals(smallBody(i)), `small/${i}'s body`).to.equal(true);
      } else {
        expect(item, `small/${i}`).to.deep.equal({ deferred: 'again' });
      }
    });
  });

  it('refuses too many keys and malformed addresses', async () => {
    const tooMany = await getMany(Array.from({ length: MAX_GET_MANY_ITEMS + 1 }, (_, i) => address(`small/${i}`)));
    expect(tooMany).to.deep.include({ ok: false, code: 'StoreError' });
    const badKind = await getMany([{ objectKind: 'nonsense', bucket: BUCKET, key: 'a' }]);
    expect(badKind).to.deep.include({ ok: false, code: 'StoreError' });
    const notAList = await getMany('nonsense' as unknown as Array<Record<string, unknown>>);
    expect(notAList).to.deep.include({ ok: false, code: 'StoreError' });
  });
});
