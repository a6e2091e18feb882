import { expect } from 'chai';
import { DEFAULT_GATEWAY_CONFIG, parseGatewayConfig } from '../../../src/actors/gateway/gateway-config.js';

function problem(raw: unknown): string {
  const result = parseGatewayConfig(raw);
  if (result.ok) throw new Error('accepted');
  return result.problem;
}

describe('actors/gateway/gateway-config', () => {
  it('defaults every setting', () => {
    const result = parseGatewayConfig(undefined);
    expect(result.ok && result.config).to.deep.equal(DEFAULT_GATEWAY_CONFIG);
    expect(DEFAULT_GATEWAY_CONFIG.httpHost).to.equal('127.0.0.1');
    expect(DEFAULT_GATEWAY_CONFIG.httpPort).to.equal(8080);
  });

  it('takes settings from a file or flags, numbers as strings included, and freezes them', () => {
    const result = parseGatewayConfig({ httpHost: '0.0.0.0', httpPort: '9000', cacheBytes: 0, virtualHostSuffixes: ['S3.Example.com'] });
    if (!result.ok) throw new Error(result.problem);
    expect(result.config.httpHost).to.equal('0.0.0.0');
    expect(result.config.httpPort).to.equal(9000);
    expect(result.config.cacheBytes).to.equal(0);
    expect(result.config.virtualHostSuffixes).to.deep.equal(['s3.example.com']);
    expect(Object.isFrozen(result.config)).to.equal(true);
  });

  it('takes the master key file only when given', () => {
    expect(DEFAULT_GATEWAY_CONFIG).to.not.have.property('sseKeyFile');
    const result = parseGatewayConfig({ sseKeyFile: '/etc/leofs/sse-keys' });
    expect(result.ok && result.config.sseKeyFile).to.equal('/etc/leofs/sse-keys');
    expect(problem({ sseKeyFile: '' })).to.match(/gateway\.sseKeyFile must be the path of a file/);
    expect(problem({ sseKeyFile: 42 })).to.match(/gateway\.sseKeyFile/);
  });

  it('reads bodies from files on the same machine unless told not to', () => {
    expect(DEFAULT_GATEWAY_CONFIG.sameMachineReads).to.equal(true);
    const result = parseGatewayConfig({ sameMachineReads: false });
    expect(result.ok && result.config.sameMachineReads).to.equal(false);
    expect(problem({ sameMachineReads: 'no' })).to.match(/gateway\.sameMachineReads must be true or false/);
    expect(DEFAULT_GATEWAY_CONFIG.sameMachineWrites).to.equal(true);
    const writes = parseGatewayConfig({ sameMachineWrites: false });
    expect(writes.ok && writes.config.sameMachineWrites).to.equal(false);
    expect(problem({ sameMachineWrites: 1 })).to.match(/gateway\.sameMachineWrites must be true or false/);
  });

  it('gives slow clients a floor and a deadline that real clients on slow links stay well within', () => {
    const config = DEFAULT_GATEWAY_CONFIG;
    expect(config.minBodyBytesPerSec, 'at most 8 kbit/s').to.be.at.most(1024);
    expect(config.maxBodyReceiveMs, 'a 5 GiB upload at 256 kB/s').to.be.at.least((5 * 1024 ** 3 / 256_000) * 1000);
    expect(config.maxConnectionsPerAddress).to.be.at.most(config.maxConnections);
    const off = parseGatewayConfig({ minBodyBytesPerSec: 0 });
    expect(off.ok && off.config.minBodyBytesPerSec, '0 turns the floor off').to.equal(0);
  });

  it('says which setting is wrong and why', () => {
    expect(problem({ httpPort: 70000 })).to.match(/gateway\.httpPort must be an integer from 0 to 65535/);
    expect(problem({ chunkSizeBytes: 64 * 1024 * 1024 })).to.match(/gateway\.chunkSizeBytes/);
    expect(problem({ cacheMaxObjectBytes: 6 * 1024 * 1024, chunkSizeBytes: 5 * 1024 * 1024 })).to.match(/cacheMaxObjectBytes cannot exceed/);
    expect(problem({ httpHost: 'bad host!' })).to.match(/gateway\.httpHost/);
    expect(problem({ region: 'Not A Region' })).to.match(/gateway\.region/);
    expect(problem({ cacheSize: 1 })).to.match(/gateway\.cacheSize is not a known setting/);
    expect(problem([])).to.match(/must be an object/);
    expect(problem({ maxConnectionsPerAddress: 100, maxConnections: 10 })).to.match(/maxConnectionsPerAddress cannot exceed gateway\.maxConnections/);
    expect(problem({ maxBodyMemoryPerUserPercent: 0 })).to.match(/gateway\.maxBodyMemoryPerUserPercent must be an integer from 1 to 100/);
    expect(problem({ maxBodyReceiveMs: 30 * 24 * 3_600_000 })).to.match(/gateway\.maxBodyReceiveMs/);
    expect(problem({ minBodyBytesPerSec: -1 })).to.match(/gateway\.minBodyBytesPerSec/);
    expect(problem({ virtualHostSuffixes: 'x' })).to.match(/virtualHostSuffixes/);
  });
});
