/**
 * Which requests the storage client sends on to the next replica when the coordinator it chose goes
 * down with the request in hand: reads, conditional writes (marked retried) and chunks, whose keys
 * only their own body write writes; never an unconditional write of an object, which a second
 * coordinator would stamp again and so could make take effect twice.
 */
import { expect } from 'chai';
import { RingView } from '../../../src/actors/common/ring-view.js';
import { STAGED_BODY_MIN_BYTES, StorageClient, type BodyStaging } from '../../../src/actors/common/storage-client.js';
import type { ActorApi } from '../../../src/runtime/actor.js';
import { runtimeFailure } from '../../../src/runtime/failures.js';
import type { ActorRef } from '../../../src/runtime/refs.js';
import type { StagedBodyRef } from '../../../src/core/staged-body-ref.js';

const NODES = ['storage_0@h', 'storage_1@h', 'storage_2@h'];

function clientWithFirstCoordinatorDying(staging?: BodyStaging): { client: StorageClient; sent: Array<{ node: string; message: Record<string, unknown> }> } {
  const sent: Array<{ node: string; message: Record<string, unknown> }> = [];
  const ringView = new RingView();
  ringView.install({ epoch: 1, settings: { n: 3, w: 2, r: 1, d: 2, rackAware: false }, current: NODES.map((node, i) => ({ node, alias: `storage_${i}`, numOfVnodes: 8 })), previous: null });
  let first: string | undefined;
  const answer = (ref: ActorRef<never>, build: (replyTo: never) => unknown): Promise<unknown> => {
    const message = build({ node: 'client@h', ask: sent.length } as never) as Record<string, unknown>;
    sent.push({ node: ref.node, message });
    first ??= ref.node;
    // The first coordinator takes the request and goes down before it answers.
    if (ref.node === first) return Promise.resolve(runtimeFailure('NodeDown', `${ref.node} is down`));
    return Promise.resolve(message.type === 'get' ? { ok: false, code: 'NotFound', message: 'none' } : { ok: true, meta: {} });
  };
  const system = { node: 'client@h', ask: answer, askWhenWritable: answer } as unknown as ActorApi;
  return { client: new StorageClient({ system, ringView, isKnownDown: () => false, isUp: () => true, now: () => Date.now(), ...(staging ? { staging } : {}) }), sent };
}

const fields = { bucket: 'b', key: 'k', sizeBytes: 1, etag: 'e', contentType: 'text/plain', userMeta: {} };

describe('actors/common/storage-client: retries', () => {
  it('answers an unconditional write whose coordinator went down with it as of unknown outcome, and sends it nowhere else', async () => {
    const { client, sent } = clientWithFirstCoordinatorDying();
    expect(await client.put('object', fields, Buffer.from('x'))).to.include({ ok: false, code: 'Timeout' });
    expect(await client.delete('object', 'b', 'k')).to.include({ ok: false, code: 'Timeout' });
    expect(sent).to.have.length(2);
  });

  it('sends a conditional write on to the next replica, marked retried', async () => {
    const { client, sent } = clientWithFirstCoordinatorDying();
    expect(await client.put('object', fields, Buffer.from('x'), { ifNoneMatch: '*' })).to.include({ ok: true, resent: true });
    expect(sent).to.have.length(2);
    expect(sent[0]!.message).to.not.have.property('retried');
    expect(sent[1]!.message).to.include({ retried: true, writeId: sent[0]!.message.writeId });
  });

  it('sends a chunk on to the next replica, sent or staged, under the same write id', async () => {
    const { client, sent } = clientWithFirstCoordinatorDying();
    // The lost link may still be reading the body: the writer must not reuse its buffer.
    expect(await client.put('chunk', fields, Buffer.from('x'))).to.include({ ok: true, resent: true });
    expect(sent.map((request) => request.message.type)).to.deep.equal(['put', 'put']);
    expect(sent[1]!.message).to.include({ retried: true, writeId: sent[0]!.message.writeId });

    const staged = { path: '/staged', sizeBytes: STAGED_BODY_MIN_BYTES } as unknown as StagedBodyRef;
    const discarded: StagedBodyRef[] = [];
    const staging: BodyStaging = { stage: () => Promise.resolve(staged), discard: (ref) => discarded.push(ref) };
    const large = clientWithFirstCoordinatorDying(staging);
    expect(await large.client.put('chunk', fields, Buffer.alloc(STAGED_BODY_MIN_BYTES))).to.include({ ok: true, resent: true });
    expect(large.sent.map((request) => request.message.type)).to.deep.equal(['put_staged', 'put_staged']);
    expect(large.sent[1]!.message).to.include({ retried: true, writeId: large.sent[0]!.message.writeId });
    await Promise.resolve();
    expect(discarded).to.deep.equal([staged]);
  });

  it('sends a read on to the next replica', async () => {
    const { client, sent } = clientWithFirstCoordinatorDying();
    expect(await client.get('object', 'b', 'k')).to.include({ ok: false, code: 'NotFound' });
    expect(sent).to.have.length(2);
  });
});

describe('actors/common/storage-client: near replicas', () => {
  const hosts = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
  const clientOn = (nearHost: string | undefined): { client: StorageClient; asked: string[] } => {
    const asked: string[] = [];
    const ringView = new RingView();
    ringView.install({ epoch: 1, settings: { n: 3, w: 2, r: 1, d: 2, rackAware: false }, current: hosts.map((host, i) => ({ node: `storage_${i}@${host}`, alias: `storage_${i}`, numOfVnodes: 8 })), previous: null });
    const answer = (ref: ActorRef<never>): Promise<unknown> => {
      asked.push(ref.node);
      return Promise.resolve({ ok: false, code: 'NotFound', message: 'none' });
    };
    const system = { node: 'gateway_0@h', ask: answer, askWhenWritable: answer } as unknown as ActorApi;
    return { client: new StorageClient({ system, ringView, isKnownDown: () => false, isUp: () => true, now: () => Date.now(), ...(nearHost === undefined ? {} : { nearHost }) }), asked };
  };

  it('sends every read first to the replica on its own host, and reads in ring order without one', async () => {
    const near = clientOn('10.0.0.2');
    const ringOrder = clientOn(undefined);
    for (let i = 0; i < 20; i++) {
      await near.client.get('object', 'b', `k${i}`);
      await ringOrder.client.get('object', 'b', `k${i}`);
    }
    expect(near.asked).to.deep.equal(Array(20).fill('storage_1@10.0.0.2'));
    expect(new Set(ringOrder.asked).size, 'coordinators spread over the ring').to.equal(3);
  });
});
