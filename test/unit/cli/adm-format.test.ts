import { expect } from 'chai';
import { formatResult, formatTable, hexChecksum } from '../../../src/cli/adm-format.js';
import { DEFAULT_WATCHDOG_THRESHOLDS } from '../../../src/core/watchdog-rules.js';

describe('cli/adm-format', () => {
  it('aligns columns to the widest cell under a ruled header', () => {
    const text = formatTable(['node', 'state'], [['storage_0@127.0.0.1', 'running'], ['s1', 'stop']]);
    expect(text.split('\n')).to.deep.equal([
      ' node                | state',
      '---------------------+---------',
      ' storage_0@127.0.0.1 | running',
      ' s1                  | stop',
    ]);
  });

  it('prints checksums as eight hex digits', () => {
    expect(hexChecksum(0x1a)).to.equal('0000001a');
    expect(hexChecksum(0xffffffff)).to.equal('ffffffff');
  });

  it('never prints a secret in a user list, and shows it once for a created user', () => {
    const user = { userId: 'alice', accessKeyId: 'AKIAEXAMPLE000000001', role: 'normal' as const, createdAtMs: 0 };
    expect(formatResult({ kind: 'users', users: [user] })).to.include('AKIAEXAMPLE000000001');
    const created = formatResult({ kind: 'user', user: { ...user, secretAccessKey: 'the-secret-key' } });
    expect(created).to.include('access-key-id: AKIAEXAMPLE000000001');
    expect(created).to.include('secret-access-key: the-secret-key');
  });

  it('shows what protects each bucket: versioning, object lock and lifecycle rules', () => {
    const text = formatResult({
      kind: 'buckets',
      buckets: [
        { name: 'plain', owner: 'alice', acl: 'private', createdAtMs: 0 },
        {
          name: 'vault', owner: 'alice', acl: 'private', createdAtMs: 0, versioning: 'Enabled', objectLock: {},
          lifecycle: { rules: [{ id: 'r', enabled: true, filter: {}, filterForm: 'filter', expiration: { days: 1 } }] },
        },
      ],
    });
    const [header, , plain, vault] = text.split('\n');
    expect(header).to.match(/versioning \| object lock \| lifecycle rules/);
    expect(plain).to.match(/\| -\s+\| -\s+\| -\s+\|/);
    expect(vault).to.match(/\| Enabled\s+\| enabled\s+\| 1\s+\|/);
  });

  it('shows lifecycle passes per node and bucket, and explains a key rule by rule', () => {
    const counts = { scanned: 10, expired: 3, versionsRemoved: 1, markersRemoved: 1, uploadsAborted: 0, locked: 2, failed: 0 };
    const status = formatResult({
      kind: 'lifecycle_status',
      nodes: [{ node: 's0', buckets: [{ bucket: 'logs', lastRun: { ...counts, startedAtMs: 0, finishedAtMs: 1000 } }] }],
      unreachable: ['s1'],
    });
    expect(status).to.match(/s0\s+\| logs\s+\| idle\s+\| 1970-01-01/);
    expect(status).to.match(/\| 10\s+\| 3\s+\| 2\s+\| 0\s+\| 2\s+\| 0\s*$/m);
    expect(status).to.include('not answering: s1');
    const none = formatResult({ kind: 'lifecycle_status', nodes: [{ node: 's0', buckets: [] }], unreachable: [] });
    expect(none).to.include('no lifecycle pass yet');
    const explained = formatResult({
      kind: 'lifecycle_explain', bucket: 'logs', key: 'tmp/a', node: 's0', nowMs: 0,
      actions: [{ type: 'expire-current', rule: 'tmp', etag: 'e' }], explanation: ['rule "tmp": expired'],
    });
    expect(explained.split('\n')).to.deep.equal([
      'logs/tmp/a, judged by s0 at 1970-01-01 00:00:00Z',
      '- rule "tmp": expired',
      'to do: expire the current version (rule tmp)',
    ]);
  });

  it('says in compact-status when a compaction kept the file because its copy came out too little smaller', () => {
    const last = { beforeBytes: 300 * 1024 * 1024, afterBytes: 310 * 1024 * 1024, pausedMs: 40, tookMs: 9000 };
    const status = { kind: 'compaction' as const, node: 's0', state: 'idle' as const, lastStartedAtMs: 0, lastFinishedAtMs: 9000 };
    expect(formatResult({ ...status, last })).to.not.include('outcome');
    const kept = formatResult({ ...status, last: { ...last, keptCopyBytes: 320 * 1024 * 1024 } });
    expect(kept).to.match(/ outcome +the copy came out at 320\.0 MiB \(335544320 B\), too little smaller: the file was kept$/m);
  });

  it('shows a cluster that is not started as such', () => {
    const text = formatResult({ kind: 'cluster_status', settings: null, epoch: 0, checksum: 0, previousChecksum: null, consistent: true, members: [], alarms: [], managers: [] });
    expect(text).to.include('not started');
  });

  it('marks tombstones and unanswered replicas in whereis', () => {
    const text = formatResult({
      kind: 'whereis',
      bucket: 'b',
      key: 'k',
      position: '0'.repeat(32),
      replicas: [
        { node: 'n1', ring: 'current', state: 'running', answer: { ok: true, exists: true, sizeBytes: 0, etag: '', clock: 'c', tombstone: true, lastModifiedMs: 0 } },
        { node: 'n2', ring: 'current', state: 'stop', answer: { ok: false, error: 'NodeDown: n2 is down' } },
        { node: 'n3', ring: 'previous', state: 'running', answer: { ok: true, exists: false } },
      ],
    });
    const rows = text.split('\n').slice(3);
    expect(rows[0]).to.match(/^ \* +\| n1/);
    expect(rows[1]).to.include('NodeDown: n2 is down');
    expect(rows[2]).to.include('not found');
  });

  it('says after join-cluster whether the other cluster is up, waits for its join, or does not answer', () => {
    const link = { clusterId: 'c2', managers: ['10.0.0.5:4010'], joinedAtMs: 0, lastContactMs: null, storage: [] };
    const endpoint = { node: 'storage_0@10.0.0.6', address: '10.0.0.6:4011' };
    expect(formatResult({ kind: 'link_joined', link: { ...link, state: 'up', lastContactMs: 1, storage: [endpoint] } })).to.equal('OK: linked with cluster c2 and up: 1 storage node(s) take its shipments');
    const waiting = formatResult({ kind: 'link_joined', link: { ...link, state: 'waiting', reason: '10.0.0.5:4010 refuses this cluster' } });
    expect(waiting).to.match(/^OK: linked with cluster c2; waiting for cluster c2 to join this one/);
    expect(waiting).to.include('10.0.0.5:4010 refuses this cluster');
    expect(formatResult({ kind: 'link_joined', link: { ...link, state: 'down', reason: 'ECONNREFUSED' } })).to.match(/does not answer yet[^]*ECONNREFUSED/);
  });

  it('shows each linked cluster in cluster-status: link, contact, storage nodes, backlog, and why a link is not up', () => {
    const backlog = { shippingNodes: 2, queued: 12, lagSeconds: 75, shippedObjects: 40, shippedBytes: 2048, errors: ['storage_1: timed out'], sync: { passes: 2, compared: 300, behind: 4 } };
    const text = formatResult({
      kind: 'linked_clusters',
      clusterId: 'c1',
      clusters: [
        { clusterId: 'c2', managers: ['m'], joinedAtMs: 0, buckets: ['photos', 'logs'], state: 'up', lastContactMs: 0, storageNodes: 3, backlog },
        { clusterId: 'c3', managers: ['m'], joinedAtMs: 0, state: 'waiting', reason: 'it has not joined', lastContactMs: null, storageNodes: 0, backlog: { shippingNodes: 0, queued: 0, lagSeconds: null, shippedObjects: 0, shippedBytes: 0, errors: [], sync: { passes: 0, compared: 0, behind: 0 } } },
      ],
      unreachable: ['storage_2'],
    });
    const lines = text.split('\n');
    expect(lines[0]).to.equal('this cluster: c1');
    expect(lines[1]).to.match(/cluster \| buckets\s+\| link\s+\| last contact\s+\| storage nodes \| shipping here \| queued \| lag\s+\| objects shipped \| bytes shipped\s+\| compared\s+\| last error/);
    expect(lines[3]).to.match(/^ c2\s+\| photos,logs \| up\s+\| 1970-01-01 00:00:00Z \| 3\s+\| 2\s+\| 12\s+\| 1m 15s \| 40\s+\| 2.0 KiB \(2048 B\) \| 2 passes, 300 keys, 4 sent again \| storage_1: timed out$/);
    expect(lines[4]).to.match(/^ c3\s+\| all\s+\| waiting \| -\s+\| 0\s+\| 0\s+\| 0\s+\| -\s+\| 0\s+\| 0 B\s+\| 0 passes, 0 keys, 0 sent again\s+\| -$/);
    expect(text).to.include('- c3 waiting: it has not joined');
    expect(text).to.include('- c2 shipments from storage_1: timed out');
    expect(text).to.match(/no answer from: storage_2$/);
    expect(formatResult({ kind: 'linked_clusters', clusterId: 'c1', clusters: [], unreachable: [] })).to.equal('this cluster: c1\nno cluster is linked with this one (leofs-adm join-cluster links one)');
  });

  it("shows a storage node's CPU reading with its client requests, since only they make the CPU alarm throttle", () => {
    const readings = { cpuPercent: 95, rssBytes: 1, eventLoopDelayMs: 1, errorsPerMinute: 0 };
    const status = (clientRequests?: number) =>
      formatResult({
        kind: 'node_status', node: 's0', role: 'storage', address: '127.0.0.1:1', state: 'running', startedAtMs: 0, uptimeMs: 1, ring: null, peers: [], version: '1',
        watchdog: { readings: { ...readings, ...(clientRequests === undefined ? {} : { clientRequests }) }, alarms: [], thresholds: DEFAULT_WATCHDOG_THRESHOLDS },
      });
    expect(status(0)).to.match(/cpu\s+\S*\s*95% of a core, 0 client requests in the last two samples \(throttle above 90% while clients are served\)/);
    expect(status()).to.match(/95% of a core \(throttle above 90%\)/);
  });
});
