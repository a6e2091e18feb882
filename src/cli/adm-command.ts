/**
 * The commands of `leofs-adm` (also `leofs adm`, and `adm` inside `leofs shell`), named as in LeoFS.
 * Each turns its arguments into an admin command, sends it to the manager, and prints the answer: a
 * table for people, or the answer itself with --json. Exit status: 0 done, 1 refused by the manager
 * (the cookie included), 2 manager unreachable or silent. The shell runs the same commands in-process
 * over its own connection, and prints an exit status other than 0 as an error.
 */
import yargs, { type Argv } from 'yargs';
import type { AdminCommand, AdminResult } from '../protocol/cluster/admin.js';
import { BUCKET_ACLS, isBucketAcl, type UserRole } from '../core/auth-snapshot.js';
import { revocationOfAll } from '../core/console-sessions.js';
import type { AdminClient } from './admin-client.js';
import { adminConnectionOptions, connectFromFlags, EXIT_REFUSED, EXIT_UNREACHABLE } from './admin-connection.js';
import { formatResult, recoveryRunning } from './adm-format.js';
import type { BackupHeader, StateSnapshot } from '../protocol/cluster/consensus.js';
import { fetchBackup } from './backup-pages.js';
import { writeManagerBackup } from '../store/manager-backup.js';
import { recordCount } from '../core/consensus/snapshot-pages.js';
import { linkJoinProblem, MIN_LINK_SECRET_LENGTH } from '../protocol/cluster/cluster-link.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const WATCH_INTERVAL_MS = 1_000;

/** Where a command's output goes: the process's streams for leofs-adm, the shell's for `adm`. */
export interface AdmOutput {
  /** A block of output; the newline after it is added here. */
  out(text: string): Promise<void>;
  /** What went wrong, on one line. */
  err(text: string): Promise<void>;
  /** A --watch redraws its table in place (a terminal) instead of appending each refresh. */
  readonly redraw: boolean;
  readonly formatJson: (value: unknown) => string;
  /** Ends a --watch early (the shell's Ctrl-C); the work itself goes on. */
  readonly signal?: AbortSignal;
}

type Args = Record<string, unknown>;

interface CommandSpec {
  readonly usage: string;
  readonly describe: string;
  readonly options?: (yargs: Argv) => Argv;
  /** The admin command, or a usage error to print. */
  readonly build: (args: Args) => AdminCommand | string;
  /** After the command, follow the rebalance until it is done. */
  readonly watch?: (args: Args) => boolean;
}

const str = (args: Args, name: string): string => String(args[name]);

const COMMANDS: readonly CommandSpec[] = [
  {
    usage: 'status [node]',
    describe: 'cluster settings, ring and members; or one node in detail',
    build: (args) => (args.node === undefined ? { command: 'status' } : { command: 'status', node: str(args, 'node') }),
  },
  {
    usage: 'start',
    describe: 'create the ring from the attached storage nodes and fix N, W, R, D',
    options: (yargs) =>
      yargs
        .option('replicas', { alias: 'n', type: 'number', demandOption: true, describe: 'N: copies of each object' })
        .option('write-quorum', { alias: 'w', type: 'number', describe: 'W: acks a write waits for (default: a majority of N)' })
        .option('read-quorum', { alias: 'r', type: 'number', describe: 'R: replicas a read asks (default: 1)' })
        .option('delete-quorum', { alias: 'd', type: 'number', describe: 'D: acks a delete waits for (default: a majority of N)' })
        .option('rack-aware', { type: 'boolean', default: false, describe: 'place replicas on distinct racks first' }),
    build: (args) => {
      const n = Number(args.replicas);
      const majority = Math.floor(n / 2) + 1;
      const pick = (name: string, fallback: number): number => (args[name] === undefined ? fallback : Number(args[name]));
      return { command: 'start', n, w: pick('write-quorum', majority), r: pick('read-quorum', 1), d: pick('delete-quorum', majority), rackAware: args['rack-aware'] === true };
    },
  },
  {
    usage: 'whereis <path>',
    describe: 'where BUCKET/KEY lives: its replicas and what each holds',
    build: (args) => {
      const path = bucketAndKey(str(args, 'path'));
      return path ? { command: 'whereis', ...path } : 'whereis needs BUCKET/KEY';
    },
  },
  {
    usage: 'create-user <user>',
    describe: 'create a user; prints its access key id and secret (given keys import them)',
    options: (yargs) =>
      yargs
        .option('access-key', { type: 'string', describe: 'use this access key id' })
        .option('secret', { type: 'string', describe: 'use this secret access key' })
        .option('role', { type: 'string', describe: 'admin or normal (default: normal)' })
        .option('display-name', { type: 'string', describe: 'the name S3 shows as its DisplayName (default: the user id)' }),
    build: (args) => {
      if ((args['access-key'] === undefined) !== (args.secret === undefined)) return 'give both --access-key and --secret, or neither';
      const role = args.role === undefined ? undefined : parseRole(str(args, 'role'));
      if (role === null) return `unknown role ${str(args, 'role')}; use admin or normal`;
      return withDefined({ command: 'create_user', userId: str(args, 'user') }, { role, accessKeyId: args['access-key'], secretAccessKey: args.secret, displayName: args['display-name'] });
    },
  },
  {
    usage: 'import-user <user> <accessKeyId> <secretAccessKey>',
    describe: 'add a user with the keys it already has',
    options: (yargs) => yargs.option('role', { type: 'string', describe: 'admin or normal (default: normal)' }),
    build: (args) => {
      const role = args.role === undefined ? undefined : parseRole(str(args, 'role'));
      if (role === null) return `unknown role ${str(args, 'role')}; use admin or normal`;
      return withDefined(
        { command: 'create_user', userId: str(args, 'user'), accessKeyId: str(args, 'accessKeyId'), secretAccessKey: str(args, 'secretAccessKey') },
        { role },
      );
    },
  },
  { usage: 'delete-user <user>', describe: 'delete a user (it must own no bucket)', build: (args) => ({ command: 'delete_user', userId: str(args, 'user') }) },
  { usage: 'get-users', describe: 'list users and their access key ids', build: () => ({ command: 'get_users' }) },
  {
    usage: 'add-access-key <user>',
    describe: 'give a user a second access key and print its secret, once (to rotate: add one, move clients to it, delete the old one)',
    build: (args) => ({ command: 'add_access_key', userId: str(args, 'user') }),
  },
  {
    usage: 'delete-access-key <user> <accessKeyId>',
    describe: 'delete one of a user\'s access keys; requests signed with it are refused from then on (its last key stays)',
    build: (args) => ({ command: 'delete_access_key', userId: str(args, 'user'), accessKeyId: str(args, 'accessKeyId') }),
  },
  { usage: 'get-access-keys <user>', describe: "list a user's access key ids, oldest first", build: (args) => ({ command: 'get_access_keys', userId: str(args, 'user') }) },
  {
    usage: 'revoke-console-sessions <user>',
    describe: "end the user's web console sessions on every manager (with --key, only those logged in with that access key)",
    options: (yargs) => yargs.option('key', { type: 'string', describe: 'an access key id of the user' }),
    // Stamped with this machine's clock: the revocation's margin covers its skew from the managers'.
    build: (args) => {
      const key = args['key'];
      const revocation = typeof key === 'string' && key.length > 0 ? revocationOfAll('access_key', key, Date.now()) : revocationOfAll('user', str(args, 'user'), Date.now());
      return { command: 'revoke_console_sessions', revocation };
    },
  },
  {
    usage: 'update-user-role <user> <role>',
    describe: 'make a user admin or normal (LeoFS role ids 9 and 1 work too)',
    build: (args) => {
      const role = parseRole(str(args, 'role'));
      return role === null ? `unknown role ${str(args, 'role')}; use admin or normal` : { command: 'update_user_role', userId: str(args, 'user'), role };
    },
  },
  {
    usage: 'add-bucket <bucket> <accessKeyId>',
    describe: 'create a bucket owned by the holder of the access key',
    options: (yargs) => yargs.option('acl', { type: 'string', describe: 'private (default), public-read, public-read-write or authenticated-read' }),
    build: (args) => {
      if (args.acl !== undefined && !isBucketAcl(args.acl)) return `unknown ACL ${String(args.acl)}; use ${BUCKET_ACLS.join(', ')}`;
      return withDefined({ command: 'add_bucket', bucket: str(args, 'bucket'), accessKeyId: str(args, 'accessKeyId') }, { acl: args.acl });
    },
  },
  {
    usage: 'delete-bucket <bucket> <accessKeyId>',
    describe: "delete a bucket with everything in it (gone at once; storage nodes remove the data in the background); the access key must be its owner's",
    build: (args) => ({ command: 'delete_bucket', bucket: str(args, 'bucket'), accessKeyId: str(args, 'accessKeyId') }),
  },
  ...(['start', 'suspend', 'resume', 'status'] as const).map(
    (action): CommandSpec => ({
      usage: `compact-${action} <node>${action === 'start' ? ' [all]' : ''}`,
      describe: {
        start: "give a storage node's free LMDB pages back to the file system, while it serves",
        suspend: "stop a storage node's compaction (its copy is dropped) and hold new ones until resumed",
        resume: "let a storage node's compaction run again",
        status: "a storage node's compaction: state, last run, sizes before and after",
      }[action],
      build: (args) => {
        if (action === 'start' && args.all !== undefined && args.all !== 'all') return 'compact-start compacts the whole node: give no target, or all';
        return { command: 'compact', node: str(args, 'node'), action };
      },
    }),
  ),
  ...(['detach', 'suspend', 'resume', 'rollback'] as const).map(
    (action): CommandSpec => ({
      usage: `${action} <node>`,
      describe: {
        detach: 'mark a storage node to leave the ring; the next rebalance moves its data to the others',
        suspend: 'leave a running storage node out of requests (for maintenance); its data stays where it is',
        resume: 'let a suspended storage node take requests again',
        rollback: 'undo a detach that no rebalance has carried out yet',
      }[action],
      build: (args) => ({ command: 'member_action', action, node: str(args, 'node') }),
    }),
  ),
  {
    usage: 'rebalance',
    describe: 'put attached nodes into the ring and detached ones out of it, and move their data (while one runs, --rate changes its rate)',
    options: (yargs) =>
      yargs
        .option('rate', { type: 'number', describe: 'MB/s (10^6 bytes) each receiving node may pull; 0 for no limit (default: storage.rebalanceRateMBps of the manager)' })
        .option('watch', { type: 'boolean', default: false, describe: 'draw its progress until it is done' }),
    build: (args) => {
      if (args.rate === undefined) return { command: 'rebalance' };
      const rate = Number(args.rate);
      if (!Number.isFinite(rate) || rate < 0) return `--rate must be a number of MB/s of at least 0 (got ${String(args.rate)})`;
      return { command: 'rebalance', rateBytesPerSec: Math.round(rate * 1e6) };
    },
    watch: (args) => args.watch === true,
  },
  {
    usage: 'rebalance-status',
    describe: 'how far the running rebalance is: per receiving node segments, objects and bytes moved, rate and ETA',
    options: (yargs) => yargs.option('watch', { type: 'boolean', default: false, describe: 'refresh it until the rebalance is done' }),
    build: () => ({ command: 'rebalance_status' }),
    watch: (args) => args.watch === true,
  },
  {
    usage: 'actors <node>',
    describe: "a node's actors by path: status, incarnation, mailbox depth, crashes and the last crash (leofs shell draws them as a tree)",
    build: (args) => ({ command: 'actors', node: str(args, 'node') }),
  },
  {
    usage: 'metrics-history [node]',
    describe: "the last hour of requests per node, as the managers sample each node's counters: rate, latency (p50, p99) and bytes in and out; with a node, minute by minute",
    build: (args) => (args.node === undefined ? { command: 'metrics_history' } : { command: 'metrics_history', node: str(args, 'node') }),
  },
  { usage: 'mq-stats <node>', describe: "a storage node's durable queues (repair, revert) with their state and items, its anti-entropy and rebalance hand-off", build: (args) => ({ command: 'mq_stats', node: str(args, 'node') }) },
  {
    usage: 'mq-suspend <node> [queue]',
    describe: "hold a storage node's queue (repair or revert; all when none is named): items are kept and taken, not worked",
    build: (args) => withDefined({ command: 'mq_suspend', node: str(args, 'node') }, { queue: args.queue === undefined ? undefined : str(args, 'queue') }),
  },
  {
    usage: 'mq-resume <node> [queue]',
    describe: "let a storage node's held queue (all when none is named) be worked again",
    build: (args) => withDefined({ command: 'mq_resume', node: str(args, 'node') }, { queue: args.queue === undefined ? undefined : str(args, 'queue') }),
  },
  {
    usage: 'recover-file <path>',
    describe: 'make every replica of BUCKET/KEY (and of its chunks) equal to the newest',
    build: (args) => {
      const path = bucketAndKey(str(args, 'path'));
      return path ? { command: 'recover_file', ...path } : 'recover-file needs BUCKET/KEY';
    },
  },
  {
    usage: 'recover-node <node>',
    describe: 'refill a storage node (whose disk was lost, say) from the other holders of its ranges',
    options: (yargs) => yargs.option('watch', { type: 'boolean', default: false, describe: 'draw its progress until it is done' }),
    build: (args) => ({ command: 'recover_node', node: str(args, 'node') }),
    watch: (args) => args.watch === true,
  },
  {
    usage: 'recover-consistency <node>',
    describe: 'compare every range a storage node holds with its other holders now and repair what differs (a full anti-entropy pass)',
    options: (yargs) => yargs.option('watch', { type: 'boolean', default: false, describe: 'draw its progress until it is done' }),
    build: (args) => ({ command: 'recover_consistency', node: str(args, 'node') }),
    watch: (args) => args.watch === true,
  },
  {
    usage: 'recovery-status',
    describe: 'how far the recoveries asked of the storage nodes are: per node ranges compared, keys repaired, rate and ETA',
    options: (yargs) => yargs.option('watch', { type: 'boolean', default: false, describe: 'refresh it until every recovery is done' }),
    build: () => ({ command: 'recovery_status' }),
    watch: (args) => args.watch === true,
  },
  { usage: 'recover-ring <node>', describe: "send the manager's ring to a node again", build: (args) => ({ command: 'recover_ring', node: str(args, 'node') }) },
  { usage: 'du <node>', describe: "what a storage node holds and what it takes on disk", build: (args) => ({ command: 'du', node: str(args, 'node') }) },
  {
    usage: 'delete-bucket-stats [bucket]',
    describe: 'how far each storage node is with removing the data of deleted buckets',
    build: (args) => (args.bucket === undefined ? { command: 'delete_bucket_stats' } : { command: 'delete_bucket_stats', bucket: str(args, 'bucket') }),
  },
  {
    usage: 'lifecycle-status [bucket]',
    describe: "each storage node's lifecycle passes per bucket: running or idle, when the last finished, what they did",
    build: (args) => (args.bucket === undefined ? { command: 'lifecycle_status' } : { command: 'lifecycle_status', bucket: str(args, 'bucket') }),
  },
  {
    usage: 'lifecycle-explain <bucket> <key>',
    describe: "why a key is or is not expired by its bucket's lifecycle rules now, rule by rule",
    build: (args) => ({ command: 'lifecycle_explain', bucket: str(args, 'bucket'), key: str(args, 'key') }),
  },
  { usage: 'get-buckets', describe: 'list every bucket', build: () => ({ command: 'get_buckets' }) },
  {
    usage: 'bucket-stats [bucket]',
    describe: "each bucket's owner, objects and size (every version's bytes), summed over the storage nodes; a count up to 30 s old is shown again",
    options: (yargs) => yargs.option('fresh', { type: 'boolean', default: false, describe: 'count now, even if a recent count is kept' }),
    build: (args) => ({ command: 'bucket_stats', ...(args.bucket === undefined ? {} : { bucket: str(args, 'bucket') }), ...(args.fresh === true ? { fresh: true } : {}) }),
  },
  { usage: 'get-bucket <accessKeyId>', describe: 'list the buckets of the holder of the access key', build: (args) => ({ command: 'get_bucket', accessKeyId: str(args, 'accessKeyId') }) },
  {
    usage: 'chown-bucket <bucket> <accessKeyId>',
    describe: 'give a bucket to the holder of the access key',
    build: (args) => ({ command: 'chown_bucket', bucket: str(args, 'bucket'), accessKeyId: str(args, 'accessKeyId') }),
  },
  {
    usage: 'update-acl <bucket> <accessKeyId> <acl>',
    describe: "change a bucket's canned ACL (private, public-read, public-read-write, authenticated-read)",
    build: (args) => {
      const acl = str(args, 'acl');
      if (!isBucketAcl(acl)) return `unknown ACL ${acl}; use ${BUCKET_ACLS.join(', ')}`;
      return { command: 'update_acl', bucket: str(args, 'bucket'), accessKeyId: str(args, 'accessKeyId'), acl };
    },
  },
  { usage: 'add-endpoint <host>', describe: 'serve buckets as <bucket>.<host> (virtual-host style)', build: (args) => ({ command: 'add_endpoint', host: str(args, 'host') }) },
  { usage: 'delete-endpoint <host>', describe: 'stop serving buckets under a host name', build: (args) => ({ command: 'delete_endpoint', host: str(args, 'host') }) },
  { usage: 'get-endpoints', describe: 'list the endpoints', build: () => ({ command: 'get_endpoints' }) },
  {
    usage: 'dump-ring [node]',
    describe: "print the manager's ring document (or a node's copy) as JSON",
    build: (args) => (args.node === undefined ? { command: 'dump_ring' } : { command: 'dump_ring', node: str(args, 'node') }),
  },
  {
    usage: 'update-log-level <node> <level>',
    describe: "change a node's log level (debug, info, warn, error)",
    build: (args) => ({ command: 'update_log_level', node: str(args, 'node'), level: str(args, 'level') }),
  },
  {
    usage: 'update-property <node> <key> <value>',
    describe: "change a tunable of a running node: log_level, or a watchdog threshold as watchdog.<name> (see status NODE)",
    build: (args) => ({ command: 'update_property', node: str(args, 'node'), key: str(args, 'key'), value: str(args, 'value') }),
  },
  {
    usage: 'purge-cache <path>',
    describe: "drop BUCKET/KEY from every gateway's object cache",
    build: (args) => {
      const path = bucketAndKey(str(args, 'path'));
      return path ? { command: 'purge_cache', ...path } : 'purge-cache needs BUCKET/KEY';
    },
  },
  {
    usage: 'version',
    describe: 'the release every node of the cluster runs',
    build: () => ({ command: 'version' }),
  },
  {
    usage: 'join-cluster <manager> <clusterId>',
    describe: "link this cluster with another (multi-cluster replication): MANAGER is the host:port of one of its managers' cluster ports, CLUSTER_ID its id (its cluster-status shows it); its operator runs join-cluster for this cluster with the same --secret",
    options: (yargs) =>
      yargs
        .option('secret', { type: 'string', demandOption: true, describe: `the link's own secret, the same on both clusters (at least ${MIN_LINK_SECRET_LENGTH} characters)` })
        .option('buckets', { type: 'string', describe: 'ship only the objects of these buckets to it (names, comma-separated); every bucket without it' }),
    build: (args) => {
      const joined = { manager: str(args, 'manager'), clusterId: str(args, 'clusterId'), secret: str(args, 'secret') };
      const named = typeof args.buckets === 'string' ? args.buckets.split(',').map((bucket) => bucket.trim()).filter((bucket) => bucket.length > 0) : undefined;
      return linkJoinProblem(joined.manager, joined.clusterId, joined.secret, named) ?? { command: 'join_cluster', ...joined, ...(named !== undefined ? { buckets: named } : {}) };
    },
  },
  { usage: 'remove-cluster <clusterId>', describe: 'end the link with another cluster: nothing more is shipped to it, and its nodes are refused', build: (args) => ({ command: 'remove_cluster', clusterId: str(args, 'clusterId') }) },
  {
    usage: 'cluster-status',
    describe: "this cluster's id, and each linked cluster: its link, last contact, storage nodes, and what this cluster's storage nodes still have to ship to it (keys queued, lag) and have shipped",
    build: () => ({ command: 'cluster_status' }),
  },
  {
    usage: 'backup-manager <file>',
    describe: "write a consistent snapshot of the managers' state (members, rings, users, buckets) to FILE, for leofs node --role manager --restore",
    build: () => ({ command: 'backup_manager' }),
  },
];

/** The name of every command, for the shell's completion. */
export const ADM_COMMAND_NAMES: readonly string[] = COMMANDS.map((spec) => spec.usage.split(' ')[0]!);
/** The commands whose first argument is a node. */
export const ADM_NODE_COMMANDS: readonly string[] = COMMANDS.filter((spec) => /^(<node>|\[node\])$/.test(spec.usage.split(' ')[1] ?? '')).map((spec) => spec.usage.split(' ')[0]!);

type CommandHandler = (args: Args, command: AdminCommand | string, watch: boolean) => Promise<void>;

/** Registers --json and every command on `yargs`; `handle` runs the one given. */
function admCommandSet(yargs: Argv, handle: CommandHandler): Argv {
  let out = yargs.option('json', { type: 'boolean', default: false, describe: 'print the answer as JSON' });
  for (const spec of COMMANDS) {
    out = out.command(
      spec.usage,
      spec.describe,
      (y) => (spec.options ? spec.options(y) : y),
      (argv) => handle(argv as Args, spec.build(argv as Args), spec.watch?.(argv as Args) === true),
    );
  }
  return out;
}

/** Registers the connection options and every command on `yargs`, for the leofs-adm executable. */
export function admCommands(yargs: Argv): Argv {
  const withOptions = adminConnectionOptions(yargs).option('timeout', { type: 'number', default: DEFAULT_TIMEOUT_MS, describe: 'milliseconds to wait for an answer' });
  return admCommandSet(withOptions, async (args, command, watch) => process.exit(await runFromCommandLine(args, command, watch)));
}

const processOutput: AdmOutput = {
  out: (text) => write(process.stdout, `${text}\n`),
  err: (text) => write(process.stderr, `leofs-adm: ${text}\n`),
  redraw: process.stdout.isTTY === true,
  formatJson: (value) => JSON.stringify(value, null, 2),
};

async function runFromCommandLine(args: Args, command: AdminCommand | string, watch: boolean): Promise<number> {
  if (typeof command === 'string') {
    await processOutput.err(command);
    return EXIT_REFUSED;
  }
  const connected = await connectFromFlags(args, { timeoutMs: Number(args.timeout) });
  if (!connected.ok) {
    await processOutput.err(connected.problem);
    return connected.exitCode;
  }
  const { client } = connected;
  try {
    return await execute(client, args, command, watch, processOutput);
  } finally {
    await client.close();
  }
}

/**
 * Runs one command line of leofs-adm (without the connection options) over an open client, as the
 * shell's `adm` does; usage errors and --help are printed to `output` as well. Its exit status.
 */
export async function runAdmCommandLine(words: readonly string[], client: AdminClient, output: AdmOutput): Promise<number> {
  let status: number | undefined;
  const parser = admCommandSet(yargs().scriptName('adm').exitProcess(false).strict().version(false).help(), async (args, command, watch) => {
    status = await execute(client, args, command, watch, output);
  }).demandCommand(1, 'name a command, e.g. adm status');
  let problem: string | undefined;
  let usage = '';
  try {
    await parser.parseAsync([...words], {}, (error: Error | undefined, _argv: unknown, text: string) => {
      usage = text;
      if (error) problem = error.message;
    });
  } catch (error) {
    problem ??= error instanceof Error ? error.message : String(error);
  }
  if (problem !== undefined) {
    await output.err(`${problem} (adm --help lists the commands, adm COMMAND --help explains one)`);
    return EXIT_REFUSED;
  }
  if (status === undefined) {
    // --help: yargs handed back the text instead of printing it.
    await output.out(usage);
    return 0;
  }
  return status;
}

async function execute(client: AdminClient, args: Args, command: AdminCommand | string, watch: boolean, output: AdmOutput): Promise<number> {
  if (typeof command === 'string') {
    await output.err(command);
    return EXIT_REFUSED;
  }
  const json = args.json === true;
  const reply = await client.run(command);
  if (!reply.ok) {
    const unreachable = reply.code === 'Timeout' || reply.code === 'NodeDown' || reply.code === 'NoProc';
    await output.err(`${reply.message} (${reply.code})`);
    return unreachable ? EXIT_UNREACHABLE : EXIT_REFUSED;
  }
  if (reply.result.kind === 'manager_backup') return saveBackup(str(args, 'file'), client, reply.result.backup, Number(args.timeout ?? DEFAULT_TIMEOUT_MS), json, output);
  const progress = watch ? progressOf(command) : undefined;
  if (!(progress && reply.result.kind === progress.status.command)) await output.out(json ? output.formatJson(reply.result) : formatResult(reply.result));
  return progress ? await watchProgress(client, progress, json, output) : 0;
}

/** Writes the backup where this command runs (never printed: users' secrets are in it, sealed). */
async function saveBackup(file: string, client: AdminClient, backup: BackupHeader, timeoutMs: number, json: boolean, output: AdmOutput): Promise<number> {
  let snapshot: StateSnapshot;
  try {
    snapshot = await fetchBackup(client, backup, timeoutMs);
  } catch (error) {
    await output.err(`cannot fetch the backup from ${client.managerNode}: ${(error as Error).message}`);
    return EXIT_UNREACHABLE;
  }
  try {
    writeManagerBackup(file, snapshot, Date.now());
  } catch (error) {
    await output.err(`cannot write the backup to ${file}: ${(error as Error).message}`);
    return EXIT_REFUSED;
  }
  const summary = { file, records: recordCount(snapshot.tables), index: snapshot.index, term: snapshot.term, clusterId: snapshot.id.clusterId };
  await output.out(json ? output.formatJson(summary) : `manager state backed up to ${file}: ${summary.records} records at log index ${summary.index} of cluster ${summary.clusterId}`);
  return 0;
}

interface Progress {
  readonly status: AdminCommand;
  /** Whether the status says the work runs, is done, or was lost (why). */
  readonly state: (result: AdminResult) => 'running' | 'done' | { readonly lost: string };
}

/** The status a --watch of `command` redraws, and what it says of the work. */
function progressOf(command: AdminCommand): Progress | undefined {
  switch (command.command) {
    case 'rebalance':
    case 'rebalance_status':
      return { status: { command: 'rebalance_status' }, state: (result) => (result.kind === 'rebalance_status' && result.running ? 'running' : 'done') };
    case 'recover_node':
    case 'recover_consistency':
    case 'recovery_status': {
      // A node seen recovering that stops answering is waited for; one that answers without its
      // recovery was restarted meanwhile, and the recovery is lost.
      const seenRunning = new Set<string>();
      return {
        status: { command: 'recovery_status' },
        state: (result) => {
          if (result.kind !== 'recovery_status') return 'done';
          const restarted = result.nodes.filter(({ node, recovery }) => recovery === null && seenRunning.has(node)).map(({ node }) => node);
          if (restarted.length > 0) return { lost: `${restarted.join(', ')} restarted before its recovery was done; ask for it again` };
          for (const { node, recovery } of result.nodes) if (recovery && !recovery.finished) seenRunning.add(node);
          const waiting = result.unreachable.some((node) => seenRunning.has(node));
          return recoveryRunning(result) || waiting ? 'running' : 'done';
        },
      };
    }
    default:
      return undefined;
  }
}

/** Prints the progress every second until the work is done (or lost, or the manager stops answering, or the watch is stopped). */
async function watchProgress(client: AdminClient, progress: Progress, json: boolean, output: AdmOutput): Promise<number> {
  for (;;) {
    const reply = await client.run(progress.status);
    if (!reply.ok) {
      await output.err(`${reply.message} (${reply.code})`);
      return EXIT_UNREACHABLE;
    }
    const text = json ? JSON.stringify(reply.result) : formatResult(reply.result);
    // On a terminal the table is redrawn in place; otherwise each refresh is appended.
    await output.out(output.redraw && !json ? `\x1b[H\x1b[2J${text}` : text);
    const state = progress.state(reply.result);
    if (state === 'done') return 0;
    if (state !== 'running') {
      await output.err(state.lost);
      return EXIT_REFUSED;
    }
    if (!(await pause(WATCH_INTERVAL_MS, output.signal))) return 0;
  }
}

/** Waits `ms`; false when `signal` ended the wait first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (waited: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stopped);
      resolve(waited);
    };
    const stopped = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', stopped, { once: true });
  });
}

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

/** BUCKET/KEY split at its first slash; undefined when either part is empty. */
function bucketAndKey(path: string): { bucket: string; key: string } | undefined {
  const slash = path.indexOf('/');
  return slash <= 0 || slash === path.length - 1 ? undefined : { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

function parseRole(text: string): UserRole | null {
  switch (text) {
    case 'admin':
    case '9':
      return 'admin';
    case 'normal':
    case 'general':
    case '1':
      return 'normal';
    default:
      return null;
  }
}

function withDefined<T extends AdminCommand>(base: T, extra: Args): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) out[name] = value;
  return out as T;
}
