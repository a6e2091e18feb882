/**
 * Lifecycle benchmark: how long a lifecycle pass takes over a large bucket, and how fast it expires.
 * An in-process cluster of three storage nodes (N=3, W=2, R=1, D=2) is given --keys objects under
 * `tmp/`, written ten days ago (planted on every replica directly, as if written then), and a rule that
 * expires `tmp/` after one day. The lifecycle workers then run at --keys-per-second each (the default
 * setting is 1000; the benchmark's default, 0, means no limit) until every object is gone. The three nodes
 * share this one process (and its CPU), and rest 5 s between passes, so the first pass may start up to
 * 5 s after the rules are given.
 *
 *   npm run bench:lifecycle [-- --keys 100000] [--keys-per-second 0] [--limit-minutes 20]
 *
 * Last lines:
 *   lifecycle.keys=              objects in the bucket
 *   lifecycle.seconds=           from the rules being given to the last object expired
 *   lifecycle.expired_per_s=     keys / seconds: expiries (each a conditional delete decided on the key's replicas)
 *   lifecycle.judged_per_s=      keys judged per second over the three nodes while expiring (each node walks
 *                                every record it holds and judges the third it is first replica of)
 */
import { parseArgs } from 'node:util';
import type { BucketRecord } from '../src/core/auth-snapshot.js';
import { namespaceOf } from '../src/core/bucket-namespace.js';
import type { ObjectMeta } from '../src/core/object-meta.js';
import { keyPosition } from '../src/core/ring/position.js';
import { preferenceList } from '../src/core/ring/ring.js';
import { lifecycleRef, type LifecycleStatus } from '../src/protocol/cluster/lifecycle.js';
import { isRuntimeFailure } from '../src/runtime/failures.js';
import { StorageCluster } from '../test/support/storage-cluster.js';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    'keys-per-second': { type: 'string', default: '0' },
    'limit-minutes': { type: 'string', default: '20' },
  },
});
const keys = Number(values.keys);
const keysPerSecond = Number(values['keys-per-second']);
const limitMs = Number(values['limit-minutes']) * 60_000;
if (!Number.isSafeInteger(keys) || keys < 1 || !Number.isFinite(keysPerSecond) || keysPerSecond < 0) {
  throw new Error('--keys must be a positive whole number and --keys-per-second at least 0');
}

const DAY_MS = 24 * 60 * 60 * 1000;
let bucket: BucketRecord = { name: 'aging', incarnation: '00112233445566778899', owner: 'bench', acl: 'private', createdAtMs: 0 };
const namespace = namespaceOf(bucket);

async function main(): Promise<void> {
  // Nodes that are through rest before walking again: in one process they would take the CPU from the
  // node still at work (each pass walks every record, the expired ones' tombstones too).
  const tuning = { lifecyclePauseMs: 5_000, lifecycleKeysPerSecond: keysPerSecond === 0 ? 1_000_000 : keysPerSecond };
  const cluster = new StorageCluster(3, { n: 3, w: 2, r: 1, d: 2, rackAware: false }, () => ({ tuning, buckets: () => Promise.resolve([bucket]) }));
  await cluster.start();
  try {
    await plant(cluster);
    console.log(`planted ${keys} objects on every replica`);
    const startedMs = Date.now();
    bucket = { ...bucket, lifecycle: { rules: [{ id: 'tmp', enabled: true, filter: { prefix: 'tmp/' }, filterForm: 'filter', expiration: { days: 1 } }] } };
    let expired = 0;
    let judged = 0;
    for (;;) {
      if (Date.now() - startedMs > limitMs) throw new Error(`only ${expired} of ${keys} expired after ${limitMs / 60_000} minutes`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      expired = 0;
      judged = 0;
      for (const node of await status(cluster)) {
        for (const progress of node.buckets) {
          // The finished passes and the one running now.
          expired += (progress.total?.expired ?? 0) + (progress.running?.expired ?? 0);
          judged += (progress.total?.scanned ?? 0) + (progress.running?.scanned ?? 0);
        }
      }
      process.stdout.write(`\rexpired ${expired} of ${keys}`);
      if (expired >= keys) break;
    }
    const seconds = (Date.now() - startedMs) / 1000;
    console.log('');
    console.log(`lifecycle.keys=${keys}`);
    console.log(`lifecycle.seconds=${seconds.toFixed(1)}`);
    console.log(`lifecycle.expired_per_s=${(keys / seconds).toFixed(0)}`);
    console.log(`lifecycle.judged_per_s=${(judged / seconds).toFixed(0)}`);
  } finally {
    await cluster.stop();
  }
}

/** Stores every object on each of its replicas as if written ten days ago. */
async function plant(cluster: StorageCluster): Promise<void> {
  const wallMs = Date.now() - 10 * DAY_MS;
  const ring = cluster.clientRing.current!;
  const batch: Array<Promise<unknown>> = [];
  for (let i = 0; i < keys; i++) {
    const key = `tmp/${String(i).padStart(8, '0')}`;
    const meta: ObjectMeta = {
      bucket: namespace, key, sizeBytes: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e', contentType: '', userMeta: {},
      clock: { wallMs, counter: i, node: 'planted' }, lastModifiedMs: wallMs, ringChecksum: ring.checksum, deleted: false,
    };
    for (const node of preferenceList(ring.current, keyPosition(namespace, key), 3)) {
      batch.push(cluster.node(node).role!.context.store.apply({ address: { kind: 'object', bucket: namespace, key }, meta, keepPrevious: false }));
    }
    if (batch.length >= 3_000) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

async function status(cluster: StorageCluster): Promise<LifecycleStatus[]> {
  const replies = await Promise.all(
    cluster.nodes.map((node) => cluster.clientNode.system.ask<never, LifecycleStatus>(lifecycleRef(node.name) as never, (replyTo) => ({ type: 'status', replyTo }) as never, 10_000)),
  );
  return replies.filter((reply): reply is LifecycleStatus => !isRuntimeFailure(reply));
}

await main();
