/**
 * The manager's administration entry point: runs one admin command (protocol/cluster/admin.ts) by
 * asking the ring keeper, the auth actor and other nodes, and answers with data for the CLI to print.
 * It holds no state of its own, so each command runs on its own and a slow one (whereis asking
 * replicas) does not hold up the others.
 */
import type { ActorContext, Behavior } from '../../runtime/actor.js';
import { isRuntimeFailure, type RuntimeFailure } from '../../runtime/failures.js';
import type { Message, ReplyTo } from '../../runtime/refs.js';
import { assertNever } from '../../core/assert-never.js';
import type { Hlc } from '../../core/hlc.js';
import { keyPosition } from '../../core/ring/position.js';
import { preferenceList, readPreferenceList } from '../../core/ring/ring.js';
import { snapshotOf, type RingDocument, type RingSnapshot } from '../../core/ring/ring-document.js';
import { authRef, bucketDeletionRef, consensusRef, nodeInfoRef, ringCacheRef, ringKeeperRef } from '../../protocol/cluster/paths.js';
import { routerOf, type HeadLocalReply } from '../../protocol/cluster/storage.js';
import { parseAdminCommand, type AdminCommand, type AdminMessage, type AdminResult, type RecoverFileItem, type WhereisAnswer, type WhereisRow } from '../../protocol/cluster/admin.js';
import { antiEntropyRef, type RecoveryProgress } from '../../protocol/cluster/anti-entropy.js';
import { handoffRef } from '../../protocol/cluster/handoff.js';
import { consoleSessionsRef } from '../../protocol/cluster/console-sessions.js';
import { revocationOfAll, type SessionRevocation } from '../../core/console-sessions.js';
import { trafficSamplerRef } from '../../protocol/cluster/traffic.js';
import { httpListenerRef } from '../../protocol/cluster/http-listener.js';
import { alarmBoardRef, watchdogRef } from '../../protocol/cluster/watchdog.js';
import { lifecycleRef, type BucketLifecycleProgress } from '../../protocol/cluster/lifecycle.js';
import { WATCHDOG_THRESHOLD_NAMES } from '../../core/watchdog-rules.js';
import { recovererRef, type QueueStats } from '../../protocol/cluster/queues.js';
import { chunkKeysOf } from '../../core/chunk-layout.js';
import { compareHlc } from '../../core/hlc.js';
import type { ObjectMeta } from '../../core/object-meta.js';
import type {
  AddAccessKeyReply,
  AuthMessage,
  DeleteAccessKeyReply,
  GetAccessKeysReply,
  CheckSecretReply,
  ChownBucketReply,
  CreateBucketReply,
  CreateUserReply,
  DeleteUserReply,
  GetBucketReply,
  EndpointReply,
  GetUsersReply,
  ListBucketsReply,
  UpdateAclReply,
  UpdateUserRoleReply,
  UserByKeyReply,
} from '../../protocol/cluster/auth.js';
import type { ClusterStatus, MemberView, MemberActionReply, RebalanceReply, RebalanceStatus, RingKeeperMessage, StartReply } from '../../protocol/cluster/ring-keeper.js';
import type { BucketDeletionMessage, DeleteBucketReply, DeleteBucketStatsReply } from '../../protocol/cluster/bucket-deletion.js';
import { namespaceOf } from '../../core/bucket-namespace.js';
import { addSizes, EMPTY_BUCKET_SIZE, isBucketSize, type BucketSize } from '../../core/bucket-stats.js';
import { sumBacklogs, type NodeBacklog } from '../../core/link-backlog.js';
import { linkShipperRef, type LinkQueueStats } from '../../protocol/cluster/cluster-link.js';
import { linkKeeperRef, type LinkJoinReply, type LinkKeeperMessage, type LinkRemoveReply, type LinksReply } from '../../protocol/cluster/link-keeper.js';
import { ask } from '../../runtime/typed-ask.js';

export interface AdminOptions {
  /** Limit on each ask to the manager's own actors. */
  readonly localTimeoutMs?: number;
  /** Limit on each ask to another node (status of a node, whereis replicas). */
  readonly remoteTimeoutMs?: number;
  /** How long a complete bucket_stats result is answered again without asking the storage nodes. */
  readonly bucketStatsCacheMs?: number;
}

const DEFAULT_LOCAL_TIMEOUT_MS = 10_000;
const DEFAULT_REMOTE_TIMEOUT_MS = 5_000;
const DEFAULT_BUCKET_STATS_CACHE_MS = 30_000;
/** Different bucket_stats results kept (one per bucket asked about, and the one of every bucket). */
const MAX_BUCKET_STATS_CACHED = 64;

type BucketStatsResult = Extract<AdminResult, { kind: 'bucket_stats' }>;

type Failure = { readonly ok: false; readonly code: string; readonly message: string };

/** Whether this manager still leads (asked of its consensus actor; no answer in time counts as leading, so the command's own error is told). */
async function stillLeading(ctx: ActorContext<AdminMessage>): Promise<boolean> {
  const reply = await ask(ctx.system, consensusRef(ctx.system.node), { type: 'leader' }, CONSENSUS_ASK_TIMEOUT_MS);
  return isRuntimeFailure(reply) || reply.role === 'leader';
}

const CONSENSUS_ASK_TIMEOUT_MS = 2_000;

/** Asks one of the manager's own actors; resolves with the success reply, rejects with a refusal. */
type Asker<M extends Message> = <R>(build: (replyTo: ReplyTo<R>) => M) => Promise<Exclude<R, Failure>>;

/** Thrown inside a command to answer with an error; never escapes the actor. */
class Refused extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function adminBehavior(options: AdminOptions = {}): Behavior<null, AdminMessage> {
  const localTimeoutMs = options.localTimeoutMs ?? DEFAULT_LOCAL_TIMEOUT_MS;
  const remoteTimeoutMs = options.remoteTimeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS;
  const bucketStatsCacheMs = options.bucketStatsCacheMs ?? DEFAULT_BUCKET_STATS_CACHE_MS;
  /**
   * bucket_stats results by the bucket asked about ('' for all): a count under way is joined, and a
   * complete one is answered again for bucketStatsCacheMs, so that a console refreshed often does not
   * walk the storage nodes each time. A partial result or a failure is not kept.
   */
  const bucketStatsCache = new Map<string, { readonly pending: Promise<BucketStatsResult>; doneAtMs?: number }>();

  return {
    accepts: ['admin'],
    init: () => null,
    receive(state, message, ctx) {
      const parsed = parseAdminCommand(message.command);
      if (typeof parsed === 'string') {
        ctx.system.reply(message.replyTo, { ok: false, code: 'BadCommand', message: parsed });
        return state;
      }
      void run(parsed, ctx).then(
        (result) => ctx.system.reply(message.replyTo, { ok: true, result }),
        async (error: unknown) => {
          if (!(await stillLeading(ctx))) {
            // The duties' writes fail once the office is lost: say that, not which duty gave up.
            ctx.log.warn('admin command failed: this manager no longer leads', { command: parsed.command });
            ctx.system.reply(message.replyTo, {
              ok: false,
              code: 'NotLeader',
              message: 'this manager lost the leadership of the managers while the command ran (it cannot reach a majority of them); the change may or may not be applied: run it again once a leader is elected',
            });
            return;
          }
          if (error instanceof Refused) {
            ctx.log.info('admin command refused', { command: parsed.command, code: error.code, reason: error.message });
            ctx.system.reply(message.replyTo, { ok: false, code: error.code, message: error.message });
          } else {
            ctx.log.error('admin command failed', { command: parsed.command, error });
            ctx.system.reply(message.replyTo, { ok: false, code: 'InternalError', message: error instanceof Error ? error.message : String(error) });
          }
        },
      );
      return state;
    },
  };

  async function run(command: AdminCommand, ctx: ActorContext<AdminMessage>): Promise<AdminResult> {
    const self = ctx.system.node;
    const keeper = ringKeeperRef(self);
    const auth = authRef(self);
    const onKeeper: Asker<RingKeeperMessage> = (build) => expectOk(ctx.system.ask(keeper, build, localTimeoutMs));
    const onAuth: Asker<AuthMessage> = (build) => expectOk(ctx.system.ask(auth, build, localTimeoutMs));
    const onLinks: Asker<LinkKeeperMessage> = (build) => expectOk(ctx.system.ask(linkKeeperRef(self), build, localTimeoutMs));
    const onDeletion: Asker<BucketDeletionMessage> = (build) => expectOk(ctx.system.ask(bucketDeletionRef(self), build, localTimeoutMs + remoteTimeoutMs * 3));
    const userIdOf = async (accessKeyId: string): Promise<string> => (await onAuth<UserByKeyReply>((replyTo) => ({ type: 'user_by_key', accessKeyId, replyTo }))).user.userId;

    switch (command.command) {
      case 'status': {
        const status = await onKeeper<ClusterStatus>((replyTo) => ({ type: 'status', replyTo }));
        if (command.node === undefined) {
          const { ok: _ok, ...rest } = status;
          const { ok: _done, ...rebalance } = await onKeeper<RebalanceStatus>((replyTo) => ({ type: 'rebalance_status', replyTo }));
          // The board is in memory and refilled within half a minute: a status without it still helps.
          const board = await ask(ctx.system, alarmBoardRef(self), { type: 'list' }, localTimeoutMs);
          const consensus = await ask(ctx.system, consensusRef(self), { type: 'status' }, localTimeoutMs);
          return {
            kind: 'cluster_status',
            ...rest,
            ...(rebalance.running ? { rebalance } : {}),
            alarms: board.ok ? board.nodes : [],
            managers: isRuntimeFailure(consensus) ? [] : consensus.managers,
          };
        }
        return { kind: 'node_status', ...(await nodeDetails(command.node, status, ctx)) };
      }
      case 'start': {
        const started = await onKeeper<StartReply>((replyTo) => ({
          type: 'start',
          settings: { n: command.n, w: command.w, r: command.r, d: command.d, rackAware: command.rackAware },
          replyTo,
        }));
        return { kind: 'started', epoch: started.epoch, checksum: started.checksum, members: started.members };
      }
      case 'whereis': {
        const found = await onAuth<GetBucketReply>((replyTo) => ({ type: 'get_bucket', name: command.bucket, replyTo }));
        return whereis(command.bucket, namespaceOf(found.bucket), command.key, ctx, onKeeper);
      }
      case 'create_user': {
        const { command: _name, ...fields } = command;
        const created = await onAuth<CreateUserReply>((replyTo) => ({ type: 'create_user', ...fields, replyTo }));
        return { kind: 'user', user: created.user };
      }
      case 'delete_user':
        // Revoked first: a deletion whose revocation failed would stand, and a retry would stop at NoSuchUser.
        await revokeConsoleSessions(revocationOfAll('user', command.userId, ctx.clock.now()), ctx);
        await onAuth<DeleteUserReply>((replyTo) => ({ type: 'delete_user', userId: command.userId, replyTo }));
        return { kind: 'done', message: `deleted user ${command.userId}` };
      case 'add_access_key': {
        const added = await onAuth<AddAccessKeyReply>((replyTo) => ({ type: 'add_access_key', userId: command.userId, replyTo }));
        return { kind: 'access_key', userId: added.userId, key: added.key };
      }
      case 'delete_access_key':
        // A console session logged in with the key ends with it, as an S3 request signed with it is refused; revoked first, as for a user.
        await revokeConsoleSessions(revocationOfAll('access_key', command.accessKeyId, ctx.clock.now()), ctx);
        await onAuth<DeleteAccessKeyReply>((replyTo) => ({ type: 'delete_access_key', userId: command.userId, accessKeyId: command.accessKeyId, replyTo }));
        return { kind: 'done', message: `deleted access key ${command.accessKeyId} of ${command.userId}; requests signed with it are refused once the gateways receive the change` };
      case 'get_access_keys': {
        const found = await onAuth<GetAccessKeysReply>((replyTo) => ({ type: 'get_access_keys', userId: command.userId, replyTo }));
        return { kind: 'access_keys', userId: found.userId, keys: found.keys };
      }
      case 'revoke_console_sessions':
        await revokeConsoleSessions(command.revocation, ctx);
        return { kind: 'done', message: `console sessions of ${command.revocation.kind} ${command.revocation.kind === 'session' ? '(one session)' : command.revocation.subject} end on every manager` };
      case 'check_credentials': {
        const checked = await onAuth<CheckSecretReply>((replyTo) => ({ type: 'check_secret', accessKeyId: command.accessKeyId, secretAccessKey: command.secretAccessKey, replyTo }));
        return { kind: 'credentials', user: checked.user };
      }
      case 'get_users':
        return { kind: 'users', users: (await onAuth<GetUsersReply>((replyTo) => ({ type: 'get_users', replyTo }))).users };
      case 'update_user_role': {
        // Only administrators log in to the console: one who is no longer ends the sessions open (revoked first, as for a deletion).
        if (command.role !== 'admin') await revokeConsoleSessions(revocationOfAll('user', command.userId, ctx.clock.now()), ctx);
        await onAuth<UpdateUserRoleReply>((replyTo) => ({ type: 'update_user_role', userId: command.userId, role: command.role, replyTo }));
        return { kind: 'done', message: `${command.userId} is now ${command.role}` };
      }
      case 'add_bucket': {
        const owner = await userIdOf(command.accessKeyId);
        const created = await onAuth<CreateBucketReply>((replyTo) => ({
          type: 'create_bucket',
          name: command.bucket,
          owner,
          ...(command.acl ? { acl: command.acl } : {}),
          replyTo,
        }));
        return { kind: 'bucket', bucket: created.bucket };
      }
      case 'delete_bucket': {
        const requester = await userIdOf(command.accessKeyId);
        const deleted = await onDeletion<DeleteBucketReply>((replyTo) => ({ type: 'delete_bucket', name: command.bucket, requester, withContent: true, replyTo }));
        const pending = deleted.storageNodes - deleted.notified;
        const purge = pending === 0 ? 'its data is being removed (see delete-bucket-stats)' : `its data is being removed; ${pending} of ${deleted.storageNodes} storage nodes will be told when they are back`;
        return { kind: 'done', message: `deleted bucket ${command.bucket}; ${purge}` };
      }
      case 'compact': {
        const { node, action } = command;
        const reply = await expectOk(
          ask(ctx.system, routerOf(node), { type: 'compaction', action }, remoteTimeoutMs),
          node,
        );
        const { ok: _ok, ...status } = reply;
        return { kind: 'compaction', node, ...status };
      }
      case 'du': {
        const { node } = command;
        // Counting walks every record of the node: it may take a while on a large store.
        const reply = await expectOk(
          ask(ctx.system, routerOf(node), { type: 'disk_usage' }, remoteTimeoutMs * 12),
          node,
        );
        const { ok: _ok, ...usage } = reply;
        return { kind: 'disk_usage', node, ...usage };
      }
      case 'bucket_stats':
        return cachedBucketStats(command.bucket, command.fresh === true, ctx, onKeeper, onAuth);
      case 'delete_bucket_stats': {
        const bucket = command.bucket;
        const reply = await onDeletion<DeleteBucketStatsReply>((replyTo) => (bucket === undefined ? { type: 'stats', replyTo } : { type: 'stats', name: bucket, replyTo }));
        return { kind: 'delete_bucket_stats', buckets: reply.buckets };
      }
      case 'lifecycle_status': {
        const { doc } = await onKeeper<{ ok: true; doc: RingDocument | null }>((replyTo) => ({ type: 'get_ring', replyTo }));
        const members = (doc?.current ?? []).map((member) => member.node);
        const replies = await Promise.all(members.map((node) => ask(ctx.system, lifecycleRef(node), { type: 'status' }, remoteTimeoutMs)));
        const nodes: Array<{ node: string; buckets: readonly BucketLifecycleProgress[] }> = [];
        const unreachable: string[] = [];
        members.forEach((node, index) => {
          const reply = replies[index]!;
          if (isRuntimeFailure(reply)) unreachable.push(node);
          else nodes.push({ node, buckets: reply.buckets.filter((progress) => command.bucket === undefined || progress.bucket === command.bucket) });
        });
        return { kind: 'lifecycle_status', nodes, unreachable };
      }
      case 'lifecycle_explain': {
        const { bucket } = await onAuth<GetBucketReply>((replyTo) => ({ type: 'get_bucket', name: command.bucket, replyTo }));
        if (bucket.lifecycle === undefined) throw new Refused('NoLifecycle', `${bucket.name} has no lifecycle rules`);
        const { doc } = await onKeeper<{ ok: true; doc: RingDocument | null }>((replyTo) => ({ type: 'get_ring', replyTo }));
        if (!doc) throw new Refused('NotStarted', 'the cluster has no ring yet; run start first');
        const namespace = namespaceOf(bucket);
        const config = bucket.lifecycle;
        // The key's first replica judges it; any other gives the same answer, from the same quorum read.
        for (const node of preferenceList(snapshotOf(doc).current, keyPosition(namespace, command.key), doc.settings.n)) {
          const reply = await ask(ctx.system, lifecycleRef(node), { type: 'explain', namespace, key: command.key, config, versioned: bucket.versioning !== undefined }, remoteTimeoutMs);
          if (isRuntimeFailure(reply)) continue;
          if (!reply.ok) throw new Refused(reply.code, reply.message);
          const { ok: _ok, ...answer } = reply;
          return { kind: 'lifecycle_explain', bucket: bucket.name, key: command.key, ...answer };
        }
        throw new Refused('NodeUnavailable', `no replica of ${command.key} answers`);
      }
      case 'get_buckets':
        return { kind: 'buckets', buckets: (await onAuth<ListBucketsReply>((replyTo) => ({ type: 'list_buckets', replyTo }))).buckets };
      case 'get_bucket': {
        const owner = await userIdOf(command.accessKeyId);
        return { kind: 'buckets', buckets: (await onAuth<ListBucketsReply>((replyTo) => ({ type: 'list_buckets', owner, replyTo }))).buckets };
      }
      case 'chown_bucket': {
        const owner = await userIdOf(command.accessKeyId);
        const changed = await onAuth<ChownBucketReply>((replyTo) => ({ type: 'chown_bucket', name: command.bucket, owner, replyTo }));
        return { kind: 'bucket', bucket: changed.bucket };
      }
      case 'update_acl': {
        const requester = await userIdOf(command.accessKeyId);
        const changed = await onAuth<UpdateAclReply>((replyTo) => ({ type: 'update_acl', name: command.bucket, requester, acl: command.acl, replyTo }));
        return { kind: 'bucket', bucket: changed.bucket };
      }
      case 'add_endpoint':
      case 'delete_endpoint':
      case 'get_endpoints': {
        const type = command.command;
        const reply = await onAuth<EndpointReply>((replyTo) =>
          type === 'get_endpoints' ? { type, replyTo } : { type, host: (command as { host: string }).host, replyTo },
        );
        return { kind: 'endpoints', endpoints: reply.endpoints };
      }
      case 'dump_ring': {
        if (command.node === undefined) {
          const { doc } = await onKeeper<{ ok: true; doc: RingDocument | null }>((replyTo) => ({ type: 'get_ring', replyTo }));
          return { kind: 'ring', node: self, checksum: doc ? snapshotOf(doc).checksum : 0, doc };
        }
        const node = command.node;
        const reply = await expectOk(
          ask(ctx.system, ringCacheRef(node), { type: 'get' }, remoteTimeoutMs),
          node,
        );
        return { kind: 'ring', node, checksum: reply.doc ? snapshotOf(reply.doc).checksum : 0, doc: reply.doc };
      }
      case 'update_log_level': {
        const { node, level } = command;
        await expectOk(ask(ctx.system, nodeInfoRef(node), { type: 'set_log_level', level }, remoteTimeoutMs), node);
        return { kind: 'done', message: `log level of ${node} is now ${level}` };
      }
      case 'member_action': {
        const changed = await onKeeper<MemberActionReply>((replyTo) => ({ type: 'member_action', action: command.action, node: command.node, replyTo }));
        return { kind: 'done', message: changed.message };
      }
      case 'rebalance': {
        const rate = command.rateBytesPerSec;
        const { ok: _ok, ...started } = await onKeeper<RebalanceReply>((replyTo) => ({ type: 'rebalance', ...(rate !== undefined ? { rateBytesPerSec: rate } : {}), replyTo }));
        return { kind: 'rebalance', ...started };
      }
      case 'rebalance_status': {
        const { ok: _ok, ...progress } = await onKeeper<RebalanceStatus>((replyTo) => ({ type: 'rebalance_status', replyTo }));
        return { kind: 'rebalance_status', ...progress };
      }
      case 'mq_stats':
        return queuesOf(command.node, ctx, await expectOk(ask(ctx.system, recovererRef(command.node), { type: 'stats' }, remoteTimeoutMs), command.node));
      case 'actors': {
        const { actors } = await expectOk(ask(ctx.system, nodeInfoRef(command.node), { type: 'which_actors' }, remoteTimeoutMs), command.node);
        return { kind: 'actors', node: command.node, atMs: ctx.clock.now(), actors };
      }
      case 'mq_suspend':
      case 'mq_resume': {
        const { node, queue } = command;
        const request = { ...(queue !== undefined ? { queue } : {}) };
        const pending = command.command === 'mq_suspend' ? ask(ctx.system, recovererRef(node), { type: 'suspend', ...request }, remoteTimeoutMs) : ask(ctx.system, recovererRef(node), { type: 'resume', ...request }, remoteTimeoutMs);
        return queuesOf(node, ctx, await expectOk(pending, node));
      }
      case 'recover_file': {
        const found = await onAuth<GetBucketReply>((replyTo) => ({ type: 'get_bucket', name: command.bucket, replyTo }));
        const { doc } = await onKeeper<{ ok: true; doc: RingDocument | null }>((replyTo) => ({ type: 'get_ring', replyTo }));
        if (!doc) throw new Refused('NotStarted', 'the cluster has no ring yet; run start first');
        return { kind: 'recover_file', bucket: command.bucket, key: command.key, items: await recoverFile(namespaceOf(found.bucket), command.key, snapshotOf(doc), ctx) };
      }
      case 'recover_node': {
        const { doc } = await onKeeper<{ ok: true; doc: RingDocument | null }>((replyTo) => ({ type: 'get_ring', replyTo }));
        if (!doc) throw new Refused('NotStarted', 'the cluster has no ring yet; run start first');
        const lost = command.node;
        if (!doc.current.some((member) => member.node === lost)) throw new Refused('UnknownNode', `${lost} is not in the ring`);
        const peers = doc.current.map((member) => member.node).filter((node) => node !== lost);
        const replies = await Promise.all(peers.map((peer) => ask(ctx.system, antiEntropyRef(peer), { type: 'recover_peer', peer: lost }, remoteTimeoutMs)));
        const asked = peers.filter((_, index) => !isRuntimeFailure(replies[index]!));
        const missing = peers.filter((peer) => !asked.includes(peer));
        const ranges = replies.reduce((sum, reply) => sum + (isRuntimeFailure(reply) ? 0 : reply.urgentPending), 0);
        const unreachable = missing.length > 0 ? `; not reached: ${missing.join(', ')}` : '';
        return { kind: 'done', message: `${asked.length} node(s) compare their shared ranges with ${lost} now (${ranges} ranges queued${unreachable}); follow it with leofs-adm recovery-status` };
      }
      case 'recover_consistency': {
        const stats = await expectOk(ask(ctx.system, antiEntropyRef(command.node), { type: 'full_pass' }, remoteTimeoutMs), command.node);
        return { kind: 'done', message: `${command.node} compares all of its ${stats.rangesHeld} ranges with their other holders now (${stats.urgentPending} comparisons queued); follow it with leofs-adm recovery-status` };
      }
      case 'recovery_status': {
        const { doc } = await onKeeper<{ ok: true; doc: RingDocument | null }>((replyTo) => ({ type: 'get_ring', replyTo }));
        const members = (doc?.current ?? []).map((member) => member.node);
        const replies = await Promise.all(members.map((node) => ask(ctx.system, antiEntropyRef(node), { type: 'stats' }, remoteTimeoutMs)));
        const nodes: Array<{ node: string; recovery: RecoveryProgress | null }> = [];
        const unreachable: string[] = [];
        members.forEach((node, index) => {
          const reply = replies[index]!;
          if (isRuntimeFailure(reply)) unreachable.push(node);
          else nodes.push({ node, recovery: reply.recovery ?? null });
        });
        return { kind: 'recovery_status', nodes, unreachable };
      }
      case 'metrics_history': {
        // Every manager samples on its own: the leader's history is as long as it has been a manager.
        const history = await expectOk(ask(ctx.system, trafficSamplerRef(self), command.node === undefined ? { type: 'history' } : { type: 'history', node: command.node }, localTimeoutMs));
        if (command.node !== undefined && history.nodes.length === 0) {
          const status = await onKeeper<ClusterStatus>((replyTo) => ({ type: 'status', replyTo }));
          const member = status.members.find((m) => m.node === command.node);
          if (member === undefined) throw new Refused('UnknownNode', `${command.node} is not a member of this cluster`);
        }
        const { ok: _ok, ...rest } = history;
        return { kind: 'metrics_history', atMs: ctx.clock.now(), ...rest };
      }
      case 'update_property':
        return updateProperty(command.node, command.key, command.value, ctx);
      case 'purge_cache': {
        const { members } = await onKeeper<{ ok: true; members: readonly MemberView[] }>((replyTo) => ({ type: 'list', replyTo }));
        const gateways = members.filter((member) => member.role === 'gateway' && member.state === 'running').map((member) => member.node);
        const answers = await Promise.all(
          gateways.map(async (node) => {
            const reply = await ask(ctx.system, httpListenerRef(node), { type: 'purge_cache', bucket: command.bucket, key: command.key }, remoteTimeoutMs);
            return { node, purged: reply.ok };
          }),
        );
        return { kind: 'cache_purged', bucket: command.bucket, key: command.key, gateways: answers };
      }
      case 'backup_manager': {
        const reply = await ask(ctx.system, consensusRef(self), { type: 'backup' }, localTimeoutMs);
        if (isRuntimeFailure(reply)) throw new Refused(reply.code, `the managers' log did not answer: ${reply.message}`);
        if (!reply.ok) throw new Refused(reply.code, reply.message);
        const { ok: _ok, ...backup } = reply;
        return { kind: 'manager_backup', backup };
      }
      case 'version': {
        const { members } = await onKeeper<{ ok: true; members: readonly MemberView[] }>((replyTo) => ({ type: 'list', replyTo }));
        const nodes = await Promise.all(
          [{ node: self, role: 'manager' }, ...members.filter((member) => member.node !== self)].map(async ({ node, role }) => {
            const info = await ask(ctx.system, nodeInfoRef(node), { type: 'which_nodes' }, remoteTimeoutMs);
            return { node, role, version: info.ok ? (info.facts.version ?? null) : null };
          }),
        );
        return { kind: 'versions', nodes };
      }
      case 'recover_ring': {
        const { doc } = await onKeeper<{ ok: true; doc: RingDocument | null }>((replyTo) => ({ type: 'get_ring', replyTo }));
        if (!doc) throw new Refused('NotStarted', 'the cluster has no ring yet; run start first');
        const installed = await expectOk(ask(ctx.system, ringCacheRef(command.node), { type: 'install', doc }, remoteTimeoutMs), command.node);
        return { kind: 'done', message: `${command.node} holds ring epoch ${installed.epoch}, checksum ${(installed.checksum >>> 0).toString(16).padStart(8, '0')}` };
      }
      case 'join_cluster': {
        const { manager, clusterId, secret, buckets } = command;
        const { link } = await onLinks<LinkJoinReply>((replyTo) => ({ type: 'join', manager, clusterId, secret, ...(buckets !== undefined ? { buckets } : {}), replyTo }));
        return { kind: 'link_joined', link };
      }
      case 'remove_cluster':
        await onLinks<LinkRemoveReply>((replyTo) => ({ type: 'remove', clusterId: command.clusterId, replyTo }));
        return { kind: 'done', message: `cluster ${command.clusterId} is no longer linked with this one: nothing is shipped to it, and its nodes are refused` };
      case 'cluster_status':
        return linkedClusters(ctx, onKeeper, onLinks);
      default:
        return assertNever(command);
    }
  }

  async function revokeConsoleSessions(revocation: SessionRevocation, ctx: ActorContext<AdminMessage>): Promise<void> {
    await expectOk(ask(ctx.system, consoleSessionsRef(ctx.system.node), { type: 'revoke', revocation }, localTimeoutMs));
  }

  function cachedBucketStats(bucket: string | undefined, fresh: boolean, ctx: ActorContext<AdminMessage>, onKeeper: Asker<RingKeeperMessage>, onAuth: Asker<AuthMessage>): Promise<BucketStatsResult> {
    const key = bucket ?? '';
    const nowMs = ctx.clock.now();
    const cached = bucketStatsCache.get(key);
    if (cached !== undefined && (cached.doneAtMs === undefined || (!fresh && nowMs - cached.doneAtMs < bucketStatsCacheMs))) return cached.pending;
    const entry: { pending: Promise<BucketStatsResult>; doneAtMs?: number } = { pending: bucketStats(bucket, ctx, onKeeper, onAuth) };
    bucketStatsCache.delete(key);
    bucketStatsCache.set(key, entry);
    for (const oldest of bucketStatsCache.keys()) {
      if (bucketStatsCache.size <= MAX_BUCKET_STATS_CACHED) break;
      bucketStatsCache.delete(oldest);
    }
    const forget = (): void => {
      if (bucketStatsCache.get(key) === entry) bucketStatsCache.delete(key);
    };
    entry.pending.then(
      (result) => (result.partial ? forget() : (entry.doneAtMs = ctx.clock.now())),
      forget,
    );
    return entry.pending;
  }

  /**
   * Every running storage node counts the keys it is the counter of (core/bucket-stats.ts), with the ring
   * members that are not running named absent so that their keys are counted by their next replica; the
   * answers are summed per bucket. A node that does not answer, or counted on another ring, is named in
   * `missing` and the result is partial.
   */
  async function bucketStats(bucket: string | undefined, ctx: ActorContext<AdminMessage>, onKeeper: Asker<RingKeeperMessage>, onAuth: Asker<AuthMessage>): Promise<BucketStatsResult> {
    const countedAtMs = ctx.clock.now();
    const [records, { doc }, { members }] = await Promise.all([
      bucket === undefined
        ? onAuth<ListBucketsReply>((replyTo) => ({ type: 'list_buckets', replyTo })).then((reply) => reply.buckets)
        : onAuth<GetBucketReply>((replyTo) => ({ type: 'get_bucket', name: bucket, replyTo })).then((reply) => [reply.bucket]),
      onKeeper<{ ok: true; doc: RingDocument | null }>((replyTo) => ({ type: 'get_ring', replyTo })),
      onKeeper<{ ok: true; members: readonly MemberView[] }>((replyTo) => ({ type: 'list', replyTo })),
    ]);
    if (!doc) throw new Refused('NotStarted', 'the cluster has no ring yet; run start first');
    const ring = snapshotOf(doc);
    const running = new Set(members.filter((member) => member.state === 'running').map((member) => member.node));
    const ringMembers = doc.current.map((member) => member.node);
    const asked = ringMembers.filter((node) => running.has(node));
    const notRunning = ringMembers.filter((node) => !running.has(node));
    const namespace = bucket === undefined ? undefined : namespaceOf(records[0]!);
    const message = { type: 'bucket_stats' as const, ...(namespace !== undefined ? { namespace } : {}), absent: notRunning };
    // A walk of a large store takes a while, as du does.
    const replies = await Promise.all(asked.map((node) => ask(ctx.system, routerOf(node), message, remoteTimeoutMs * 12)));
    const sizes = new Map<string, BucketSize>();
    const nodes: string[] = [];
    const missing: Array<{ node: string; reason: string }> = [];
    asked.forEach((node, index) => {
      const reply = replies[index]!;
      if (!reply.ok) return void missing.push({ node, reason: `${reply.code}: ${reply.message}` });
      if (reply.ringChecksum !== ring.checksum) return void missing.push({ node, reason: `counted on another ring (checksum ${(reply.ringChecksum >>> 0).toString(16)}); it has not installed the current one yet` });
      nodes.push(node);
      for (const { namespace: name, ...size } of reply.namespaces) if (isBucketSize(size)) sizes.set(name, addSizes(sizes.get(name) ?? EMPTY_BUCKET_SIZE, size));
    });
    const buckets = records.map((record) => {
      const size = sizes.get(namespaceOf(record)) ?? EMPTY_BUCKET_SIZE;
      return { bucket: record.name, owner: record.owner, acl: record.acl, objects: size.objects, bytes: size.bytes, noncurrentVersions: size.noncurrentVersions, noncurrentBytes: size.noncurrentBytes };
    });
    // With fewer members absent than replicas, every key has a replica that counts it.
    const uncounted = notRunning.length >= Math.min(doc.settings.n, ringMembers.length);
    return { kind: 'bucket_stats', buckets, countedAtMs, nodes, notRunning, missing, partial: missing.length > 0 || uncounted, rebalancing: doc.previous !== null };
  }

  /** Each linked cluster's link, with what every running storage node still has to ship to it, summed. */
  async function linkedClusters(ctx: ActorContext<AdminMessage>, onKeeper: Asker<RingKeeperMessage>, onLinks: Asker<LinkKeeperMessage>): Promise<AdminResult> {
    const [{ self, links }, { members }] = await Promise.all([
      onLinks<LinksReply>((replyTo) => ({ type: 'links', replyTo })),
      onKeeper<{ ok: true; members: readonly MemberView[] }>((replyTo) => ({ type: 'list', replyTo })),
    ]);
    const storage = members.filter((member) => member.role === 'storage' && member.state === 'running').map((member) => member.node);
    const replies = await Promise.all(storage.map((node) => ask(ctx.system, linkShipperRef(node), { type: 'link_stats' }, remoteTimeoutMs)));
    const unreachable: string[] = [];
    const answers: Array<{ node: string; clusters: readonly LinkQueueStats[] }> = [];
    storage.forEach((node, index) => {
      const reply = replies[index]!;
      if (isRuntimeFailure(reply) || !reply.ok || !Array.isArray(reply.clusters)) unreachable.push(node);
      else answers.push({ node, clusters: reply.clusters.filter(isBacklog) });
    });
    const now = ctx.clock.now();
    const clusters = links.map(({ storage: endpoints, ...link }) => {
      const backlogs = answers.flatMap(({ node, clusters: queues }) => queues.filter((queue) => queue.clusterId === link.clusterId).map((backlog) => ({ node, backlog })));
      return { ...link, storageNodes: endpoints.length, backlog: sumBacklogs(backlogs, now) };
    });
    return { kind: 'linked_clusters', clusterId: self, clusters, unreachable };
  }

  /** A node's queues, with its anti-entropy and hand-off progress when they answer. */
  async function queuesOf(node: string, ctx: ActorContext<AdminMessage>, stats: QueueStats): Promise<AdminResult> {
    const [antiEntropy, handoff] = await Promise.all([
      ask(ctx.system, antiEntropyRef(node), { type: 'stats' }, remoteTimeoutMs),
      ask(ctx.system, handoffRef(node), { type: 'status' }, remoteTimeoutMs),
    ]);
    const without = <T extends { ok: true }>(reply: T | RuntimeFailure): Omit<T, 'ok'> | null => {
      if (isRuntimeFailure(reply)) return null;
      const { ok: _ok, ...rest } = reply;
      return rest;
    };
    return { kind: 'queues', node, queues: stats.queues, antiEntropy: without(antiEntropy), handoff: without(handoff) };
  }

  /**
   * Makes every replica of an object (and of each chunk of it) equal to the newest: the holder of the
   * newest version queues a repair for each replica that holds an older one or none.
   */
  async function recoverFile(namespace: string, key: string, ring: RingSnapshot, ctx: ActorContext<AdminMessage>): Promise<RecoverFileItem[]> {
    const { n } = ring.doc.settings;
    const repairOne = async (kind: 'object' | 'chunk', ringKey: string): Promise<{ item: RecoverFileItem; newest: ObjectMeta | null }> => {
      const replicas = readPreferenceList(ring.current, ring.previous, keyPosition(namespace, ringKey), n);
      const replies = await Promise.all(replicas.map((node) => ask(ctx.system, routerOf(node), { type: 'head_local', objectKind: kind, bucket: namespace, key: ringKey }, remoteTimeoutMs)));
      const unreachable = replicas.filter((_, index) => !replies[index]!.ok);
      let newest: { node: string; meta: ObjectMeta } | undefined;
      replies.forEach((reply, index) => {
        if (reply.ok && reply.meta && (!newest || compareHlc(reply.meta.clock, newest.meta.clock) > 0)) newest = { node: replicas[index]!, meta: reply.meta };
      });
      if (!newest) return { item: { kind, key: ringKey, newestOn: null, repairing: [], unreachable }, newest: null };
      const holder = newest;
      const repairing = replicas.filter((node, index) => {
        const reply = replies[index]!;
        return node !== holder.node && reply.ok && (!reply.meta || compareHlc(reply.meta.clock, holder.meta.clock) < 0);
      });
      for (const peer of repairing) ctx.system.dispatch(routerOf(holder.node), { type: 'queue_repair', objectKind: kind, bucket: namespace, key: ringKey, peer });
      return { item: { kind, key: ringKey, newestOn: holder.node, repairing, unreachable }, newest: holder.meta };
    };
    const parent = await repairOne('object', key);
    const items = [parent.item];
    const layout = parent.newest && !parent.newest.deleted ? parent.newest.chunks : undefined;
    if (layout) {
      for (const chunk of chunkKeysOf(key, layout)) items.push((await repairOne('chunk', chunk)).item);
    }
    return items;
  }

  /** `log_level`, or `watchdog.<threshold>`: the tunables a node takes while it runs. */
  async function updateProperty(node: string, key: string, value: string, ctx: ActorContext<AdminMessage>): Promise<AdminResult> {
    if (key === 'log_level') {
      await expectOk(ask(ctx.system, nodeInfoRef(node), { type: 'set_log_level', level: value }, remoteTimeoutMs), node);
      return { kind: 'done', message: `log level of ${node} is now ${value}` };
    }
    if (key.startsWith('watchdog.')) {
      const name = key.slice('watchdog.'.length);
      const number = Number(value);
      if (value.trim() === '' || !Number.isFinite(number)) throw new Refused('BadProperty', `${key} takes a number (got ${JSON.stringify(value)})`);
      await expectOk(ask(ctx.system, watchdogRef(node), { type: 'set_threshold', name, value: number }, remoteTimeoutMs), node);
      return { kind: 'done', message: `${key} of ${node} is now ${number}` };
    }
    throw new Refused('BadProperty', `unknown property ${key}; known: log_level, ${WATCHDOG_THRESHOLD_NAMES.map((name) => `watchdog.${name}`).join(', ')}`);
  }

  async function nodeDetails(node: string, status: ClusterStatus, ctx: ActorContext<AdminMessage>) {
    const member = status.members.find((m) => m.node === node);
    const [info, ring, watchdog] = await Promise.all([
      ask(ctx.system, nodeInfoRef(node), { type: 'which_nodes' }, remoteTimeoutMs),
      ask(ctx.system, ringCacheRef(node), { type: 'status' }, remoteTimeoutMs),
      ask(ctx.system, watchdogRef(node), { type: 'status' }, remoteTimeoutMs),
    ]);
    if (!info.ok) {
      const known = member ? ` (${member.role} node, ${member.state})` : ' (not a member of this cluster)';
      throw new Refused('NodeUnavailable', `${node}${known} does not answer (${info.code}: ${info.message})`);
    }
    return {
      node,
      role: info.facts.role,
      address: info.facts.address,
      state: member?.state ?? ('unknown' as const),
      startedAtMs: info.facts.startedAtMs,
      uptimeMs: Math.max(0, ctx.clock.now() - info.facts.startedAtMs),
      ring: ring.ok && ring.epoch > 0 ? { epoch: ring.epoch, checksum: ring.checksum } : null,
      peers: info.peers,
      version: info.facts.version ?? null,
      watchdog: watchdog.ok ? { readings: watchdog.readings, alarms: watchdog.alarms, thresholds: watchdog.thresholds } : null,
    };
  }

  async function whereis(
    bucket: string,
    namespace: string,
    key: string,
    ctx: ActorContext<AdminMessage>,
    onKeeper: Asker<RingKeeperMessage>,
  ): Promise<AdminResult> {
    const [{ doc }, status] = await Promise.all([
      onKeeper<{ ok: true; doc: RingDocument | null }>((replyTo) => ({ type: 'get_ring', replyTo })),
      onKeeper<ClusterStatus>((replyTo) => ({ type: 'status', replyTo })),
    ]);
    if (!doc) throw new Refused('NotStarted', 'the cluster has no ring yet; run start first');
    const ring = snapshotOf(doc);
    const position = keyPosition(namespace, key);
    const current = preferenceList(ring.current, position, doc.settings.n);
    const previous = ring.previous ? preferenceList(ring.previous, position, doc.settings.n).filter((node) => !current.includes(node)) : [];
    const targets = [...current.map((node) => ({ node, ring: 'current' as const })), ...previous.map((node) => ({ node, ring: 'previous' as const }))];
    const replicas = await Promise.all(
      targets.map(async ({ node, ring: which }): Promise<WhereisRow> => {
        const reply = await ask(ctx.system, routerOf(node), { type: 'head_local', objectKind: 'object', bucket: namespace, key }, remoteTimeoutMs);
        return { node, ring: which, state: status.members.find((m) => m.node === node)?.state ?? 'unknown', answer: answerOf(reply) };
      }),
    );
    return { kind: 'whereis', bucket, key, position, replicas };
  }
}

/** A storage node's figures for one linked cluster, as they must be to be summed. */
function isBacklog(value: unknown): value is LinkQueueStats & NodeBacklog {
  const stats = value as Partial<LinkQueueStats> | null;
  const count = (field: unknown): boolean => typeof field === 'number' && Number.isFinite(field) && field >= 0;
  return (
    typeof stats === 'object' && stats !== null && typeof stats.clusterId === 'string' &&
    count(stats.queued) && count(stats.shippedObjects) && count(stats.shippedBytes) &&
    (stats.oldestMs === null || count(stats.oldestMs)) && (stats.lastError === undefined || typeof stats.lastError === 'string') &&
    (stats.sync === undefined || (typeof stats.sync === 'object' && stats.sync !== null && count(stats.sync.passes) && count(stats.sync.compared) && count(stats.sync.behind)))
  );
}

function answerOf(reply: HeadLocalReply | RuntimeFailure): WhereisAnswer {
  if (!reply.ok) return { ok: false, error: `${reply.code}: ${reply.message}` };
  const meta = reply.meta;
  if (!meta) return { ok: true, exists: false };
  return { ok: true, exists: true, sizeBytes: meta.sizeBytes, etag: meta.etag, clock: clockText(meta.clock), tombstone: meta.deleted, lastModifiedMs: meta.lastModifiedMs };
}

export function clockText(clock: Hlc): string {
  return `${new Date(clock.wallMs).toISOString()} #${clock.counter} ${clock.node}`;
}

/** The reply when it is a success; a refusal (with the answering node named when remote) otherwise. */
async function expectOk<R>(pending: Promise<R | RuntimeFailure>, node?: string): Promise<Exclude<R, Failure>> {
  const reply = await pending;
  if (isRuntimeFailure(reply)) {
    // A node other than the manager failing is the answer, not a failure to reach the manager.
    if (node) throw new Refused('NodeUnavailable', `${node} does not answer (${reply.code}: ${reply.message})`);
    throw new Refused(reply.code, reply.message);
  }
  const result = reply as unknown as { ok: boolean; code?: string; message?: string };
  if (result.ok === false) throw new Refused(String(result.code), String(result.message ?? result.code));
  return reply as Exclude<R, Failure>;
}
