/**
 * `leofs node --role manager|storage|gateway ...`: starts one node of the cluster in this process.
 */
import { LinkRealms } from '../runtime/remote/link-realms.js';
import { clusterLinkRef, LINK_OFFERED_PATHS, type ClusterLinkMessage } from '../protocol/cluster/cluster-link.js';
import type { Argv } from 'yargs';
import { authRef, ROOT_NAME } from '../protocol/cluster/paths.js';
import { gatewayTree, upgradeGatewayState } from '../actors/gateway/gateway-tree.js';
import { authTables, managerTree, restoreManagerState, upgradeManagerState } from '../actors/manager/manager-tree.js';
import { accessKeysOf } from '../core/auth-snapshot.js';
import { readManagerBackup } from '../store/manager-backup.js';
import { recordCount } from '../core/consensus/snapshot-pages.js';
import { randomBytes } from 'node:crypto';
import { nodeTree } from '../actors/node-tree.js';
import { ROLES } from '../protocol/cluster/roles.js';
import { storageRole } from '../actors/storage/storage-role.js';
import { AuthView } from '../actors/common/auth-view.js';
import { RingView } from '../actors/common/ring-view.js';
import { startMetricsEndpoint } from '../actors/common/metrics-endpoint.js';
import { NodeHealth } from '../actors/common/node-health.js';
import { ManagerLink } from '../actors/common/manager-link.js';
import type { AuthMessage } from '../protocol/cluster/auth.js';
import { nodeMetricsRegistry } from '../actors/common/node-metrics.js';
import { trafficCounters } from '../actors/common/traffic-counters.js';
import { processSampler } from '../actors/common/watchdog-sampler.js';
import { managerMetrics } from '../actors/manager/manager-metrics.js';
import type { Registry } from 'prom-client';
import { releaseVersion } from './release.js';
import { watchdogRef } from '../protocol/cluster/watchdog.js';
import { ask } from '../runtime/typed-ask.js';
import { isRuntimeFailure } from '../runtime/failures.js';
import { NodeState } from '../store/node-state.js';
import { SecretBox } from '../store/secret-box.js';
import { ConsensusStore } from '../store/consensus-store.js';
import { logAtAnyLevel, type Logger } from '../runtime/logger.js';
import { startClusterNode, type ClusterNode } from '../runtime/node.js';
import type { SupervisorSpec } from '../runtime/supervisor.js';
import { ConfigError, DEFAULT_REBALANCE_RATE_MBPS, overlay, readConfigFile, validateNodeConfig, type NodeConfig, type RawSettings } from './config.js';
import { readTlsFiles } from './tls-files.js';
import { parseExportFlag } from '../actors/gateway/nfs/nfs-config.js';
import { findMasterKeys, SSE_KEYS_ENV } from './master-keys.js';
import type { MasterKeys } from '../core/object-encryption.js';
import { exitAfterGiveUp, handleProcessSignals } from './process-lifecycle.js';
import { missingProcessSettings, startCommand } from './role-process.js';
import { startIdleHeapTrim } from '../runtime/idle-heap-trim.js';
import { readFileSync } from 'node:fs';
import type { ConsoleSettings } from './config.js';
import { startConsoleServer, type ConsoleServer } from '../actors/manager/console/console-server.js';
import { leaderAdminRunner } from '../actors/manager/console/admin-runner.js';
import { DEFAULT_SESSION_LIMITS, isSessionRevocation, sessionKeyOf } from '../core/console-sessions.js';
import { CONSOLE_REVOCATIONS_TABLE } from '../protocol/cluster/console-sessions.js';
import { isLoopbackHost } from '../protocol/console/web.js';

export function nodeCommandOptions(yargs: Argv): Argv {
  return yargs
    .option('role', { choices: ROLES, describe: 'what this node does' })
    .option('name', { type: 'string', describe: 'node name, name@host (e.g. storage_0@127.0.0.1)' })
    .option('cluster-port', { type: 'number', describe: 'port of the cluster transport (0: any free port)' })
    .option('cluster-host', { type: 'string', describe: 'address to listen on (default: the host part of --name)' })
    .option('manager', { type: 'string', describe: "host:port of the managers' cluster ports, comma-separated (storage and gateway nodes: any number, the leader is found; managers: the whole control plane)" })
    .option('managers', { type: 'string', describe: 'the same as --manager' })
    .option('data', { type: 'string', describe: 'data directory' })
    .option('cookie-file', { type: 'string', describe: 'file holding the shared cluster secret, mode 0600 (or LEOFS_COOKIE_FILE; LEOFS_COOKIE holds the secret itself)' })
    .option('cookie', { type: 'string', describe: 'the shared cluster secret itself; visible to other local users in ps, prefer --cookie-file' })
    .option('log-level', { choices: ['debug', 'info', 'warn', 'error'] })
    .option('config', { type: 'string', describe: 'JSON config file; flags override it' })
    .option('http-host', { type: 'string', describe: 'address the S3 API listens on (gateway nodes; default 127.0.0.1)' })
    .option('http-port', { type: 'number', describe: 'port of the S3 API (gateway nodes; default 8080, 0: any free port)' })
    .option('protocol', { type: 'array', choices: ['s3', 'nfs'], describe: 'gateway nodes: what to serve besides the S3 API, which is always on (nfs: NFS v3, see --nfs-*)' })
    .option('nfs-host', { type: 'string', describe: 'address MOUNT and NFS v3 listen on (gateway nodes with --protocol nfs; default 127.0.0.1)' })
    .option('nfs-port', { type: 'number', describe: 'port of MOUNT and NFS v3 (gateway nodes with --protocol nfs; default 2049, 0: any free port)' })
    .option('nfs-export', { type: 'array', string: true, describe: 'an NFS export, BUCKET=CIDR[,CIDR...]=USER (BUCKET * for every bucket); repeat for more' })
    .option('rest-port', { type: 'number', describe: 'gateway nodes: also serve the unsigned REST API (GET/PUT/HEAD/DELETE /bucket/key) on this port (0: any free port); see --rest-*' })
    .option('rest-host', { type: 'string', describe: 'address the REST API listens on (default 127.0.0.1; any other needs --rest-allow)' })
    .option('rest-allow', { type: 'array', string: true, describe: 'networks trusted to use the REST API, CIDR[,CIDR...] (default on loopback: 127.0.0.0/8 and ::1); repeat for more' })
    .option('rest-user', { type: 'string', describe: 'the cluster user every REST request acts as' })
    .option('sse-key-file', { type: 'string', describe: 'file of the SSE-S3 master keys, mode 0600 (gateway nodes; or LEOFS_SSE_KEYS holds the keys themselves)' })
    .option('metrics-port', { type: 'number', describe: 'port of /metrics and /health/* (0: any free port; default: not served)' })
    .option('metrics-host', { type: 'string', describe: 'address /metrics and /health/* listen on (default 127.0.0.1)' })
    .option('console-port', { type: 'number', describe: "managers: serve the web console on this port of 127.0.0.1 (0: any free port; default: console in the config file, else not served)" })
    .option('traffic-sample-interval-ms', { type: 'number', describe: "managers: how often each member's request counters are sampled for the charts of the last hour (default 10000)" })
    .option('restore', { type: 'string', describe: "managers: start a new control plane from a backup written by leofs-adm backup-manager (the data directory must be empty)" })
    .option('alias', { type: 'string', describe: "storage nodes: the name of the node's ring points; give a detached node's alias to take over its place" });
}

export interface NodeFlags {
  readonly role?: string | undefined;
  readonly name?: string | undefined;
  readonly clusterPort?: number | undefined;
  readonly clusterHost?: string | undefined;
  readonly manager?: string | undefined;
  readonly managers?: string | undefined;
  readonly data?: string | undefined;
  readonly cookie?: string | undefined;
  readonly cookieFile?: string | undefined;
  readonly logLevel?: string | undefined;
  readonly config?: string | undefined;
  readonly httpHost?: string | undefined;
  readonly httpPort?: number | undefined;
  readonly sseKeyFile?: string | undefined;
  readonly protocol?: readonly (string | number)[] | undefined;
  readonly nfsHost?: string | undefined;
  readonly nfsPort?: number | undefined;
  readonly nfsExport?: readonly (string | number)[] | undefined;
  readonly restHost?: string | undefined;
  readonly restPort?: number | undefined;
  readonly restAllow?: readonly (string | number)[] | undefined;
  readonly restUser?: string | undefined;
  readonly alias?: string | undefined;
  readonly metricsPort?: number | undefined;
  readonly metricsHost?: string | undefined;
  readonly consolePort?: number | undefined;
  readonly trafficSampleIntervalMs?: number | undefined;
}

export function loadNodeConfig(flags: NodeFlags): NodeConfig {
  const file = flags.config ? readConfigFile(flags.config) : {};
  // Either cookie flag replaces both cookie settings of the file; either manager flag both manager settings.
  const cookieFlagged = flags.cookie !== undefined || flags.cookieFile !== undefined;
  const managersFlagged = flags.manager !== undefined || flags.managers !== undefined;
  const base = {
    ...file,
    ...(cookieFlagged ? { cookie: undefined, cookieFile: undefined } : {}),
    ...(managersFlagged ? { manager: undefined, managers: undefined } : {}),
  };
  return validateNodeConfig(
    overlay(base, {
      role: flags.role,
      name: flags.name,
      clusterPort: flags.clusterPort,
      clusterHost: flags.clusterHost,
      manager: flags.manager,
      managers: flags.managers,
      data: flags.data,
      cookie: flags.cookie,
      cookieFile: flags.cookieFile,
      logLevel: flags.logLevel,
      metricsPort: flags.metricsPort,
      metricsHost: flags.metricsHost,
      gateway: gatewayFlags(file.gateway, flags),
      storage: storageFlags(file.storage, flags),
      console: consoleFlags(file.console, flags),
      trafficSampleIntervalMs: flags.trafficSampleIntervalMs,
    }),
  );
}

export interface RunOptions {
  /** The cookie was given with --cookie, where every local user can read it. */
  readonly cookieOnCommandLine?: boolean;
  /** A manager backup to start a new control plane from (managers with an empty data directory only). */
  readonly restoreFrom?: string;
}

export async function runNode(config: NodeConfig, options: RunOptions = {}): Promise<ClusterNode> {
  // Read before anything starts, so that a bad key file stops the start with nothing to undo.
  const masterKeys = config.role === 'gateway' ? gatewayMasterKeys(config) : undefined;
  // Managers and storage nodes take part in multi-cluster replication; the book of linked clusters fills at run time.
  const realms = config.role === 'gateway' ? undefined : new LinkRealms(LINK_OFFERED_PATHS);
  const node = await startClusterNode({
    node: config.name,
    cookie: config.cookie,
    ...(realms ? { realms } : {}),
    listen: { host: config.clusterHost, port: config.clusterPort },
    logLevel: config.logLevel,
    transportLimits: config.transport,
    ...(config.tls ? { tls: readTlsFiles(config.tls) } : {}),
  });
  if (options.cookieOnCommandLine) node.logger.warn('the cluster cookie is on the command line, where other local users can read it; use --cookie-file or LEOFS_COOKIE');
  if (config.role === 'gateway') logMasterKeys(node.logger, masterKeys, config.gateway.sseKeyFile);
  const nodeState = NodeState.open(config.dataDir, node.logger);
  const secrets = SecretBox.fromCookie(config.cookie);
  if (options.restoreFrom !== undefined) await restoreFromBackup(config, nodeState, secrets, options.restoreFrom, node.logger);
  await upgradeState(config, nodeState, secrets, node.logger);
  const ringView = new RingView();
  const health = new NodeHealth(config.name, config.role, ringView);
  // Shared by the directory, the gateway's bucket changes and the storage node's questions: one leader known per node.
  const managers =
    config.role === 'manager' ? undefined : new ManagerLink({ addresses: config.managers, connect: (address) => node.transport.connect(address), api: node.system, clock: node.clock });
  const metrics = nodeMetricsRegistry({
    node: config.name,
    role: config.role,
    version: releaseVersion(),
    actors: () => node.system.listActors(),
    peers: () => node.transport.peerInfo(),
    pendingAsks: () => node.system.pendingAsks,
    ringView,
    alarms: async () => {
      const reply = await ask(node.system, watchdogRef(node.system.node), { type: 'status' }, 1_000);
      return reply.ok ? reply.alarms : undefined;
    },
  });
  const {
    numOfVnodes, rack, alias, capacityBytes, minFreeDiskBytes, directBodyWrites, metaFormat, purgeKeysPerSecond, orphanAgeMs, uploadMaxAgeMs, sweepKeysPerSecond, sweepPauseMs,
    autoCompactionIntervalMs, autoCompactionMinReclaimPercent, autoCompactionMinFileBytes, antiEntropyQuietIntervalMs, lifecycleKeysPerSecond, lifecyclePauseMs, conditionalWriteDeadlineMs,
  } = config.storage;
  const { tombstoneGraceMs, tombstonePurgeKeysPerSecond, purgeHorizonMs, releaseGraceMs, linkRateMBps, linkSyncKeysPerSecond, linkSyncPauseMs } = config.storage;
  const storage =
    config.role === 'storage'
      ? storageRole(node, {
          dataDir: config.dataDir,
          ringView,
          minFreeDiskBytes,
          tuning: {
            ...purgePace(purgeKeysPerSecond),
            tombstoneGraceMs,
            tombstonePurgeKeysPerSecond,
            purgeHorizonMs,
            ...(orphanAgeMs !== undefined ? { orphanAgeMs } : {}),
            ...(uploadMaxAgeMs !== undefined ? { uploadMaxAgeMs } : {}),
            ...(sweepKeysPerSecond !== undefined ? { sweepKeysPerSecond } : {}),
            ...(sweepPauseMs !== undefined ? { sweepPauseMs } : {}),
            ...(autoCompactionIntervalMs !== undefined ? { autoCompactionIntervalMs } : {}),
            ...(autoCompactionMinReclaimPercent !== undefined ? { autoCompactionMinReclaimPercent } : {}),
            ...(autoCompactionMinFileBytes !== undefined ? { autoCompactionMinFileBytes } : {}),
            ...(antiEntropyQuietIntervalMs !== undefined ? { antiEntropyQuietIntervalMs } : {}),
            ...(lifecycleKeysPerSecond !== undefined ? { lifecycleKeysPerSecond } : {}),
            ...(lifecyclePauseMs !== undefined ? { lifecyclePauseMs } : {}),
            ...(conditionalWriteDeadlineMs !== undefined ? { conditionalWriteDeadlineMs } : {}),
            ...(releaseGraceMs !== undefined ? { releaseGraceMs } : {}),
            ...(linkRateMBps !== undefined ? { linkRateBytesPerSec: linkRateMBps * 1024 * 1024 } : {}),
            ...(linkSyncKeysPerSecond !== undefined ? { linkSyncKeysPerSecond } : {}),
            ...(linkSyncPauseMs !== undefined ? { linkSyncPauseMs } : {}),
          },
          ...(capacityBytes !== undefined ? { capacityBytes } : {}),
          ...(directBodyWrites !== undefined ? { directBodyWrites } : {}),
          ...(metaFormat !== undefined ? { metaFormat } : {}),
          metrics,
          buckets: async () => {
            if (managers === undefined) return undefined;
            const reply = await managers.askLeader<AuthMessage, 'list_buckets'>(authRef, { type: 'list_buckets' }, MANAGER_ASK_TIMEOUT_MS);
            return isRuntimeFailure(reply) ? undefined : reply.buckets;
          },
          ...(realms ? { realms } : {}),
          linkView: async () => {
            if (managers === undefined) return undefined;
            const reply = await managers.askLeader<ClusterLinkMessage, 'link_view'>(clusterLinkRef, { type: 'link_view' }, MANAGER_ASK_TIMEOUT_MS);
            if (isRuntimeFailure(reply)) return undefined;
            // Only the leader knows the linked clusters' storage nodes: a manager that does not lead says so.
            if (!reply.ok) managers.forget();
            return reply;
          },
        })
      : undefined;
  if (config.role === 'manager') managerMetrics(metrics, node.system);
  for (const check of storage?.healthChecks ?? []) health.addCheck(check);
  const endpoint = config.metrics ? await startMetricsEndpoint({ ...config.metrics, registry: metrics, health: () => health.report(), logger: node.logger }) : undefined;
  const heapTrim = startIdleHeapTrim();
  handleProcessSignals(node.logger, async () => {
    heapTrim?.stop();
    await endpoint?.close();
    await webConsole?.close();
    await node.stop();
    await storage?.close();
    await nodeState.close();
  });
  // A manager's own watchdog reports to whichever manager leads, as the other nodes' do.
  let leadingManager: string | null = null;
  const leaderChanged = (leader: string | null): void => {
    leadingManager = leader;
  };
  await node.system.startRoot(
    ROOT_NAME,
    nodeTree(node, {
      role: config.role,
      ...(managers ? { managers } : {}),
      roleTree: storage ? storage.tree : roleTree(config, node, nodeState, secrets, ringView, metrics, masterKeys, managers, leaderChanged, realms),
      startedAtMs: node.clock.now(),
      nodeState,
      ringView,
      health,
      version: releaseVersion(),
      traffic: () => trafficCounters(metrics),
      watchdog: {
        openSampler: () =>
          processSampler({
            clock: node.clock,
            dataDir: config.dataDir,
            registry: metrics,
            ...(storage ? { queueItems: () => storage.context.repairs.length + storage.context.reverts.length, clientRequests: () => storage.context.clientRequests.total } : {}),
          }),
        thresholds: config.watchdog.thresholds,
        intervalMs: config.watchdog.intervalMs,
        apply: (alarms, thresholds) => storage?.applyAlarms(alarms, thresholds),
        manager: () => (config.role === 'manager' ? (leadingManager ?? undefined) : health.manager),
      },
      ...(config.role === 'storage' ? { storage: { numOfVnodes, ...(rack !== undefined ? { rack } : {}), ...(alias !== undefined ? { alias } : {}) } } : {}),
    }),
    (reason) => exitAfterGiveUp(node.logger, reason),
  );
  const webConsole = config.console ? await startWebConsole(config.console, node, config.cookie, nodeState, secrets) : undefined;
  health.markStarted();
  const missing = missingProcessSettings(config.role);
  if (missing.length > 0) {
    const hint = `start it as: ${startCommand(config.role, process.argv[1] ?? 'leofs')}`;
    node.logger.warn('node started without the process settings of its role; it will use more CPU or memory than it needs', { missing, hint });
  }
  logAtAnyLevel(node.logger, 'node started', {
    role: config.role,
    address: node.transport.address,
    managers: config.managers,
    pid: process.pid,
    metrics: endpoint ? `${endpoint.url}/metrics` : null,
    ...(webConsole ? { console: webConsole.url } : {}),
  });
  return node;
}

/** Limit on each admin command the web console runs (whereis-like ones ask other nodes). */
const CONSOLE_ADMIN_TIMEOUT_MS = 15_000;

/** The manager's web console; listening before the start line, so that the line can name it. */
async function startWebConsole(settings: ConsoleSettings, node: ClusterNode, cookie: string, nodeState: NodeState, secrets: SecretBox): Promise<ConsoleServer> {
  // This manager's copy of the revocations the leader writes: a session ended on any manager ends here too.
  const revocations = nodeState.table(CONSOLE_REVOCATIONS_TABLE, isSessionRevocation);
  // And of the users: a session whose user, role or key is gone ends even if its revocation was never written.
  const { users } = authTables(nodeState, secrets);
  const tls = settings.tls ? { cert: readFileSync(settings.tls.certFile), key: readFileSync(settings.tls.keyFile) } : undefined;
  const sessionKey = consoleSessionKey(cookie, nodeState, node);
  const server = await startConsoleServer({
    host: settings.host,
    port: settings.port,
    ...(tls ? { tls } : {}),
    run: leaderAdminRunner(node.system, CONSOLE_ADMIN_TIMEOUT_MS),
    clock: node.clock,
    logger: node.logger,
    sessionLimits: { ...DEFAULT_SESSION_LIMITS, idleMs: settings.sessionIdleMinutes * 60_000 },
    sessionKey: sessionKey.key,
    revocations: (key) => revocations.get(key),
    account: (userId, accessKeyId) => {
      const user = users.get(userId);
      return user !== undefined && user.role === 'admin' && accessKeysOf(user).some((key) => key.accessKeyId === accessKeyId);
    },
  });
  if (settings.allowRemote && !isLoopbackHost(settings.host)) node.logger.warn('the web console is reachable from other machines; keep it behind a firewall or VPN all the same', { url: server.url });
  return {
    url: server.url,
    close: () => {
      sessionKey.stop();
      return server.close();
    },
  };
}

/**
 * The key console sessions are signed with (core/console-sessions.ts sessionKeyOf): from the cluster
 * cookie, which every manager holds, so a session opened on one is valid on each, and changing the
 * cookie ends them all. Undefined until this manager knows the cluster's id (it joined the managers'
 * control plane); derived once, as it is slow on purpose.
 */
function consoleSessionKey(cookie: string, nodeState: NodeState, node: ClusterNode): { readonly key: () => Uint8Array | undefined; stop(): void } {
  const store = new ConsensusStore(nodeState);
  let derived: { readonly clusterId: string; key?: Buffer } | undefined;
  const key = (): Uint8Array | undefined => {
    const clusterId = store.controlPlaneId()?.clusterId;
    if (clusterId === undefined) return undefined;
    if (derived?.clusterId !== clusterId) {
      const deriving: { readonly clusterId: string; key?: Buffer } = { clusterId };
      derived = deriving;
      sessionKeyOf(cookie, clusterId).then(
        (made) => void (deriving.key = made),
        (error: unknown) => {
          node.logger.error('the console session key could not be derived', { error });
          if (derived === deriving) derived = undefined;
        },
      );
    }
    return derived.key;
  };
  // Derived as soon as the cluster's id is known, not at the first login.
  const timer = node.clock.setInterval(() => {
    if (key() !== undefined) timer.cancel();
  }, CONSOLE_KEY_CHECK_MS);
  return { key, stop: () => timer.cancel() };
}

const CONSOLE_KEY_CHECK_MS = 250;

/** How long a storage node's question to the managers' leader (the buckets, for lifecycle) may take before it is asked again later. */
const MANAGER_ASK_TIMEOUT_MS = 10_000;

/** A purge rate as batches: small batches often, so a purge never holds the write lock for long. */
function purgePace(keysPerSecond: number): { purgeBatchKeys: number; purgeIntervalMs: number } {
  const purgeBatchKeys = Math.max(1, Math.min(256, Math.ceil(keysPerSecond / 20)));
  return { purgeBatchKeys, purgeIntervalMs: Math.round((purgeBatchKeys * 1000) / keysPerSecond) };
}

function roleTree(
  config: NodeConfig,
  node: ClusterNode,
  nodeState: NodeState,
  secrets: SecretBox,
  ringView: RingView,
  metrics: Registry,
  masterKeys: MasterKeys | undefined,
  managers: ManagerLink | undefined,
  leaderChanged: (leader: string | null) => void,
  realms: LinkRealms | undefined,
): SupervisorSpec {
  switch (config.role) {
    case 'manager':
      return managerTree(node, {
        nodeState,
        secrets,
        dataDir: config.dataDir,
        defaultHandoffRateBytesPerSec: (config.storage.rebalanceRateMBps ?? DEFAULT_REBALANCE_RATE_MBPS) * 1e6,
        managers: config.managers,
        selfAddress: `${config.clusterHost}:${config.clusterPort}`,
        leaderChanged,
        ...(realms ? { realms } : {}),
        trafficSampleIntervalMs: config.trafficSampleIntervalMs,
      });
    case 'storage':
      throw new Error('a storage node builds its tree with storageRole');
    case 'gateway':
      if (managers === undefined) throw new Error('a gateway needs the managers');
      return gatewayTree({
        nodeState,
        secrets,
        authView: new AuthView(),
        s3: { node, ringView, config: config.gateway, managers, metrics, dataDir: config.dataDir, ...(masterKeys ? { masterKeys } : {}) },
      });
  }
}

/** The gateway's SSE-S3 master keys, from its `sseKeyFile` or LEOFS_SSE_KEYS; none leaves SSE-S3 off. */
function gatewayMasterKeys(config: NodeConfig): MasterKeys | undefined {
  const found = findMasterKeys({ sseKeyFile: config.gateway.sseKeyFile, env: process.env });
  if (found !== undefined && !found.ok) throw new ConfigError(found.problem);
  return found?.masterKeys;
}

/** Says whether SSE-S3 is on and under which key ids; the keys themselves never reach a log. */
function logMasterKeys(logger: Logger, masterKeys: MasterKeys | undefined, sseKeyFile: string | undefined): void {
  if (masterKeys === undefined) {
    logger.info(`SSE-S3 is off: no master keys are configured (gateway.sseKeyFile, --sse-key-file or ${SSE_KEYS_ENV})`);
    return;
  }
  logger.info('SSE-S3 master keys loaded', { current: masterKeys.current, keyIds: [...masterKeys.keys.keys()], from: sseKeyFile ?? SSE_KEYS_ENV });
}

/** Fills an empty manager's state from a backup, before anything starts; any problem stops the start. */
async function restoreFromBackup(config: NodeConfig, nodeState: NodeState, secrets: SecretBox, file: string, logger: Logger): Promise<void> {
  if (config.role !== 'manager') throw new ConfigError('--restore is for managers (--role manager)');
  const backup = readManagerBackup(file);
  if (!backup.ok) throw new ConfigError(backup.problem);
  const restored = await restoreManagerState(nodeState, backup.snapshot, secrets, randomBytes(12).toString('hex'));
  if (!restored.ok) throw new ConfigError(`cannot restore ${file} into ${config.dataDir}: ${restored.problem}`);
  logger.info('manager state restored from a backup; a new control plane starts from it', {
    file,
    clusterId: backup.snapshot.id.clusterId,
    index: backup.snapshot.index,
    records: recordCount(backup.snapshot.tables),
    takenAt: new Date(backup.createdAtMs).toISOString(),
  });
}

/** Brings the state an earlier release wrote up to date: users' secrets sealed, none unreadable. */
async function upgradeState(config: NodeConfig, nodeState: NodeState, secrets: SecretBox, logger: Logger): Promise<void> {
  switch (config.role) {
    case 'manager': {
      const { rewritten, unreadable } = await upgradeManagerState(nodeState, secrets);
      if (rewritten > 0) logger.info('users\' secrets sealed at rest', { users: rewritten });
      if (unreadable.length > 0) {
        // Starting without them would lose those users, or let their ids be taken by new ones.
        const problem =
          `the secrets of ${unreadable.length} user(s) (${unreadable.slice(0, 5).join(', ')}) in ${config.dataDir}/state cannot be decrypted with this cluster cookie; ` +
          'start the manager with the cookie its users were stored with';
        logger.error('users\' secrets cannot be decrypted; not starting', { users: unreadable.length });
        throw new ConfigError(problem);
      }
      return;
    }
    case 'gateway':
      return upgradeGatewayState(nodeState, secrets, logger);
    case 'storage':
      return;
  }
}

/** --console-port wins over the file's `console.port`, keeping its other console settings. */
function consoleFlags(file: unknown, flags: NodeFlags): unknown {
  if (flags.consolePort === undefined) return file;
  const base = typeof file === 'object' && file !== null && !Array.isArray(file) ? (file as RawSettings) : {};
  return { ...base, port: flags.consolePort };
}

/** --alias wins over the file's `storage.alias`. */
function storageFlags(file: unknown, flags: NodeFlags): unknown {
  if (flags.alias === undefined) return file;
  const base = typeof file === 'object' && file !== null && !Array.isArray(file) ? file : {};
  return { ...base, alias: flags.alias };
}

/** --http-host, --http-port and --sse-key-file win over the file's `gateway` settings, which they sit inside. */
function gatewayFlags(file: unknown, flags: NodeFlags): unknown {
  const base = typeof file === 'object' && file !== null && !Array.isArray(file) ? (file as RawSettings) : {};
  const flagged = { httpHost: flags.httpHost, httpPort: flags.httpPort, sseKeyFile: flags.sseKeyFile, nfs: nfsFlags(base.nfs, flags), rest: restFlags(base.rest, flags) };
  if (Object.values(flagged).every((value) => value === undefined)) return file;
  return overlay(base, flagged);
}

/** Any --rest-* flag turns the REST API on; each wins over its setting in the file's `gateway.rest`. */
function restFlags(file: unknown, flags: NodeFlags): unknown {
  const allow = (flags.restAllow ?? []).flatMap((text) => String(text).split(',')).map((cidr) => cidr.trim()).filter((cidr) => cidr !== '');
  const flagged = { host: flags.restHost, port: flags.restPort, allow: allow.length > 0 ? allow : undefined, user: flags.restUser };
  if (Object.values(flagged).every((value) => value === undefined)) return undefined;
  const base = typeof file === 'object' && file !== null && !Array.isArray(file) ? (file as RawSettings) : {};
  return overlay({ ...base, enabled: undefined }, flagged);
}

/** --protocol nfs turns NFS on; --nfs-host, --nfs-port and --nfs-export win over the file's `gateway.nfs`. */
function nfsFlags(file: unknown, flags: NodeFlags): unknown {
  const exports = (flags.nfsExport ?? []).map((text) => {
    const parsed = parseExportFlag(String(text));
    if (typeof parsed === 'string') throw new ConfigError(parsed);
    return { bucket: parsed.bucket, clients: parsed.clients, user: parsed.user };
  });
  const flagged = {
    enabled: (flags.protocol ?? []).map(String).includes('nfs') ? true : undefined,
    host: flags.nfsHost,
    port: flags.nfsPort,
    exports: exports.length > 0 ? exports : undefined,
  };
  if (Object.values(flagged).every((value) => value === undefined)) return undefined;
  const base = typeof file === 'object' && file !== null && !Array.isArray(file) ? (file as RawSettings) : {};
  return overlay(base, flagged);
}
