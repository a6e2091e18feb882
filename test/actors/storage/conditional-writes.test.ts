/**
 * Conditional writes decided by the key's replicas (in-process cluster, N=3, W=2, R=2, D=2): concurrent
 * writers through different coordinators, a replica down, and a coordinator that died between
 * acceptance and commit.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { CasProposal } from '../../../src/core/cas-rules.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { preferenceList } from '../../../src/core/ring/ring.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import type { WriteCondition } from '../../../src/core/write-condition.js';
import { replicatorRef, type ReplicatorMessage } from '../../../src/protocol/cluster/replicator.js';
import type { DeleteResult, ObjectFields, PutResult } from '../../../src/protocol/cluster/storage-api.js';
import { routerOf } from '../../../src/protocol/cluster/storage.js';
import { ask } from '../../../src/runtime/typed-ask.js';
import { objectFields, StorageCluster } from '../../support/storage-cluster.js';

const BUCKET = 'locks';

const fields = (key: string, body: Buffer): ObjectFields => objectFields(BUCKET, key, body);

// R=2 so that a read right after a write meets one of the replicas that applied it (R + W > N).
describe('conditional writes (in-process cluster, N=3, W=2, R=2, D=2)', function () {
  this.timeout(120_000);
  let cluster: StorageCluster;

  beforeEach(async () => {
    cluster = new StorageCluster(3, { n: 3, w: 2, r: 2, d: 2, rackAware: false });
    await cluster.start();
  });
  afterEach(async () => {
    await cluster?.stop();
  });

  const replicasOf = (key: string): readonly string[] => preferenceList(cluster.clientRing.current!.current, keyPosition(BUCKET, key), 3);

  /** A put coordinated by `node`, as a gateway whose first choice is that replica would send it. */
  function putVia(node: string, key: string, body: Buffer, condition: WriteCondition): Promise<PutResult | { ok: false; code: string }> {
    return cluster.clientNode.system.askWhenWritable<ReplicatorMessage, PutResult>(
      replicatorRef(node),
      (replyTo) => ({ type: 'put', objectKind: 'object', fields: fields(key, body), body, condition, replyTo }),
      20_000,
      body.length,
    );
  }

  function deleteVia(node: string, key: string, condition: WriteCondition): Promise<DeleteResult | { ok: false; code: string }> {
    return cluster.clientNode.system.ask<ReplicatorMessage, DeleteResult>(replicatorRef(node), (replyTo) => ({ type: 'delete', objectKind: 'object', bucket: BUCKET, key, condition, replyTo }), 20_000);
  }

  /** What a client does with a conditional write: retries a conflict, and takes 200 or 412 as the answer. */
  async function settledPut(node: string, key: string, body: Buffer, condition: WriteCondition): Promise<'won' | 'lost'> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const result = await putVia(node, key, body, condition);
      if (result.ok) return 'won';
      if (result.code === 'PreconditionFailed') return 'lost';
      if (result.code !== 'ConditionalConflict') throw new Error(`${key} via ${node}: ${JSON.stringify(result)}`);
    }
    throw new Error(`${key} via ${node}: conflicts never ended`);
  }

  async function valueOf(key: string): Promise<string | undefined> {
    const got = await cluster.client.get('object', BUCKET, key, { withBody: true });
    if (!got.ok) {
      if (got.code === 'NotFound') return undefined;
      throw new Error(`${key}: ${got.code}`);
    }
    return Buffer.from(got.body ?? []).toString();
  }

  /** Every replica's own record of the key, after commits reached them. */
  async function replicasAgree(key: string, expected: string | undefined): Promise<void> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const etags = cluster.nodes.filter((n) => n.running && replicasOf(key).includes(n.name)).map((n) => n.role!.context.store.getMeta({ kind: 'object', bucket: BUCKET, key }))
        .map((meta) => (meta === undefined || meta.deleted ? undefined : meta.etag));
      const wanted = expected === undefined ? undefined : createHash('md5').update(expected).digest('hex');
      if (etags.every((etag) => etag === wanted)) return;
      if (Date.now() > deadline) throw new Error(`${key}: replicas hold ${etags.join(', ')}, expected ${wanted}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function contend(rounds: number, writers: number, key: (round: number) => string, condition: (round: number) => WriteCondition, up: readonly string[]): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      const coordinators = replicasOf(key(round)).filter((node) => up.includes(node));
      const outcomes = await Promise.all(
        Array.from({ length: writers }, (_, writer) => settledPut(coordinators[writer % coordinators.length]!, key(round), Buffer.from(`writer ${writer}`), condition(round))),
      );
      const winners = outcomes.flatMap((outcome, writer) => (outcome === 'won' ? [writer] : []));
      expect(winners, `round ${round}: ${outcomes.join(', ')}`).to.have.length(1);
      expect(await valueOf(key(round)), `round ${round}`).to.equal(`writer ${winners[0]}`);
    }
  }

  it('lets exactly one of six writers create a key with If-None-Match: *, in every one of 200 rounds', async () => {
    await contend(200, 6, (round) => `lock-${round}`, () => ({ ifNoneMatch: '*' }), cluster.nodes.map((n) => n.name));
  });

  it('lets exactly one of five writers replace the version they all read with If-Match', async () => {
    const keys = Array.from({ length: 40 }, (_, round) => `counter-${round}`);
    const etags = new Map<string, string>();
    for (const key of keys) {
      const put = await cluster.client.put('object', fields(key, Buffer.from('initial')), Buffer.from('initial'));
      if (!put.ok) throw new Error(put.code);
      etags.set(key, `"${put.meta.etag}"`);
    }
    await contend(keys.length, 5, (round) => keys[round]!, (round) => ({ ifMatch: etags.get(keys[round]!)! }), cluster.nodes.map((n) => n.name));
  });

  it('still decides with one replica down, and the returning replica learns the outcome', async () => {
    const down = cluster.nodes[2]!.name;
    await cluster.stopNode(down);
    const up = cluster.nodes.filter((n) => n.name !== down).map((n) => n.name);
    await contend(30, 4, (round) => `degraded-${round}`, () => ({ ifNoneMatch: '*' }), up);
    await cluster.restart(down);
    const key = (replicasOf('degraded-0').includes(down) ? 'degraded-0' : [...Array(30).keys()].map((r) => `degraded-${r}`).find((k) => replicasOf(k).includes(down)))!;
    const value = await valueOf(key);
    await replicasAgree(key, value);
  });

  it('answers If-Match on a missing key with NotFound, and deletes only the version If-Match names', async () => {
    const [coordinator] = replicasOf('doc');
    expect(await putVia(coordinator!, 'doc', Buffer.from('x'), { ifMatch: '*' })).to.include({ ok: false, code: 'NotFound' });
    const first = await putVia(coordinator!, 'doc', Buffer.from('first'), { ifNoneMatch: '*' });
    if (!first.ok) throw new Error(first.code);
    const refused = await deleteVia(coordinator!, 'doc', { ifMatch: '"0123456789abcdef0123456789abcdef"' });
    expect(refused).to.deep.include({ ok: false, code: 'PreconditionFailed', condition: 'If-Match' });
    expect(await valueOf('doc')).to.equal('first');
    expect(await deleteVia(coordinator!, 'doc', { ifMatch: `"${(first as { meta: ObjectMeta }).meta.etag}"` })).to.include({ ok: true });
    expect(await valueOf('doc')).to.equal(undefined);
    expect(await deleteVia(coordinator!, 'doc', { ifMatch: '*' })).to.include({ ok: false, code: 'NotFound' });
    await replicasAgree('doc', undefined);
  });

  it('never answers a write its client retried after losing another coordinator as refused: that coordinator may still make it happen', async () => {
    const [first, second] = replicasOf('retried') as [string, string];
    expect(await putVia(first, 'retried', Buffer.from('held'), { ifNoneMatch: '*' })).to.include({ ok: true });
    const retried = await cluster.clientNode.system.askWhenWritable<ReplicatorMessage, PutResult>(
      replicatorRef(second),
      (replyTo) => ({ type: 'put', objectKind: 'object', fields: fields('retried', Buffer.from('late')), body: Buffer.from('late'), condition: { ifNoneMatch: '*' }, writeId: 'w-retried', retried: true, replyTo }),
      20_000,
      4,
    );
    expect(retried).to.include({ ok: false, code: 'Timeout' });
    expect(await putVia(second, 'retried', Buffer.from('fresh'), { ifNoneMatch: '*' })).to.include({ ok: false, code: 'PreconditionFailed' });
    expect(await valueOf('retried')).to.equal('held');
  });

  describe('after a coordinator died between acceptance and commit', () => {
    /** Does what a coordinator does up to the commit, on `acceptors` only, and then nothing more. */
    async function abandonProposal(key: string, body: Buffer, acceptors: readonly string[], atMs = Date.now()): Promise<void> {
      const system = cluster.clientNode.system;
      const ballot = { wallMs: atMs, counter: 0, node: 'dead-coordinator' };
      const addressed = { objectKind: 'object' as const, bucket: BUCKET, key };
      for (const replica of acceptors) {
        expect(await ask(system, routerOf(replica), { type: 'cas_prepare', ...addressed, ballot }, 5_000)).to.include({ ok: true, granted: true });
      }
      const meta: ObjectMeta = { ...fields(key, body), clock: ballot, lastModifiedMs: ballot.wallMs, ringChecksum: cluster.clientRing.current!.checksum, deleted: false };
      const proposal: CasProposal = { ballot, meta, body };
      for (const replica of acceptors) {
        expect(await ask(system, routerOf(replica), { type: 'cas_propose', ...addressed, proposal }, 5_000)).to.include({ ok: true, granted: true });
      }
    }

    it('finishes a proposal a quorum accepted before judging the next condition', async () => {
      const replicas = replicasOf('orphaned');
      await abandonProposal('orphaned', Buffer.from('chosen'), replicas.slice(0, 2));
      // Not committed: no replica serves it yet.
      expect(await valueOf('orphaned')).to.equal(undefined);
      expect(await settledPut(replicas[2]!, 'orphaned', Buffer.from('late'), { ifNoneMatch: '*' })).to.equal('lost');
      expect(await valueOf('orphaned')).to.equal('chosen');
      await replicasAgree('orphaned', 'chosen');
    });

    it('either finishes or outvotes a proposal only one replica accepted, and the answer matches what stays', async () => {
      const replicas = replicasOf('half-done');
      await abandonProposal('half-done', Buffer.from('maybe'), replicas.slice(0, 1));
      const outcome = await settledPut(replicas[1]!, 'half-done', Buffer.from('next'), { ifNoneMatch: '*' });
      expect(await valueOf('half-done')).to.equal(outcome === 'won' ? 'next' : 'maybe');
      // And nothing changes it afterwards: another writer loses against whatever stayed.
      expect(await settledPut(replicas[0]!, 'half-done', Buffer.from('third'), { ifNoneMatch: '*' })).to.equal('lost');
      await replicasAgree('half-done', outcome === 'won' ? 'next' : 'maybe');
    });

    it('fences off a proposal abandoned long ago instead of finishing it', async () => {
      const replicas = replicasOf('stale');
      await abandonProposal('stale', Buffer.from('long gone'), replicas.slice(0, 2), Date.now() - 2 * 60 * 60_000);
      expect(await settledPut(replicas[2]!, 'stale', Buffer.from('fresh'), { ifNoneMatch: '*' })).to.equal('won');
      expect(await valueOf('stale')).to.equal('fresh');
      await replicasAgree('stale', 'fresh');
    });
  });

  it('refuses malformed compare-and-set messages with an error, not a crash', async () => {
    const system = cluster.clientNode.system;
    const [replica] = replicasOf('x');
    const addressed = { objectKind: 'object' as const, bucket: BUCKET, key: 'x' };
    const ballot = { wallMs: 1, counter: 0, node: 'n' };
    const badBallot = await ask(system, routerOf(replica!), { type: 'cas_prepare', ...addressed, ballot: { wallMs: -1 } as never }, 5_000);
    expect(badBallot).to.include({ ok: false, code: 'StoreError' });
    const badProposal = await ask(system, routerOf(replica!), { type: 'cas_propose', ...addressed, proposal: { ballot, meta: { bucket: 7 } } as never }, 5_000);
    expect(badProposal).to.include({ ok: false, code: 'StoreError' });
    const meta: ObjectMeta = { ...fields('another-key', Buffer.from('')), clock: ballot, lastModifiedMs: 1, ringChecksum: 0, deleted: false };
    const otherKey = await ask(system, routerOf(replica!), { type: 'cas_propose', ...addressed, proposal: { ballot, meta } }, 5_000);
    expect(otherKey, 'a version proposed under another key').to.include({ ok: false, code: 'StoreError' });
    const badCommit = await ask(system, routerOf(replica!), { type: 'cas_commit', objectKind: 'object', meta: { ...meta, clock: 'now' } as never }, 5_000);
    expect(badCommit).to.include({ ok: false, code: 'StoreError' });
    const badCondition = await system.ask<ReplicatorMessage, PutResult>(replicatorRef(replica!), (replyTo) => ({ type: 'put', objectKind: 'object', fields: fields('x', Buffer.from('')), condition: { ifMatch: 42 } as never, replyTo }), 5_000);
    expect(badCondition).to.include({ ok: false, code: 'InternalError' });
  });
});
