/**
 * A listing asks the storage nodes (all of them, or all but those cluster-listing.ts may leave out) and
 * takes each node's page in the form it answers in: columns (protocol/cluster/listing-columns.ts), or
 * rows (listing-rows.ts) or maps from nodes of earlier releases; a page that does not unpack counts as
 * no answer.
 */
import { expect } from 'chai';
import { RingView } from '../../../src/actors/common/ring-view.js';
import { StorageClient } from '../../../src/actors/common/storage-client.js';
import type { ListingEntry } from '../../../src/core/listing.js';
import type { QuorumSettings } from '../../../src/core/quorum.js';
import { decodeCbor, encodeCbor } from '../../../src/protocol/cluster/cbor.js';
import { packListingColumns } from '../../../src/protocol/cluster/listing-columns.js';
import { packListingPage } from '../../../src/protocol/cluster/listing-rows.js';
import type { ActorApi } from '../../../src/runtime/actor.js';
import type { ActorRef } from '../../../src/runtime/refs.js';

const NODES = ['storage_0@h', 'storage_1@h', 'storage_2@h'];

function entry(key: string, wallMs: number, extra: Partial<ListingEntry> = {}): ListingEntry {
  return { key, clock: { wallMs, counter: 0, node: 'storage_0@h' }, deleted: false, sizeBytes: 1, etag: 'e', lastModifiedMs: wallMs, ...extra };
}

function harness(options: {
  readonly settings?: QuorumSettings;
  readonly pages: Readonly<Record<string, readonly ListingEntry[]>>;
  /** Nodes that answer a packed page that does not unpack. */
  readonly damaged?: readonly string[];
  /** Nodes of a release before packed pages, which answer with maps. */
  readonly unpacking?: readonly string[];
  /** Nodes of a release before pages as columns, which answer rows. */
  readonly rowsOnly?: readonly string[];
  readonly down?: readonly string[];
  /** The ring is changing: the previous one had these nodes. */
  readonly previous?: readonly string[];
}): { client: StorageClient; asked: Array<{ node: string; packed: boolean; columns: boolean }> } {
  const asked: Array<{ node: string; packed: boolean; columns: boolean }> = [];
  const ringView = new RingView();
  const members = NODES.map((node, i) => ({ node, alias: `storage_${i}`, numOfVnodes: 8 }));
  const previous = options.previous?.map((node, i) => ({ node, alias: `storage_${i}`, numOfVnodes: 8 })) ?? null;
  ringView.install({ epoch: 1, settings: { ...(options.settings ?? { n: 3, w: 2, r: 1, d: 2 }), rackAware: false }, current: members, previous });
  const answer = (ref: ActorRef<never>, build: (replyTo: never) => unknown): Promise<unknown> => {
    const message = build({ node: 'gateway_0@h', ask: asked.length } as never) as { packed?: boolean; columns?: boolean };
    asked.push({ node: ref.node, packed: message.packed === true, columns: message.columns === true });
    if (options.damaged?.includes(ref.node)) return Promise.resolve({ ok: true, columns: { nodes: [], keys: 'a', etags: '', fields: new Uint8Array(3), truncated: false } });
    const page = { entries: options.pages[ref.node] ?? [], truncated: false };
    const packs = message.packed === true && !options.unpacking?.includes(ref.node);
    const columns = packs && message.columns === true && !options.rowsOnly?.includes(ref.node);
    const reply = columns ? { ok: true, columns: packListingColumns(page) } : packs ? { ok: true, packed: packListingPage(page) } : { ok: true, page };
    // Through the wire's encoding, as a node's answer comes.
    return Promise.resolve(decodeCbor(encodeCbor(reply)));
  };
  const system = { node: 'gateway_0@h', ask: answer, askWhenWritable: answer } as unknown as ActorApi;
  const isKnownDown = (node: string): boolean => options.down?.includes(node) === true;
  return { client: new StorageClient({ system, ringView, isKnownDown, isUp: (node) => !isKnownDown(node), now: () => Date.now() }), asked };
}

const listedKeys = (listed: Awaited<ReturnType<StorageClient['list']>>): Array<[string, number]> | string =>
  listed.ok ? listed.result.contents.map((e) => [e.key, e.lastModifiedMs]) : listed.code;

describe('actors/common/storage-client: listings', () => {
  // With W=1 a write may be on one replica only, so no node may be left out.
  const everyNode = { n: 3, w: 1, r: 1, d: 2 };
  // Each node holds a key the others do not, and a version of `shared` newer than theirs.
  const pages = {
    'storage_0@h': [entry('only-0', 1), entry('shared', 3)],
    'storage_1@h': [entry('only-1', 1), entry('shared', 1)],
    'storage_2@h': [entry('only-2', 1), entry('shared', 2)],
  };

  it('asks every node for pages as columns and lists each key once, at its newest version', async () => {
    const { client, asked } = harness({ settings: everyNode, pages });
    const listed = await client.list('object', 'b', { maxKeys: 10 });
    expect(listed.ok && listed.result.contents.map((e) => [e.key, e.lastModifiedMs])).to.deep.equal([['only-0', 1], ['only-1', 1], ['only-2', 1], ['shared', 3]]);
    expect(asked).to.deep.equal(NODES.map((node) => ({ node, packed: true, columns: true })));
  });

  it('takes the pages of nodes that answer with rows or maps as they are', async () => {
    const { client } = harness({ settings: everyNode, pages, unpacking: ['storage_0@h'], rowsOnly: ['storage_2@h'] });
    const listed = await client.list('object', 'b', { maxKeys: 10 });
    expect(listed.ok && listed.result.contents.map((e) => [e.key, e.lastModifiedMs])).to.deep.equal([['only-0', 1], ['only-1', 1], ['only-2', 1], ['shared', 3]]);
  });

  it('counts a page that does not unpack as no answer', async () => {
    const tolerant = harness({ settings: everyNode, pages, damaged: ['storage_0@h'] });
    const listed = await tolerant.client.list('object', 'b', { maxKeys: 10 });
    expect(listed.ok && listed.result.contents.map((e) => [e.key, e.lastModifiedMs])).to.deep.equal([['only-1', 1], ['only-2', 1], ['shared', 2]]);
    // With R = N no node may be missing.
    const strict = harness({ settings: { n: 3, w: 2, r: 3, d: 2 }, pages, damaged: ['storage_1@h'] });
    expect(await strict.client.list('object', 'b', { maxKeys: 10 })).to.deep.include({ ok: false, code: 'Unavailable' });
  });

  describe('leaving nodes out', () => {
    // What acknowledged changes with W=D=2 leave: `a` on every replica, `b` written again and acknowledged
    // by two (the third still has the old version), `c` deleted with two tombstones.
    const replicated = {
      'storage_0@h': [entry('a', 1), entry('b', 5), entry('c', 2)],
      'storage_1@h': [entry('a', 1), entry('b', 5), entry('c', 6, { deleted: true })],
      'storage_2@h': [entry('a', 1), entry('b', 3), entry('c', 6, { deleted: true })],
    };
    const expected = [['a', 1], ['b', 5]];

    it('asks two of three nodes with N=3 and W=D=2, each listing leaving out another, and lists every acknowledged change', async () => {
      const { client, asked } = harness({ pages: replicated });
      const askedPerListing: string[][] = [];
      for (let i = 0; i < 3; i++) {
        const before = asked.length;
        expect(listedKeys(await client.list('object', 'b', { maxKeys: 10 }))).to.deep.equal(expected);
        askedPerListing.push(asked.slice(before).map((a) => a.node));
      }
      expect(askedPerListing).to.deep.equal([['storage_1@h', 'storage_2@h'], ['storage_0@h', 'storage_2@h'], ['storage_0@h', 'storage_1@h']]);
    });

    it('asks the same nodes for every page of a walk, which read its next page ahead, and others for other walks', async () => {
      // Nodes with nothing past the markers: only who is asked matters here.
      const { client, asked } = harness({ pages: {} });
      const askedFor = async (bucket: string, prefix: string, marker: string): Promise<string[]> => {
        const before = asked.length;
        await client.list('object', bucket, { maxKeys: 10, prefix, marker });
        return asked.slice(before).map((a) => a.node);
      };
      const walk = await askedFor('b', '', 'a');
      expect(walk).to.have.length(2);
      for (const marker of ['a0', 'a1', 'a2']) expect(await askedFor('b', '', marker)).to.deep.equal(walk);
      const others = new Set<string>();
      for (let i = 0; i < 12; i++) others.add((await askedFor(`bucket-${i}`, '', 'a')).join());
      expect(others.size).to.be.greaterThan(1);
      const underPrefixes = new Set<string>();
      for (let i = 0; i < 12; i++) underPrefixes.add((await askedFor('b', `prefix-${i}/`, `prefix-${i}/a`)).join());
      expect(underPrefixes.size).to.be.greaterThan(1);
    });

    it('turns the nodes it leaves out between the pages of a listing by delimiter, which read nothing ahead', async () => {
      const { client, asked } = harness({ pages: {} });
      const seen = new Set<string>();
      for (const marker of ['a0', 'a1', 'a2']) {
        const before = asked.length;
        await client.list('object', 'b', { maxKeys: 10, delimiter: '/', marker });
        seen.add(asked.slice(before).map((a) => a.node).join());
      }
      expect(seen.size).to.equal(3);
    });

    it('leaves out a node known to be down first', async () => {
      const { client, asked } = harness({ pages: replicated, down: ['storage_1@h'] });
      for (let i = 0; i < 3; i++) expect(listedKeys(await client.list('object', 'b', { maxKeys: 10 }))).to.deep.equal(expected);
      expect(asked.map((a) => a.node)).to.deep.equal(['storage_0@h', 'storage_2@h', 'storage_0@h', 'storage_2@h', 'storage_0@h', 'storage_2@h']);
    });

    it('asks every node at once when more are known to be down than may be left out', async () => {
      const { client, asked } = harness({ pages: replicated, down: ['storage_0@h', 'storage_1@h'], settings: { n: 3, w: 2, r: 1, d: 2 } });
      expect(await client.list('object', 'b', { maxKeys: 10 })).to.deep.include({ ok: true });
      // The down nodes answer NodeDown without being asked: only the node that is up was sent the round.
      expect(asked.map((a) => a.node)).to.deep.equal(['storage_2@h']);
    });

    it('asks the node it left out, and the one that did not answer again, when a node asked does not answer', async () => {
      const { client, asked } = harness({ pages: replicated, damaged: ['storage_2@h'] });
      expect(listedKeys(await client.list('object', 'b', { maxKeys: 10 }))).to.deep.equal(expected);
      expect(asked.map((a) => a.node)).to.deep.equal(['storage_1@h', 'storage_2@h', 'storage_0@h', 'storage_2@h']);
    });

    it('asks the node it left out when it meets an unsettled version, and judges it from every replica', async () => {
      // A write that reached one replica and was not acknowledged: no listing may show it.
      const unsettled = { 'storage_0@h': [entry('a', 1), entry('u', 7, { unsettled: true, previous: null })], 'storage_1@h': [entry('a', 1)], 'storage_2@h': [entry('a', 1)] };
      const { client, asked } = harness({ pages: unsettled });
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = asked.length;
        expect(listedKeys(await client.list('object', 'b', { maxKeys: 10 }))).to.deep.equal([['a', 1]]);
        counts.push(asked.length - before);
      }
      // Only the listings that asked the node holding it met it; they asked the third node too.
      expect(counts).to.deep.equal([2, 3, 3]);
    });

    it('asks every node while the ring changes', async () => {
      const { client, asked } = harness({ pages: replicated, previous: NODES });
      expect(listedKeys(await client.list('object', 'b', { maxKeys: 10 }))).to.deep.equal(expected);
      expect(asked.map((a) => a.node)).to.deep.equal(NODES);
    });
  });
});
