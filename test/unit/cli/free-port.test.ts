import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { ephemeralRangeStart, freePort } from '../../../src/cli/free-port.js';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('cli/free-port', () => {
  it('answers a port a server can listen on at once', async () => {
    const server = await listen(await freePort());
    await new Promise((resolve) => server.close(resolve));
  });

  it('picks below the ephemeral range, where no outgoing connection takes a port meanwhile', async function () {
    const first = ephemeralRangeStart();
    if (first === undefined || first < 21_000) this.skip();
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) expect(port).to.be.within(20_000, first - 1);
  });
});
