import { expect } from 'chai';
import { RingView } from '../../../src/actors/common/ring-view.js';
import { BucketStatsWalks } from '../../../src/actors/storage/bucket-stats.js';
import type { StorageContext } from '../../../src/actors/storage/storage-context.js';
import type { BucketSize } from '../../../src/core/bucket-stats.js';
import { keyPosition } from '../../../src/core/ring/position.js';
import { buildRing, preferenceList } from '../../../src/core/ring/ring.js';
import type { RingDocument } from '../../../src/core/ring/ring-document.js';

const NODES = ['s0@127.0.0.1', 's1@127.0.0.1', 's2@127.0.0.1'];
const DOC: RingDocument = { epoch: 1, settings: { n: 2, w: 2, r: 1, d: 2, rackAware: false }, current: NODES.map((node, i) => ({ node, alias: `s${i}`, numOfVnodes: 16 })), previous: null };
const KEYS = Array.from({ length: 60 }, (_, i) => `k${i}`);

interface Walk {
  readonly namespace: string | undefined;
  readonly finish: () => void;
}

/** A node's walks over a store that holds KEYS in one namespace, each walk finished when the test says. */
function nodeWith(node: string): { walks: BucketStatsWalks; started: Walk[] } {
  const started: Walk[] = [];
  const ringView = new RingView();
  ringView.install(DOC);
  const store = {
    bucketSizes(options: { namespace?: string; counts: (namespace: string, key: string) => boolean }): Promise<Map<string, BucketSize>> {
      return new Promise((resolve) => {
        started.push({
          namespace: options.namespace,
          finish: () => {
            const objects = KEYS.filter((key) => options.counts('ns', key)).length;
            resolve(new Map([['ns', { objects, bytes: objects, noncurrentVersions: 0, noncurrentBytes: 0 }]]));
          },
        });
      });
    },
  };
  return { walks: new BucketStatsWalks({ node, ringView, store } as unknown as StorageContext), started };
}

const objectsOf = (reply: Awaited<ReturnType<BucketStatsWalks['sizes']>>): number => (reply.ok ? reply.namespaces[0]!.objects : -1);

describe('actors/storage bucket-stats walks', () => {
  it('counts each key on exactly one node, the next replica taking the keys of a node named absent', async () => {
    for (const absent of [[], [NODES[1]!]]) {
      const counted = await Promise.all(
        NODES.filter((node) => !absent.includes(node)).map(async (node) => {
          const { walks, started } = nodeWith(node);
          const pending = walks.sizes({ absent });
          started[0]!.finish();
          const reply = await pending;
          expect(reply).to.deep.include({ ok: true, ringChecksum: new RingView().install(DOC).checksum });
          return objectsOf(reply);
        }),
      );
      expect(counted.reduce((sum, count) => sum + count, 0), `absent: ${absent.join(', ') || 'none'}`).to.equal(KEYS.length);
      // Every node counted some: the sum is not one node counting everything.
      const ring = buildRing(DOC.current);
      const firsts = new Set(KEYS.map((key) => preferenceList(ring, keyPosition('ns', key), 2).find((node) => !absent.includes(node))));
      expect(counted.filter((count) => count > 0)).to.have.length(firsts.size);
    }
  });

  it('joins a walk of the same request under way, and refuses a fifth different one while four run', async () => {
    const { walks, started } = nodeWith(NODES[0]!);
    const first = walks.sizes({ absent: ['b', 'a'] });
    const joined = walks.sizes({ absent: ['a', 'b', 'a'] });
    expect(started).to.have.length(1);
    for (const namespace of ['x', 'y', 'z']) void walks.sizes({ namespace, absent: [] });
    expect(started.map((walk) => walk.namespace)).to.deep.equal([undefined, 'x', 'y', 'z']);
    expect(await walks.sizes({ namespace: 'w', absent: [] })).to.include({ ok: false, code: 'Unavailable' });
    started[0]!.finish();
    expect(await joined).to.deep.equal(await first);
    // The finished walk no longer counts against the limit.
    void walks.sizes({ namespace: 'w', absent: [] });
    expect(started).to.have.length(5);
    for (const walk of started.slice(1)) walk.finish();
  });

  it('answers Unavailable on a node that has no ring yet', async () => {
    const walks = new BucketStatsWalks({ node: NODES[0]!, ringView: new RingView(), store: {} } as unknown as StorageContext);
    expect(await walks.sizes({ absent: [] })).to.include({ ok: false, code: 'Unavailable' });
  });
});
