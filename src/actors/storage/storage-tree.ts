/**
 * The storage node's tree:
 *
 *   /node/storage                one_for_one
 *     router                     entry point for other nodes (replica writes, reads, listings)
 *     presence                   records that this node is present; holds it back after a long absence
 *     replicator                 coordinates writes (W / D quorums)
 *     reader                     coordinates reads (R quorum, read repair)
 *     recoverer                  drains the durable repair and revert queues
 *     anti_entropy               compares ranges with other replicas
 *     handoff                    receives the segments a rebalance moves here
 *     release_sweeper            drops the data of ranges a rebalance moved away, after a grace period
 *     purger                     removes the data of deleted buckets
 *     sweeper                    removes abandoned uploads and chunks nothing names
 *     lifecycle                  applies the buckets' lifecycle rules (expiry, older versions, uploads)
 *     compactor                  gives free LMDB pages back (compact-*), tells disk use (du)
 *     tombstone_reaper           purges tombstones once every replica has them
 *     link_receiver              stores what linked clusters ship here
 *     link_shipper               ships this node's writes to the linked clusters
 *     link_sync                  compares the cluster's keys with the linked clusters' (one node leads), queues what they lack
 *
 * The object store is opened before the tree and closed after it: actors restart, the store stays.
 */
import type { ActorApi } from '../../runtime/actor.js';
import { worker, type SupervisorSpec } from '../../runtime/supervisor.js';
import type { NodeEvent } from '../../runtime/system.js';
import { antiEntropyBehavior } from './anti-entropy.js';
import { bucketPurgerBehavior } from './bucket-purger.js';
import { compactorBehavior } from './compactor.js';
import { handoffBehavior } from './handoff.js';
import { releaseSweeperBehavior } from './release-sweeper.js';
import { orphanSweeperBehavior } from './orphan-sweeper.js';
import { lifecycleWorkerBehavior } from './lifecycle-worker.js';
import type { BucketRecord } from '../../core/auth-snapshot.js';
import type { StorageApi } from '../../protocol/cluster/storage-api.js';
import { presenceKeeperBehavior } from './presence-keeper.js';
import { readerBehavior } from './reader.js';
import { recovererBehavior } from './recoverer.js';
import { replicatorBehavior } from './replicator.js';
import { routerBehavior } from './router.js';
import type { StorageContext } from './storage-context.js';
import { tombstoneReaperBehavior } from './tombstone-reaper.js';
import { linkReceiverBehavior } from './link-receiver.js';
import { linkShipperBehavior, type LinkShipperDeps } from './link-shipper.js';
import { linkSyncBehavior } from './link-sync.js';

export const STORAGE_ROOT_PATH = '/node/storage';

export interface StorageTreeDeps {
  readonly system: ActorApi;
  /** The cluster's object API, for work a storage node does as a client (the orphan sweep, lifecycle). */
  readonly storage: StorageApi;
  /** Every bucket, from the manager; undefined while it cannot be asked. */
  readonly buckets: () => Promise<readonly BucketRecord[] | undefined>;
  readonly watchNodes: (listener: (event: NodeEvent) => void) => () => void;
  /** The linked clusters, their secrets and storage nodes, and the transport's side of the links. */
  readonly links: Pick<LinkShipperDeps, 'linkView' | 'realms' | 'addPeer'>;
}

export function storageTree(context: StorageContext, deps: StorageTreeDeps): SupervisorSpec {
  return {
    strategy: 'one_for_one',
    maxRestarts: 20,
    periodMs: 60_000,
    children: [
      worker('router', routerBehavior(context)),
      worker('presence', presenceKeeperBehavior(context)),
      worker('replicator', replicatorBehavior(context)),
      worker('reader', readerBehavior(context)),
      worker('recoverer', recovererBehavior(context, { watchNodes: deps.watchNodes })),
      worker('anti_entropy', antiEntropyBehavior(context, { watchNodes: deps.watchNodes })),
      worker('handoff', handoffBehavior(context)),
      worker('release_sweeper', releaseSweeperBehavior(context)),
      worker('purger', bucketPurgerBehavior(context)),
      worker('sweeper', orphanSweeperBehavior(context, { storage: deps.storage })),
      worker('lifecycle', lifecycleWorkerBehavior(context, { storage: deps.storage, buckets: deps.buckets })),
      worker('compactor', compactorBehavior(context)),
      worker('tombstone_reaper', tombstoneReaperBehavior(context)),
      worker('link_receiver', linkReceiverBehavior(context, { storage: deps.storage, buckets: deps.buckets })),
      worker('link_shipper', linkShipperBehavior(context, { storage: deps.storage, ...deps.links })),
      worker('link_sync', linkSyncBehavior(context, { buckets: deps.buckets })),
    ],
  };
}
