/**
 * The manager's ring keeper: the single writer of the cluster's members, settings and ring (LeoFS's
 * leo_manager_cluster_monitor and the manager half of leo_redundant_manager). Everything it decides is
 * durable before it answers, so a manager killed at any point comes back with the same cluster.
 *
 * Members join through here and learn each other's addresses from it; the ring is pushed to every
 * running member on each change and on join, and every few seconds each member's ring checksum is
 * read back so that a node that missed a ring gets it again.
 */
import type { ActorApi, ActorContext, Behavior } from '../../runtime/actor.js';
import type { TimerHandle } from '../../runtime/clock.js';
import type { NodeEvent } from '../../runtime/system.js';
import { validateQuorums } from '../../core/quorum.js';
import { MAX_NUM_OF_VNODES, DEFAULT_NUM_OF_VNODES, ringChecksum, validateMembers, type RingMember } from '../../core/ring/ring.js';
import { listRanges } from '../../core/ring/ranges.js';
import { membersAfterDetach, planMembershipChange } from '../../core/ring/membership-change.js';
import { planRebalance } from '../../core/ring/rebalance.js';
import { handoffRef, type HandoffStatus } from '../../protocol/cluster/handoff.js';
import { rebalanceIdOf, snapshotOf, validateRingDocument, type RingDocument, type RingSnapshot } from '../../core/ring/ring-document.js';
import { assertNever } from '../../core/assert-never.js';
import type { StateTable } from '../../store/node-state.js';
import { directoryRef, ringCacheRef } from '../../protocol/cluster/paths.js';
import type {
  ClusterStatus,
  JoinReply,
  MemberAction,
  MemberActionReply,
  MemberState,
  RebalanceReply,
  RebalanceStatus,
  MemberView,
  RingKeeperMessage,
  RingReport,
  StartReply,
  StartSettings,
  StorageInfo,
  StorageJoin,
} from '../../protocol/cluster/ring-keeper.js';
import { ROLES, type Role } from '../../protocol/cluster/roles.js';
import { ask } from '../../runtime/typed-ask.js';

export const DEFAULT_RING_CHECK_INTERVAL_MS = 2_000;
/** While a rebalance runs the nodes are asked this often, so that its end is noticed soon. */
const REBALANCE_CHECK_INTERVAL_MS = 250;
const RING_ASK_TIMEOUT_MS = 5_000;
const RING_KEY = 'ring';
const MAX_RACK_LENGTH = 64;
const ADDRESS = /^[A-Za-z0-9_.:[\]-]+:\d{1,5}$/;

/** A member as stored: its liveness is not, since that is only known by watching it. */
export interface MemberRecord {
  readonly node: string;
  readonly role: Role;
  readonly address: string | null;
  readonly joinedAtMs: number;
  readonly storage?: StorageInfo;
  /** Set by the operator: suspended (left out of requests), or detached (leaves the ring at the next rebalance). */
  readonly adminState?: 'suspend' | 'detached';
}

export interface RingKeeperDeps {
  readonly self: { readonly node: string; readonly address: () => string | null };
  readonly members: StateTable<MemberRecord>;
  readonly cluster: StateTable<RingDocument>;
  readonly watchNodes: (listener: (event: NodeEvent) => void) => () => void;
  /** Whether the link to a node is up right now (for a keeper restarted while the node runs). */
  readonly isUp: (node: string) => boolean;
  /** Tells the transport where a member listens, so the manager can reach it after a restart. */
  readonly addPeer: (node: string, address: string) => void;
  /** A gateway joined: it needs the users and buckets. */
  readonly gatewayJoined: (node: string) => void;
  /** A storage node joined or came back: it needs the buckets deleted meanwhile. */
  readonly storageUp?: (node: string) => void;
  readonly ringCheckIntervalMs?: number;
  /** The receiving rate per node a rebalance gets when the operator names none (0: no limit). */
  readonly defaultHandoffRateBytesPerSec?: number;
}

interface KeeperState {
  readonly members: Map<string, MemberRecord>;
  readonly up: Set<string>;
  ring: RingSnapshot | undefined;
  readonly reports: Map<string, RingReport>;
  /** Nodes already warned about for holding a newer ring than ours, so the log is not flooded. */
  readonly warnedNewer: Set<string>;
  /** Ties timer messages to this incarnation: a crashed one's timer must not start a second chain. */
  readonly timerId: number;
  timer: TimerHandle | undefined;
  /** Suspended nodes that went down and came back since: they wait for `resume` (LeoFS's `restarted`). */
  readonly restarted: Set<string>;
  /** The receivers' last answers about the rebalance in progress. */
  readonly handoffs: Map<string, HandoffStatus>;
  /** Whether each storage member last said it still holds data a rebalance moved away. */
  readonly releasing: Map<string, boolean>;
  /** The receivers of the rebalance in progress, by its id. */
  receiversOf?: { readonly id: string; readonly nodes: string[] };
}

export function isMemberRecord(value: unknown): value is MemberRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.node === 'string' &&
    (ROLES as readonly unknown[]).includes(record.role) &&
    (record.address === null || typeof record.address === 'string') &&
    Number.isSafeInteger(record.joinedAtMs) &&
    (record.storage === undefined || isStorageInfo(record.storage)) &&
    (record.adminState === undefined || record.adminState === 'suspend' || record.adminState === 'detached')
  );
}

function isStorageInfo(value: unknown): value is StorageInfo {
  if (typeof value !== 'object' || value === null) return false;
  const info = value as Record<string, unknown>;
  return typeof info.alias === 'string' && Number.isSafeInteger(info.numOfVnodes) && (info.rack === undefined || typeof info.rack === 'string');
}

export function isStoredRing(value: unknown): value is RingDocument {
  return validateRingDocument(value) === undefined;
}

/** Storage settings a node may join with; undefined when they are fine. */
export function storageJoinProblem(storage: unknown): string | undefined {
  if (typeof storage !== 'object' || storage === null) return 'storage must be an object';
  const { numOfVnodes, rack, alias } = storage as Record<string, unknown>;
  if (!Number.isInteger(numOfVnodes) || (numOfVnodes as number) < 1 || (numOfVnodes as number) > MAX_NUM_OF_VNODES) {
    return `numOfVnodes must be an integer from 1 to ${MAX_NUM_OF_VNODES} (got ${JSON.stringify(numOfVnodes)})`;
  }
  if (rack !== undefined && (typeof rack !== 'string' || rack.length === 0 || rack.length > MAX_RACK_LENGTH)) {
    return `rack must be a non-empty string of at most ${MAX_RACK_LENGTH} characters`;
  }
  if (alias !== undefined && (typeof alias !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(alias))) return 'alias must be 1 to 64 letters, digits, _ . -';
  return undefined;
}

export function ringKeeperBehavior(deps: RingKeeperDeps): Behavior<KeeperState, RingKeeperMessage> {
  const intervalMs = deps.ringCheckIntervalMs ?? DEFAULT_RING_CHECK_INTERVAL_MS;
  const self = deps.self.node;
  // Tells this incarnation's ring checks from those a crashed one left queued.
  let incarnations = 0;

  return {
    accepts: ['join', 'list', 'status', 'get_ring', 'rebalance_status'],

    async init(ctx) {
      const members = new Map<string, MemberRecord>(deps.members.entries());
      const doc = deps.cluster.get(RING_KEY);
      const ring = doc ? snapshotOf(doc) : undefined;
      // Managers that led before are shown by the managers' own status, not as members that went away.
      for (const member of [...members.values()]) {
        if (member.role === 'manager' && member.node !== self) {
          members.delete(member.node);
          await deps.members.remove(member.node);
        }
      }
      const previousSelf = members.get(self);
      const selfRecord: MemberRecord = { node: self, role: 'manager', address: deps.self.address(), joinedAtMs: previousSelf?.joinedAtMs ?? ctx.clock.now() };
      if (!previousSelf || previousSelf.address !== selfRecord.address || previousSelf.role !== 'manager') {
        await deps.members.put(self, selfRecord);
      }
      members.set(self, selfRecord);
      const up = new Set<string>([self]);
      for (const member of members.values()) {
        if (member.node === self) continue;
        if (member.address) deps.addPeer(member.node, member.address);
        if (deps.isUp(member.node)) up.add(member.node);
      }
      ctx.onEnd(deps.watchNodes((event) => ctx.system.dispatch(ctx.self, { type: 'node_event', event })));
      const timerId = ++incarnations;
      const state: KeeperState = { members, up, ring, reports: new Map(), warnedNewer: new Set(), timerId, timer: undefined, restarted: new Set(), handoffs: new Map(), releasing: new Map() };
      if (ring) {
        ctx.log.info('cluster state loaded', { epoch: ring.doc.epoch, checksum: ring.checksum, members: members.size });
        install(state, ctx, self);
      }
      // Reaching out opens the links, so members known from before a restart show up without waiting
      // for their own reconnection backoff.
      for (const member of members.values()) if (member.node !== self && member.address && !up.has(member.node)) askStatus(ctx, member.node);
      arm(state, ctx);
      return state;
    },

    async receive(state, message, ctx) {
      switch (message.type) {
        case 'join':
          await join(state, message, ctx);
          return state;
        case 'list':
          ctx.system.reply(message.replyTo, { ok: true, members: views(state) });
          return state;
        case 'status':
          ctx.system.reply(message.replyTo, status(state));
          return state;
        case 'get_ring':
          ctx.system.reply(message.replyTo, { ok: true, doc: state.ring?.doc ?? null });
          return state;
        case 'start':
          ctx.system.reply(message.replyTo, await start(state, message.settings, ctx));
          return state;
        case 'node_event':
          nodeEvent(state, message.event, ctx);
          return state;
        case 'check_rings':
          if (message.timer !== state.timerId) return state;
          for (const node of state.up) askStatus(ctx, node);
          // Every storage member of the ring, not only receivers: whether it still holds moved-away data.
          for (const node of storageMembers(state)) askHandoff(ctx, node);
          await finishRebalanceIfDone(state, ctx);
          arm(state, ctx);
          return state;
        case 'member_action':
          ctx.system.reply(message.replyTo, await memberAction(state, message.action, message.node, ctx));
          return state;
        case 'rebalance':
          ctx.system.reply(message.replyTo, await rebalance(state, message.rateBytesPerSec, ctx));
          return state;
        case 'rebalance_status':
          ctx.system.reply(message.replyTo, rebalanceStatus(state));
          return state;
        case 'handoff_reported':
          state.releasing.set(message.node, message.status.releasePending);
          if (!receivers(state).includes(message.node)) return state;
          state.handoffs.set(message.node, message.status);
          if (message.status.state === 'done' || message.status.state === 'checked') await finishRebalanceIfDone(state, ctx);
          return state;
        case 'ring_reported':
          ringReported(state, message, ctx);
          return state;
        default:
          return assertNever(message);
      }
    },
  };

  function arm(state: KeeperState, ctx: ActorContext<RingKeeperMessage>): void {
    const delayMs = state.ring?.previous ? Math.min(intervalMs, REBALANCE_CHECK_INTERVAL_MS) : intervalMs;
    state.timer = ctx.clock.setTimeout(() => ctx.system.dispatch(ctx.self, { type: 'check_rings', timer: state.timerId }), delayMs);
  }

  async function join(state: KeeperState, message: Extract<RingKeeperMessage, { type: 'join' }>, ctx: ActorContext<RingKeeperMessage>): Promise<void> {
    const refuse = (code: Extract<JoinReply, { ok: false }>['code'], text: string): void => {
      ctx.log.warn('refused a join', { member: String(message.node), code, reason: text });
      ctx.system.reply(message.replyTo, { ok: false, code, message: text });
    };
    const { node, role, address } = message;
    if (typeof node !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(node) || node === self) return refuse('BadJoin', `bad node name ${JSON.stringify(node)}`);
    if (!(ROLES as readonly unknown[]).includes(role) || role === 'manager') return refuse('BadJoin', `${node} cannot join as ${JSON.stringify(role)}`);
    if (address !== null && (typeof address !== 'string' || !ADDRESS.test(address))) return refuse('BadJoin', `bad address ${JSON.stringify(address)}`);
    const existing = state.members.get(node);
    const inRing = isInRing(state, node);
    if (existing && existing.role !== role && inRing) {
      return refuse('RoleMismatch', `${node} is a ${existing.role} node in the ring and cannot join as ${String(role)}`);
    }

    let storage: StorageInfo | undefined;
    if (role === 'storage') {
      const offered: StorageJoin = message.storage ?? { numOfVnodes: DEFAULT_NUM_OF_VNODES };
      const problem = storageJoinProblem(offered);
      if (problem) return refuse('BadJoin', problem);
      const ringMember = state.ring?.doc.current.find((member) => member.node === node);
      if (ringMember) {
        // The ring is what placed data; settings changed since then wait for a rebalance.
        storage = { alias: ringMember.alias, numOfVnodes: ringMember.numOfVnodes, ...(ringMember.rack !== undefined ? { rack: ringMember.rack } : {}) };
        if (ringMember.numOfVnodes !== offered.numOfVnodes || ringMember.rack !== offered.rack) {
          ctx.log.warn('storage settings differ from the ring; the ring keeps its own until a rebalance', { member: node, ring: storage, offered });
        }
      } else {
        storage = { alias: offered.alias ?? node.slice(0, node.indexOf('@')), numOfVnodes: offered.numOfVnodes, ...(offered.rack !== undefined ? { rack: offered.rack } : {}) };
      }
      const alias = storage.alias;
      // A node that is down may be replaced under its alias (it is detached before the rebalance).
      const holder = [...state.members.values()].find((member) => member.node !== node && member.storage?.alias === alias && member.adminState !== 'detached' && state.up.has(member.node));
      if (holder) return refuse('AliasInUse', `alias ${alias} is already used by ${holder.node}, which is running; give this node another name or alias`);
    }

    const record: MemberRecord = {
      node,
      role: role as Role,
      address,
      joinedAtMs: existing?.joinedAtMs ?? ctx.clock.now(),
      ...(storage ? { storage } : {}),
      ...(existing?.adminState ? { adminState: existing.adminState } : {}),
    };
    if (!existing || JSON.stringify(existing) !== JSON.stringify(record)) await deps.members.put(node, record);
    state.members.set(node, record);
    state.up.add(node);
    if (address) deps.addPeer(node, address);
    ctx.log.info(existing ? 'node rejoined' : 'node joined', { member: node, role, address, state: stateOf(state, record) });
    ctx.system.reply(message.replyTo, { ok: true, members: views(state) });
    broadcast(state, ctx.system, node);
    if (state.ring) install(state, ctx, node);
    if (role === 'gateway') deps.gatewayJoined(node);
    if (role === 'storage') deps.storageUp?.(node);
  }

  async function start(state: KeeperState, settings: StartSettings, ctx: ActorContext<RingKeeperMessage>): Promise<StartReply> {
    if (state.ring) {
      return { ok: false, code: 'AlreadyStarted', message: `the cluster is already started (ring epoch ${state.ring.doc.epoch}, N=${state.ring.doc.settings.n})` };
    }
    const candidates = [...state.members.values()]
      .filter((member) => member.role === 'storage' && member.storage && member.adminState === undefined && state.up.has(member.node))
      .sort((a, b) => (a.node < b.node ? -1 : 1));
    const quorums = { n: Number(settings.n), w: Number(settings.w), r: Number(settings.r), d: Number(settings.d) };
    const problem = validateQuorums(quorums, candidates.length);
    if (problem) {
      const tooFew = Number.isInteger(quorums.n) && quorums.n > candidates.length;
      const detail = tooFew ? `${problem} (attached and up: ${candidates.map((m) => m.node).join(', ') || 'none'})` : problem;
      return { ok: false, code: tooFew ? 'NotEnoughNodes' : 'BadQuorum', message: detail };
    }
    const current: RingMember[] = candidates.map((member) => ({
      node: member.node,
      alias: member.storage!.alias,
      numOfVnodes: member.storage!.numOfVnodes,
      ...(member.storage!.rack !== undefined ? { rack: member.storage!.rack } : {}),
    }));
    const memberProblems = validateMembers(current);
    if (memberProblems.length > 0) return { ok: false, code: 'BadMembers', message: memberProblems.join('; ') };
    const doc: RingDocument = { epoch: 1, settings: { ...quorums, rackAware: settings.rackAware === true }, current, previous: null };
    await publish(state, ctx, doc);
    const { checksum } = state.ring!;
    ctx.log.info('cluster started', { epoch: doc.epoch, checksum, settings: doc.settings, members: current.map((m) => m.node) });
    broadcast(state, ctx.system, undefined);
    return { ok: true, epoch: doc.epoch, checksum, members: current.map((m) => m.node) };
  }

  function nodeEvent(state: KeeperState, event: NodeEvent, ctx: ActorContext<RingKeeperMessage>): void {
    const member = state.members.get(event.node);
    if (!member || member.node === self) return;
    const wasUp = state.up.has(member.node);
    if (event.type === 'nodeup') {
      if (wasUp) return;
      state.up.add(member.node);
      if (member.adminState === 'suspend') state.restarted.add(member.node);
      askStatus(ctx, member.node);
      if (member.role === 'storage') deps.storageUp?.(member.node);
    } else {
      if (!wasUp) return;
      state.up.delete(member.node);
    }
    ctx.log.info('member state changed', { member: member.node, role: member.role, state: stateOf(state, member) });
    broadcast(state, ctx.system, undefined);
  }

  function ringReported(state: KeeperState, report: Extract<RingKeeperMessage, { type: 'ring_reported' }>, ctx: ActorContext<RingKeeperMessage>): void {
    if (!state.members.has(report.node)) return;
    state.reports.set(report.node, { epoch: report.epoch, checksum: report.checksum, atMs: ctx.clock.now() });
    const ring = state.ring;
    if (!ring || !report.fromCheck || !state.up.has(report.node)) return;
    if (report.epoch === ring.doc.epoch && report.checksum === ring.checksum) {
      state.warnedNewer.delete(report.node);
      return;
    }
    if (report.epoch > ring.doc.epoch) {
      if (!state.warnedNewer.has(report.node)) {
        state.warnedNewer.add(report.node);
        ctx.log.warn('a member holds a newer ring than the manager; not overwriting it', { member: report.node, epoch: report.epoch, managerEpoch: ring.doc.epoch });
      }
      return;
    }
    ctx.log.info('member ring differs; sending it again', { member: report.node, epoch: report.epoch, checksum: report.checksum, expectedEpoch: ring.doc.epoch, expectedChecksum: ring.checksum });
    install(state, ctx, report.node);
  }

  /** Sends the current ring; the answer is recorded like a status report, but never triggers a resend. */
  function install(state: KeeperState, ctx: ActorContext<RingKeeperMessage>, node: string): void {
    const doc = state.ring?.doc;
    if (!doc) return;
    void ask(ctx.system, ringCacheRef(node), { type: 'install', doc }, RING_ASK_TIMEOUT_MS)
      .then((reply) => {
        if (reply.ok) ctx.system.dispatch(ctx.self, { type: 'ring_reported', node, epoch: reply.epoch, checksum: reply.checksum, fromCheck: false });
        else ctx.log.warn('ring not installed on a member', { member: node, code: reply.code, reason: reply.message });
      });
  }

  function askStatus(ctx: ActorContext<RingKeeperMessage>, node: string): void {
    void ask(ctx.system, ringCacheRef(node), { type: 'status' }, Math.min(RING_ASK_TIMEOUT_MS, intervalMs))
      .then((reply) => {
        if (reply.ok) ctx.system.dispatch(ctx.self, { type: 'ring_reported', node, epoch: reply.epoch, checksum: reply.checksum, fromCheck: true });
      });
  }

  async function memberAction(state: KeeperState, action: MemberAction, node: string, ctx: ActorContext<RingKeeperMessage>): Promise<MemberActionReply> {
    const member = state.members.get(node);
    if (!member) return { ok: false, code: 'UnknownNode', message: `${node} is not a member of this cluster (see leofs-adm status)` };
    if (member.role !== 'storage') return { ok: false, code: 'NotStorage', message: `${node} is a ${member.role} node; only storage nodes can be ${action === 'rollback' ? 'rolled back' : `${action}ed`}` };
    const ring = state.ring;
    if (!ring) return { ok: false, code: 'NotStarted', message: 'the cluster has no ring yet; run start first' };
    const inRing = isInRing(state, node);
    const done = async (record: MemberRecord, message: string): Promise<MemberActionReply> => {
      if (record !== member) {
        await deps.members.put(node, record);
        state.members.set(node, record);
      }
      ctx.log.info('member changed by the operator', { member: node, action, state: stateOf(state, record) });
      broadcast(state, ctx.system, undefined);
      return { ok: true, node, state: stateOf(state, record), message };
    };
    const { adminState: _dropped, ...cleared } = member;
    switch (action) {
      case 'detach': {
        if (ring.doc.previous) {
          const joiningNow = inRing && !ring.doc.previous.some((m) => m.node === node);
          // A member that is down (its disk lost, say) would hold the rebalance up for good: it may leave it.
          const down = inRing && !state.up.has(node);
          if (!joiningNow && !down) {
            return { ok: false, code: 'RebalanceRunning', message: 'a rebalance is still moving data; wait until it is done (leofs-adm rebalance-status); only a member that is down can be detached meanwhile' };
          }
          return withdrawFromRebalance(state, ctx, member, joiningNow ? 'joining' : 'down');
        }
        if (member.adminState === 'detached') return { ok: false, code: 'BadState', message: `${node} is already detached; run rebalance to take it out of the ring` };
        if (!inRing) {
          await forget(state, node);
          ctx.log.info('member changed by the operator', { member: node, action, state: 'removed' });
          broadcast(state, ctx.system, undefined);
          return { ok: true, node, state: 'detached', message: `${node} was attached but not in the ring; it is no longer a member` };
        }
        const detached = new Set([...state.members.values()].filter((m) => m.adminState === 'detached').map((m) => m.node));
        const remaining = membersAfterDetach(ring.doc.current, detached, node, joiningMembers(state).length);
        if (remaining < ring.doc.settings.n) {
          return { ok: false, code: 'NotEnoughNodes', message: `detaching ${node} would leave ${remaining} storage node(s) in the ring and every key needs ${ring.doc.settings.n} replicas` };
        }
        return done({ ...cleared, adminState: 'detached' }, `${node} is detached; run rebalance to move its data to the other nodes`);
      }
      case 'rollback':
        if (member.adminState !== 'detached') return { ok: false, code: 'BadState', message: `${node} is not detached; only a detach not yet rebalanced can be rolled back` };
        if (ring.doc.previous) return { ok: false, code: 'RebalanceRunning', message: 'a rebalance is still moving data; wait until it is done (leofs-adm rebalance-status)' };
        return done(cleared, `${node} stays in the ring`);
      case 'suspend': {
        if (!inRing) return { ok: false, code: 'BadState', message: `${node} is not in the ring (state ${stateOf(state, member)}); only ring members can be suspended` };
        if (member.adminState !== undefined) return { ok: false, code: 'BadState', message: `${node} is ${stateOf(state, member)}` };
        if (!state.up.has(node)) return { ok: false, code: 'BadState', message: `${node} is stopped; suspend a running node` };
        const suspended = new Set([...(ring.doc.suspended ?? []), node]);
        const { n, w, r, d } = ring.doc.settings;
        const short = listRanges(ring.current, n).find((range) => range.nodes.filter((holder) => !suspended.has(holder)).length < Math.min(range.nodes.length, Math.max(w, r, d)));
        if (short) {
          return { ok: false, code: 'NotEnoughNodes', message: `suspending ${node} would leave keys with replicas on ${short.nodes.filter((holder) => !suspended.has(holder)).join(', ') || 'no node'} only, fewer than a quorum needs` };
        }
        state.restarted.delete(node);
        const reply = await done({ ...cleared, adminState: 'suspend' }, `${node} is suspended: no requests go to it until resume`);
        await publish(state, ctx, { ...ring.doc, epoch: ring.doc.epoch + 1, suspended: [...(ring.doc.suspended ?? []), node] });
        return reply;
      }
      case 'resume': {
        if (member.adminState !== 'suspend') return { ok: false, code: 'BadState', message: `${node} is not suspended (state ${stateOf(state, member)})` };
        state.restarted.delete(node);
        const reply = await done(cleared, `${node} is running again`);
        const suspended = (ring.doc.suspended ?? []).filter((name) => name !== node);
        const { suspended: _old, ...rest } = ring.doc;
        await publish(state, ctx, { ...rest, epoch: ring.doc.epoch + 1, ...(suspended.length > 0 ? { suspended } : {}) });
        return reply;
      }
      default:
        return assertNever(action);
    }
  }

  async function rebalance(state: KeeperState, rateBytesPerSec: number | undefined, ctx: ActorContext<RingKeeperMessage>): Promise<RebalanceReply> {
    const ring = state.ring;
    if (!ring) return { ok: false, code: 'NotStarted', message: 'the cluster has no ring yet; run start first' };
    if (rateBytesPerSec !== undefined && !(typeof rateBytesPerSec === 'number' && Number.isFinite(rateBytesPerSec) && rateBytesPerSec >= 0)) {
      return { ok: false, code: 'BadRate', message: `the rate must be a number of bytes per second of at least 0 (got ${JSON.stringify(rateBytesPerSec)})` };
    }
    if (ring.doc.previous && ring.previous) {
      if (rateBytesPerSec === undefined) {
        return { ok: false, code: 'RebalanceRunning', message: 'a rebalance is already moving data; see leofs-adm rebalance-status (give --rate to change its rate)' };
      }
      await publish(state, ctx, { ...ring.doc, epoch: ring.doc.epoch + 1, handoffRateBytesPerSec: rateBytesPerSec });
      const moves = planRebalance(ring.previous, ring.current, ring.doc.settings.n);
      return { ok: true, started: false, epoch: ring.doc.epoch + 1, checksum: ring.checksum, joined: [], left: [], receivers: receivers(state), segments: moves.length, rateBytesPerSec };
    }
    if (!status(state).consistent) {
      return { ok: false, code: 'RingsDiffer', message: 'not every running node holds the current ring yet; try again in a few seconds (leofs-adm status shows each ring)' };
    }
    const joining = joiningMembers(state);
    const leaving = new Set([...state.members.values()].filter((m) => m.adminState === 'detached').map((m) => m.node));
    const plan = planMembershipChange({ current: ring.doc.current, joining, leaving, n: ring.doc.settings.n });
    if (!plan.ok) return plan;
    // From the last poll (every few seconds): the keeper never waits on other nodes while it decides.
    // A member that is down counts too, unless it leaves: it may hold stale copies of ranges it gets back.
    const holding = ring.doc.current.map((member) => member.node).filter((node) => !leaving.has(node) && state.releasing.get(node) !== false);
    if (holding.length > 0) {
      const down = holding.filter((node) => !state.up.has(node));
      const detail = down.length > 0 ? ` (${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} down: start or detach ${down.length === 1 ? 'it' : 'them'})` : '';
      return {
        ok: false,
        code: 'ReleasePending',
        message: `${holding.join(', ')} still hold data the last rebalance moved away (kept for storage.releaseGraceMs after it), or have not said yet${detail}; try again in a few seconds`,
      };
    }
    const rate = rateBytesPerSec ?? ring.doc.handoffRateBytesPerSec ?? deps.defaultHandoffRateBytesPerSec ?? 0;
    const suspended = (ring.doc.suspended ?? []).filter((node) => !plan.left.includes(node));
    const { suspended: _old, handoffRateBytesPerSec: _rate, rebalanceEpoch: _began, ...rest } = ring.doc;
    const doc: RingDocument = {
      ...rest,
      epoch: ring.doc.epoch + 1,
      current: plan.next,
      previous: ring.doc.current,
      handoffRateBytesPerSec: rate,
      rebalanceEpoch: ring.doc.epoch + 1,
      ...(suspended.length > 0 ? { suspended } : {}),
    };
    state.handoffs.clear();
    await publish(state, ctx, doc);
    const next = state.ring!;
    const moves = planRebalance(next.previous!, next.current, doc.settings.n);
    ctx.log.info('rebalance started', { epoch: doc.epoch, checksum: next.checksum, joined: plan.joined, left: plan.left, segments: moves.length, receivers: receivers(state) });
    return { ok: true, started: true, epoch: doc.epoch, checksum: next.checksum, joined: plan.joined, left: plan.left, receivers: receivers(state), segments: moves.length, rateBytesPerSec: rate };
  }

  /** Drops the previous ring once every receiving node has all its segments and every node holds the ring. */
  async function finishRebalanceIfDone(state: KeeperState, ctx: ActorContext<RingKeeperMessage>): Promise<void> {
    const ring = state.ring;
    if (!ring?.previous) return;
    const change = rebalanceIdOf(ring);
    const reportOf = (node: string) => {
      const reported = state.handoffs.get(node);
      return reported?.change === change ? reported.state : undefined;
    };
    const all = receivers(state);
    if (!all.every((node) => reportOf(node) === 'done' || reportOf(node) === 'checked') || !status(state).consistent) return;
    // Every receiver has its data and every node the new ring: one more comparison catches what a node
    // still on the previous ring wrote to the old holders meanwhile.
    const unchecked = all.filter((node) => reportOf(node) !== 'checked');
    for (const node of unchecked) ctx.system.dispatch(handoffRef(node), { type: 'final_check', change });
    if (unchecked.length > 0) return;
    const left = ring.doc.previous!.map((member) => member.node).filter((node) => !ring.doc.current.some((member) => member.node === node));
    const { handoffRateBytesPerSec: _rate, rebalanceEpoch: _began, ...rest } = ring.doc;
    await publish(state, ctx, { ...rest, epoch: ring.doc.epoch + 1, previous: null });
    for (const node of left) {
      if (state.members.get(node)?.adminState !== 'detached') continue;
      await forget(state, node);
    }
    state.handoffs.clear();
    // Nodes that gave ranges away say again whether they still hold them before another rebalance.
    state.releasing.clear();
    ctx.log.info('rebalance done: every moved segment is on its new holders; the previous ring is dropped', { epoch: ring.doc.epoch + 1, left });
    broadcast(state, ctx.system, undefined);
  }

  function rebalanceStatus(state: KeeperState): RebalanceStatus {
    const ring = state.ring;
    return {
      ok: true,
      running: ring?.previous !== undefined,
      epoch: ring?.doc.epoch ?? 0,
      checksum: ring?.checksum ?? 0,
      previousChecksum: ring?.previous?.checksum ?? null,
      rateBytesPerSec: ring?.doc.handoffRateBytesPerSec ?? 0,
      receivers: receivers(state).map((node) => ({ node, status: state.handoffs.get(node) ?? null })),
    };
  }

  /**
   * A node leaves the ring while a rebalance runs: one that entered the ring in it (it died before it
   * had its data, say), or a member that is down and would never finish its part (a lost disk). The
   * rebalance goes on towards the ring without it, from the same previous ring: what it held there is
   * taken from the other old holders, as a rebalance takes it from any old holder that is down.
   */
  async function withdrawFromRebalance(state: KeeperState, ctx: ActorContext<RingKeeperMessage>, member: MemberRecord, why: 'joining' | 'down'): Promise<MemberActionReply> {
    const ring = state.ring!;
    const current = ring.doc.current.filter((m) => m.node !== member.node);
    if (current.length < ring.doc.settings.n) {
      return { ok: false, code: 'NotEnoughNodes', message: `without ${member.node} the ring would keep ${current.length} storage node(s) and every key needs ${ring.doc.settings.n} replicas` };
    }
    const sameAsBefore = ringChecksum(current, { rackAware: ring.doc.settings.rackAware }) === ring.previous!.checksum;
    const { rebalanceEpoch: _began, handoffRateBytesPerSec: rate, ...rest } = ring.doc;
    const epoch = ring.doc.epoch + 1;
    await publish(state, ctx, sameAsBefore ? { ...rest, epoch, current, previous: null } : { ...rest, epoch, current, rebalanceEpoch: epoch, ...(rate !== undefined ? { handoffRateBytesPerSec: rate } : {}) });
    state.handoffs.clear();
    await forget(state, member.node);
    ctx.log.info(why === 'joining' ? 'a node that was joining left the rebalance' : 'a node that is down left the ring during a rebalance', { member: member.node, epoch, rebalanceEnded: sameAsBefore });
    broadcast(state, ctx.system, undefined);
    const message = sameAsBefore ? `${member.node} left the ring; nothing else was changing, so the rebalance is over` : `${member.node} left the ring; the rebalance goes on without it`;
    return { ok: true, node: member.node, state: 'detached', message };
  }

  /** A member leaves the cluster: it is no longer watched, nor counted in the ring's agreement. */
  async function forget(state: KeeperState, node: string): Promise<void> {
    await deps.members.remove(node);
    state.members.delete(node);
    state.up.delete(node);
    state.reports.delete(node);
    state.restarted.delete(node);
    state.releasing.delete(node);
  }

  /** Attached storage nodes that are up: the next rebalance puts them in the ring. */
  function joiningMembers(state: KeeperState): RingMember[] {
    return [...state.members.values()]
      .filter((m) => m.role === 'storage' && m.storage && m.adminState === undefined && state.up.has(m.node) && !isInRing(state, m.node))
      .map((m) => ({ node: m.node, alias: m.storage!.alias, numOfVnodes: m.storage!.numOfVnodes, ...(m.storage!.rack !== undefined ? { rack: m.storage!.rack } : {}) }));
  }

  /** Storage members of the current ring that are up. */
  function storageMembers(state: KeeperState): string[] {
    return (state.ring?.doc.current ?? []).map((member) => member.node).filter((node) => state.up.has(node));
  }

  /** Nodes that receive data in the rebalance in progress (worked out once per rebalance). */
  function receivers(state: KeeperState): string[] {
    const ring = state.ring;
    if (!ring?.previous) return [];
    const id = rebalanceIdOf(ring);
    if (state.receiversOf?.id === id) return state.receiversOf.nodes;
    const nodes = new Set<string>();
    for (const move of planRebalance(ring.previous, ring.current, ring.doc.settings.n)) for (const node of move.added) nodes.add(node);
    state.receiversOf = { id, nodes: [...nodes].sort() };
    return state.receiversOf.nodes;
  }

  function askHandoff(ctx: ActorContext<RingKeeperMessage>, node: string): void {
    void ask(ctx.system, handoffRef(node), { type: 'status' }, Math.min(RING_ASK_TIMEOUT_MS, intervalMs)).then((reply) => {
      if (reply.ok) ctx.system.dispatch(ctx.self, { type: 'handoff_reported', node, status: reply });
    });
  }

  /** Makes `doc` the cluster's ring: durable first, then sent to every running member. */
  async function publish(state: KeeperState, ctx: ActorContext<RingKeeperMessage>, doc: RingDocument): Promise<void> {
    await deps.cluster.put(RING_KEY, doc);
    state.ring = snapshotOf(doc);
    for (const node of state.up) install(state, ctx, node);
  }

  function isInRing(state: KeeperState, node: string): boolean {
    return state.ring?.doc.current.some((member) => member.node === node) ?? false;
  }

  function stateOf(state: KeeperState, member: MemberRecord): MemberState {
    const up = state.up.has(member.node);
    if (member.role !== 'storage') return up ? 'running' : 'stop';
    if (member.adminState === 'detached') return 'detached';
    if (member.adminState === 'suspend') return !up ? 'stop' : state.restarted.has(member.node) ? 'restarted' : 'suspend';
    if (!isInRing(state, member.node)) return 'attached';
    return up ? 'running' : 'stop';
  }

  function viewOf(state: KeeperState, member: MemberRecord): MemberView {
    return {
      node: member.node,
      role: member.role,
      address: member.address,
      state: stateOf(state, member),
      joinedAtMs: member.joinedAtMs,
      ...(member.storage ? { storage: member.storage } : {}),
    };
  }

  function views(state: KeeperState): MemberView[] {
    return [...state.members.values()].sort(byRoleThenNode).map((member) => viewOf(state, member));
  }

  function status(state: KeeperState): ClusterStatus {
    const ring = state.ring;
    const members = [...state.members.values()].sort(byRoleThenNode).map((member) => ({ ...viewOf(state, member), ring: state.reports.get(member.node) ?? null }));
    const consistent =
      !ring ||
      [...state.up].every((node) => {
        const report = state.reports.get(node);
        return report !== undefined && report.epoch === ring.doc.epoch && report.checksum === ring.checksum;
      });
    return {
      ok: true,
      settings: ring?.doc.settings ?? null,
      epoch: ring?.doc.epoch ?? 0,
      checksum: ring?.checksum ?? 0,
      previousChecksum: ring?.previous?.checksum ?? null,
      consistent,
      members,
    };
  }

  /** Tells every running member but `except` (which got the list in its reply) of the current members. */
  function broadcast(state: KeeperState, system: ActorApi, except: string | undefined): void {
    const members = views(state);
    for (const node of state.up) {
      if (node === self || node === except) continue;
      system.dispatch(directoryRef(node), { type: 'members', members });
    }
  }
}

const ROLE_ORDER: Record<Role, number> = { manager: 0, storage: 1, gateway: 2 };

function byRoleThenNode(a: MemberRecord, b: MemberRecord): number {
  return ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
}
