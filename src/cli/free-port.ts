/**
 * A port free on loopback right now, for a server that must be told its port before it starts.
 *
 * It is picked below the kernel's ephemeral range, which outgoing connections (and servers asking for
 * port 0) take their ports from: a port picked from that range could be taken by any connection made
 * between the pick and the server's start, and a port kept for later starts (leofs dev's managers)
 * could be taken by one at any later time.
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** Where ports are looked for, when the ephemeral range leaves room below it. */
const LOWEST_PORT = 20_000;
/** The room below the ephemeral range worth looking in; with less, a port the kernel picks will do. */
const MIN_SPAN = 1_000;
const TRIES = 50;

export async function freePort(): Promise<number> {
  const below = ephemeralRangeStart();
  if (below !== undefined && below - LOWEST_PORT >= MIN_SPAN) {
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const port = LOWEST_PORT + Math.floor(Math.random() * (below - LOWEST_PORT));
      if (await isFree(port)) return port;
    }
  }
  return listenOn(0);
}

/** `count` free ports, no two the same. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

/** The first port of the kernel's ephemeral range (Linux), or undefined where it cannot be read. */
export function ephemeralRangeStart(): number | undefined {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 && first < 65_536 ? first : undefined;
  } catch {
    return undefined;
  }
}

function isFree(port: number): Promise<boolean> {
  return listenOn(port).then(
    () => true,
    () => false,
  );
}

/** Listens on `port` of loopback (0: any), closes again, and answers the port it had. */
function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}
