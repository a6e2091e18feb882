import { expect } from 'chai';
import { parseGatewayConfig } from '../../../../../src/actors/gateway/gateway-config.js';
import { isLoopbackHost, parseRestConfig } from '../../../../../src/actors/gateway/rest/rest-config.js';
import { ClientNetworks } from '../../../../../src/actors/gateway/client-networks.js';

function problem(raw: unknown): string {
  const result = parseRestConfig(raw);
  if (result.ok) throw new Error('accepted');
  return result.problem;
}

describe('actors/gateway/rest/rest-config', () => {
  it('is off unless gateway.rest is given, or when it says enabled: false', () => {
    expect(parseRestConfig(undefined)).to.deep.equal({ ok: true, config: undefined });
    expect(parseRestConfig({ enabled: false, user: 'admin' })).to.deep.equal({ ok: true, config: undefined });
    const gateway = parseGatewayConfig({});
    expect(gateway.ok && gateway.config.rest).to.equal(undefined);
  });

  it('on loopback, serves loopback clients unless told otherwise, and freezes its settings', () => {
    const result = parseRestConfig({ user: 'admin' });
    if (!result.ok || result.config === undefined) throw new Error('refused');
    expect(result.config).to.deep.equal({ host: '127.0.0.1', port: 8081, allow: ['127.0.0.0/8', '::1/128'], user: 'admin' });
    expect(Object.isFrozen(result.config)).to.equal(true);
    const explicit = parseRestConfig({ host: '::1', port: '9000', allow: ['::1'], user: 'ops' });
    expect(explicit.ok && explicit.config).to.deep.equal({ host: '::1', port: 9000, allow: ['::1'], user: 'ops' });
  });

  it('refuses to listen beyond loopback without an explicit allow list', () => {
    expect(problem({ host: '0.0.0.0', user: 'admin' })).to.match(/gateway\.rest\.allow must list the networks trusted.*0\.0\.0\.0/);
    expect(problem({ host: '10.1.2.3', user: 'admin' })).to.match(/gateway\.rest\.allow/);
    expect(problem({ host: 'gw.example.com', user: 'admin' })).to.match(/gateway\.rest\.allow/);
    const allowed = parseRestConfig({ host: '0.0.0.0', allow: ['10.0.0.0/8', '192.168.1.7'], user: 'admin' });
    expect(allowed.ok && allowed.config?.allow).to.deep.equal(['10.0.0.0/8', '192.168.1.7']);
  });

  it('says what is wrong with a setting', () => {
    expect(problem({ port: 8081 })).to.match(/gateway\.rest\.user must name the cluster user/);
    expect(problem({ user: '' })).to.match(/gateway\.rest\.user/);
    expect(problem({ user: 'admin', allow: [] })).to.match(/gateway\.rest\.allow must be a non-empty list of CIDR blocks/);
    expect(problem({ user: 'admin', allow: ['10.0.0.0/33'] })).to.match(/gateway\.rest\.allow/);
    expect(problem({ user: 'admin', allow: '10.0.0.0/8' })).to.match(/gateway\.rest\.allow/);
    expect(problem({ user: 'admin', port: 70000 })).to.match(/gateway\.rest\.port must be an integer from 0 to 65535/);
    expect(problem({ user: 'admin', host: 'not a host' })).to.match(/gateway\.rest\.host/);
    expect(problem({ user: 'admin', enabled: 'yes' })).to.match(/gateway\.rest\.enabled/);
    expect(problem({ user: 'admin', users: ['x'] })).to.match(/gateway\.rest\.users is not a known setting/);
    expect(problem([])).to.match(/gateway\.rest must be an object/);
  });

  it('is part of the gateway settings, on a port of its own', () => {
    const result = parseGatewayConfig({ rest: { port: 0, user: 'admin' } });
    expect(result.ok && result.config.rest?.user).to.equal('admin');
    const clash = parseGatewayConfig({ httpPort: 9000, rest: { port: 9000, user: 'admin' } });
    expect(!clash.ok && clash.problem).to.match(/gateway\.rest\.port 9000 is already the port of the S3 API/);
    const refused = parseGatewayConfig({ httpHost: '0.0.0.0', rest: { host: '0.0.0.0', user: 'admin' } });
    expect(!refused.ok && refused.problem).to.match(/gateway\.rest\.allow/);
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(host), host).to.equal(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) expect(isLoopbackHost(host), host).to.equal(false);
  });
});

describe('actors/gateway/rest/trusted-networks', () => {
  it('matches client addresses against CIDR blocks and single addresses, IPv4 and IPv6', () => {
    const networks = new ClientNetworks(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1/128']);
    expect(networks.includes('10.200.3.4')).to.equal(true);
    expect(networks.includes('11.0.0.1')).to.equal(false);
    expect(networks.includes('192.168.1.7')).to.equal(true);
    expect(networks.includes('192.168.1.8')).to.equal(false);
    expect(networks.includes('fd12:3456::1')).to.equal(true);
    expect(networks.includes('fe80::1')).to.equal(false);
    expect(networks.includes('::1')).to.equal(true);
  });

  it('matches an IPv4 client of a dual-stack socket as its IPv4 address, and never an unknown one', () => {
    const networks = new ClientNetworks(['127.0.0.0/8']);
    expect(networks.includes('::ffff:127.0.0.1')).to.equal(true);
    expect(networks.includes('::ffff:10.0.0.1')).to.equal(false);
    expect(networks.includes(undefined)).to.equal(false);
    expect(networks.includes('')).to.equal(false);
  });
});
