/**
 * The cluster changes shape while S3 traffic runs, with real processes on loopback: a fourth and then a
 * fifth storage node join and a rebalance moves data to each; a node is detached and its data moves
 * away; a SIGKILLed node is replaced by a new one under its alias. Meanwhile a writer, a deleter, a reader and a lister
 * run without pause; afterwards every acknowledged PUT reads back byte-identical, every acknowledged
 * DELETE stays deleted, and every key sits on exactly its N replicas of the new ring. Wrong admin
 * commands along the way are refused with a clear error and change nothing.
 */
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { AdminResult } from '../../src/protocol/cluster/admin.js';
import { namespaceOf } from '../../src/core/bucket-namespace.js';
import { keyPosition } from '../../src/core/ring/position.js';
import { buildRing, preferenceList } from '../../src/core/ring/ring.js';
import { eventually } from '../support/eventually.js';
import { ProcessCluster } from '../support/process-cluster.js';
import { parallel } from '../../scripts/bench-support/parallel.js';

const BUCKET = 'elastic';
const N = 3;

/** A deterministic body of 1 to 40 KiB for write number `i`. */
function bodyOf(i: number): Buffer {
  const size = 1024 + ((i * 7919) % (40 * 1024));
  const seed = createHash('sha256').update(`body-${i}`).digest();
  const body = Buffer.alloc(size);
  for (let at = 0; at < size; at += seed.length) seed.copy(body, at);
  return body;
}

class Traffic {
  readonly written = new Map<string, Buffer>();
  /** Every key a PUT was sent for, acknowledged or not. */
  readonly attempted = new Set<string>();
  readonly deleted = new Set<string>();
  /** Keys whose delete was sent (acknowledged or not): a listing may miss them. */
  readonly deleting = new Set<string>();
  readonly problems: string[] = [];
  puts = 0;
  reads = 0;
  listings = 0;
  /** Listings answered 503 (retried, as clients do). */
  listingsRetried = 0;
  private running = true;
  private loops: Promise<void>[] = [];

  constructor(private readonly s3: S3Client) {}

  start(first: number): void {
    let next = first;
    const until = Date.now() + 280_000;
    const go = () => this.running && Date.now() < until;
    const writer = async () => {
      while (go()) {
        const i = next++;
        const key = `k/${i}`;
        this.attempted.add(key);
        try {
          await this.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bodyOf(i) }));
          this.written.set(key, bodyOf(i));
          this.puts++;
        } catch {
          // Not acknowledged: nothing is claimed about it.
        }
        if (i % 5 === 0) {
          this.deleting.add(key);
          try {
            await this.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
            this.deleted.add(key);
          } catch {
            // Not acknowledged.
          }
        }
      }
    };
    const reader = async () => {
      let n = 0;
      while (go()) {
        const keys = [...this.written.keys()].filter((key) => !this.deleting.has(key));
        const key = keys[(n++ * 7) % Math.max(1, keys.length)];
        if (key === undefined) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        try {
          const got = await this.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
          const body = Buffer.from(await got.Body!.transformToByteArray());
          if (!body.equals(this.written.get(key)!)) this.problems.push(`read of ${key} returned other bytes`);
          this.reads++;
        } catch (error) {
          this.problems.push(`read of acknowledged ${key} failed: ${(error as Error).name}`);
        }
      }
    };
    const lister = async () => {
      while (go()) {
        const expected = [...this.written.keys()].filter((key) => !this.deleting.has(key));
        const listed = new Set<string>();
        let token: string | undefined;
        try {
          do {
            const page = await this.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'k/', MaxKeys: 500, ...(token ? { ContinuationToken: token } : {}) }));
            for (const item of page.Contents ?? []) {
              if (listed.has(item.Key!)) this.problems.push(`listing repeated ${item.Key}`);
              listed.add(item.Key!);
            }
            token = page.NextContinuationToken;
          } while (token);
          this.listings++;
        } catch (error) {
          // A listing that cannot judge a version while a replica is down is answered 503, which clients
          // retry; any other failure is a problem.
          if ((error as Error).name === 'ServiceUnavailable') this.listingsRetried++;
          else this.problems.push(`listing failed: ${(error as Error).name}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        const missing = expected.filter((key) => !listed.has(key) && !this.deleting.has(key));
        if (missing.length > 0) this.problems.push(`listing missed ${missing.length} acknowledged keys, e.g. ${missing[0]}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    this.loops = [writer(), writer(), reader(), lister()];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

describe('an elastic cluster with real processes', function () {
  this.timeout(300_000);

  const cluster = new ProcessCluster({ storageNodes: 3, gateways: 1, storageSettings: { numOfVnodes: 32, releaseGraceMs: 2_000 }, settings: { n: N, w: 2, r: 1, d: 2 } });
  let traffic: Traffic;

  before(async () => {
    await cluster.start();
    const s3 = cluster.client(0, cluster.credentials, 20_000);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    traffic = new Traffic(s3);
    await parallel(Array.from({ length: 200 }, (_, i) => i), 8, async (i) => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `k/${i}`, Body: bodyOf(i) }));
      traffic.written.set(`k/${i}`, bodyOf(i));
      traffic.attempted.add(`k/${i}`);
    });
    traffic.start(1_000_000);
  });
  after(async () => {
    await traffic?.stop();
    await cluster.stop();
  });

  async function membersOf(): Promise<Extract<AdminResult, { kind: 'cluster_status' }>['members']> {
    return (await cluster.run<'cluster_status'>({ command: 'status' })).members;
  }

  /** `leofs-adm rebalance`, again while the nodes still hold data the last one moved away (kept for releaseGraceMs). */
  async function startRebalance(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    let run = await cluster.adm('rebalance', ...args);
    for (let tries = 0; run.stderr.includes('ReleasePending') && tries < 30; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      run = await cluster.adm('rebalance', ...args);
    }
    return run;
  }

  async function rebalanceDone(): Promise<void> {
    try {
      await eventually(async () => !(await cluster.run<'rebalance_status'>({ command: 'rebalance_status' })).running, 120_000, 'rebalance done');
    } catch (error) {
      const status = await cluster.adm('rebalance-status');
      throw new Error(`${(error as Error).message}: ${status.stdout}`);
    }
  }

  it('refuses a rebalance with nothing to do, and unknown or impossible member commands', async () => {
    // Each is refused and changes nothing, so they may run at once.
    const [nothing, unknown, tooFew, notDetached, gateway] = await Promise.all([
      cluster.adm('rebalance'),
      cluster.adm('detach', 'storage_9@127.0.0.1'),
      cluster.adm('detach', cluster.storage[0]!.name),
      cluster.adm('rollback', cluster.storage[0]!.name),
      cluster.adm('suspend', cluster.gateways[0]!.name),
    ]);
    expect(nothing.code).to.equal(1);
    expect(nothing.stderr).to.match(/no node is attached or detached.*NothingToDo/);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('not a member');
    expect(tooFew.code).to.equal(1);
    expect(tooFew.stderr).to.include('NotEnoughNodes');
    expect(notDetached.stderr).to.include('BadState');
    expect(gateway.stderr).to.include('NotStorage');
    expect((await membersOf()).filter((m) => m.state === 'running')).to.have.length(5);
  });

  /** Writes acknowledged while `step` ran: the traffic went on through it. */
  async function whileWriting(step: () => Promise<void>): Promise<void> {
    const putsBefore = traffic.puts;
    await step();
    expect(traffic.puts, 'writes acknowledged during the step').to.be.greaterThan(putsBefore);
  }

  it('grows from 3 to 4 storage nodes while traffic runs, refusing a second change meanwhile', () => whileWriting(async () => {
    const added = await cluster.addStorageNode(3);
    await eventually(async () => (await membersOf()).some((m) => m.node === added.name && m.state === 'attached'), 20_000, 'new node attached');
    // Slowly at first (0.2 MB/s), so that it is surely still running for the refusals below.
    const started = await startRebalance('--rate', '0.2');
    expect(started.code, started.stderr).to.equal(0);
    expect(started.stdout).to.match(/rebalance started .*\+storage_3/);
    // Two refusals and a status, at once while the slow rebalance runs.
    const [second, detachMeanwhile, status] = await Promise.all([cluster.adm('rebalance'), cluster.adm('detach', cluster.storage[1]!.name), cluster.adm('status')]);
    expect(second.code, `${second.stdout} ${second.stderr}`).to.equal(1);
    expect(second.stderr).to.include('RebalanceRunning');
    expect(detachMeanwhile.code, `${detachMeanwhile.stdout} ${detachMeanwhile.stderr}`).to.equal(1);
    expect(detachMeanwhile.stderr).to.include('RebalanceRunning');
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.match(/\[Rebalance\][\s\S]*storage_3@127\.0\.0\.1/);
    const faster = await cluster.adm('rebalance', '--rate', '0');
    expect(faster.code, faster.stderr).to.equal(0);
    expect(faster.stdout).to.include('now moves at no limit');
    await rebalanceDone();
    const members = await membersOf();
    expect(members.find((m) => m.node === added.name)?.state).to.equal('running');
    expect(added.lines.some((line) => line.msg === 'received every segment a rebalance moves here'), 'the new node received its segments').to.equal(true);
    // With N=3 of 4 nodes, the new one holds about three quarters of the keys (anti-entropy may have brought some).
    const usage = await cluster.run<'disk_usage'>({ command: 'du', node: added.name });
    expect(usage.objects).to.be.greaterThan(100);
    // The first three held every key; after the grace period each drops the quarter it gave away.
    const dropped = await cluster.storage[0]!.waitFor((line) => line.msg === 'dropped the data of ranges this node no longer holds', 30_000);
    expect(Number(dropped.records)).to.be.greaterThan(20);
  }));

  it('grows from 4 to 5 storage nodes while traffic runs', () => whileWriting(async () => {
    const added = await cluster.addStorageNode(4);
    await eventually(async () => (await membersOf()).some((m) => m.node === added.name && m.state === 'attached'), 20_000, 'fifth node attached');
    // --watch draws the receivers' progress until the rebalance is done.
    const started = await startRebalance('--rate', '0', '--watch');
    expect(started.code, started.stderr).to.equal(0);
    expect(started.stdout).to.match(/rebalance started .*\+storage_4/);
    expect(started.stdout).to.match(/rebalance from ring \S+ to \S+, no rate limit\n[\s\S]*?storage_4@127\.0\.0\.1 \| (no answer yet|\w+ +\| \[[#.]{20}\] \d+\/\d+)/);
    expect(started.stdout.trimEnd()).to.match(/no rebalance is running \(ring epoch \d+, checksum \S+\)$/);
    expect((await cluster.run<'rebalance_status'>({ command: 'rebalance_status' })).running).to.equal(false);
    expect((await membersOf()).find((m) => m.node === added.name)?.state).to.equal('running');
    expect(added.lines.some((line) => line.msg === 'received every segment a rebalance moves here'), 'the fifth node received its segments').to.equal(true);
  }));

  it('suspends and resumes a node: requests go around it meanwhile', async () => {
    const node = cluster.storage[2]!.name;
    const suspended = await cluster.adm('suspend', node);
    expect(suspended.code, suspended.stderr).to.equal(0);
    expect((await membersOf()).find((m) => m.node === node)?.state).to.equal('suspend');
    const putsBefore = traffic.puts;
    await eventually(async () => traffic.puts > putsBefore + 20, 30_000, 'writes while a node is suspended');
    const resumed = await cluster.adm('resume', node);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect((await membersOf()).find((m) => m.node === node)?.state).to.equal('running');
  });

  it('detaches a node (after a rollback of a first detach) and moves its data away', () => whileWriting(async () => {
    const node = cluster.storage[0]!.name;
    expect((await cluster.adm('detach', node)).code).to.equal(0);
    expect((await membersOf()).find((m) => m.node === node)?.state).to.equal('detached');
    expect((await cluster.adm('rollback', node)).code).to.equal(0);
    expect((await membersOf()).find((m) => m.node === node)?.state).to.equal('running');
    expect((await cluster.adm('detach', node)).code).to.equal(0);
    const started = await startRebalance();
    expect(started.code, started.stderr).to.equal(0);
    expect(started.stdout).to.include(`-${node}`);
    await rebalanceDone();
    expect((await membersOf()).some((m) => m.node === node)).to.equal(false);
  }));

  it('replaces a SIGKILLed node by a new one under its alias', () => whileWriting(async () => {
    const dead = cluster.storage[1]!;
    await dead.kill('SIGKILL');
    await eventually(async () => (await membersOf()).find((m) => m.node === dead.name)?.state === 'stop', 20_000, 'node seen down');
    const replacement = await cluster.addStorageNode(5, '--alias', 'storage_1');
    await eventually(async () => (await membersOf()).some((m) => m.node === replacement.name && m.state === 'attached'), 20_000, 'replacement attached');
    expect((await cluster.adm('detach', dead.name)).code).to.equal(0);
    const started = await startRebalance('--rate', '0');
    expect(started.code, started.stderr).to.equal(0);
    await rebalanceDone();
    const ring = await cluster.run<'ring'>({ command: 'dump_ring' });
    expect(ring.doc!.current.find((m) => m.node === replacement.name)?.alias).to.equal('storage_1');
    expect(ring.doc!.previous).to.equal(null);
  }));

  it('takes one of two detaches sent at once that together would leave fewer than N nodes, and refuses the other', async () => {
    const storage = (await membersOf()).filter((m) => m.state === 'running' && m.node.startsWith('storage_')).map((m) => m.node);
    expect(storage).to.have.length(N + 1);
    const epochBefore = (await cluster.run<'ring'>({ command: 'dump_ring' })).doc!.epoch;
    const answers = await Promise.all(storage.slice(0, 2).map((node) => cluster.adm('detach', node)));
    const taken = answers.findIndex((answer) => answer.code === 0);
    expect(taken, answers.map((answer) => answer.stderr).join(' ')).to.be.at.least(0);
    const refused = answers[1 - taken]!;
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.include('NotEnoughNodes');
    const members = await membersOf();
    expect(members.find((m) => m.node === storage[taken])?.state).to.equal('detached');
    expect(members.find((m) => m.node === storage[1 - taken])?.state).to.equal('running');
    expect((await cluster.adm('rollback', storage[taken]!)).code).to.equal(0);
    expect((await membersOf()).filter((m) => storage.includes(m.node)).every((m) => m.state === 'running')).to.equal(true);
    // A detach changes the ring only when a rebalance follows.
    expect((await cluster.run<'ring'>({ command: 'dump_ring' })).doc!.epoch).to.equal(epochBefore);
  });

  it('lost nothing: acknowledged writes read back, deletes stay deleted, every key is on its N replicas', async () => {
    await traffic.stop();
    expect(traffic.problems.slice(0, 10)).to.deep.equal([]);
    expect(traffic.listings, `listings answered 503 and retried: ${traffic.listingsRetried}`).to.be.greaterThan(0);
    const s3 = cluster.client(0, cluster.credentials, 20_000);
    const kept = [...traffic.written].filter(([key]) => !traffic.deleting.has(key));
    await parallel(kept, 8, async ([key, body]) => {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body), key).to.equal(true);
    });
    // With R + D = N a read may meet the one replica a delete has not reached yet (its repair is queued):
    // every acknowledged delete reads as deleted once the replicas converge, and never comes back.
    await parallel([...traffic.deleted], 8, async (key) => {
      const deleted = async (): Promise<boolean> => {
        const error = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })).then(() => undefined, (e: Error) => e);
        return error?.name === 'NoSuchKey';
      };
      await eventually(deleted, 30_000, `${key} read as deleted`);
    });
    // whereis asks every replica: for every key, all N of the ring's owners hold the same version.
    const live = [...traffic.written.keys()].filter((key) => !traffic.deleting.has(key));
    await parallel(live, 8, async (key) => {
      await eventually(async () => {
        const where = await cluster.run<'whereis'>({ command: 'whereis', bucket: BUCKET, key });
        const clocks = where.replicas.map((row) => (row.answer.ok && row.answer.exists ? row.answer.clock : 'missing'));
        return where.replicas.length === N && where.replicas.every((row) => row.ring === 'current') && new Set(clocks).size === 1 && !clocks.includes('missing');
      }, 30_000, `${key} on its ${N} replicas`);
    });
  });

  it('dropped, after the grace period, what each node no longer holds', async () => {
    const { doc } = await cluster.run<'ring'>({ command: 'dump_ring' });
    const ring = buildRing(doc!.current, { rackAware: doc!.settings.rackAware });
    const bucket = (await cluster.run<'buckets'>({ command: 'get_buckets' })).buckets.find((b) => b.name === BUCKET)!;
    const namespace = namespaceOf(bucket);
    for (const member of doc!.current) {
      const owned = (keys: Iterable<string>) => [...keys].filter((key) => preferenceList(ring, keyPosition(namespace, key), N).includes(member.node)).length;
      const most = owned(traffic.attempted);
      const least = owned(traffic.written.keys());
      await eventually(async () => {
        const usage = await cluster.run<'disk_usage'>({ command: 'du', node: member.node });
        return usage.records <= most && usage.records >= least;
      }, 30_000, `${member.node} holds only its own keys`);
    }
  });
});
