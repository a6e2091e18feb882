/**
 * The other gateways of the cluster, as the managers' member list names them, told of each write
 * through this one in HTTP-cache mode with the message `leofs-adm purge-cache` sends them. The list is
 * asked again once it is older than `PEER_LIST_MAX_AGE_MS`, so a gateway that just joined may miss the
 * writes of that window (its copies then live out their TTL).
 */
import type { ActorApi } from '../../runtime/actor.js';
import type { Clock } from '../../runtime/clock.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import type { Logger } from '../../runtime/logger.js';
import { httpListenerRef } from '../../protocol/cluster/http-listener.js';
import { ringKeeperRef } from '../../protocol/cluster/paths.js';
import type { RingKeeperMessage } from '../../protocol/cluster/ring-keeper.js';
import type { ManagerLink } from '../common/manager-link.js';
import type { CachePeers } from './cache-invalidation.js';

const PEER_LIST_MAX_AGE_MS = 10_000;
const PEER_LIST_TIMEOUT_MS = 5_000;

export interface ManagerCachePeersDeps {
  readonly api: ActorApi;
  readonly managers: ManagerLink;
  readonly clock: Clock;
  readonly log: Logger;
}

export function managerCachePeers(deps: ManagerCachePeersDeps): CachePeers {
  let peers: readonly string[] = [];
  let listedAtMs = Number.NEGATIVE_INFINITY;
  let listing: Promise<void> | undefined;
  const list = (): Promise<void> => {
    listing ??= (async () => {
      const reply = await deps.managers.askLeader<RingKeeperMessage, 'list'>(ringKeeperRef, { type: 'list' }, PEER_LIST_TIMEOUT_MS);
      if (isRuntimeFailure(reply)) {
        deps.log.warn('the other gateways are not known: the managers did not answer; their caches keep copies until their TTL ends', { code: reply.code });
        return;
      }
      peers = reply.members.filter((m) => m.role === 'gateway' && m.state === 'running' && m.node !== deps.api.node).map((m) => m.node);
      listedAtMs = deps.clock.elapsed();
    })().catch((error: unknown) => deps.log.warn('listing the other gateways failed', { error })).finally(() => {
      listing = undefined;
    });
    return listing;
  };
  const tell = (bucket: string, key: string): void => {
    for (const node of peers) deps.api.dispatch(httpListenerRef(node), { type: 'purge_cache', bucket, key });
  };
  return {
    announce(bucket, key) {
      if (deps.clock.elapsed() - listedAtMs < PEER_LIST_MAX_AGE_MS) tell(bucket, key);
      else void list().then(() => tell(bucket, key));
    },
  };
}
