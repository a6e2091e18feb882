/**
 * The consensus actor, on every manager: drives Raft (core/consensus/raft.ts) over the cluster
 * transport and the manager's node state, so that every change to the control plane is one entry of
 * a log that commits on a majority of managers and is applied in the same order by each.
 *
 * Each step follows Raft's order: what must be durable is written (vote, log, snapshot) before any
 * message leaves, and committed entries are applied to the replicated tables after. Only the leader
 * accepts changes; it starts the manager's duties (ring keeper, auth, ...) once everything committed
 * before its term is applied, and they stop when it loses the office.
 *
 * A manager with no state joins the control plane of the first leader that reaches it. Only the first
 * manager of the configured list creates a new control plane, and only when a majority of the
 * managers answer that they hold no state either.
 */
import type { Behavior, ActorContext } from '../../runtime/actor.js';
import type { ReplyTo } from '../../runtime/refs.js';
import { Raft, type Ready, type VoteFloor } from '../../core/consensus/raft.js';
import { assertNever } from '../../core/assert-never.js';
import type { ControlPlaneId, LogEntry, RaftMessage, StateSnapshot, TableOp } from '../../core/consensus/raft-messages.js';
import type { BackupHeader, BackupReply, BarrierReply, ConsensusMessage, ProbeReply, ProposeReply, SnapshotPageMessage } from '../../protocol/cluster/consensus.js';
import { managerStatuses } from './consensus-status.js';
import { isControlPlaneId, refusalOf } from '../../core/consensus/control-plane.js';
import { encodeCbor } from '../../protocol/cluster/cbor.js';
import { recordCount, splitTables, type SnapshotTables } from '../../core/consensus/snapshot-pages.js';
import { SnapshotInbox, SnapshotOutbox } from './snapshot-transfer.js';
import { consensusRef } from '../../protocol/cluster/paths.js';
import { isRuntimeFailure } from '../../runtime/failures.js';
import { ask } from '../../runtime/typed-ask.js';
import type { ConsensusStore } from '../../store/consensus-store.js';

export const DEFAULT_ELECTION_TIMEOUT_MS: readonly [number, number] = [1_000, 2_000];
export const DEFAULT_HEARTBEAT_MS = 200;
const TICK_MS = 50;
const MAX_ENTRIES_PER_APPEND = 256;
/** Entries kept in the log once applied, for followers a little behind; older ones are compacted into the tables. */
const LOG_KEEP = 1_000;
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_INTERVAL_MS = 1_000;
const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Snapshot pages stay well under the transport's frame limit (16 MiB by default). */
const SNAPSHOT_PAGE_BYTES = 4 * 1024 * 1024;
/** How long a prepared backup can be fetched page by page. */
const BACKUP_KEEP_MS = 5 * 60_000;

/** Messages from the manager's own actors, never from the wire. */
export type ConsensusActorMessage =
  | ConsensusMessage
  | { readonly type: 'tick' }
  /** Writes, sends and applies what the messages handled since the last flush asked for, together. */
  | { readonly type: 'flush' }
  /** `afterIndex`: refuse (Preempted) when anything was proposed after that index. */
  | { readonly type: 'propose'; readonly ops: readonly TableOp[]; readonly afterIndex?: number; readonly replyTo: ReplyTo<ProposeReply> }
  /** Answers once everything proposed so far is applied here, with the last proposed index. */
  | { readonly type: 'barrier'; readonly replyTo: ReplyTo<BarrierReply> }
  | { readonly type: 'probed'; readonly answers: ReadonlyArray<ControlPlaneId | null> }
  | { readonly type: 'peer_named'; readonly id: string; readonly node: string }
  /** Another manager holds more of this manager's fresh generation: it is not this manager's alone any more. */
  | { readonly type: 'generation_shared' };

export interface ConsensusDeps {
  /** This manager's node name. */
  readonly node: string;
  /**
   * The cluster addresses of every manager, the same list in the same order on each; empty for a
   * manager alone. A manager is named in Raft by its address in this list.
   */
  readonly managers: readonly string[];
  /** This manager's own entry in `managers` (unused when alone). */
  readonly selfAddress: string;
  readonly store: ConsensusStore;
  /** Dials a manager's cluster address; resolves with its node name. */
  readonly connect: (address: string) => Promise<string>;
  /** Starts (true) or stops (false) the duties only the leader runs. */
  readonly leadership: (leading: boolean) => void;
  /** Told the leader's node name whenever it changes (null: none known). */
  readonly leaderChanged?: (leader: string | null) => void;
  readonly electionTimeoutMs?: readonly [number, number];
  readonly heartbeatMs?: number;
  /** A number in [0, 1), for election timeouts. */
  readonly random: () => number;
  /** A fresh random id (control plane ids). */
  readonly randomId: () => string;
}

interface Waiter<R> {
  readonly index: number;
  readonly term: number;
  readonly replyTo: ReplyTo<R>;
}

interface ConsensusState {
  raft: Raft;
  id: ControlPlaneId | null;
  appliedIndex: number;
  /** The index the tables' oldest kept log entry follows (compaction point). */
  snapshotIndex: number;
  /** The leader's duties run (set once its first entry is applied). */
  leading: boolean;
  /** The index of the first entry of this leader's term: duties start once it is applied. */
  leaderFromIndex: number;
  readonly proposals: Array<Waiter<ProposeReply>>;
  readonly barriers: Array<Waiter<BarrierReply>>;
  readonly backups: Array<Waiter<BackupReply>>;
  /** Raft id (address) of each manager → its node name, once dialled. */
  readonly names: Map<string, string>;
  readonly dialling: Set<string>;
  probing: boolean;
  nextProbeMs: number;
  readonly refusalsLogged: Map<string, number>;
  /** The leader last told to `leaderChanged`. */
  toldLeader: string | null;
  readonly outbox: SnapshotOutbox;
  readonly inbox: SnapshotInbox;
  /** How this manager votes (VoteFloor). */
  floor: VoteFloor;
  /** This manager made its generation of the control plane, and the others have not yet committed any of it. */
  fresh: boolean;
  nextGenesisMs: number;
  /** A round of telling empty managers of a fresh generation is under way. */
  telling: boolean;
  /** Said once that a new control plane waits for every manager. */
  waitingLogged: boolean;
  /** The last backup prepared, fetched page by page. */
  backup: { readonly header: BackupHeader; readonly pages: readonly SnapshotTables[]; readonly untilMs: number } | undefined;
  flushScheduled: boolean;
}

export function consensusBehavior(deps: ConsensusDeps): Behavior<ConsensusState, ConsensusActorMessage> {
  const listed = deps.managers.length > 0;
  const selfId = listed ? deps.selfAddress : deps.node;
  const voters = listed ? [...deps.managers] : [selfId];
  // A list of one is a manager alone too: it needs nobody's vote or answer.
  const alone = voters.length === 1;
  const peers = voters.filter((voter) => voter !== selfId);
  const isSeed = voters[0] === selfId;
  const electionTimeoutMs = deps.electionTimeoutMs ?? DEFAULT_ELECTION_TIMEOUT_MS;

  return {
    accepts: ['vote_request', 'vote_reply', 'append', 'append_reply', 'snapshot_page', 'snapshot_page_ack', 'snapshot_reply', 'leader', 'status', 'backup', 'backup_page', 'probe', 'genesis'],

    async init(ctx) {
      const now = ctx.clock.now();
      let stored = deps.store.load();
      if (stored.id === null && stored.entries.length === 0 && deps.store.holdsRecords()) {
        // State written before managers kept a log: it becomes the first position of a new log.
        const id = { clusterId: deps.randomId(), epoch: deps.randomId() };
        await deps.store.adopt(id, 'none', { position: { index: 1, term: 1 } });
        ctx.log.info('manager state now kept in a replicated log', { clusterId: id.clusterId });
        stored = deps.store.load();
      }
      if (stored.id !== null && alone && (stored.voters?.length ?? 1) > 1) {
        // One of several started alone (the others are lost): what it holds becomes a new generation,
        // which the others' older state cannot join and overwrite entries of.
        const id = { clusterId: stored.id.clusterId, epoch: deps.randomId() };
        await deps.store.adopt(id, 'none');
        ctx.log.warn('started alone after running with other managers: a new generation of the control plane begins with this state; empty the others before they rejoin', { before: stored.voters, clusterId: id.clusterId });
        stored = deps.store.load();
      }
      if (stored.voters === undefined || stored.voters.join(',') !== voters.join(',')) await deps.store.setVoters(voters);
      if (alone && stored.id !== null && !stored.fresh) {
        // A manager alone holds its generation alone: told to empty managers when it runs with others.
        await deps.store.setFresh(true);
        stored = deps.store.load();
      }
      const raft = new Raft(
        { self: selfId, voters, electionTimeoutMs, heartbeatMs: deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, maxEntriesPerAppend: MAX_ENTRIES_PER_APPEND, random: deps.random },
        stored.hard ?? { term: 0, votedFor: null },
        stored,
        now,
        { mayCampaign: stored.id !== null, voteFloor: stored.floor, ...(stored.hard === undefined ? { voteFromMs: now + electionTimeoutMs[1] } : {}) },
      );
      const state: ConsensusState = {
        raft,
        id: stored.id,
        appliedIndex: stored.appliedIndex,
        snapshotIndex: stored.snapshotIndex,
        leading: false,
        leaderFromIndex: Number.POSITIVE_INFINITY,
        proposals: [],
        barriers: [],
        backups: [],
        names: new Map([[selfId, deps.node]]),
        dialling: new Set(),
        probing: false,
        nextProbeMs: now,
        refusalsLogged: new Map(),
        toldLeader: null,
        flushScheduled: false,
        outbox: new SnapshotOutbox(selfId),
        inbox: new SnapshotInbox(selfId),
        backup: undefined,
        floor: stored.floor,
        fresh: stored.fresh,
        nextGenesisMs: now,
        telling: false,
        waitingLogged: false,
      };
      // A restarted consensus actor does not lead until elected again.
      deps.leadership(false);
      for (const peer of peers) dial(state, peer, ctx);
      const timer = ctx.clock.setInterval(() => ctx.system.dispatch(ctx.self, { type: 'tick' }), TICK_MS);
      ctx.onEnd(() => timer.cancel());
      if (alone && state.id === null) await createControlPlane(state, ctx);
      else if (alone) raft.campaignNow(now);
      await drive(state, ctx);
      ctx.log.info('manager consensus started', { managers: voters.length, self: selfId, clusterId: state.id?.clusterId ?? null, term: raft.currentTerm, applied: state.appliedIndex });
      return state;
    },

    async receive(state, message, ctx) {
      const now = ctx.clock.now();
      switch (message.type) {
        case 'flush':
          state.flushScheduled = false;
          await drive(state, ctx);
          return state;
        case 'tick':
          state.raft.tick(now);
          if (state.id === null && isSeed && !state.probing && now >= state.nextProbeMs) probe(state, ctx);
          if (state.fresh && state.id !== null && now >= state.nextGenesisMs) {
            state.nextGenesisMs = now + PROBE_INTERVAL_MS;
            tellGenesis(state, ctx);
          }
          scheduleFlush(state, ctx);
          return state;
        case 'vote_request':
        case 'append':
          if (!(acceptFrom(state, message.from, message.id, ctx))) return state;
          // An empty manager joins the control plane of the first leader that reaches it.
          if (message.type === 'append' && state.id === null) await adoptIdentity(state, message.id, ctx);
          if (message.type === 'append') await learnFloor(state, { index: message.commit, term: message.term }, message.from, ctx);
          // Another leads this generation: others hold it now.
          if (message.type === 'append' && message.term >= state.raft.currentTerm) await endFresh(state, ctx);
          state.raft.receive(message, now);
          scheduleFlush(state, ctx);
          return state;
        case 'install_snapshot':
          // Only ever assembled here from pages; never taken whole from the wire.
          return state;
        case 'snapshot_page': {
          if (!(acceptFrom(state, message.from, message.id, ctx))) return state;
          const received = state.inbox.receive(message);
          if (!received) return state;
          send(state, message.from, received.ack, ctx);
          if (received.complete) {
            await learnFloor(state, { index: received.complete.index, term: received.complete.term }, message.from, ctx);
            state.raft.receive({ type: 'install_snapshot', term: message.term, from: message.from, snapshot: received.complete }, now);
            scheduleFlush(state, ctx);
          }
          return state;
        }
        case 'snapshot_page_ack': {
          if (!voters.includes(message.from)) return state;
          const next = state.outbox.acked(message);
          if (next === 'stale') return state;
          state.raft.snapshotMoving(message.from, now);
          if (next !== 'done') send(state, message.from, next, ctx);
          return state;
        }
        case 'backup_page': {
          const backup = state.backup;
          const tables = backup && backup.header.backupId === message.backupId && now < backup.untilMs ? backup.pages[message.page] : undefined;
          ctx.system.reply(message.replyTo, tables ? { ok: true, page: message.page, tables } : { ok: false, code: 'NoSuchBackup', message: `no page ${message.page} of backup ${message.backupId} here (a backup is kept ${BACKUP_KEEP_MS / 60_000} minutes, on the manager that made it)` });
          return state;
        }
        case 'vote_reply':
        case 'append_reply':
        case 'snapshot_reply':
          if (!voters.includes(message.from) || state.id === null) return state;
          state.raft.receive(message, now);
          scheduleFlush(state, ctx);
          return state;
        case 'propose': {
          if (!state.leading) {
            ctx.system.reply(message.replyTo, notLeader(state));
            return state;
          }
          if (message.afterIndex !== undefined && state.raft.lastIndex !== message.afterIndex) {
            ctx.system.reply(message.replyTo, { ok: false, code: 'Preempted', message: 'another change was proposed first' });
            return state;
          }
          const index = state.raft.propose({ kind: 'writes', ops: message.ops }, now);
          if (index === undefined) ctx.system.reply(message.replyTo, notLeader(state));
          else state.proposals.push({ index, term: state.raft.currentTerm, replyTo: message.replyTo });
          scheduleFlush(state, ctx);
          return state;
        }
        case 'barrier':
          if (!state.leading) ctx.system.reply(message.replyTo, notLeader(state));
          else state.barriers.push({ index: state.raft.lastIndex, term: state.raft.currentTerm, replyTo: message.replyTo });
          settle(state, ctx);
          return state;
        case 'backup':
          if (!state.leading) ctx.system.reply(message.replyTo, notLeader(state));
          else state.backups.push({ index: state.raft.lastIndex, term: state.raft.currentTerm, replyTo: message.replyTo });
          settle(state, ctx);
          return state;
        case 'leader': {
          const leaderId = state.raft.knownLeader;
          ctx.system.reply(message.replyTo, {
            ok: true,
            leader: leaderId === null ? null : (state.names.get(leaderId) ?? null),
            leaderAddress: leaderId === null || !listed ? null : leaderId,
            term: state.raft.currentTerm,
            role: state.raft.currentRole,
          });
          return state;
        }
        case 'status':
          ctx.system.reply(message.replyTo, { ok: true, id: state.id, leader: leaderName(state), managers: managerStatuses({ raft: state.raft, voters, selfId, names: state.names, appliedIndex: state.appliedIndex, reachableWithinMs: electionTimeoutMs[1], nowMs: now }) });
          return state;
        case 'probe':
          ctx.system.reply(message.replyTo, { ok: true, id: state.id, lastIndex: state.raft.lastIndex });
          return state;
        case 'genesis': {
          const empty = state.id === null && state.raft.lastIndex === 0 && state.appliedIndex === 0;
          if (!voters.includes(message.from) || !isControlPlaneId(message.id) || !isPosition(message.floor)) {
            ctx.system.reply(message.replyTo, { ok: false, message: 'not a manager of this list, or a malformed generation' });
          } else if (empty) {
            // Empty, it votes for a candidate whose log reaches what the new generation starts from.
            await adoptIdentity(state, message.id, ctx, message.floor);
            ctx.system.reply(message.replyTo, { ok: true });
          } else {
            const same = state.id !== null && state.id.clusterId === message.id.clusterId && state.id.epoch === message.id.epoch;
            ctx.system.reply(message.replyTo, same ? { ok: true } : { ok: false, message: 'this manager already holds state' });
          }
          return state;
        }
        case 'probed': {
          state.probing = false;
          state.nextProbeMs = now + PROBE_INTERVAL_MS;
          if (state.id !== null) return state;
          const taken = message.answers.find((answer) => answer !== null);
          if (taken) {
            ctx.log.info('waiting to be reached by the leader of the existing control plane', { clusterId: taken.clusterId });
            return state;
          }
          // Every manager must say it holds nothing: one that is merely not up yet may hold the cluster.
          if (message.answers.length < peers.length) {
            if (!state.waitingLogged) ctx.log.info('waiting for every manager to answer before creating the control plane', { answered: message.answers.length + 1, managers: voters.length });
            state.waitingLogged = true;
            return state;
          }
          await createControlPlane(state, ctx);
          scheduleFlush(state, ctx);
          return state;
        }
        case 'peer_named':
          state.dialling.delete(message.id);
          state.names.set(message.id, message.node);
          return state;
        case 'generation_shared':
          await endFresh(state, ctx);
          return state;
        default:
          return assertNever(message);
      }
    },
  };

  /**
   * Proposals and replies that arrive together are written in one transaction: the flush is queued
   * behind the messages already waiting, so a burst of changes costs one disk sync, not one each.
   */
  function scheduleFlush(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): void {
    if (state.flushScheduled) return;
    state.flushScheduled = true;
    ctx.system.dispatch(ctx.self, { type: 'flush' });
  }

  /** Writes, sends and applies what Raft asks for, in that order. */
  async function drive(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): Promise<void> {
    const ready: Ready = state.raft.takeReady();
    if (ready.snapshot && state.id === null) await adoptIdentity(state, ready.snapshot.id, ctx);
    // A leader may send its new entries before they are on its own disk (it counts itself only once they
    // are, through `persisted`); a vote, a term or a follower's log must be durable before anyone hears of it.
    const sendFirst = state.raft.currentRole === 'leader' && !ready.hardState && !ready.snapshot && ready.truncateFrom === undefined;
    if (sendFirst) sendAll(state, ready, ctx);
    const step = { hard: ready.hardState, truncateFrom: ready.truncateFrom, entries: ready.entries, snapshot: ready.snapshot };
    if (alone && !ready.snapshot) {
      // Alone, an entry is committed once it is on this disk: write and apply it in one transaction.
      state.raft.persisted(state.raft.lastIndex);
      const committed = committedEntries(state);
      await deps.store.persistAndApply(step, committed, unknownTable(ctx));
      const last = committed[committed.length - 1];
      if (last) state.appliedIndex = last.index;
    } else {
      await deps.store.persist(step);
      state.raft.persisted(state.raft.lastIndex);
    }
    if (ready.snapshot) {
      state.appliedIndex = ready.snapshot.index;
      state.snapshotIndex = ready.snapshot.index;
      ctx.log.info('caught up from a snapshot of the leader', { index: ready.snapshot.index });
    }
    if (!sendFirst) sendAll(state, ready, ctx);
    await apply(state, ctx);
    await maybeCaughtUp(state, ctx);
    await maybeSettledGeneration(state, ctx);
    followLeadership(state, ctx);
    settle(state, ctx);
    await compact(state);
  }

  function sendAll(state: ConsensusState, ready: Ready, ctx: ActorContext<ConsensusActorMessage>): void {
    for (const { to, message } of ready.messages) send(state, to, message, ctx);
    for (const peer of ready.snapshotsFor) sendSnapshot(state, peer, ctx);
  }

  async function apply(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): Promise<void> {
    const entries = committedEntries(state);
    await deps.store.apply(entries, unknownTable(ctx));
    const last = entries[entries.length - 1];
    if (last) state.appliedIndex = last.index;
  }

  /** The entries committed and not yet applied, in order. */
  function committedEntries(state: ConsensusState): LogEntry[] {
    const entries: LogEntry[] = [];
    for (let index = state.appliedIndex + 1; index <= state.raft.commitIndex; index++) {
      const entry = state.raft.entry(index);
      if (!entry) break;
      entries.push(entry);
    }
    return entries;
  }

  function unknownTable(ctx: ActorContext<ConsensusActorMessage>): (op: TableOp) => void {
    return (op) => ctx.log.error('log entry writes a table that is not replicated; ignored', { table: op.table, key: op.key });
  }

  function followLeadership(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): void {
    const leader = leaderName(state);
    if (leader !== state.toldLeader) {
      state.toldLeader = leader;
      deps.leaderChanged?.(leader);
    }
    const role = state.raft.currentRole;
    if (role === 'leader' && state.leaderFromIndex === Number.POSITIVE_INFINITY) {
      state.leaderFromIndex = state.raft.lastIndex;
      ctx.log.info('elected leader of the managers', { term: state.raft.currentTerm });
    }
    if (role === 'leader' && !state.leading && state.appliedIndex >= state.leaderFromIndex) {
      state.leading = true;
      deps.leadership(true);
    }
    if (role !== 'leader' && state.leaderFromIndex !== Number.POSITIVE_INFINITY) {
      state.leaderFromIndex = Number.POSITIVE_INFINITY;
      state.outbox.clear();
      state.backup = undefined;
      if (state.leading) {
        state.leading = false;
        deps.leadership(false);
      }
      ctx.log.warn('no longer the leader of the managers', { term: state.raft.currentTerm, leader: leaderName(state) });
    }
  }

  /** Answers proposals, barriers and backups whose entries are applied (or that can no longer be). */
  function settle(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): void {
    const leading = state.leading;
    const release = <R>(waiters: Array<Waiter<R>>, answer: (waiter: Waiter<R>) => R | undefined): void => {
      for (let i = 0; i < waiters.length; ) {
        const waiter = waiters[i]!;
        const reply = answer(waiter);
        if (reply === undefined) {
          i++;
          continue;
        }
        ctx.system.reply(waiter.replyTo, reply);
        waiters.splice(i, 1);
      }
    };
    release(state.proposals, (waiter): ProposeReply | undefined => {
      if (waiter.index <= state.appliedIndex) {
        const applied = state.raft.entry(waiter.index);
        // Applied at its index in the term it was proposed: it is this proposal, not a successor's entry.
        if (applied === undefined || applied.term === waiter.term) return { ok: true, index: waiter.index };
        return { ok: false, code: 'NotLeader', message: 'the change was overruled by a new leader' };
      }
      return leading ? undefined : { ok: false, code: 'NotLeader', message: 'leadership was lost before the change was known committed; it may or may not be applied' };
    });
    // Only once nothing proposed is still unapplied: a transaction then reads every change before its own.
    release(state.barriers, (waiter): BarrierReply | undefined => (state.appliedIndex >= state.raft.lastIndex ? { ok: true, index: state.appliedIndex } : leading ? undefined : notLeader(state)));
    release(state.backups, (waiter): BackupReply | undefined => {
      if (!leading) return notLeader(state);
      if (waiter.index > state.appliedIndex || state.id === null) return undefined;
      return { ok: true, ...prepareBackup(state, ctx.clock.now()) };
    });
  }

  async function compact(state: ConsensusState): Promise<void> {
    if (state.appliedIndex - state.snapshotIndex < 2 * LOG_KEEP) return;
    const upTo = state.appliedIndex - LOG_KEEP;
    const term = state.raft.termAt(upTo);
    if (term === undefined) return;
    state.raft.compact(upTo);
    await deps.store.compact({ index: upTo, term });
    state.snapshotIndex = upTo;
  }

  function snapshotNow(state: ConsensusState): StateSnapshot {
    const term = state.raft.termAt(state.appliedIndex) ?? 0;
    return deps.store.snapshot(state.id!, { index: state.appliedIndex, term });
  }

  function sendSnapshot(state: ConsensusState, peer: string, ctx: ActorContext<ConsensusActorMessage>): void {
    if (state.id === null) return;
    const snapshot = snapshotNow(state);
    const pages = splitTables(snapshot.tables, SNAPSHOT_PAGE_BYTES, recordBytes);
    ctx.log.info('sending a snapshot to a manager behind the log', { manager: peer, index: snapshot.index, pages: pages.length });
    send(state, peer, state.outbox.start(peer, snapshot, pages, state.raft.currentTerm), ctx);
  }

  function prepareBackup(state: ConsensusState, now: number): BackupHeader {
    const snapshot = snapshotNow(state);
    const pages = splitTables(snapshot.tables, SNAPSHOT_PAGE_BYTES, recordBytes);
    const records = recordCount(snapshot.tables);
    const header = { backupId: deps.randomId(), id: snapshot.id, index: snapshot.index, term: snapshot.term, pages: pages.length, records };
    state.backup = { header, pages, untilMs: now + BACKUP_KEEP_MS };
    return header;
  }

  function send(state: ConsensusState, to: string, message: RaftMessage | SnapshotPageMessage, ctx: ActorContext<ConsensusActorMessage>): void {
    const node = state.names.get(to);
    if (node === undefined) {
      dial(state, to, ctx);
      return;
    }
    // Raft ids on the wire are addresses; the control plane id is stamped here, not by Raft.
    const stamped = message.type === 'vote_request' || message.type === 'append' ? { ...message, id: state.id! } : message;
    ctx.system.dispatch(consensusRef(node), stamped);
  }

  function dial(state: ConsensusState, address: string, ctx: ActorContext<ConsensusActorMessage>): void {
    if (state.dialling.has(address) || alone) return;
    state.dialling.add(address);
    deps.connect(address).then(
      (node) => ctx.system.dispatch(ctx.self, { type: 'peer_named', id: address, node }),
      () => {
        // Tried again when next there is something to send it.
        state.dialling.delete(address);
      },
    );
  }

  /** Whether a vote request, append, snapshot page or genesis may be heeded: it must come from our control plane. */
  function acceptFrom(state: ConsensusState, from: string, id: ControlPlaneId, ctx: ActorContext<ConsensusActorMessage>): boolean {
    const refusal = refusalOf({ voters, own: state.id, from, id });
    if (refusal === undefined) return true;
    if (refusal !== 'malformed') logRefusal(state, from, refusal, ctx);
    return false;
  }

  function logRefusal(state: ConsensusState, from: string, reason: string, ctx: ActorContext<ConsensusActorMessage>): void {
    const now = ctx.clock.now();
    const last = state.refusalsLogged.get(from);
    if (last !== undefined && now - last < REFUSAL_LOG_INTERVAL_MS) return;
    state.refusalsLogged.set(from, now);
    ctx.log.error('refusing a manager', { manager: from, reason });
  }

  /** Joins `id`, voting as `floor` says (an empty manager joining a generation with history abstains until told how far it goes). */
  async function adoptIdentity(state: ConsensusState, id: ControlPlaneId, ctx: ActorContext<ConsensusActorMessage>, floor: VoteFloor = 'abstain'): Promise<void> {
    await deps.store.adopt(id, floor);
    state.id = id;
    state.raft.allowCampaign();
    setFloor(state, floor);
    ctx.log.info('joined the control plane', { clusterId: id.clusterId, floor });
  }

  function setFloor(state: ConsensusState, floor: VoteFloor): void {
    state.floor = floor;
    state.raft.setVoteFloor(floor);
  }

  /** The first word from a leader tells a manager that came back empty how far the log was committed. */
  async function learnFloor(state: ConsensusState, floor: { index: number; term: number }, from: string, ctx: ActorContext<ConsensusActorMessage>): Promise<void> {
    if (state.floor !== 'abstain' || state.id === null) return;
    await deps.store.setFloor(floor);
    setFloor(state, floor);
    ctx.log.info('catching up with the leader; until then votes only for a manager holding what was committed', { leader: from, commit: floor.index });
  }

  /** Caught up: its own log now holds what it only vouched for. */
  async function maybeCaughtUp(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): Promise<void> {
    const floor = state.floor;
    if (floor === 'none' || floor === 'abstain' || state.appliedIndex < floor.index || (state.raft.termAt(state.appliedIndex) ?? 0) < floor.term) return;
    await deps.store.setFloor('none');
    setFloor(state, 'none');
    ctx.log.info('caught up with the leader', { applied: state.appliedIndex });
  }

  /** The others committed an entry of this generation with its maker: from now on one that comes back empty must catch up. */
  async function maybeSettledGeneration(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): Promise<void> {
    if (!state.fresh || state.raft.currentRole !== 'leader' || state.raft.commitIndex < state.leaderFromIndex || alone) return;
    await endFresh(state, ctx);
  }

  async function endFresh(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): Promise<void> {
    if (!state.fresh) return;
    state.fresh = false;
    await deps.store.setFresh(false);
    ctx.log.info('the managers hold this generation of the control plane', { commit: state.raft.commitIndex });
  }

  async function createControlPlane(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): Promise<void> {
    const id = { clusterId: deps.randomId(), epoch: deps.randomId() };
    await deps.store.adopt(id, 'none', { fresh: true });
    state.id = id;
    state.fresh = true;
    state.raft.allowCampaign();
    setFloor(state, 'none');
    ctx.log.info('created a new control plane', { clusterId: id.clusterId, managers: voters.length });
    if (state.fresh) tellGenesis(state, ctx);
    state.raft.campaignNow(ctx.clock.now());
  }

  /**
   * A generation only this manager holds (it created it, restored it, or ran alone) is told to the
   * managers that are empty, with the log position it has reached: they may then vote, but only for a
   * manager whose log reaches that far, so none of them can lead without the state. Told only while
   * every peer answers and none holds more of it; once one does, the generation is no longer this
   * manager's alone.
   */
  function tellGenesis(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): void {
    const id = state.id;
    if (id === null || state.telling) return;
    state.telling = true;
    const floor = { index: state.appliedIndex, term: state.raft.termAt(state.appliedIndex) ?? 0 };
    void probePeers(ctx)
      .then((answers) => {
        if (answers.some((answer) => answer === undefined)) return;
        const known = answers as ProbeReply[];
        const sameGeneration = (answer: ProbeReply): boolean => answer.id !== null && answer.id.clusterId === id.clusterId && answer.id.epoch === id.epoch;
        if (known.some((answer) => sameGeneration(answer) && answer.lastIndex > floor.index)) {
          ctx.system.dispatch(ctx.self, { type: 'generation_shared' });
          return;
        }
        peers.forEach((peer, i) => {
          const node = state.names.get(peer);
          if (known[i]!.id === null && node !== undefined) void ask(ctx.system, consensusRef(node), { type: 'genesis', id, from: selfId, floor }, PROBE_TIMEOUT_MS);
        });
      })
      .finally(() => {
        state.telling = false;
      });
  }

  function probe(state: ConsensusState, ctx: ActorContext<ConsensusActorMessage>): void {
    state.probing = true;
    void probePeers(ctx).then((answers) =>
      ctx.system.dispatch(ctx.self, { type: 'probed', answers: answers.flatMap((answer) => (answer === undefined ? [] : [answer.id])) }),
    );
  }

  /** Every peer's answer to `probe`, undefined where none came. */
  function probePeers(ctx: ActorContext<ConsensusActorMessage>): Promise<Array<ProbeReply | undefined>> {
    return Promise.all(
      peers.map(async (peer) => {
        try {
          const node = await deps.connect(peer);
          const reply = await ask(ctx.system, consensusRef(node), { type: 'probe' }, PROBE_TIMEOUT_MS);
          return isRuntimeFailure(reply) ? undefined : reply;
        } catch {
          return undefined;
        }
      }),
    );
  }

  function leaderName(state: ConsensusState): string | null {
    const leaderId = state.raft.knownLeader;
    return leaderId === null ? null : (state.names.get(leaderId) ?? leaderId);
  }

  function notLeader(state: ConsensusState): { ok: false; code: 'NotLeader'; message: string } {
    const leader = leaderName(state);
    return { ok: false, code: 'NotLeader', message: leader === null ? 'no manager leads right now (a majority of managers must be reachable)' : `this manager does not lead; ${leader} does` };
  }
}

/** A record's size on the wire, for cutting snapshots into pages. */
function recordBytes(record: readonly [string, unknown]): number {
  return encodeCbor(record).length;
}

function isPosition(value: unknown): value is { index: number; term: number } {
  const position = value as { index?: unknown; term?: unknown } | null;
  return typeof position === 'object' && position !== null && Number.isSafeInteger(position.index) && Number.isSafeInteger(position.term);
}
