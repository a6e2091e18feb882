/**
 * A crowd of clients that open WebSocket connections to a cluster port and never answer the cookie
 * challenge: what anyone who can reach the port can do. Each client that the node closes opens again at
 * once, so the crowd keeps pressing until it is stopped or has used up its `maxOpens`.
 */
import { WebSocket } from 'ws';

export interface HandshakeFloodOptions {
  /** Clients pressing at once. */
  readonly clients: number;
  /** Connections opened in all, re-openings included; bounds the churn. */
  readonly maxOpens: number;
  /** Local address to connect from (another loopback address plays another host). */
  readonly localAddress?: string;
}

export interface HandshakeFlood {
  /** Connections whose WebSocket upgrade is done and that the node has not closed. */
  readonly held: number;
  /** Connections opened so far. */
  readonly opened: number;
  /** Connections the node has closed so far. */
  readonly closed: number;
  stop(): Promise<void>;
}

export function startHandshakeFlood(address: string, options: HandshakeFloodOptions): HandshakeFlood {
  const sockets = new Set<WebSocket>();
  let held = 0;
  let opened = 0;
  let closed = 0;
  let stopped = false;

  const open = (): void => {
    if (stopped || opened >= options.maxOpens) return;
    opened++;
    const ws = new WebSocket(`ws://${address}/cluster`, {
      perMessageDeflate: false,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    sockets.add(ws);
    let upgraded = false;
    ws.on('open', () => {
      upgraded = true;
      held++;
    });
    // The challenge arrives and is never answered.
    ws.on('message', () => {});
    ws.on('error', () => {});
    ws.on('close', () => {
      sockets.delete(ws);
      closed++;
      if (upgraded) held--;
      open();
    });
  };

  for (let i = 0; i < options.clients; i++) open();
  return {
    get held() {
      return held;
    },
    get opened() {
      return opened;
    },
    get closed() {
      return closed;
    },
    async stop() {
      stopped = true;
      const closing = [...sockets].map((ws) => new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.terminate();
      }));
      await Promise.all(closing);
    },
  };
}
