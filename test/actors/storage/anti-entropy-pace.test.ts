/**
 * The pace of a storage node's anti-entropy walk: quick until a whole walk found every range in step
 * with its peers, then quiet, so that an idle cluster costs next to nothing; a range that needed repair
 * brings the quick pace back.
 */
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyReplicaWrite } from '../../../src/actors/storage/replica-ops.js';
import { antiEntropyRef, type AntiEntropyControl, type AntiEntropyStats } from '../../../src/protocol/cluster/anti-entropy.js';
import { isRuntimeFailure } from '../../../src/runtime/failures.js';
import { eventually, FAST_TUNING, objectFields, StorageCluster } from '../../support/storage-cluster.js';

describe('anti-entropy pace', function () {
  this.timeout(90_000);

  /** A cluster whose nodes walk at `quietMs` between ranges once quiet; the quick pace is FAST_TUNING's 5 ms. */
  function pacedCluster(quietMs: number) {
    const cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false }, () => ({ tuning: { ...FAST_TUNING, antiEntropyQuietIntervalMs: quietMs } }));
    const names = (): string[] => cluster.nodes.map((node) => node.name);
    const stats = async (node: string): Promise<AntiEntropyStats> => {
      const reply = await cluster.clientNode.system.ask<AntiEntropyControl, AntiEntropyStats>(antiEntropyRef(node), (replyTo) => ({ type: 'stats', replyTo }), 10_000);
      if (isRuntimeFailure(reply)) throw new Error(`${node}: ${reply.message}`);
      return reply;
    };
    /** Every node at the quiet pace, with no comparisons queued for peers that came up (those run at once). */
    const allQuiet = async (): Promise<boolean> => (await Promise.all(names().map(stats))).every((reply) => reply.quiet && reply.urgentPending === 0);
    return { cluster, names, stats, allQuiet };
  }

  describe('with a quiet pace of a minute', () => {
    const paced = pacedCluster(60_000);
    before(() => paced.cluster.start());
    after(() => paced.cluster.stop());

    it('slows to the quiet pace once a whole walk found every range in step', async () => {
      const [first] = paced.names() as [string];
      expect((await paced.stats(first)).quiet, 'a node just started sweeps').to.equal(false);
      await eventually(paced.allQuiet, 60_000, 'every node has walked all of its ranges in step');
      const before = await paced.stats(first);
      await sleep(1_500);
      const after = await paced.stats(first);
      // At most the round under way when the pace changed; the quick pace does one every few milliseconds.
      expect(after.roundsDone - before.roundsDone).to.be.at.most(1);
    });
  });

  describe('with a quiet pace of 50 ms', () => {
    const { cluster, names, stats, allQuiet } = pacedCluster(50);
    before(() => cluster.start());
    after(() => cluster.stop());

    it('finds a diverged replica at the quiet pace, repairs it, and goes back to the quick pace', async () => {
      await eventually(allQuiet, 60_000, 'every node quiet');
      const body = Buffer.from('original');
      const put = await cluster.client.put('object', objectFields('b', 'paced', body), body);
      if (!put.ok) throw new Error(put.code);
      const localEtag = (node: string): string | undefined => cluster.node(node).role?.context.store.getMeta({ kind: 'object', bucket: 'b', key: 'paced' })?.etag;
      await eventually(() => names().every((node) => localEtag(node) !== undefined), 10_000, 'every replica holds the key');
      await eventually(allQuiet, 60_000, 'every node quiet again after the write');

      // A newer version reaches one replica only, as if its coordinator died before telling the others.
      const lone = cluster.nodes[2]!;
      const newer = { ...put.meta, etag: 'newer', sizeBytes: 5, clock: { ...put.meta.clock, wallMs: put.meta.clock.wallMs + 1000 } };
      expect(await applyReplicaWrite(lone.role!.context, { objectKind: 'object', meta: newer, body: Buffer.from('newer'), keepPrevious: false })).to.include({ ok: true, applied: true });

      // Watch every node's pace until the key has converged: the node that repaired it sweeps again, for
      // a whole walk at the quick pace, long enough to be seen between two looks.
      const sweptAgain = new Set<string>();
      await eventually(async () => {
        for (const node of names()) if (!(await stats(node)).quiet) sweptAgain.add(node);
        return sweptAgain.size > 0 && names().every((node) => localEtag(node) === 'newer');
      }, 30_000, 'every replica has the newer version, and a node went back to the quick pace');
      const repaired = await Promise.all(names().map(stats));
      expect(repaired.reduce((sum, reply) => sum + reply.keysSynced, 0)).to.be.above(0);
    });
  });
});
