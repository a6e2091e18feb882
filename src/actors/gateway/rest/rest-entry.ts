/**
 * The REST API's way into the gateway's request pipeline: plain object requests routed to the S3
 * operations (protocol/rest/router.ts), every one acting as the configured cluster user. Nothing is
 * signed; what keeps strangers out is the listener, which serves only the trusted networks (checked
 * again here, per request). Authorization and handlers are the S3 API's own; errors keep the S3 codes and
 * statuses but are told as JSON (protocol/rest/errors.ts).
 */
import { trustedNetworkAuthentication } from '../../../protocol/s3/auth.js';
import { S3Error } from '../../../protocol/s3/errors.js';
import { routeRestRequest } from '../../../protocol/rest/router.js';
import { restErrorDocument } from '../../../protocol/rest/errors.js';
import { getHeader } from '../../../protocol/s3/headers.js';
import type { RequestEntry } from '../request-handler.js';
import type { RestConfig } from './rest-config.js';
import type { ClientNetworks } from '../client-networks.js';

export function restEntry(config: RestConfig, networks: ClientNetworks): RequestEntry {
  return {
    api: 'REST',
    route(input) {
      return routeRestRequest(input);
    },
    async identify(request, deps) {
      const { req, method, path, rawQuery, headers } = request;
      if (!networks.includes(req.socket.remoteAddress)) throw new S3Error('AccessDenied', 'This address may not use the REST API.');
      const user = deps.authView.user(config.user);
      if (user === undefined) {
        deps.log.warn('the REST API acts as a user the cluster does not have (gateway.rest.user)', { user: config.user });
        throw new S3Error('AccessDenied', 'The user the REST API acts as does not exist.');
      }
      const authenticated = trustedNetworkAuthentication({ method, path, query: rawQuery, headers, virtualHostBucket: undefined });
      if (!authenticated.ok) throw authenticated.error;
      return { auth: authenticated.auth, user };
    },
    errorDocument(error, context, headers) {
      return restErrorDocument(error, context, getHeader(headers, 'accept'));
    },
  };
}

/** What the log says when the API opens: whoever reaches it acts as its user, unsigned. */
export function restWarning(config: RestConfig, host: string, port: number): string {
  return `unsigned REST API enabled on ${host}:${port} for ${config.allow.join(', ')}; anyone there acts as ${config.user}`;
}
