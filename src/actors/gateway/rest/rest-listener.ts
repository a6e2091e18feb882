/**
 * The gateway's REST listener as a supervised actor, beside the S3 one: its init opens the REST port
 * (saying loudly in the log that it is unsigned and whom it trusts), its terminate closes it
 * gracefully. Requests never pass through its mailbox; it shares the S3 listener's storage, users,
 * buckets and object cache.
 */
import type { Behavior } from '../../../runtime/actor.js';
import { assertNever } from '../../../core/assert-never.js';
import type { RestListenerMessage } from '../../../protocol/cluster/rest-listener.js';
import { startGatewayServer, type GatewayServer } from '../gateway-server.js';
import { bindWhenFree, listenerGatewayDeps, type HttpListenerDeps } from '../http-listener.js';
import type { RestConfig } from './rest-config.js';
import { restEntry, restWarning } from './rest-entry.js';
import { ClientNetworks } from '../client-networks.js';
import { logAtAnyLevel } from '../../../runtime/logger.js';

export interface RestListenerDeps extends HttpListenerDeps {
  readonly rest: RestConfig;
}

interface ListenerState {
  readonly server: GatewayServer;
}

export function restListenerBehavior(deps: RestListenerDeps): Behavior<ListenerState, RestListenerMessage> {
  let open: GatewayServer | undefined;
  return {
    accepts: ['status'],
    async init(ctx) {
      if (open !== undefined) {
        await open.close(0);
        open = undefined;
      }
      const gateway = listenerGatewayDeps(deps, ctx);
      const networks = new ClientNetworks(deps.rest.allow);
      const listener = { name: 'REST', host: deps.rest.host, port: deps.rest.port, entry: restEntry(deps.rest, networks), admits: (address: string | undefined) => networks.includes(address) };
      const server = await bindWhenFree(() => startGatewayServer(gateway, listener), ctx.clock, ctx.log, 'REST');
      open = server;
      ctx.log.warn(restWarning(deps.rest, server.host, server.port), { restHost: server.host, restPort: server.port, allow: deps.rest.allow, user: deps.rest.user });
      if (deps.authView.current !== undefined && deps.authView.user(deps.rest.user) === undefined) {
        ctx.log.warn('the REST API acts as a user the cluster does not have: its requests are refused until the user is created', { user: deps.rest.user });
      }
      logAtAnyLevel(ctx.log, 'REST API listening', { restHost: server.host, restPort: server.port });
      return { server };
    },
    receive(state, message, ctx) {
      switch (message.type) {
        case 'status':
          ctx.system.reply(message.replyTo, { ok: true, host: state.server.host, port: state.server.port, inFlight: state.server.inFlight });
          return state;
        default:
          return assertNever(message.type);
      }
    },
    async terminate(state, ctx) {
      await state.server.close(deps.config.shutdownTimeoutMs);
      open = undefined;
      ctx.log.info('REST API closed');
    },
  };
}
