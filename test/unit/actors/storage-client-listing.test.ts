/**
 * Which storage nodes a listing asks: all but those the quorums let it leave out (taking turns), and
 * every one as soon as an asked node does not answer or holds a version whose write may be undone.
 */
import { expect } from 'chai';
import { RingView } from '../../../src/actors/common/ring-view.js';
import { StorageClient } from '../../../src/actors/common/storage-client.js';
import type { ListingEntry } from '../../../src/core/listing.js';
import type { QuorumSettings } from '../../../src/core/quorum.js';
import { decodeCbor, encodeCbor } from '../../../src/protocol/cluster/cbor.js';
import { packListingPage } from '../../../src/protocol/cluster/listing-rows.js';
import type { ActorApi } from '../../../src/runtime/actor.js';
import { runtimeFailure } from '../../../src/runtime/failures.js';
import type { ActorRef } from '../../../src/runtime/refs.js';

const NODES = ['storage_0@h', 'storage_1@h', 'storage_2@h'];

function entry(key: string, wallMs: number, extra: Partial<ListingEntry> = {}): ListingEntry {
  return { key, clock: { wallMs, counter: 0, node: 'storage_0@h' }, deleted: false, sizeBytes: 1, etag: 'e', lastModifiedMs: wallMs, ...extra };
}

interface Harness {
  readonly client: StorageClient;
  /** The nodes each listing asked, in the order asked. */
  readonly asked: string[];
}

function harness(options: {
  readonly settings?: QuorumSettings;
  readonly previous?: boolean;
  readonly down?: readonly string[];
  readonly failing?: readonly string[];
  readonly pages?: Readonly<Record<string, readonly ListingEntry[]>>;
  /** Nodes that answer a packed page that does not unpack. */
  readonly damaged?: readonly string[];
  /** Nodes of a release before packed pages, which answer with maps. */
  readonly unpacking?: readonly string[];
}): Harness {
  const asked: string[] = [];
  const ringView = new RingView();
  const members = NODES.map((node, i) => ({ node, alias: `storage_${i}`, numOfVnodes: 8 }));
  ringView.install({ epoch: 1, settings: { ...(options.settings ?? { n: 3, w: 2, r: 1, d: 2 }), rackAware: false }, current: members, previous: options.previous ? members : null });
  const answer = (ref: ActorRef<never>, build: (replyTo: never) => unknown): Promise<unknown> => {
    const message = build({ node: 'gateway_0@h', ask: asked.length } as never) as { packed?: boolean };
    asked.push(ref.node);
    if (options.failing?.includes(ref.node)) return Promise.resolve(runtimeFailure('Timeout', `${ref.node} did not answer`));
    if (options.damaged?.includes(ref.node)) return Promise.resolve({ ok: true, packed: { nodes: [], rows: [['a']], truncated: false } });
    const page = { entries: options.pages?.[ref.node] ?? [entry('a', 1)], truncated: false };
    const packs = message.packed === true && !options.unpacking?.includes(ref.node);
    // Through the wire's encoding, as a node's answer comes.
    return Promise.resolve(decodeCbor(encodeCbor(packs ? { ok: true, packed: packListingPage(page) } : { ok: true, page })));
  };
  const system = { node: 'gateway_0@h', ask: answer, askWhenWritable: answer } as unknown as ActorApi;
  const down = new Set(options.down ?? []);
  return { client: new StorageClient({ system, ringView, isKnownDown: (node) => down.has(node), isUp: (node) => !down.has(node) }), asked };
}

describe('actors/common/storage-client: listings', () => {
  it('leaves one node out of each listing with W=D=2, taking turns', async () => {
    const { client, asked } = harness({});
    for (let i = 0; i < 3; i++) {
      const listed = await client.list('object', 'b', { maxKeys: 10 });
      expect(listed.ok && listed.result.contents.map((e) => e.key)).to.deep.equal(['a']);
    }
    expect(asked).to.have.length(6);
    for (const node of NODES) expect(asked.filter((n) => n === node), node).to.have.length(2);
  });

  it('leaves out the node known to be down', async () => {
    const { client, asked } = harness({ down: ['storage_1@h'] });
    for (let i = 0; i < 3; i++) expect((await client.list('object', 'b', { maxKeys: 10 })).ok).to.equal(true);
    expect(asked).to.not.include('storage_1@h');
  });

  it('asks the node it left out when an asked node does not answer, and lists what only that node holds', async () => {
    const pages = { 'storage_0@h': [entry('a', 1)], 'storage_1@h': [entry('a', 1), entry('b', 2)], 'storage_2@h': [entry('a', 1), entry('b', 2)] };
    for (const failing of NODES) {
      const { client, asked } = harness({ failing: [failing], pages });
      for (let i = 0; i < 3; i++) {
        const listed = await client.list('object', 'b', { maxKeys: 10 });
        expect(listed.ok && listed.result.contents.map((e) => e.key), `${failing} failing`).to.deep.equal(['a', 'b']);
      }
      expect(new Set(asked).size).to.equal(3);
    }
  });

  it('takes a damaged page for no answer, and pages of nodes that answer with maps as they are', async () => {
    const pages = { 'storage_0@h': [entry('a', 1)], 'storage_1@h': [entry('a', 1), entry('b', 2)], 'storage_2@h': [entry('a', 1), entry('b', 2)] };
    for (const damaged of NODES) {
      const { client } = harness({ damaged: [damaged], unpacking: NODES.filter((node) => node !== damaged).slice(0, 1), pages });
      for (let i = 0; i < 3; i++) {
        const listed = await client.list('object', 'b', { maxKeys: 10 });
        expect(listed.ok && listed.result.contents.map((e) => e.key), `${damaged} damaged`).to.deep.equal(['a', 'b']);
      }
    }
  });

  it('asks every node when an asked page holds a version whose write may be undone', async () => {
    const unsettled = entry('a', 5, { unsettled: true, previous: entry('a', 1) });
    const pages = { 'storage_0@h': [unsettled], 'storage_1@h': [unsettled], 'storage_2@h': [unsettled] };
    const { client, asked } = harness({ pages });
    const listed = await client.list('object', 'b', { maxKeys: 10 });
    expect(listed.ok && listed.result.contents.map((e) => e.lastModifiedMs)).to.deep.equal([5]);
    expect([...asked].sort()).to.deep.equal(NODES);
  });

  it('asks every node with W=1, with D=1, with R=N, and while a previous ring is kept', async () => {
    const cases: Array<{ settings?: QuorumSettings; previous?: boolean }> = [
      { settings: { n: 3, w: 1, r: 1, d: 2 } },
      { settings: { n: 3, w: 2, r: 1, d: 1 } },
      { settings: { n: 3, w: 2, r: 3, d: 2 } },
      { previous: true },
    ];
    for (const options of cases) {
      const { client, asked } = harness(options);
      expect((await client.list('object', 'b', { maxKeys: 10 })).ok).to.equal(true);
      expect([...asked].sort(), JSON.stringify(options)).to.deep.equal(NODES);
    }
  });
});
