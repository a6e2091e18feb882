/**
 * Control-plane benchmark: how long the managers take to accept changes again after their leader dies,
 * and how many admin changes per second they take while healthy. Against a fresh `leofs dev --managers 3`:
 *
 * 1. Fail-over, --kills times: find the leader (`status`), SIGKILL its process, and time from the kill to
 *    the first `create_user` (a fresh user id each try) that the managers accept. The client lists all
 *    three managers and follows the leader as leofs-adm does; while no try has succeeded a new one starts
 *    every 50 ms, and each may take at most 2 s. Beside it, the time until a surviving manager says it
 *    leads. Before each round the group must be whole again: leofs dev has started the killed manager
 *    again (after 1 s, doubled for a manager that dies again within a minute), and the leader's `status`
 *    shows all three managers reachable with a leader and no lag.
 * 2. Admin changes per second: --changes `create_user` calls, --concurrency at a time from one client,
 *    over their wall time. With --one-manager (the default) the same is measured afterwards against a
 *    `leofs dev --managers 1`, started once the first cluster is stopped, for comparison.
 *
 *   npm run bench:managers [-- --kills 10] [--changes 300] [--concurrency 8] [--storage-nodes 3] [--no-one-manager]
 *
 * Last lines:
 *   managers.failover_ms_median=              median over the rounds of the time from the kill to the
 *                                             first accepted change (also _max)
 *   managers.admin_changes_per_s=             create_user calls per second with three managers
 *   managers.admin_changes_per_s_one_manager= the same with one manager (not with --no-one-manager)
 *
 * Admin commands go through the project's admin client in this process rather than leofs-adm
 * processes: a process start per try would add its own start-up time to every fail-over figure.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { openAdminClient, type AdminClient } from '../src/cli/admin-client.js';
import { readCookieFile } from '../src/cli/cookie.js';
import type { ManagerStatus } from '../src/protocol/cluster/consensus.js';
import { consensusRef } from '../src/protocol/cluster/paths.js';
import { isRuntimeFailure } from '../src/runtime/failures.js';
import { ask } from '../src/runtime/typed-ask.js';
import { startDevCluster, type DevCluster } from './bench-support/dev-cluster.js';
import { parallel } from './bench-support/parallel.js';
import { admin, sleep } from './bench-support/admin.js';
import { Teardown } from './bench-support/teardown.js';

const argv = await yargs(hideBin(process.argv))
  .option('kills', { type: 'number', default: 10, describe: 'fail-over rounds: each kills the leader once' })
  .option('changes', { type: 'number', default: 300, describe: 'create_user calls measured for the admin change rate' })
  .option('concurrency', { type: 'number', default: 8, describe: 'create_user calls in flight at once' })
  .option('storage-nodes', { type: 'number', default: 3 })
  .option('one-manager', { type: 'boolean', default: true, describe: 'also measure the change rate with one manager (--no-one-manager: skip it)' })
  .strict()
  .parseAsync();

const kills = Math.max(1, Math.floor(argv.kills));
const changes = Math.max(1, Math.floor(argv.changes));
const concurrency = Math.max(1, Math.floor(argv.concurrency));
const storageNodes = Math.max(1, Math.floor(argv['storage-nodes']));
const MANAGERS = 3;
/** Limit on one try of a change during a fail-over: a try sent to a dead leader must not hold up the next. */
const TRY_TIMEOUT_MS = 2_000;
const TRY_PAUSE_MS = 50;
/** A fail-over slower than this fails the run: the group did not recover. */
const FAILOVER_LIMIT_MS = 60_000;
/** leofs dev's restart delay doubles for a child that dies again within a minute, up to 30 s. */
const RECOVERY_LIMIT_MS = 120_000;
const ADMIN_TIMEOUT_MS = 30_000;
const POLL_MS = 250;
/** The whole run; a cluster start takes up to two minutes, each round up to the two limits above. */
const RUN_LIMIT_MS = 2 * 120_000 + kills * (FAILOVER_LIMIT_MS + RECOVERY_LIMIT_MS) + 10 * 60_000;


const freshUserId = (): string => `bench_${randomBytes(6).toString('hex')}`;

/** An admin client listing every manager, closed with the cluster however the run ends. */
async function openClient(cluster: DevCluster, timeoutMs: number, teardown: Teardown): Promise<{ client: AdminClient; close: () => Promise<void> }> {
  const cookie = readCookieFile(cluster.cookieFile);
  if (!cookie.ok) throw new Error(cookie.problem);
  const client = await openAdminClient({ manager: cluster.managers.map((m) => m.address), cookie: cookie.cookie, timeoutMs });
  let closed: Promise<void> | undefined;
  // Once only: the step may run again if the run is given up after it ran.
  const close = teardown.add({ orderly: () => (closed ??= client.close()), lastResort: () => {} });
  return { client, close };
}

/** A manager's node name: status names a peer by its address until the leader has learnt its name. */
function nameOf(cluster: DevCluster, status: ManagerStatus): string {
  return cluster.managers.find((m) => m.address === status.node)?.name ?? status.node;
}

/** Why the group is not whole yet, or undefined when it is: every manager reachable, one leader, no lag. */
function unhealthy(cluster: DevCluster, managers: readonly ManagerStatus[]): string | undefined {
  if (managers.length !== cluster.managers.length) return `status lists ${managers.length} of ${cluster.managers.length} managers`;
  const leaders = managers.filter((m) => m.role === 'leader');
  if (leaders.length !== 1) return `${leaders.length} leaders`;
  const behind = managers.filter((m) => !m.reachable || m.lag !== 0);
  if (behind.length > 0) return behind.map((m) => `${nameOf(cluster, m)} ${m.reachable ? 'reachable' : 'unreachable'}, lag ${m.lag ?? 'unknown'}`).join('; ');
  return undefined;
}

/**
 * Waits until the group is whole and, when given, `restarted` runs in a process other than `killedPid`;
 * answers the leader's name.
 */
async function healthyLeader(cluster: DevCluster, client: AdminClient, restarted?: { node: string; killedPid: number }): Promise<string> {
  const deadline = Date.now() + RECOVERY_LIMIT_MS;
  let why = 'not asked yet';
  while (Date.now() < deadline) {
    const pid = restarted ? cluster.pidOf(restarted.node) : undefined;
    if (restarted && (pid === undefined || pid === restarted.killedPid)) {
      why = `${restarted.node} has not been started again`;
    } else {
      try {
        const status = await admin(client, { command: 'status' }, 'cluster_status');
        const problem = unhealthy(cluster, status.managers);
        if (problem === undefined) return nameOf(cluster, status.managers.find((m) => m.role === 'leader')!);
        why = problem;
      } catch (error) {
        why = (error as Error).message;
      }
    }
    await sleep(POLL_MS);
  }
  throw new Error(`the managers are not whole again after ${RECOVERY_LIMIT_MS / 1000} s: ${why}`);
}

/**
 * The pid of `node`'s process, checked against its command line (where /proc has it) so that no other
 * process is killed: its name and this cluster's data directory, since other clusters on the machine
 * may run nodes of the same name.
 */
function leaderPid(cluster: DevCluster, node: string): number {
  const pid = cluster.pidOf(node);
  if (pid === undefined) throw new Error(`${node} logged no pid`);
  const cmdline = `/proc/${pid}/cmdline`;
  if (existsSync('/proc/self/cmdline')) {
    const args = existsSync(cmdline) ? readFileSync(cmdline, 'utf8').split('\0').join(' ') : '';
    if (!args.includes(`--name ${node}`) || !args.includes(cluster.dataDir)) throw new Error(`process ${pid} is not ${node} of this cluster: its log and the process list disagree`);
  }
  return pid;
}

interface Round {
  readonly killed: string;
  readonly pid: number;
  /** From the kill to the first change accepted. */
  readonly ms: number;
  /** From the kill to the first answer of a surviving manager that it leads; undefined if none was seen. */
  readonly electedMs: number | undefined;
  readonly tries: number;
  readonly newLeader: string;
}

/**
 * Kills the leader and times the first change accepted after it. A try starts every TRY_PAUSE_MS while
 * none has succeeded, overlapping the ones still waiting: the client pauses and asks again inside a try
 * (200 ms, then longer), and a new try each 50 ms keeps that from coarsening the figure.
 */
async function failoverRound(cluster: DevCluster, client: AdminClient, leader: string, teardown: Teardown): Promise<Round> {
  const pid = leaderPid(cluster, leader);
  const survivors = cluster.managers.map((m) => m.name).filter((name) => name !== leader);
  const killedMs = performance.now();
  process.kill(pid, 'SIGKILL');
  let accepted: { ms: number; newLeader: string } | undefined;
  let electedMs: number | undefined;
  let lastFailure = 'none';
  let tries = 0;
  const inFlight = new Set<Promise<void>>();
  const elected = (async () => {
    while (electedMs === undefined && accepted === undefined && performance.now() - killedMs < FAILOVER_LIMIT_MS && !teardown.stopping) {
      const answers = await Promise.all(survivors.map((node) => ask(client.node.system, consensusRef(node), { type: 'leader' }, TRY_TIMEOUT_MS)));
      if (answers.some((answer) => !isRuntimeFailure(answer) && answer.role === 'leader')) electedMs = performance.now() - killedMs;
      else await sleep(TRY_PAUSE_MS);
    }
  })();
  while (accepted === undefined && performance.now() - killedMs < FAILOVER_LIMIT_MS && !teardown.stopping) {
    tries++;
    const attempt = client.run({ command: 'create_user', userId: freshUserId() }).then((reply) => {
      if (reply.ok) accepted ??= { ms: performance.now() - killedMs, newLeader: client.managerNode };
      else lastFailure = `${reply.code}: ${reply.message}`;
    });
    inFlight.add(attempt);
    void attempt.finally(() => inFlight.delete(attempt));
    await Promise.race([sleep(TRY_PAUSE_MS), attempt]);
  }
  // The tries still waiting end within their own limit; none may outlive the round.
  await Promise.all([...inFlight, elected]);
  if (accepted === undefined) throw new Error(`no change accepted within ${FAILOVER_LIMIT_MS / 1000} s of killing ${leader} (${tries} tries, last failure: ${lastFailure})`);
  return { killed: leader, pid, ms: accepted.ms, electedMs, tries, newLeader: accepted.newLeader };
}

/** `changes` create_user calls, `concurrency` in flight; answers calls per second. */
async function changeRate(client: AdminClient, label: string): Promise<number> {
  let errors = 0;
  let firstError = '';
  const startedMs = performance.now();
  await parallel(Array.from({ length: changes }, freshUserId), concurrency, async (userId) => {
    const reply = await client.run({ command: 'create_user', userId });
    if (reply.ok) return;
    errors++;
    firstError ||= `${reply.code}: ${reply.message}`;
  });
  const seconds = (performance.now() - startedMs) / 1000;
  const perSecond = (changes - errors) / seconds;
  process.stdout.write(`${label}: ${changes - errors} of ${changes} create_user in ${seconds.toFixed(2)} s, ${perSecond.toFixed(1)}/s, ${concurrency} in flight${errors > 0 ? `, errors=${errors} (first: ${firstError})` : ''}\n`);
  if (errors > 0) throw new Error(`${errors} of ${changes} create_user calls failed with ${label} (first: ${firstError})`);
  return perSecond;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const teardown = new Teardown();
teardown.limitTime(RUN_LIMIT_MS, 'bench:managers');
try {
  const cluster = await startDevCluster(storageNodes, teardown, { managers: MANAGERS });
  process.stdout.write(`leofs dev: ${cluster.managers.map((m) => `${m.name} ${m.address}`).join(', ')}; ${storageNodes} storage nodes\n`);
  const adm = await openClient(cluster, ADMIN_TIMEOUT_MS, teardown);
  const failoverClient = await openClient(cluster, TRY_TIMEOUT_MS, teardown);

  // 1. Fail-over.
  const rounds: Round[] = [];
  let leader = await healthyLeader(cluster, adm.client);
  for (let round = 1; round <= kills; round++) {
    const result = await failoverRound(cluster, failoverClient.client, leader, teardown);
    rounds.push(result);
    const election = result.electedMs === undefined ? 'no survivor seen leading' : `a survivor led after ${Math.round(result.electedMs)} ms`;
    process.stdout.write(`round ${round}: killed ${result.killed} (pid ${result.pid}); ${election}; ${result.newLeader} accepted a change after ${Math.round(result.ms)} ms (${result.tries} tries)\n`);
    const recoveringMs = performance.now();
    leader = await healthyLeader(cluster, adm.client, { node: result.killed, killedPid: result.pid });
    process.stdout.write(`  whole again ${((performance.now() - recoveringMs) / 1000).toFixed(1)} s later; ${leader} leads\n`);
  }
  const failovers = rounds.map((r) => r.ms);
  process.stdout.write(`fail-over over ${rounds.length} rounds: median ${Math.round(median(failovers))} ms, min ${Math.round(Math.min(...failovers))} ms, max ${Math.round(Math.max(...failovers))} ms\n`);

  // 2. Admin changes per second, three managers.
  const perSecond = await changeRate(adm.client, `${MANAGERS} managers`);
  await failoverClient.close();
  await adm.close();
  await cluster.stop();

  // The same with one manager, for comparison.
  let perSecondOne: number | undefined;
  if (argv['one-manager']) {
    const single = await startDevCluster(storageNodes, teardown, { managers: 1 });
    const client = await openClient(single, ADMIN_TIMEOUT_MS, teardown);
    perSecondOne = await changeRate(client.client, '1 manager');
    process.stdout.write(`three managers take ${(perSecond / perSecondOne).toFixed(2)} times the changes per second of one\n`);
  }
  await teardown.run();

  process.stdout.write(`managers.failover_ms_median=${Math.round(median(failovers))}\n`);
  process.stdout.write(`managers.failover_ms_max=${Math.round(Math.max(...failovers))}\n`);
  process.stdout.write(`managers.admin_changes_per_s=${perSecond.toFixed(1)}\n`);
  if (perSecondOne !== undefined) process.stdout.write(`managers.admin_changes_per_s_one_manager=${perSecondOne.toFixed(1)}\n`);
  process.exit(0);
} catch (error) {
  await teardown.exit(1, `bench:managers: ${(error as Error).message}`);
}
