import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MANAGER, resolveAdminConnection } from '../../../src/cli/admin-connection.js';
import { ConfigError } from '../../../src/cli/config.js';

describe('cli/admin-connection', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-adminconn-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const places = (env: NodeJS.ProcessEnv = {}) => ({ env, cwd: dir, home: dir });

  it('takes the managers from the flag, then LEOFS_MANAGER, then the config, then the default', () => {
    const config = join(dir, 'storage.json');
    writeFileSync(config, JSON.stringify({ manager: '10.0.0.5:4010' }));
    expect(resolveAdminConnection({ cookie: 'c', manager: 'a:1', config }, places({ LEOFS_MANAGER: 'b:2' })).managers).to.deep.equal(['a:1']);
    expect(resolveAdminConnection({ cookie: 'c', config }, places({ LEOFS_MANAGER: 'b:2' })).managers).to.deep.equal(['b:2']);
    expect(resolveAdminConnection({ cookie: 'c', config }, places()).managers).to.deep.equal(['10.0.0.5:4010']);
    expect(resolveAdminConnection({ cookie: 'c' }, places())).to.deep.equal({ managers: [DEFAULT_MANAGER], cookie: 'c' });
  });

  it('takes several managers, comma-separated or as the list of a config', () => {
    expect(resolveAdminConnection({ cookie: 'c', manager: 'a:1, b:2,c:3' }, places()).managers).to.deep.equal(['a:1', 'b:2', 'c:3']);
    expect(resolveAdminConnection({ cookie: 'c' }, places({ LEOFS_MANAGER: 'a:1,b:2' })).managers).to.deep.equal(['a:1', 'b:2']);
    const config = join(dir, 'manager.json');
    writeFileSync(config, JSON.stringify({ role: 'manager', managers: ['10.0.0.5:4010', '10.0.0.6:4010'] }));
    expect(resolveAdminConnection({ cookie: 'c', config }, places()).managers).to.deep.equal(['10.0.0.5:4010', '10.0.0.6:4010']);
    expect(() => resolveAdminConnection({ cookie: 'c', manager: 'a:1,nowhere' }, places())).to.throw(ConfigError, /--manager: "nowhere" is not host:port/);
    expect(() => resolveAdminConnection({ cookie: 'c' }, places({ LEOFS_MANAGER: 'x' }))).to.throw(ConfigError, /LEOFS_MANAGER: "x" is not host:port/);
  });

  it("uses TLS with --tls, with --tls-ca, or with a config's tls section, reading only the CA of it", () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'PEM OF THE CA');
    expect(resolveAdminConnection({ cookie: 'c', tls: true }, places()).tls).to.deep.equal({});
    expect(resolveAdminConnection({ cookie: 'c', 'tls-ca': ca }, places()).tls).to.deep.equal({ ca: 'PEM OF THE CA' });
    const config = join(dir, 'node.json');
    writeFileSync(config, JSON.stringify({ tls: { certFile: join(dir, 'unreadable-cert'), keyFile: join(dir, 'unreadable-key'), caFile: ca } }));
    expect(resolveAdminConnection({ cookie: 'c', config }, places()).tls).to.deep.equal({ ca: 'PEM OF THE CA' });
  });

  it('says what is wrong: no cookie, an unreadable CA, a broken config', () => {
    expect(() => resolveAdminConnection({}, places())).to.throw(/cluster cookie is required/);
    expect(() => resolveAdminConnection({ cookie: 'c', 'tls-ca': join(dir, 'missing.pem') }, places())).to.throw(/cannot read TLS file/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{');
    expect(() => resolveAdminConnection({ cookie: 'c', config: broken }, places())).to.throw(/not valid JSON/);
  });

  it('dials a TLS cluster port with the CA alone', async function () {
    this.timeout(20_000);
    const { openAdminClient } = await import('../../../src/cli/admin-client.js');
    const { startClusterNode } = await import('../../../src/runtime/node.js');
    const { memoryLogger } = await import('../../../src/runtime/logger.js');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const server = await startClusterNode({ node: 'server@127.0.0.1', cookie: 'tls-cookie', listen: { host: '127.0.0.1', port: 0 }, tls: { cert, key: readFileSync(join(dir, 'key.pem'), 'utf8') }, logger: memoryLogger('error').logger });
    try {
      const client = await openAdminClient({ manager: server.transport.address!, cookie: 'tls-cookie', timeoutMs: 2_000, tls: { ca: cert } });
      expect(client.managerNode).to.equal('server@127.0.0.1');
      await client.close();
      await openAdminClient({ manager: server.transport.address!, cookie: 'tls-cookie', timeoutMs: 2_000, tls: {} }).then(
        () => expect.fail('a certificate no known CA vouches for was taken'),
        (error: Error) => expect(error.name).to.equal('ManagerUnreachable'),
      );
    } finally {
      await server.stop();
    }
  });
});
