import { expect } from 'chai';
import { runAdmCommandLine, type AdmOutput } from '../../../src/cli/adm-command.js';
import type { AdminClient } from '../../../src/cli/admin-client.js';
import { DEFAULT_SESSION_LIMITS, REVOCATION_CLOCK_MARGIN_MS } from '../../../src/core/console-sessions.js';
import type { AdminCommand, AdminResult } from '../../../src/protocol/cluster/admin.js';
import type { ClusterNode } from '../../../src/runtime/node.js';

/** A client that records the commands it is given and answers each with `result`. */
function recordingClient(result: AdminResult): { client: AdminClient; sent: AdminCommand[] } {
  const sent: AdminCommand[] = [];
  const client: AdminClient = {
    managerNode: 'manager_0@127.0.0.1',
    node: undefined as unknown as ClusterNode,
    run: async (command) => {
      sent.push(command);
      return { ok: true, result };
    },
    close: async () => {},
  };
  return { client, sent };
}

function capture(): { output: AdmOutput; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: async (text) => void out.push(text), err: async (text) => void err.push(text), redraw: false, formatJson: (value) => JSON.stringify(value) } };
}

describe('cli/adm-command: links with other clusters', () => {
  const clusterId = '0123456789abcdef01234567';

  it('turns join-cluster, remove-cluster and cluster-status into their commands', async () => {
    const { client, sent } = recordingClient({ kind: 'done', message: 'fine' });
    const { output } = capture();
    expect(await runAdmCommandLine(['join-cluster', '10.0.0.5:4010', clusterId, '--secret', 'a-secret-of-16-chars'], client, output)).to.equal(0);
    expect(await runAdmCommandLine(['join-cluster', '10.0.0.5:4010', clusterId, '--secret', 'a-secret-of-16-chars', '--buckets', 'photos, logs'], client, output)).to.equal(0);
    expect(await runAdmCommandLine(['remove-cluster', clusterId], client, output)).to.equal(0);
    expect(await runAdmCommandLine(['cluster-status'], client, output)).to.equal(0);
    expect(sent).to.deep.equal([
      { command: 'join_cluster', manager: '10.0.0.5:4010', clusterId, secret: 'a-secret-of-16-chars' },
      { command: 'join_cluster', manager: '10.0.0.5:4010', clusterId, secret: 'a-secret-of-16-chars', buckets: ['photos', 'logs'] },
      { command: 'remove_cluster', clusterId },
      { command: 'cluster_status' },
    ]);
  });

  it('refuses a join without a secret, with a short one, or with an address that is not host:port, before asking the manager', async () => {
    const { client, sent } = recordingClient({ kind: 'done', message: 'fine' });
    const { output, err } = capture();
    expect(await runAdmCommandLine(['join-cluster', '10.0.0.5:4010', clusterId], client, output)).to.equal(1);
    expect(err.pop()).to.match(/secret/);
    expect(await runAdmCommandLine(['join-cluster', '10.0.0.5:4010', clusterId, '--secret', 'short'], client, output)).to.equal(1);
    expect(err.pop()).to.match(/at least 16 characters/);
    expect(await runAdmCommandLine(['join-cluster', '10.0.0.5', clusterId, '--secret', 'a-secret-of-16-chars'], client, output)).to.equal(1);
    expect(err.pop()).to.match(/host:port/);
    expect(sent).to.deep.equal([]);
  });

  it('prints cluster-status as a table, or as the answer itself with --json', async () => {
    const result: AdminResult = { kind: 'linked_clusters', clusterId, clusters: [], unreachable: [] };
    const { client } = recordingClient(result);
    const { output, out } = capture();
    await runAdmCommandLine(['cluster-status'], client, output);
    await runAdmCommandLine(['cluster-status', '--json'], client, output);
    expect(out[0]).to.include(`this cluster: ${clusterId}`);
    expect(JSON.parse(out[1]!)).to.deep.equal(result);
  });
});

describe('cli/adm-command: access keys', () => {
  it('turns add-access-key, delete-access-key and get-access-keys into their commands', async () => {
    const { client, sent } = recordingClient({ kind: 'done', message: 'fine' });
    const { output } = capture();
    expect(await runAdmCommandLine(['add-access-key', 'alice'], client, output)).to.equal(0);
    expect(await runAdmCommandLine(['delete-access-key', 'alice', 'AKEY0001'], client, output)).to.equal(0);
    expect(await runAdmCommandLine(['get-access-keys', 'alice'], client, output)).to.equal(0);
    expect(sent).to.deep.equal([
      { command: 'add_access_key', userId: 'alice' },
      { command: 'delete_access_key', userId: 'alice', accessKeyId: 'AKEY0001' },
      { command: 'get_access_keys', userId: 'alice' },
    ]);
  });

  it('prints a new key with its secret, and a list of keys without', async () => {
    const added = capture();
    await runAdmCommandLine(['add-access-key', 'alice'], recordingClient({ kind: 'access_key', userId: 'alice', key: { accessKeyId: 'AKEY0002', secretAccessKey: 'the-new-secret-0002', createdAtMs: 0 } }).client, added.output);
    expect(added.out.join('\n')).to.include('access-key-id: AKEY0002').and.include('secret-access-key: the-new-secret-0002');
    const listed = capture();
    await runAdmCommandLine(['get-access-keys', 'alice'], recordingClient({ kind: 'access_keys', userId: 'alice', keys: [{ accessKeyId: 'AKEY0001', createdAtMs: 0 }, { accessKeyId: 'AKEY0002', createdAtMs: 1 }] }).client, listed.output);
    const table = listed.out.join('\n');
    expect(table).to.include('AKEY0001').and.include('AKEY0002');
  });
});

describe('cli/adm-command: revoke-console-sessions', () => {
  it("revokes a user's console sessions, or one access key's, from now and the clock margin on, for as long as a session lives", async () => {
    const { client, sent } = recordingClient({ kind: 'done', message: 'fine' });
    const { output } = capture();
    const before = Date.now();
    expect(await runAdmCommandLine(['revoke-console-sessions', 'alice'], client, output)).to.equal(0);
    expect(await runAdmCommandLine(['revoke-console-sessions', 'alice', '--key', 'AKEY0001'], client, output)).to.equal(0);
    const after = Date.now();
    const revocations = sent.map((command) => (command.command === 'revoke_console_sessions' ? command.revocation : undefined));
    expect(revocations.map((revocation) => [revocation?.kind, revocation?.subject])).to.deep.equal([['user', 'alice'], ['access_key', 'AKEY0001']]);
    for (const revocation of revocations) {
      expect(revocation!.beforeMs).to.be.within(before + REVOCATION_CLOCK_MARGIN_MS, after + REVOCATION_CLOCK_MARGIN_MS);
      expect(revocation!.untilMs - revocation!.beforeMs).to.equal(DEFAULT_SESSION_LIMITS.maxAgeMs);
    }
  });
});

describe('cli/adm-command: actors', () => {
  it("turns actors NODE into its command and prints each actor's mailbox and crashes by path", async () => {
    const { client, sent } = recordingClient({
      kind: 'actors',
      node: 'storage_0@127.0.0.1',
      atMs: 90_000,
      actors: [
        { path: '/node/storage/recoverer', status: 'running', incarnation: 2, mailbox: 7, crashes: 1, lastCrash: { atMs: 30_000, reason: 'disk\nfull' } },
        { path: '/node', status: 'running', incarnation: 1, mailbox: 0, crashes: 0, lastCrash: null },
      ],
    });
    const { output, out } = capture();
    expect(await runAdmCommandLine(['actors', 'storage_0@127.0.0.1'], client, output)).to.equal(0);
    expect(sent).to.deep.equal([{ command: 'actors', node: 'storage_0@127.0.0.1' }]);
    const lines = out.join('\n').split('\n').map((line) => line.trim());
    const root = lines.findIndex((line) => line.startsWith('/node '));
    expect(root, 'sorted by path').to.be.greaterThan(0).and.lessThan(lines.findIndex((line) => line.startsWith('/node/storage/recoverer')));
    expect(lines.find((line) => line.startsWith('/node/storage/recoverer'))).to.match(/running \| 2 +\| 7 +\| 1 +\| 60s ago: disk full$/);
  });
});

describe('cli/adm-command: metrics-history', () => {
  const point = (atMs: number, requestsPerSecond: number, p99Ms: number | null) => ({
    atMs,
    spanMs: 10_000,
    requestsPerSecond,
    receivedBytesPerSecond: requestsPerSecond * 100,
    sentBytesPerSecond: requestsPerSecond * 200,
    meanMs: p99Ms === null ? null : p99Ms / 2,
    p50Ms: p99Ms === null ? null : p99Ms / 3,
    p99Ms,
  });
  const minute = 1_700_000_040_000 - (1_700_000_040_000 % 60_000);

  it('turns metrics-history [NODE] into its command and prints a line per node, and per minute for one node', async () => {
    const { client, sent } = recordingClient({
      kind: 'metrics_history',
      atMs: minute + 120_000,
      intervalMs: 10_000,
      windowMs: 3_600_000,
      lastSampleAtMs: minute + 70_000,
      nodes: [{ node: 'gateway_0@127.0.0.1', role: 'gateway', points: [point(minute + 10_000, 4, 12), point(minute + 20_000, 2, 30), point(minute + 70_000, 0, null)] }],
    });
    const { output, out } = capture();
    expect(await runAdmCommandLine(['metrics-history', 'gateway_0@127.0.0.1'], client, output)).to.equal(0);
    expect(await runAdmCommandLine(['metrics-history'], client, output)).to.equal(0);
    expect(sent).to.deep.equal([{ command: 'metrics_history', node: 'gateway_0@127.0.0.1' }, { command: 'metrics_history' }]);
    const lines = out[0]!.split('\n').map((line) => line.trim());
    expect(lines[0]).to.equal('traffic of the last 60 minutes, sampled every 10 s');
    // Now: the last point (no request); over the hour: 60 requests in 30 s.
    expect(lines.find((line) => line.startsWith('gateway_0'))).to.match(/gateway \| 3 +\| 0\.0 +\| 2\.0 +\| - +\| - +\| 0 +\| 0$/);
    const minutes = lines.slice(lines.findIndex((line) => line.startsWith('minute')) + 2);
    // The first minute: 60 requests in 20 s, mean latency weighted by requests (4x6 ms, 2x15 ms), the higher p99.
    expect(minutes[0]).to.match(/^\d\d:\d\d +\| 3\.0 +\| 9\.0 +\| 30\.0 +\| 300 +\| 600$/);
    expect(minutes[1]).to.match(/^\d\d:\d\d +\| 0\.0 +\| - +\| - +\| 0 +\| 0$/);
  });
});

describe('cli/adm-command: bucket-stats', () => {
  const result: AdminResult = {
    kind: 'bucket_stats',
    buckets: [
      { bucket: 'photos', owner: 'alice', acl: 'public-read', objects: 1200, bytes: 5 * 1024 * 1024 * 1024 + 512 * 1024 * 1024, noncurrentVersions: 3, noncurrentBytes: 2048 },
      { bucket: 'empty', owner: 'bob', acl: 'private', objects: 0, bytes: 0, noncurrentVersions: 0, noncurrentBytes: 0 },
    ],
    countedAtMs: Date.UTC(2024, 0, 2, 3, 4, 5),
    nodes: ['storage_0@127.0.0.1', 'storage_1@127.0.0.1'],
    notRunning: [],
    missing: [{ node: 'storage_2@127.0.0.1', reason: 'Timeout: no answer in 60000 ms' }],
    partial: true,
    rebalancing: false,
  };

  it('turns bucket-stats, with or without a bucket and --fresh, into its command', async () => {
    const { client, sent } = recordingClient(result);
    const { output } = capture();
    expect(await runAdmCommandLine(['bucket-stats'], client, output)).to.equal(0);
    expect(await runAdmCommandLine(['bucket-stats', 'photos'], client, output)).to.equal(0);
    expect(await runAdmCommandLine(['bucket-stats', 'photos', '--fresh'], client, output)).to.equal(0);
    expect(sent).to.deep.equal([{ command: 'bucket_stats' }, { command: 'bucket_stats', bucket: 'photos' }, { command: 'bucket_stats', bucket: 'photos', fresh: true }]);
  });

  it('prints a row per bucket with its owner, objects and size, and says what a partial count lacks', async () => {
    const { client } = recordingClient(result);
    const { output, out } = capture();
    await runAdmCommandLine(['bucket-stats'], client, output);
    const lines = out.join('\n').split('\n');
    expect(lines[0]).to.match(/^ bucket\s+\| owner\s+\| objects\s+\| size\s+\| older versions$/);
    expect(lines[2]).to.match(/^ photos\s+\| alice\s+\| 1200\s+\| 5\.5 GiB\s+\| 3 \(2\.0 KiB\)$/);
    expect(lines[3]).to.match(/^ empty\s+\| bob\s+\| 0\s+\| 0 B\s+\| -$/);
    expect(lines.slice(4)).to.deep.equal([
      'counted at 2024-01-02 03:04:05Z by 2 storage node(s)',
      'not counted: storage_2@127.0.0.1 (Timeout: no answer in 60000 ms)',
      'PARTIAL: some keys are not counted; the figures are too low',
    ]);
    await runAdmCommandLine(['bucket-stats', '--json'], client, output);
    expect(JSON.parse(out[1]!)).to.deep.equal(result);
  });
});
