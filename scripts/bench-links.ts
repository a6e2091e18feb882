/**
 * Multi-cluster replication benchmark: two fresh `leofs dev` clusters (A and B, 3 storage nodes each,
 * N=3) on this machine, linked both ways with join-cluster. All S3 traffic goes to A's gateway.
 *
 * 1. put4k throughput on A for --phase-seconds before the link (after a warm-up phase as long), then
 *    again once A and B are linked and A's first comparison has shipped what A held before (each write
 *    is then queued and shipped to B): the ratio is what replication costs a cluster. Both clusters share this machine's cores, so B's work of storing what
 *    A ships is in the ratio too.
 *    Before the next phase, every write of that one must be on B.
 *    Beside the ratio, the CPU time A's processes use per PUT in each phase (the linked one counted until
 *    B holds all its writes, so A's shipping is in it), less what A uses at rest over as long: their
 *    quotient is the ratio A would reach on cores of its own, where B's work does not take A's CPU.
 * 2. Replication lag: --lag-objects PUTs of 4 KiB to A at --lag-rate per second; each key's lag is the
 *    time from A's answer to the first HEAD on B that finds it (B is polled every 10 ms).
 * 3. Shipping rate: --ship-mib MiB of 1 MiB objects written to A, 8 at a time; MB/s shipped is those
 *    bytes over the time from the first write to the moment every key is on B and A has nothing queued.
 *    Storage nodes ship at most `linkRateMBps` (20 MB/s by default) each to a linked cluster.
 * 4. Queueing alone: every process of B is frozen (SIGSTOP) for --phase-seconds while A takes put4k at
 *    full speed: what queueing costs A, with nothing shipped meanwhile (throughput and A's CPU per PUT).
 * 5. A link cut with writes on both sides: A's side of the link is given another secret (join-cluster),
 *    so neither cluster's nodes can reach the other's, for --cut-seconds while both clusters take 4 KiB
 *    PUTs at --cut-rate per second each; then the right secret again. The time to converge runs from
 *    that join to the moment each cluster holds the other's writes and neither has anything queued.
 * 6. The link removed from A, put4k on A again: A's CPU per PUT grows with its store, so the linked
 *    phase is also set against the mean of the unlinked phases before and after it (bracketed ratio).
 *
 *   npm run bench:links [-- --phase-seconds 10] [--lag-objects 300] [--lag-rate 30] [--ship-mib 128] [--cut-seconds 300] [--cut-rate 20]
 *
 * Last lines:
 *   links.put4k_per_s_unlinked=, links.put4k_per_s_linked=, links.put4k_ratio=,
 *   links.a_cpu_ms_per_put_unlinked=, links.a_cpu_ms_per_put_linked=, links.put4k_ratio_by_a_cpu=,
 *   links.put4k_per_s_unlinked_after=, links.a_cpu_ms_per_put_unlinked_after=, links.put4k_ratio_by_a_cpu_bracketed=
 *   links.put4k_per_s_queued_only=, links.put4k_ratio_queued_only=, links.a_cpu_ms_per_put_queued_only=
 *   links.lag_ms_p50=, links.lag_ms_p99=
 *   links.ship_mb_per_s=
 *   links.cut_seconds=, links.cut_writes=, links.converge_s=
 */
import { randomBytes } from 'node:crypto';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { AdminClient } from '../src/cli/admin-client.js';
import { startDevCluster, type DevCluster } from './bench-support/dev-cluster.js';
import { admin, openDevAdmin, sleep } from './bench-support/admin.js';
import { parallel } from './bench-support/parallel.js';
import { cpuSecondsOf } from './bench-support/process-cpu.js';
import { Teardown } from './bench-support/teardown.js';

const argv = await yargs(hideBin(process.argv))
  .option('phase-seconds', { type: 'number', default: 10, describe: 'length of each put4k throughput phase' })
  .option('concurrency', { type: 'number', default: 32, describe: 'PUTs in flight in the throughput phases' })
  .option('lag-objects', { type: 'number', default: 300 })
  .option('lag-rate', { type: 'number', default: 30, describe: 'PUTs per second while measuring the lag' })
  .option('ship-mib', { type: 'number', default: 128, describe: 'MiB of 1 MiB objects for the shipping rate' })
  .option('cut-seconds', { type: 'number', default: 300, describe: 'how long the link is cut' })
  .option('cut-rate', { type: 'number', default: 20, describe: 'PUTs per second to each cluster while the link is cut' })
  .strict()
  .parseAsync();

const BUCKET = 'links-bench';
const NODES = ['manager_0', 'storage_0', 'storage_1', 'storage_2', 'gateway_0'].map((node) => `${node}@127.0.0.1`);
/** After an unlinked phase, A's CPU is counted this much longer: work its writes left behind. */
const SETTLE_MS = 2_000;
/** How long A's CPU use at rest is measured. */
const IDLE_MS = 5_000;
const SECRET = randomBytes(24).toString('hex');
const BODY_4K = randomBytes(4096);
const BODY_1M = randomBytes(1024 * 1024);
const CONVERGE_LIMIT_MS = 30 * 60_000;
const ADMIN_TIMEOUT_MS = 30_000;
const RUN_LIMIT_MS = 2 * 120_000 + argv['cut-seconds'] * 1000 + CONVERGE_LIMIT_MS + 20 * 60_000;

function s3Of(cluster: DevCluster): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: cluster.endpoint,
    forcePathStyle: true,
    maxAttempts: 3,
    credentials: { accessKeyId: cluster.accessKey, secretAccessKey: cluster.secretKey },
  });
}

/** PUTs of 4 KiB for `seconds`, `concurrency` at a time; answers PUTs per second and the keys written. */
async function put4k(s3: S3Client, seconds: number, concurrency: number, prefix: string): Promise<{ perSecond: number; keys: string[] }> {
  const endAt = performance.now() + seconds * 1000;
  const keys: string[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      for (let i = 0; performance.now() < endAt; i++) {
        const key = `${prefix}/${lane}/${i}`;
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: BODY_4K }));
        keys.push(key);
      }
    }),
  );
  return { perSecond: keys.length / seconds, keys };
}

async function onB(s3: S3Client, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch {
    return false;
  }
}

/** Waits until A has nothing left to ship and every key is on B; answers when that was first seen. */
async function drained(a: AdminClient, s3B: S3Client, keys: readonly string[], limitMs: number): Promise<number> {
  const deadline = performance.now() + limitMs;
  let missing = [...keys];
  while (performance.now() < deadline) {
    const status = await admin(a, { command: 'cluster_status' }, 'linked_clusters');
    if (status.clusters.every((link) => link.backlog.queued === 0)) {
      const stillMissing: string[] = [];
      await parallel(missing, 32, async (key) => {
        if (!(await onB(s3B, key))) stillMissing.push(key);
      });
      missing = stillMissing;
      if (missing.length === 0) return performance.now();
    }
    await sleep(100);
  }
  throw new Error(`${missing.length} keys still not on B after ${limitMs / 1000} s`);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const teardown = new Teardown();
teardown.limitTime(RUN_LIMIT_MS, 'bench:links');
try {
  const [a, b] = [await startDevCluster(3, teardown), await startDevCluster(3, teardown)];
  const [admA, admB] = [await openDevAdmin(a, teardown, ADMIN_TIMEOUT_MS), await openDevAdmin(b, teardown, ADMIN_TIMEOUT_MS)];
  const [s3A, s3B] = [s3Of(a), s3Of(b)];
  teardown.add({ orderly: async () => { s3A.destroy(); s3B.destroy(); }, lastResort: () => {} });
  await s3A.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3B.send(new CreateBucketCommand({ Bucket: BUCKET }));

  // A warm-up phase first: a cluster just started is slower for a while (JIT, first LMDB pages).
  await put4k(s3A, argv['phase-seconds'], argv.concurrency, 'warm-up');
  const pidsOfA = (): number[] => NODES.map((node) => a.pidOf(node)).filter((pid): pid is number => pid !== undefined);
  // What A's processes use with nothing to do (timers, heartbeats): taken out of each phase's CPU.
  await sleep(SETTLE_MS);
  const idleCpuStart = cpuSecondsOf(pidsOfA());
  await sleep(IDLE_MS);
  const idleCpuPerMs = (cpuSecondsOf(pidsOfA()) - idleCpuStart) / IDLE_MS;
  /** A's CPU milliseconds per PUT from `startCpu` at `startMs` until now, its idle use taken out. */
  const cpuMsPerPut = (startCpu: number, startMs: number, puts: number): number =>
    ((cpuSecondsOf(pidsOfA()) - startCpu - idleCpuPerMs * (performance.now() - startMs)) * 1000) / puts;
  const unlinkedCpuStart = cpuSecondsOf(pidsOfA());
  const unlinkedStartMs = performance.now();
  const unlinkedPhase = await put4k(s3A, argv['phase-seconds'], argv.concurrency, 'unlinked');
  const unlinked = unlinkedPhase.perSecond;
  await sleep(SETTLE_MS);
  const unlinkedCpuMsPerPut = cpuMsPerPut(unlinkedCpuStart, unlinkedStartMs, unlinkedPhase.keys.length);
  console.error(`put4k before the link: ${unlinked.toFixed(0)}/s, A's CPU ${unlinkedCpuMsPerPut.toFixed(2)} ms per PUT`);

  const idA = (await admin(admA, { command: 'cluster_status' }, 'linked_clusters')).clusterId!;
  const idB = (await admin(admB, { command: 'cluster_status' }, 'linked_clusters')).clusterId!;
  await admin(admA, { command: 'join_cluster', manager: b.managerAddress, clusterId: idB, secret: SECRET }, 'link_joined');
  await admin(admB, { command: 'join_cluster', manager: a.managerAddress, clusterId: idA, secret: SECRET }, 'link_joined');
  for (;;) {
    const [statusA, statusB] = [await admin(admA, { command: 'cluster_status' }, 'linked_clusters'), await admin(admB, { command: 'cluster_status' }, 'linked_clusters')];
    if ([statusA, statusB].every((status) => status.clusters.every((link) => link.state === 'up' && link.storageNodes === 3))) break;
    await sleep(250);
  }
  // Storage nodes learn of the link within a few seconds; the first writes after must be queued. A's
  // first comparison then ships what A held before the link: done before the linked phase, which
  // measures the cost of replicating new writes only.
  await sleep(5_000);
  const caughtUpStart = performance.now();
  for (;;) {
    const status = await admin(admA, { command: 'cluster_status' }, 'linked_clusters');
    if (status.clusters.every((link) => link.backlog.sync.passes >= 1 && link.backlog.queued === 0)) break;
    if (performance.now() - caughtUpStart > CONVERGE_LIMIT_MS) throw new Error('A\'s first comparison with B did not end');
    await sleep(250);
  }
  console.error(`A's first comparison shipped what it held before the link in ${((performance.now() - caughtUpStart) / 1000).toFixed(1)} s`);

  const linkedCpuStart = cpuSecondsOf(pidsOfA());
  const linkedStartMs = performance.now();
  const linkedPhase = await put4k(s3A, argv['phase-seconds'], argv.concurrency, 'linked');
  const linked = linkedPhase.perSecond;
  console.error(`put4k once linked: ${linked.toFixed(0)}/s`);
  const linkedDrainStart = performance.now();
  await drained(admA, s3B, linkedPhase.keys, CONVERGE_LIMIT_MS);
  const linkedCpuMsPerPut = cpuMsPerPut(linkedCpuStart, linkedStartMs, linkedPhase.keys.length);
  console.error(`the ${linkedPhase.keys.length} writes of that phase were all on B ${((performance.now() - linkedDrainStart) / 1000).toFixed(1)} s after it; A's CPU ${linkedCpuMsPerPut.toFixed(2)} ms per PUT`);

  // The lag of single writes at a steady rate.
  const lags: number[] = [];
  const keys = Array.from({ length: argv['lag-objects'] }, (_, i) => `lag/${i}`);
  const gapMs = 1000 / argv['lag-rate'];
  const startedAt = performance.now();
  await Promise.all(
    keys.map(async (key, i) => {
      await sleep(Math.max(0, startedAt + i * gapMs - performance.now()));
      await s3A.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: BODY_4K }));
      const ackedAt = performance.now();
      const deadline = ackedAt + 120_000;
      while (!(await onB(s3B, key))) {
        if (performance.now() > deadline) throw new Error(`${key} not on B within 120 s`);
        await sleep(10);
      }
      lags.push(performance.now() - ackedAt);
    }),
  );
  lags.sort((x, y) => x - y);
  console.error(`lag over ${lags.length} writes: p50 ${percentile(lags, 50).toFixed(0)} ms, p99 ${percentile(lags, 99).toFixed(0)} ms`);

  // The shipping rate of large objects.
  const shipKeys = Array.from({ length: Math.max(1, Math.floor(argv['ship-mib'])) }, (_, i) => `ship/${i}`);
  const shipStart = performance.now();
  await parallel(shipKeys, 8, async (key) => {
    await s3A.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: BODY_1M }));
  });
  const shipEnd = await drained(admA, s3B, shipKeys, CONVERGE_LIMIT_MS);
  const shipMbPerS = (shipKeys.length * BODY_1M.length) / 1e6 / ((shipEnd - shipStart) / 1000);
  console.error(`shipped ${shipKeys.length} MiB in ${((shipEnd - shipStart) / 1000).toFixed(1)} s`);

  // B frozen whole, briefly: what queueing for a linked cluster costs A, with nothing shipped meanwhile.
  const frozen = NODES.map((node) => b.pidOf(node)).filter((pid): pid is number => pid !== undefined);
  const thaw = (): void => {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone already.
      }
    }
  };
  teardown.add({ orderly: async () => thaw(), lastResort: thaw });
  for (const pid of frozen) process.kill(pid, 'SIGSTOP');
  const queuedCpuStart = cpuSecondsOf(pidsOfA());
  const queuedStartMs = performance.now();
  const queueOnly = await put4k(s3A, argv['phase-seconds'], argv.concurrency, 'frozen');
  await sleep(SETTLE_MS);
  const queuedCpuMsPerPut = cpuMsPerPut(queuedCpuStart, queuedStartMs, queueOnly.keys.length);
  thaw();
  console.error(`put4k with B frozen (writes queued, none shipped): ${queueOnly.perSecond.toFixed(0)}/s, A's CPU ${queuedCpuMsPerPut.toFixed(2)} ms per PUT`);
  await drained(admA, s3B, queueOnly.keys, CONVERGE_LIMIT_MS);

  // The link cut, both clusters taking writes: A's side of the link is given another secret, so
  // neither cluster's nodes can reach the other's; both keep queueing. Then the right secret again.
  const wrongSecret = randomBytes(24).toString('hex');
  await admin(admA, { command: 'join_cluster', manager: b.managerAddress, clusterId: idB, secret: wrongSecret }, 'link_joined');
  const cutKeysA: string[] = [];
  const cutKeysB: string[] = [];
  const cutEnd = performance.now() + argv['cut-seconds'] * 1000;
  await Promise.all(
    [
      { s3: s3A, keys: cutKeysA, prefix: 'cut-a' },
      { s3: s3B, keys: cutKeysB, prefix: 'cut-b' },
    ].map(async ({ s3, keys, prefix }) => {
      while (performance.now() < cutEnd) {
        const key = `${prefix}/${keys.length}`;
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: BODY_4K }));
        keys.push(key);
        await sleep(1000 / argv['cut-rate']);
      }
    }),
  );
  const [queuedA, queuedB] = [await admin(admA, { command: 'cluster_status' }, 'linked_clusters'), await admin(admB, { command: 'cluster_status' }, 'linked_clusters')];
  console.error(`cut: ${cutKeysA.length} writes on A (${queuedA.clusters[0]?.backlog.queued ?? 0} queued), ${cutKeysB.length} on B (${queuedB.clusters[0]?.backlog.queued ?? 0} queued)`);
  await admin(admA, { command: 'join_cluster', manager: b.managerAddress, clusterId: idB, secret: SECRET }, 'link_joined');
  const healedAt = performance.now();
  const [convergedA, convergedB] = await Promise.all([drained(admA, s3B, cutKeysA, CONVERGE_LIMIT_MS), drained(admB, s3A, cutKeysB, CONVERGE_LIMIT_MS)]);
  const convergedAt = Math.max(convergedA, convergedB);
  const cutWrites = cutKeysA.length + cutKeysB.length;
  console.error(`after a ${argv['cut-seconds']} s cut with ${cutWrites} writes on both sides: converged in ${((convergedAt - healedAt) / 1000).toFixed(1)} s`);

  // The link removed from A, put4k once more: a cluster costs more CPU per PUT as its store grows and
  // background work (anti-entropy, digests) follows, so the linked phase is set against the unlinked
  // phases before and after it.
  await admin(admA, { command: 'remove_cluster', clusterId: idB }, 'done');
  await sleep(5_000);
  const afterCpuStart = cpuSecondsOf(pidsOfA());
  const afterStartMs = performance.now();
  const afterPhase = await put4k(s3A, argv['phase-seconds'], argv.concurrency, 'unlinked-again');
  await sleep(SETTLE_MS);
  const afterCpuMsPerPut = cpuMsPerPut(afterCpuStart, afterStartMs, afterPhase.keys.length);
  console.error(`put4k with the link removed again: ${afterPhase.perSecond.toFixed(0)}/s, A's CPU ${afterCpuMsPerPut.toFixed(2)} ms per PUT`);
  const unlinkedCpuMean = (unlinkedCpuMsPerPut + afterCpuMsPerPut) / 2;

  await teardown.run();
  console.log(`links.put4k_per_s_unlinked=${unlinked.toFixed(0)}`);
  console.log(`links.put4k_per_s_unlinked_after=${afterPhase.perSecond.toFixed(0)}`);
  console.log(`links.a_cpu_ms_per_put_unlinked_after=${afterCpuMsPerPut.toFixed(2)}`);
  console.log(`links.put4k_ratio_by_a_cpu_bracketed=${(unlinkedCpuMean / linkedCpuMsPerPut).toFixed(2)}`);
  console.log(`links.put4k_per_s_linked=${linked.toFixed(0)}`);
  console.log(`links.put4k_ratio=${(linked / unlinked).toFixed(2)}`);
  console.log(`links.a_cpu_ms_per_put_unlinked=${unlinkedCpuMsPerPut.toFixed(2)}`);
  console.log(`links.a_cpu_ms_per_put_linked=${linkedCpuMsPerPut.toFixed(2)}`);
  console.log(`links.put4k_ratio_by_a_cpu=${(unlinkedCpuMsPerPut / linkedCpuMsPerPut).toFixed(2)}`);
  console.log(`links.put4k_per_s_queued_only=${queueOnly.perSecond.toFixed(0)}`);
  console.log(`links.put4k_ratio_queued_only=${(queueOnly.perSecond / unlinked).toFixed(2)}`);
  console.log(`links.a_cpu_ms_per_put_queued_only=${queuedCpuMsPerPut.toFixed(2)}`);
  console.log(`links.lag_ms_p50=${percentile(lags, 50).toFixed(0)}`);
  console.log(`links.lag_ms_p99=${percentile(lags, 99).toFixed(0)}`);
  console.log(`links.ship_mb_per_s=${shipMbPerS.toFixed(1)}`);
  console.log(`links.cut_seconds=${argv['cut-seconds']}`);
  console.log(`links.cut_writes=${cutWrites}`);
  console.log(`links.converge_s=${((convergedAt - healedAt) / 1000).toFixed(1)}`);
} catch (error) {
  await teardown.exit(1, `bench:links: ${(error as Error).message}`);
}
