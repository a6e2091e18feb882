/**
 * The gateway's HTTP listener as a supervised actor: its init opens the S3 port, its terminate closes it
 * gracefully. Requests never pass through its mailbox (each runs in its own scope, see
 * request-handler.ts); the mailbox only answers status and cache purges, so a slow request cannot
 * delay them.
 */
import type { Behavior } from '../../runtime/actor.js';
import type { Clock } from '../../runtime/clock.js';
import { logAtAnyLevel, type Logger } from '../../runtime/logger.js';
import { assertNever } from '../../core/assert-never.js';
import type { AuthView } from '../common/auth-view.js';
import type { StorageApi } from '../../protocol/cluster/storage-api.js';
import type { BucketAdmin } from './bucket-admin.js';
import type { GatewayConfig } from './gateway-config.js';
import { createGatewayDeps, startGatewayServer, type GatewayServer } from './gateway-server.js';
import type { GatewayDeps } from './request-context.js';
import type { ObjectCache } from './object-cache.js';
import type { DiskCache } from './disk-cache.js';
import type { CachePeers } from './cache-invalidation.js';
import type { HttpListenerMessage } from '../../protocol/cluster/http-listener.js';
import type { RequestObserver } from './gateway-metrics.js';
import type { MasterKeys } from '../../core/object-encryption.js';

/**
 * How long start-up waits for the S3 port when another process (often a gateway still stopping) holds
 * it: waiting here keeps the supervisor's restart allowance for real crashes.
 */
const PORT_WAIT_MS = 30_000;
const PORT_RETRY_MS = 500;

export async function bindWhenFree<T>(start: () => Promise<T>, clock: Clock, log: Logger, name = 'S3'): Promise<T> {
  const begunMs = clock.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const busy = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!busy || clock.now() - begunMs >= PORT_WAIT_MS) throw error;
      if (attempt === 0) log.warn(`the ${name} port is in use; waiting for it`, { waitMs: PORT_WAIT_MS });
      await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), PORT_RETRY_MS));
    }
  }
}

/** Time a stopping listener may take beyond its configured wait for requests in progress. */
export const LISTENER_STOP_MARGIN_MS = 5_000;

export interface HttpListenerDeps {
  readonly config: GatewayConfig;
  readonly storage: StorageApi;
  readonly authView: AuthView;
  readonly bucketAdmin: BucketAdmin;
  /** Outlives restarts of the listener, so a restart does not empty it. */
  readonly cache: ObjectCache;
  /** Outlives restarts of the listener too. */
  readonly diskCache?: DiskCache;
  /** The other gateways, told of writes in HTTP-cache mode. */
  readonly cachePeers?: CachePeers;
  readonly requests?: RequestObserver;
  /** Read once at process start; a restarted listener keeps them. */
  readonly masterKeys?: MasterKeys;
}

/**
 * What a listener's requests need, for one incarnation of it: the parts that outlive restarts (caches,
 * keys) from `deps`, the clock and log from the actor. Every listener (S3, REST, NFS) builds it so.
 */
export function listenerGatewayDeps(deps: HttpListenerDeps, ctx: { readonly clock: Clock; readonly log: Logger; readonly system: { readonly node: string } }): GatewayDeps {
  return createGatewayDeps({
    config: deps.config,
    storage: deps.storage,
    authView: deps.authView,
    bucketAdmin: deps.bucketAdmin,
    clock: ctx.clock,
    log: ctx.log,
    node: ctx.system.node,
    cache: deps.cache,
    ...(deps.diskCache ? { diskCache: deps.diskCache } : {}),
    ...(deps.cachePeers ? { cachePeers: deps.cachePeers } : {}),
    ...(deps.requests ? { requests: deps.requests } : {}),
    ...(deps.masterKeys ? { masterKeys: deps.masterKeys } : {}),
  });
}

interface ListenerState {
  readonly server: GatewayServer;
  readonly cache: ObjectCache;
  readonly diskCache: DiskCache;
}

export function httpListenerBehavior(deps: HttpListenerDeps): Behavior<ListenerState, HttpListenerMessage> {
  // A crashed incarnation is not terminated, so its server may still hold the port: the next one closes it.
  let open: GatewayServer | undefined;
  return {
    accepts: ['status', 'purge_cache'],
    async init(ctx) {
      if (open !== undefined) {
        await open.close(0);
        open = undefined;
      }
      const gateway = listenerGatewayDeps(deps, ctx);
      const server = await bindWhenFree(() => startGatewayServer(gateway), ctx.clock, ctx.log);
      open = server;
      logAtAnyLevel(ctx.log, 'S3 API listening', { httpHost: server.host, httpPort: server.port });
      return { server, cache: gateway.cache, diskCache: gateway.diskCache };
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'status':
          ctx.system.reply(message.replyTo, {
            ok: true, host: state.server.host, port: state.server.port, inFlight: state.server.inFlight, cache: state.cache.stats,
            ...(state.diskCache.enabled ? { diskCache: state.diskCache.stats } : {}),
          });
          return state;
        case 'purge_cache':
          if (typeof message.bucket === 'string' && typeof message.key === 'string') {
            state.cache.invalidate(message.bucket, message.key);
            state.diskCache.invalidate(message.bucket, message.key);
          } else {
            state.cache.purge();
            state.diskCache.purge();
          }
          if (message.replyTo) ctx.system.reply(message.replyTo, { ok: true });
          return state;
        default:
          return assertNever(message);
      }
    },
    async terminate(state, ctx) {
      await state.server.close(deps.config.shutdownTimeoutMs);
      open = undefined;
      ctx.log.info('S3 API closed');
    },
  };
}
