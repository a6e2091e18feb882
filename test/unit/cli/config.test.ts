import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, readConfigFile, validateNodeConfig } from '../../../src/cli/config.js';
import { loadNodeConfig } from '../../../src/cli/node-command.js';

const base = { role: 'storage', name: 'storage_0@127.0.0.1', clusterPort: 0, manager: '127.0.0.1:4010', cookie: 'config-test-cookie' };
const DAY_MS = 24 * 60 * 60_000;
const tombstoneDefaults = { tombstoneGraceMs: DAY_MS, tombstonePurgeKeysPerSecond: 1000, purgeHorizonMs: 7 * DAY_MS };

describe('cli/config storage settings', () => {
  it('defaults a storage node to 168 vnodes and no rack', () => {
    expect(validateNodeConfig(base).storage).to.deep.equal({ numOfVnodes: 168, minFreeDiskBytes: 256 * 1024 * 1024, purgeKeysPerSecond: 5000, ...tombstoneDefaults });
  });

  it('takes numOfVnodes and rack from the storage object', () => {
    expect(validateNodeConfig({ ...base, storage: { numOfVnodes: 64, rack: 'r1' } }).storage).to.deep.equal({ numOfVnodes: 64, rack: 'r1', minFreeDiskBytes: 256 * 1024 * 1024, purgeKeysPerSecond: 5000, ...tombstoneDefaults });
  });

  it('serves metrics only when given a port, on loopback unless told otherwise', () => {
    expect(validateNodeConfig(base).metrics).to.equal(undefined);
    expect(validateNodeConfig({ ...base, metricsPort: 9101 }).metrics).to.deep.equal({ host: '127.0.0.1', port: 9101 });
    expect(validateNodeConfig({ ...base, metricsPort: '0', metricsHost: '0.0.0.0' }).metrics).to.deep.equal({ host: '0.0.0.0', port: 0 });
    expect(() => validateNodeConfig({ ...base, metricsHost: '0.0.0.0' })).to.throw(/metricsHost needs metricsPort/);
    expect(() => validateNodeConfig({ ...base, metricsPort: 70000 })).to.throw(/metricsPort must be a port/);
  });

  it('takes the capacity and free-disk limits', () => {
    expect(validateNodeConfig({ ...base, storage: { capacityBytes: 1e9, minFreeDiskBytes: 0 } }).storage).to.deep.equal({ numOfVnodes: 168, capacityBytes: 1e9, minFreeDiskBytes: 0, purgeKeysPerSecond: 5000, ...tombstoneDefaults });
    expect(validateNodeConfig({ ...base, storage: { purgeKeysPerSecond: 200 } }).storage.purgeKeysPerSecond).to.equal(200);
    expect(() => validateNodeConfig({ ...base, storage: { purgeKeysPerSecond: 0 } })).to.throw(ConfigError, /storage\.purgeKeysPerSecond/);
    expect(validateNodeConfig({ ...base, storage: { orphanAgeMs: 5000, uploadMaxAgeMs: 60_000, sweepKeysPerSecond: 10, sweepPauseMs: 200 } }).storage)
      .to.include({ orphanAgeMs: 5000, uploadMaxAgeMs: 60_000, sweepKeysPerSecond: 10, sweepPauseMs: 200 });
    expect(() => validateNodeConfig({ ...base, storage: { orphanAgeMs: 10 } })).to.throw(ConfigError, /storage\.orphanAgeMs/);
    expect(validateNodeConfig({ ...base, storage: { autoCompactionIntervalMs: 0, autoCompactionMinReclaimPercent: 40, autoCompactionMinFileBytes: 1024 } }).storage)
      .to.include({ autoCompactionIntervalMs: 0, autoCompactionMinReclaimPercent: 40, autoCompactionMinFileBytes: 1024 });
    expect(() => validateNodeConfig({ ...base, storage: { autoCompactionMinReclaimPercent: 0 } })).to.throw(ConfigError, /storage\.autoCompactionMinReclaimPercent/);
    expect(() => validateNodeConfig({ ...base, storage: { autoCompactionIntervalMs: 500 } })).to.throw(ConfigError, /storage\.autoCompactionIntervalMs must be 0 \(off\) or at least 1000/);
    expect(validateNodeConfig({ ...base, storage: { antiEntropyQuietIntervalMs: 250 } }).storage.antiEntropyQuietIntervalMs).to.equal(250);
    expect(() => validateNodeConfig({ ...base, storage: { antiEntropyQuietIntervalMs: 0 } })).to.throw(ConfigError, /storage\.antiEntropyQuietIntervalMs/);
    expect(validateNodeConfig({ ...base, storage: { conditionalWriteDeadlineMs: 2_000 } }).storage.conditionalWriteDeadlineMs).to.equal(2_000);
    expect(() => validateNodeConfig({ ...base, storage: { conditionalWriteDeadlineMs: 0 } })).to.throw(ConfigError, /storage\.conditionalWriteDeadlineMs/);
    expect(() => validateNodeConfig({ ...base, storage: { capacityBytes: -1 } })).to.throw(ConfigError, /storage\.capacityBytes/);
    expect(() => validateNodeConfig({ ...base, storage: { minFreeDiskBytes: '1G' } })).to.throw(ConfigError, /storage\.minFreeDiskBytes/);
  });

  it('takes whether bodies are written past the page cache, as a boolean', () => {
    expect(validateNodeConfig(base).storage.directBodyWrites).to.equal(undefined);
    expect(validateNodeConfig({ ...base, storage: { directBodyWrites: false } }).storage.directBodyWrites).to.equal(false);
    expect(() => validateNodeConfig({ ...base, storage: { directBodyWrites: 'no' } })).to.throw(ConfigError, /storage\.directBodyWrites must be true or false/);
  });

  it('takes the format metadata is written in, 1, 2 or 3', () => {
    expect(validateNodeConfig(base).storage.metaFormat).to.equal(undefined);
    for (const format of [1, 2, 3]) expect(validateNodeConfig({ ...base, storage: { metaFormat: format } }).storage.metaFormat).to.equal(format);
    for (const wrong of [0, 4, '2', 1.5]) expect(() => validateNodeConfig({ ...base, storage: { metaFormat: wrong } }), String(wrong)).to.throw(ConfigError, /storage\.metaFormat must be 1, 2 or 3/);
  });

  it('takes the tombstone grace period, purge rate and purge horizon, within bounds', () => {
    const storage = validateNodeConfig({ ...base, storage: { tombstoneGraceMs: 3_600_000, tombstonePurgeKeysPerSecond: 50, purgeHorizonMs: 2 * DAY_MS } }).storage;
    expect(storage).to.deep.include({ tombstoneGraceMs: 3_600_000, tombstonePurgeKeysPerSecond: 50, purgeHorizonMs: 2 * DAY_MS });
    expect(() => validateNodeConfig({ ...base, storage: { tombstoneGraceMs: 10 } })).to.throw(ConfigError, /storage\.tombstoneGraceMs must be an integer from 1000/);
    expect(() => validateNodeConfig({ ...base, storage: { tombstoneGraceMs: '1d' } })).to.throw(ConfigError, /storage\.tombstoneGraceMs/);
    expect(() => validateNodeConfig({ ...base, storage: { tombstonePurgeKeysPerSecond: 0 } })).to.throw(ConfigError, /storage\.tombstonePurgeKeysPerSecond/);
    expect(() => validateNodeConfig({ ...base, storage: { purgeHorizonMs: 1000 } })).to.throw(ConfigError, /storage\.purgeHorizonMs/);
    expect(() => validateNodeConfig({ ...base, storage: { purgeHorizonMs: 1.5 * DAY_MS + 0.5 } })).to.throw(ConfigError, /storage\.purgeHorizonMs/);
  });

  it('refuses bad storage settings with a message naming them', () => {
    expect(() => validateNodeConfig({ ...base, storage: { numOfVnodes: 0 } })).to.throw(ConfigError, /numOfVnodes/);
    expect(() => validateNodeConfig({ ...base, storage: { numOfVnodes: 5000 } })).to.throw(ConfigError, /numOfVnodes/);
    expect(() => validateNodeConfig({ ...base, storage: { rack: '' } })).to.throw(ConfigError, /rack/);
    expect(() => validateNodeConfig({ ...base, storage: { vnodes: 3 } })).to.throw(ConfigError, /storage\.vnodes is not a known setting/);
    expect(() => validateNodeConfig({ ...base, storage: 'big' })).to.throw(ConfigError, /storage must be an object/);
  });
});

describe('cli/config cluster cookie', () => {
  const { cookie: _cookie, ...noCookie } = base;
  let dir: string;
  let cookieFile: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-config-'));
    cookieFile = join(dir, 'cookie');
    writeFileSync(cookieFile, 'cookie-from-a-file\n', { mode: 0o600 });
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads it from cookieFile, from LEOFS_COOKIE, or from LEOFS_COOKIE_FILE, settings first', () => {
    expect(validateNodeConfig({ ...noCookie, cookieFile }, {}).cookie).to.equal('cookie-from-a-file');
    expect(validateNodeConfig(base, { LEOFS_COOKIE_FILE: cookieFile }).cookie).to.equal('config-test-cookie');
    expect(validateNodeConfig(noCookie, { LEOFS_COOKIE: 'cookie-from-env', LEOFS_COOKIE_FILE: cookieFile }).cookie).to.equal('cookie-from-env');
    expect(validateNodeConfig(noCookie, { LEOFS_COOKIE_FILE: cookieFile }).cookie).to.equal('cookie-from-a-file');
  });

  it('refuses no cookie, two cookies, a short one and a cookie file others may read', () => {
    expect(() => validateNodeConfig(noCookie, {})).to.throw(ConfigError, /--cookie-file PATH/);
    expect(() => validateNodeConfig({ ...base, cookieFile }, {})).to.throw(ConfigError, /not both/);
    expect(() => validateNodeConfig({ ...base, cookie: 'short' }, {})).to.throw(ConfigError, /at least 8 characters/);
    expect(() => validateNodeConfig({ ...noCookie, cookieFile: join(dir, 'missing') }, {})).to.throw(ConfigError, /cannot read the cookie file/);
    if (process.platform !== 'win32') {
      writeFileSync(join(dir, 'open'), 'an-open-cookie', { mode: 0o644 });
      expect(() => validateNodeConfig({ ...noCookie, cookieFile: join(dir, 'open') }, {})).to.throw(ConfigError, /other users/);
    }
  });
});

describe('cli/config gateway flags', () => {
  let dir: string;
  let configFile: string;
  const gateway = { role: 'gateway', name: 'gateway_0@127.0.0.1', clusterPort: 0, manager: '127.0.0.1:4010', cookie: 'config-test-cookie' };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leofs-config-'));
    configFile = join(dir, 'gateway.json');
    writeFileSync(configFile, JSON.stringify({ ...gateway, gateway: { httpPort: 9000, sseKeyFile: '/etc/leofs/sse-keys' } }));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes sseKeyFile from the file, and --sse-key-file over it, keeping the file\'s other gateway settings', () => {
    expect(loadNodeConfig({ config: configFile }).gateway).to.include({ sseKeyFile: '/etc/leofs/sse-keys', httpPort: 9000 });
    expect(loadNodeConfig({ config: configFile, sseKeyFile: '/run/keys' }).gateway).to.include({ sseKeyFile: '/run/keys', httpPort: 9000 });
    expect(loadNodeConfig({ config: configFile, httpPort: 9001 }).gateway).to.include({ sseKeyFile: '/etc/leofs/sse-keys', httpPort: 9001 });
    expect(loadNodeConfig({ ...gateway, sseKeyFile: '/run/keys' }).gateway.sseKeyFile).to.equal('/run/keys');
    expect(loadNodeConfig(gateway).gateway).to.not.have.property('sseKeyFile');
  });

  it('leaves the REST API off unless the file or a --rest-* flag turns it on, and refuses it beyond loopback without trusted networks', () => {
    expect(loadNodeConfig(gateway).gateway.rest).to.equal(undefined);
    expect(loadNodeConfig({ ...gateway, restPort: 8081, restUser: 'admin' }).gateway.rest).to.deep.equal({ host: '127.0.0.1', port: 8081, allow: ['127.0.0.0/8', '::1/128'], user: 'admin' });
    expect(loadNodeConfig({ ...gateway, restPort: 0, restUser: 'ops', restHost: '0.0.0.0', restAllow: ['10.0.0.0/8,192.168.0.0/16', 'fd00::/8'] }).gateway.rest?.allow)
      .to.deep.equal(['10.0.0.0/8', '192.168.0.0/16', 'fd00::/8']);
    expect(() => loadNodeConfig({ ...gateway, restPort: 8081, restUser: 'admin', restHost: '0.0.0.0' })).to.throw(ConfigError, /gateway\.rest\.allow must list the networks trusted/);
    writeFileSync(configFile, JSON.stringify({ ...gateway, gateway: { httpPort: 9000, rest: { enabled: false, port: 9100, user: 'admin' } } }));
    expect(loadNodeConfig({ config: configFile }).gateway.rest).to.equal(undefined);
    expect(loadNodeConfig({ config: configFile, restUser: 'ops' }).gateway.rest).to.include({ port: 9100, user: 'ops' });
  });
});

describe('cli/config managers', () => {
  const { manager: _manager, ...noManager } = base;
  const managers = (settings: Record<string, unknown>) => validateNodeConfig({ ...noManager, ...settings }).managers;

  it('takes one address or several, as manager or managers, as a comma-separated string or a list, each once', () => {
    expect(validateNodeConfig(base).managers).to.deep.equal(['127.0.0.1:4010']);
    expect(managers({ manager: '10.0.0.1:4010, 10.0.0.2:4010,10.0.0.3:4010' })).to.deep.equal(['10.0.0.1:4010', '10.0.0.2:4010', '10.0.0.3:4010']);
    expect(managers({ managers: ['m1.example:4010', 'm2.example:4010', 'm1.example:4010'] })).to.deep.equal(['m1.example:4010', 'm2.example:4010']);
    expect(managers({ managers: 'a:1,b:2,' })).to.deep.equal(['a:1', 'b:2']);
  });

  it('requires one on storage nodes and gateways, and keeps the control plane\'s list on a manager', () => {
    expect(() => validateNodeConfig(noManager)).to.throw(ConfigError, /a storage node needs --manager host:port/);
    expect(() => validateNodeConfig({ ...noManager, role: 'gateway', name: 'gateway_0@127.0.0.1' })).to.throw(ConfigError, /a gateway node needs --manager/);
    const manager = { ...noManager, role: 'manager', name: 'manager_0@127.0.0.1' };
    expect(validateNodeConfig(manager).managers).to.deep.equal([]);
    const listed = { ...manager, name: 'manager_0@10.0.0.1', clusterPort: 4010 };
    expect(validateNodeConfig({ ...listed, managers: ['10.0.0.1:4010', '10.0.0.2:4010'] }).managers).to.deep.equal(['10.0.0.1:4010', '10.0.0.2:4010']);
  });

  it('refuses a manager whose own address is not its entry in the list, or that has no fixed port', () => {
    const manager = { ...noManager, role: 'manager', name: 'manager_0@10.0.0.1' };
    expect(() => validateNodeConfig({ ...manager, clusterPort: 0, managers: ['10.0.0.1:4010', '10.0.0.2:4010'] })).to.throw(ConfigError, /needs a fixed --cluster-port/);
    expect(() => validateNodeConfig({ ...manager, clusterPort: 4011, managers: ['10.0.0.1:4010', '10.0.0.2:4010'] })).to.throw(ConfigError, /10\.0\.0\.1:4011 is not in the managers list/);
  });

  it('says which address is wrong', () => {
    expect(() => managers({ manager: '10.0.0.1' })).to.throw(ConfigError, /manager: "10\.0\.0\.1" is not host:port/);
    expect(() => managers({ manager: 'a:1,b' })).to.throw(ConfigError, /manager: "b" is not host:port/);
    expect(() => managers({ managers: ['a:1', 4010] })).to.throw(ConfigError, /managers must list addresses as strings/);
    expect(() => managers({ managers: ['a:1', ''] })).to.throw(ConfigError, /managers: "" is not host:port/);
    expect(() => managers({ managers: 'a:99999' })).to.throw(ConfigError, /not host:port/);
    expect(() => managers({ managers: [] })).to.throw(ConfigError, /managers names no manager/);
    expect(() => managers({ manager: ' , ' })).to.throw(ConfigError, /manager names no manager/);
    expect(() => managers({ managers: 4010 })).to.throw(ConfigError, /managers must be host:port/);
    expect(() => managers({ manager: 'a:1', managers: ['b:2'] })).to.throw(ConfigError, /manager or managers, not both/);
  });

  it('lets --manager or --managers replace the managers of the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leofs-config-'));
    try {
      const file = join(dir, 'storage.json');
      writeFileSync(file, JSON.stringify({ ...noManager, managers: ['a:1', 'b:2'] }));
      expect(loadNodeConfig({ config: file }).managers).to.deep.equal(['a:1', 'b:2']);
      expect(loadNodeConfig({ config: file, manager: 'c:3' }).managers).to.deep.equal(['c:3']);
      expect(loadNodeConfig({ config: file, managers: 'c:3,d:4' }).managers).to.deep.equal(['c:3', 'd:4']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('config/ examples', () => {
  for (const role of ['manager', 'storage', 'gateway']) {
    it(`config/${role}.json is a valid ${role} config that serves metrics`, () => {
      const file = fileURLToPath(new URL(`../../../../config/${role}.json`, import.meta.url));
      const config = validateNodeConfig(readConfigFile(file), { LEOFS_COOKIE: 'config-example-cookie' });
      expect(config.role).to.equal(role);
      expect(config.metrics?.port).to.be.above(0);
    });
  }
});

describe('web console settings', () => {
  const manager = { role: 'manager', name: 'manager_0@127.0.0.1', clusterPort: 0, cookie: 'config-test-cookie' };

  it('is off unless asked for, and on loopback by default', () => {
    expect(validateNodeConfig(manager).console).to.equal(undefined);
    expect(validateNodeConfig({ ...manager, console: { port: 4020 } }).console).to.deep.equal({ host: '127.0.0.1', port: 4020, allowRemote: false, tls: undefined, sessionIdleMinutes: 30 });
    expect(loadNodeConfig({ role: 'manager', name: 'manager_0@127.0.0.1', clusterPort: 0, cookie: 'config-test-cookie', consolePort: 0 }).console?.port).to.equal(0);
  });

  it('takes an idle time for sessions in minutes, fractions down to 3 s included', () => {
    expect(validateNodeConfig({ ...manager, console: { port: 0, sessionIdleMinutes: 0.05 } }).console?.sessionIdleMinutes).to.equal(0.05);
    expect(validateNodeConfig({ ...manager, console: { port: 0, sessionIdleMinutes: 90 } }).console?.sessionIdleMinutes).to.equal(90);
    for (const wrong of [0, 0.01, 1441, '30', Number.NaN]) {
      expect(() => validateNodeConfig({ ...manager, console: { port: 0, sessionIdleMinutes: wrong } }), String(wrong)).to.throw(ConfigError, /sessionIdleMinutes/);
    }
  });

  it('refuses another host unless allowRemote and tls are both given', () => {
    expect(() => validateNodeConfig({ ...manager, console: { port: 4020, host: '0.0.0.0' } })).to.throw(ConfigError, /allowRemote/);
    expect(() => validateNodeConfig({ ...manager, console: { port: 4020, host: '0.0.0.0', allowRemote: true } })).to.throw(ConfigError, /tls/);
    const remote = validateNodeConfig({ ...manager, console: { port: 4020, host: '0.0.0.0', allowRemote: true, tls: { certFile: 'c.pem', keyFile: 'k.pem' } } }).console;
    expect(remote).to.deep.include({ host: '0.0.0.0', allowRemote: true, tls: { certFile: 'c.pem', keyFile: 'k.pem' } });
  });

  it('is served by managers only, and names unknown settings', () => {
    expect(() => validateNodeConfig({ ...base, console: { port: 4020 } })).to.throw(ConfigError, /managers only/);
    expect(() => validateNodeConfig({ ...manager, console: { port: 4020, hots: 'x' } })).to.throw(ConfigError, /console.hots is not a known setting/);
  });
});
