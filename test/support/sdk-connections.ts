/**
 * Request-handler options for AWS SDK clients that make one attempt per request. A gateway closes a
 * connection left idle for its keep-alive timeout, which each answer announces (`Keep-Alive: timeout=5`);
 * a request sent on it just as it closes fails with "socket hang up". The SDK's retries absorb that, a
 * single attempt cannot. Given a timeout of its own, node's agent drops an idle connection a second before
 * the announced one, so no request is ever sent on a connection the gateway may be closing.
 */
export const DROP_IDLE_CONNECTIONS_EARLY = { httpAgent: { timeout: 4_000 } } as const;
