import { expect } from 'chai';
import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { AdminResult } from '../../src/protocol/cluster/admin.js';
import { eventually } from '../support/eventually.js';
import { networkLabOrSkip, type NetworkLab } from '../support/network-lab.js';
import { ProcessCluster } from '../support/process-cluster.js';

const SECRET = 'the-secret-of-the-three-links';
const BUCKET = 'shared';
/** Keys all three clusters write and delete at once. */
const KEYS = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}`);

type Links = Extract<AdminResult, { kind: 'linked_clusters' }>;

/** Every object of the bucket as one cluster serves it: key -> MD5 of the body read back. */
async function contentOf(client: S3Client): Promise<Map<string, string>> {
  const content = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
    for (const entry of page.Contents ?? []) {
      // Listed, then deleted by a shipment before it was read: this round of comparison does not agree.
      const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: entry.Key! })).catch((error: unknown) => {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      });
      content.set(entry.Key!, got ? createHash('md5').update(await got.Body!.transformToByteArray()).digest('hex') : 'listed but not found');
    }
    token = page.NextContinuationToken;
  } while (token);
  return content;
}

describe('three linked clusters (real processes: 1 manager, 3 storage nodes, 1 gateway each, N=2)', function () {
  this.timeout(600_000);
  // Each cluster on its own loopback address, so that no two clusters' nodes share a name (as in any real
  // deployment): versions two same-named nodes stamp in the same millisecond could never be ordered.
  const clusters = [0, 1, 2].map(
    (i) =>
      new ProcessCluster({
        storageNodes: 3,
        gateways: 1,
        settings: { n: 2, w: 2, r: 1, d: 2 },
        storageSettings: { linkSyncPauseMs: 1_000 },
        cookie: `cookie-of-cluster-${i}`,
        fixedManagerPort: true,
        metrics: i === 0,
        host: `127.0.0.${2 + i}`,
      }),
  );
  const ids: string[] = [];
  const clients: S3Client[] = [];
  // A request sent on a keep-alive connection just as the gateway closes it for idleness meets a hang-up:
  // these clients retry it, as the SDK does by default.
  const clientOf = (cluster: ProcessCluster): S3Client => cluster.client(0, undefined, undefined, 3);

  before(async () => {
    await Promise.all(clusters.map((cluster) => cluster.start()));
    for (const cluster of clusters) {
      const status = await cluster.run<'linked_clusters'>({ command: 'cluster_status' });
      ids.push(status.clusterId!);
      clients.push(clientOf(cluster));
    }
  });
  after(async () => {
    await Promise.all(clusters.map((cluster) => cluster.stop()));
  });

  const links = (i: number): Promise<Links> => clusters[i]!.run<'linked_clusters'>({ command: 'cluster_status' });

  /** Writes and deletes of the shared keys through every cluster at once, `rounds` each. */
  const writeEverywhere = (rounds: number, tag: string, on: readonly number[] = [0, 1, 2]): Promise<void> =>
    Promise.all(
      on.map(async (i) => {
        for (let round = 0; round < rounds; round++) {
          const key = KEYS[(round * 5 + i * 3) % KEYS.length]!;
          if (round % 4 === 3) await clients[i]!.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
          else await clients[i]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `${tag}: cluster ${i}, round ${round}` }));
        }
      }),
    ).then(() => undefined);

  /** All three clusters serve the same objects and have nothing left to ship. */
  const converged = async (timeoutMs: number): Promise<Map<string, string>> => {
    let agreed = new Map<string, string>();
    await eventually(async () => {
      const contents = await Promise.all(clients.map((client) => contentOf(client)));
      const same = contents.every((content) => JSON.stringify([...content].sort()) === JSON.stringify([...contents[0]!].sort()));
      if (!same) return false;
      const backlogs = await Promise.all([0, 1, 2].map((i) => links(i)));
      agreed = contents[0]!;
      return backlogs.every((status) => status.clusters.every((link) => link.backlog.queued === 0));
    }, timeoutMs, 'three clusters with the same content');
    return agreed;
  };

  it('links each pair of clusters from both sides with one secret', async () => {
    // Only one side joined: the link waits for the other.
    const first = await clusters[0]!.run<'link_joined'>({ command: 'join_cluster', manager: clusters[1]!.manager.address, clusterId: ids[1]!, secret: SECRET });
    expect(first.link.state).to.equal('waiting');
    for (const [i, j] of [[1, 0], [0, 2], [2, 0], [1, 2], [2, 1]] as const) {
      await clusters[i]!.run({ command: 'join_cluster', manager: clusters[j]!.manager.address, clusterId: ids[j]!, secret: SECRET });
    }
    // Up, and known to every storage node, which queues its writes for the link from then on.
    await eventually(async () => {
      const statuses = await Promise.all([0, 1, 2].map((i) => links(i)));
      return statuses.every((status) => status.clusters.length === 2 && status.clusters.every((link) => link.state === 'up' && link.storageNodes === 3 && link.backlog.shippingNodes === 3));
    }, 30_000, 'every link up');
    // Buckets are not replicated: each cluster's operator makes the bucket (same name) on each side.
    for (const client of clients) await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  it('ends with identical content after concurrent writes and deletes of the same keys on all three', async () => {
    await writeEverywhere(24, 'first');
    // A large object (cut into chunks) written on one cluster arrives whole on the others.
    const large = Buffer.alloc(6 * 1024 * 1024, 7);
    await clients[1]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'large.bin', Body: large }));
    const content = await converged(120_000);
    expect(content.get('large.bin')).to.equal(createHash('md5').update(large).digest('hex'));
    // Cluster 0's storage nodes count what they shipped to each linked cluster.
    let shipped = 0;
    for (const node of clusters[0]!.storage) {
      const text = await (await fetch(node.metricsUrl!)).text();
      const line = new RegExp(`^leofs_link_shipped_objects\\{cluster="${ids[1]}"\\} (\\d+)$`, 'm').exec(text);
      expect(text).to.match(new RegExp(`^leofs_link_queue_keys\\{cluster="${ids[2]}"\\} 0$`, 'm'));
      shipped += Number(line?.[1] ?? 0);
    }
    expect(shipped).to.be.greaterThan(0);
  });

  it('catches up after a cluster is cut off (frozen) and after a whole cluster is killed and restarted', async () => {
    // Cut off: every process of cluster 2 stops answering while the others write.
    const frozen = [...clusters[2]!.managers, ...clusters[2]!.storage, ...clusters[2]!.gateways];
    for (const node of frozen) process.kill(node.pid!, 'SIGSTOP');
    try {
      await writeEverywhere(12, 'while 2 is cut off', [0, 1]);
      await eventually(async () => (await links(0)).clusters.find((link) => link.clusterId === ids[2])!.backlog.queued > 0, 20_000, 'writes queued for cluster 2');
    } finally {
      for (const node of frozen) process.kill(node.pid!, 'SIGCONT');
    }
    // The thawed gateway closes, on waking, the keep-alive connections that idled through the freeze, and a
    // request already sent on one meets a hang-up. Cluster 2's client starts afresh rather than spend its
    // retries on them.
    clients[2] = clientOf(clusters[2]!);

    await converged(120_000);

    // Killed: cluster 1 dies whole, the others write meanwhile, and it comes back on the same data.
    const killed = clusters[1]!;
    await Promise.all([...killed.gateways, ...killed.storage, ...killed.managers].map((node) => node.kill('SIGKILL')));
    await writeEverywhere(12, 'while 1 is down', [0, 2]);
    for (const manager of killed.managers) await manager.start();
    await Promise.all(killed.storage.map((node) => node.start()));
    const gateway = killed.gateways[0]!;
    const from = gateway.lines.length;
    await gateway.start();
    const listening = await gateway.waitFor((line) => line.msg === 'S3 API listening', 15_000, from);
    await gateway.waitFor((line) => line.msg === 'ring installed' || line.msg === 'ring loaded from local state', 15_000, from);
    killed.endpoints[0] = `http://127.0.0.1:${String(listening.httpPort)}`;
    clients[1] = clientOf(killed);
    const content = await converged(180_000);
    // The last word on each key is the same everywhere, deletes included: a key deleted last is nowhere.
    await clients[0]!.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: KEYS[0]! }));
    await eventually(async () => {
      const present = await Promise.all(clients.map((client) => contentOf(client).then((c) => c.has(KEYS[0]!))));
      return present.every((has) => !has);
    }, 60_000, 'the last delete everywhere');
    expect(content.size).to.be.greaterThan(0);
  });
});

describe('two linked clusters with the network between them cut while both take writes (storage nodes in network namespaces)', function () {
  this.timeout(300_000);
  let lab: NetworkLab | undefined;
  let clusters: ProcessCluster[] = [];
  const clients: S3Client[] = [];

  before(async function () {
    lab = networkLabOrSkip(this, 6);
    const net = lab;
    // Cluster c's storage node i lives in namespace 3c+i; managers and gateways on the bridge.
    clusters = [0, 1].map(
      (c) =>
        new ProcessCluster({
          storageNodes: 3,
          gateways: 1,
          settings: { n: 2, w: 2, r: 1, d: 2 },
          storageSettings: { linkSyncPauseMs: 1_000 },
          cookie: `cookie-of-cut-cluster-${c}`,
          host: net.hostAddress,
          storageHost: (i) => net.nodeAddress(3 * c + i),
          storageLauncher: (i) => ['ip', 'netns', 'exec', net.namespace(3 * c + i)],
        }),
    );
    await Promise.all(clusters.map((cluster) => cluster.start()));
    const ids = await Promise.all(clusters.map(async (cluster) => (await cluster.run<'linked_clusters'>({ command: 'cluster_status' })).clusterId!));
    for (const [i, j] of [[0, 1], [1, 0]] as const) {
      await clusters[i]!.run({ command: 'join_cluster', manager: clusters[j]!.manager.address, clusterId: ids[j]!, secret: SECRET });
    }
    // Up, and known to every storage node, which queues its writes for the link from then on.
    await eventually(async () => {
      const statuses = await Promise.all(clusters.map((cluster) => cluster.run<'linked_clusters'>({ command: 'cluster_status' })));
      return statuses.every((status) => status.clusters.every((link) => link.state === 'up' && link.storageNodes === 3 && link.backlog.shippingNodes === 3));
    }, 30_000, 'both links up');
    for (const cluster of clusters) {
      const client = cluster.client(0);
      clients.push(client);
      await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    }
  });
  after(async () => {
    await Promise.all(clusters.map((cluster) => cluster.stop()));
    lab?.destroy();
  });

  it('queues what each side writes while cut off, and both end with the same content once the network is back', async () => {
    const net = lab!;
    const cut = (): void => {
      for (let a = 0; a < 3; a++) for (let b = 3; b < 6; b++) net.partition(a, b);
    };
    cut();
    try {
      await Promise.all(
        clients.map(async (client, c) => {
          for (let round = 0; round < 30; round++) {
            const key = KEYS[(round + c * 5) % KEYS.length]!;
            if (round % 5 === 4) await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
            else await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `cut: cluster ${c}, round ${round}` }));
            await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `only-from-${c}/${round}`, Body: `cluster ${c}` }));
          }
        }),
      );
      // Nothing crossed: each side still holds only its own keys, and has them queued for the other.
      const statuses = await Promise.all(clusters.map((cluster) => cluster.run<'linked_clusters'>({ command: 'cluster_status' })));
      for (const status of statuses) expect(status.clusters[0]!.backlog.queued).to.be.greaterThan(0);
      expect([...(await contentOf(clients[1]!)).keys()].some((key) => key.startsWith('only-from-0/'))).to.equal(false);
    } finally {
      net.healAll();
    }
    let agreed = new Map<string, string>();
    await eventually(async () => {
      const [first, second] = await Promise.all(clients.map((client) => contentOf(client)));
      agreed = first!;
      return JSON.stringify([...first!].sort()) === JSON.stringify([...second!].sort());
    }, 120_000, 'the same content on both sides');
    expect([...agreed.keys()].filter((key) => key.startsWith('only-from-')).length).to.equal(60);
  });
});
