/**
 * Raft (Ongaro and Ousterhout, with pre-vote and check-quorum from the Raft thesis, as etcd does) as
 * pure logic: no timers, disk or network. Its driver feeds it messages, proposals and the time, then
 * takes a `Ready`: what must be made durable, and only after that what may be sent and applied.
 *
 * Safety rests on that order: a vote or an appended entry is on disk before any peer hears of it, and a
 * leader counts its own log towards a majority only through what its driver reports as durable.
 */
import type { ControlPlaneId, EntryData, LogEntry, RaftMessage, StateSnapshot } from './raft-messages.js';
import { assertNever } from '../assert-never.js';

export interface RaftSettings {
  readonly self: string;
  /** Every voting manager, this one included. */
  readonly voters: readonly string[];
  /** An election starts after a random wait between these, without word from a leader. */
  readonly electionTimeoutMs: readonly [number, number];
  readonly heartbeatMs: number;
  /** At most this many entries in one append message. */
  readonly maxEntriesPerAppend: number;
  /** A number in [0, 1), for the election waits. */
  readonly random: () => number;
}

/** What must survive a restart besides the log: the term, and whom this manager voted for in it. */
export interface HardState {
  readonly term: number;
  readonly votedFor: string | null;
}

/** The log as found on disk: the position the tables already reflect, and the entries after it. */
export interface StoredLog {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly entries: readonly LogEntry[];
  /** How far the tables reflect the log (applied entries are committed ones). */
  readonly appliedIndex: number;
}

export interface Outbound {
  readonly to: string;
  readonly message: RaftMessage;
}

/** Work for the driver, in this order: persist, then send, then apply up to `commitIndex`. */
export interface Ready {
  readonly hardState: HardState | undefined;
  /** Drop the stored entries from this index on before writing `entries` (a leader overruled them). */
  readonly truncateFrom: number | undefined;
  readonly entries: readonly LogEntry[];
  /** Replace every table and the log by this snapshot (sent by the leader to a lagging follower). */
  readonly snapshot: StateSnapshot | undefined;
  readonly messages: readonly Outbound[];
  /** Peers too far behind for the log kept: send them a snapshot of the tables. */
  readonly snapshotsFor: readonly string[];
  readonly commitIndex: number;
}

export type Role = 'leader' | 'follower' | 'candidate';

interface PeerProgress {
  matchIndex: number;
  nextIndex: number;
  /** When this peer last answered in the current term (check-quorum). */
  lastHeardMs: number;
  /** A snapshot is on its way; nothing else is sent until it is answered or this time passes. */
  snapshotUntilMs: number;
}

/** A snapshot unanswered after this many election timeouts is sent again. */
const SNAPSHOT_RETRY_TIMEOUTS = 3;

export class Raft {
  private term: number;
  private votedFor: string | null;
  private role: Role = 'follower';
  private leader: string | null = null;
  private snapshotIndex: number;
  private snapshotTerm: number;
  private log: LogEntry[];
  private commit: number;
  /** The last index known durable on this manager's own disk (a leader counts only that). */
  private durableIndex: number;
  private electionDeadlineMs = 0;
  private heartbeatDueMs = 0;
  private lastLeaderContactMs = Number.NEGATIVE_INFINITY;
  private becameLeaderMs = 0;
  private readonly votes = new Set<string>();
  private preVoting = false;
  private readonly progress = new Map<string, PeerProgress>();
  private readonly peers: readonly string[];
  /** Allowed to start elections (an empty manager that belongs to no control plane yet is not). */
  private mayCampaign: boolean;
  /** How this manager votes; see VoteFloor. */
  private voteFloor: VoteFloor;
  /**
   * No vote before this time: a manager that lost its disk may have voted in the current term before,
   * and waiting out an election timeout lets that term's election end without a second vote from it.
   */
  private readonly voteFromMs: number;

  private pending: { hardState: boolean; truncateFrom: number | undefined; entries: LogEntry[]; snapshot: StateSnapshot | undefined; messages: Outbound[]; snapshotsFor: Set<string> } = Raft.emptyPending();

  constructor(
    private readonly settings: RaftSettings,
    hard: HardState,
    stored: StoredLog,
    nowMs: number,
    options: { readonly mayCampaign: boolean; readonly voteFloor: VoteFloor; readonly voteFromMs?: number },
  ) {
    if (!settings.voters.includes(settings.self)) throw new Error(`${settings.self} is not among the voters`);
    this.term = hard.term;
    this.votedFor = hard.votedFor;
    this.snapshotIndex = stored.snapshotIndex;
    this.snapshotTerm = stored.snapshotTerm;
    this.log = [...stored.entries];
    this.commit = Math.max(stored.snapshotIndex, Math.min(stored.appliedIndex, this.lastIndex));
    this.durableIndex = this.lastIndex;
    this.peers = settings.voters.filter((voter) => voter !== settings.self);
    this.mayCampaign = options.mayCampaign;
    this.voteFloor = options.voteFloor;
    this.voteFromMs = options.voteFromMs ?? 0;
    this.resetElectionDeadline(nowMs);
  }

  get currentTerm(): number {
    return this.term;
  }

  get currentRole(): Role {
    return this.role;
  }

  get knownLeader(): string | null {
    return this.leader;
  }

  get commitIndex(): number {
    return this.commit;
  }

  get lastIndex(): number {
    const last = this.log[this.log.length - 1];
    return last ? last.index : this.snapshotIndex;
  }

  get firstKeptIndex(): number {
    return this.snapshotIndex + 1;
  }

  /** The term of the entry at `index`; undefined when that entry is compacted away or not yet there. */
  termAt(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex) return undefined;
    return this.log[index - this.snapshotIndex - 1]?.term;
  }

  entry(index: number): LogEntry | undefined {
    if (index <= this.snapshotIndex) return undefined;
    return this.log[index - this.snapshotIndex - 1];
  }

  /** The leader's view of each peer: how far its log agrees, and when it last answered. */
  peerProgress(): ReadonlyMap<string, { readonly matchIndex: number; readonly lastHeardMs: number }> {
    return this.progress;
  }

  allowCampaign(): void {
    this.mayCampaign = true;
  }

  setVoteFloor(floor: VoteFloor): void {
    this.voteFloor = floor;
  }

  /** Starts an election now rather than after a timeout (a lone manager, or one that just created the control plane). */
  campaignNow(nowMs: number): void {
    if (this.role === 'leader' || !this.mayCampaign || this.voteFloor !== 'none') return;
    this.resetElectionDeadline(nowMs);
    this.startPreVote(nowMs);
  }

  /** Appends a change on the leader; its index, or undefined when this manager does not lead. */
  propose(data: EntryData, nowMs: number): number | undefined {
    if (this.role !== 'leader') return undefined;
    const entry: LogEntry = { index: this.lastIndex + 1, term: this.term, data };
    this.log.push(entry);
    this.pending.entries.push(entry);
    this.maybeCommit();
    for (const peer of this.peers) this.sendAppend(peer, nowMs, false);
    return entry.index;
  }

  /** A snapshot on its way to `peer` is still moving (a page was answered): do not send it anew yet. */
  snapshotMoving(peer: string, nowMs: number): void {
    const progress = this.progress.get(peer);
    if (!progress || progress.snapshotUntilMs === 0) return;
    progress.snapshotUntilMs = nowMs + this.settings.electionTimeoutMs[1] * SNAPSHOT_RETRY_TIMEOUTS;
    // A follower taking a snapshot answers its pages, not appends: it is heard all the same.
    progress.lastHeardMs = nowMs;
  }

  /** The driver made the log durable up to `index` (a single manager commits on its own disk alone). */
  persisted(index: number): void {
    if (index > this.durableIndex) this.durableIndex = Math.min(index, this.lastIndex);
    if (this.role === 'leader') this.maybeCommit();
  }

  tick(nowMs: number): void {
    if (this.role === 'leader') {
      if (this.lostQuorum(nowMs)) {
        this.becomeFollower(this.term, null, nowMs);
        return;
      }
      if (nowMs >= this.heartbeatDueMs) {
        this.heartbeatDueMs = nowMs + this.settings.heartbeatMs;
        for (const peer of this.peers) this.sendAppend(peer, nowMs, true);
      }
      return;
    }
    if (nowMs >= this.electionDeadlineMs) {
      this.resetElectionDeadline(nowMs);
      if (this.mayCampaign && this.voteFloor === 'none') this.startPreVote(nowMs);
    }
  }

  receive(message: RaftMessage, nowMs: number): void {
    switch (message.type) {
      case 'vote_request':
        return this.onVoteRequest(message, nowMs);
      case 'vote_reply':
        return this.onVoteReply(message, nowMs);
      case 'append':
        return this.onAppend(message, nowMs);
      case 'append_reply':
        return this.onAppendReply(message, nowMs);
      case 'install_snapshot':
        return this.onSnapshot(message, nowMs);
      case 'snapshot_reply':
        return this.onSnapshotReply(message, nowMs);
      default:
        return assertNever(message);
    }
  }

  /** Takes what the driver must do now; the next call returns only what happened since. */
  takeReady(): Ready {
    const pending = this.pending;
    this.pending = Raft.emptyPending();
    return {
      hardState: pending.hardState ? { term: this.term, votedFor: this.votedFor } : undefined,
      truncateFrom: pending.truncateFrom,
      entries: pending.entries,
      snapshot: pending.snapshot,
      messages: pending.messages,
      snapshotsFor: [...pending.snapshotsFor],
      commitIndex: this.commit,
    };
  }

  /** Forgets entries up to `index` (already applied to the tables, which now stand for them). */
  compact(index: number): void {
    const upTo = Math.min(index, this.commit);
    if (upTo <= this.snapshotIndex) return;
    const term = this.termAt(upTo);
    if (term === undefined) return;
    this.log = this.log.slice(upTo - this.snapshotIndex);
    this.snapshotIndex = upTo;
    this.snapshotTerm = term;
  }

  /** The control plane a vote or append comes from is the driver's to check; this is the message's term logic only. */
  private onVoteRequest(message: Extract<RaftMessage, { type: 'vote_request' }>, nowMs: number): void {
    const upToDate = atLeast(message, { index: this.lastIndex, term: this.lastTerm }) && aboveFloor(message, this.voteFloor) && nowMs >= this.voteFromMs;
    if (message.preVote) {
      // Granted only by a manager that has not heard from a leader lately: a working leader keeps its office.
      const leaderQuiet = this.role !== 'leader' && nowMs - this.lastLeaderContactMs >= this.settings.electionTimeoutMs[0];
      const granted = message.term > this.term && upToDate && leaderQuiet;
      this.send(message.from, { type: 'vote_reply', term: granted ? message.term : this.term, from: this.settings.self, granted, preVote: true });
      return;
    }
    if (message.term > this.term) this.becomeFollower(message.term, null, nowMs);
    const granted = message.term === this.term && upToDate && (this.votedFor === null || this.votedFor === message.from);
    if (granted) {
      this.votedFor = message.from;
      this.pending.hardState = true;
      this.resetElectionDeadline(nowMs);
    }
    this.send(message.from, { type: 'vote_reply', term: this.term, from: this.settings.self, granted, preVote: false });
  }

  private onVoteReply(message: Extract<RaftMessage, { type: 'vote_reply' }>, nowMs: number): void {
    if (message.term > this.term && !message.granted) {
      this.becomeFollower(message.term, null, nowMs);
      return;
    }
    if (message.preVote) {
      if (!this.preVoting || message.term !== this.term + 1 || !message.granted) return;
      this.votes.add(message.from);
      if (this.hasMajority(this.votes)) this.startElection(nowMs);
      return;
    }
    if (this.role !== 'candidate' || message.term !== this.term || !message.granted) return;
    this.votes.add(message.from);
    if (this.hasMajority(this.votes)) this.becomeLeader(nowMs);
  }

  private onAppend(message: Extract<RaftMessage, { type: 'append' }>, nowMs: number): void {
    const refuse = (matchIndex: number): void =>
      this.send(message.from, { type: 'append_reply', term: this.term, from: this.settings.self, success: false, matchIndex, prevIndex: message.prevIndex, lastIndex: this.lastIndex });
    if (message.term < this.term) return refuse(this.lastIndex);
    this.followLeader(message.term, message.from, nowMs);
    if (message.prevIndex > this.lastIndex) return refuse(this.lastIndex);
    if (message.prevIndex >= this.snapshotIndex && this.termAt(message.prevIndex) !== message.prevTerm) {
      // Entries after the commit index are the only ones that can differ: let the leader back off to there.
      return refuse(Math.max(this.commit, this.firstIndexOfTerm(message.prevIndex) - 1));
    }
    for (const entry of message.entries) {
      if (entry.index <= this.snapshotIndex) continue;
      const existing = this.termAt(entry.index);
      if (existing === entry.term) continue;
      if (existing !== undefined) this.truncateFrom(entry.index);
      this.log.push(entry);
      this.pending.entries.push(entry);
    }
    const lastNew = message.prevIndex + message.entries.length;
    if (message.commit > this.commit) this.commit = Math.max(this.commit, Math.min(message.commit, lastNew));
    this.send(message.from, { type: 'append_reply', term: this.term, from: this.settings.self, success: true, matchIndex: Math.max(lastNew, Math.min(this.commit, this.lastIndex)), prevIndex: message.prevIndex, lastIndex: this.lastIndex });
  }

  private onAppendReply(message: Extract<RaftMessage, { type: 'append_reply' }>, nowMs: number): void {
    const peer = this.answeringPeer(message, nowMs);
    if (!peer) return;
    if (message.success) return this.matched(message.from, peer, message.matchIndex, nowMs);
    // A refusal of an append older than what the peer has since confirmed says nothing new.
    if (message.prevIndex < peer.matchIndex) return;
    if (message.lastIndex < peer.matchIndex) {
      // Its log is shorter than it once confirmed: it lost its disk. It starts again from what it has
      // (the commit index never moves back, so forgetting what it held is safe).
      peer.matchIndex = message.matchIndex;
      peer.nextIndex = message.matchIndex + 1;
      this.sendAppend(message.from, nowMs, true);
      return;
    }
    peer.nextIndex = Math.max(peer.matchIndex + 1, Math.min(peer.nextIndex - 1, message.matchIndex + 1));
    this.sendAppend(message.from, nowMs, true);
  }

  private onSnapshot(message: Extract<RaftMessage, { type: 'install_snapshot' }>, nowMs: number): void {
    if (message.term < this.term) {
      this.send(message.from, { type: 'snapshot_reply', term: this.term, from: this.settings.self, index: this.commit });
      return;
    }
    this.followLeader(message.term, message.from, nowMs);
    const snapshot = message.snapshot;
    if (snapshot.index > this.commit && this.termAt(snapshot.index) === snapshot.term) {
      // The log already holds the snapshot's last entry: it and everything before it are committed,
      // and the entries after it (maybe acknowledged already) are kept (Raft §7).
      this.commit = snapshot.index;
    } else if (snapshot.index > this.commit) {
      this.log = [];
      this.snapshotIndex = snapshot.index;
      this.snapshotTerm = snapshot.term;
      this.commit = snapshot.index;
      this.durableIndex = snapshot.index;
      this.pending.snapshot = snapshot;
      this.pending.entries = [];
      this.pending.truncateFrom = undefined;
    }
    this.send(message.from, { type: 'snapshot_reply', term: this.term, from: this.settings.self, index: Math.max(snapshot.index, this.commit) });
  }

  private onSnapshotReply(message: Extract<RaftMessage, { type: 'snapshot_reply' }>, nowMs: number): void {
    const peer = this.answeringPeer(message, nowMs);
    if (!peer) return;
    peer.snapshotUntilMs = 0;
    this.matched(message.from, peer, message.index, nowMs);
  }

  /** A follower's answer in this leader's term: its progress (or undefined, after stepping down for a newer term). */
  private answeringPeer(message: { readonly term: number; readonly from: string }, nowMs: number): PeerProgress | undefined {
    if (message.term > this.term) {
      this.becomeFollower(message.term, null, nowMs);
      return undefined;
    }
    const peer = this.progress.get(message.from);
    if (this.role !== 'leader' || message.term !== this.term || !peer) return undefined;
    peer.lastHeardMs = nowMs;
    return peer;
  }

  /** A follower's log agrees up to `index`: count it, and send it what follows. */
  private matched(name: string, peer: PeerProgress, index: number, nowMs: number): void {
    if (index > peer.matchIndex) peer.matchIndex = index;
    if (peer.nextIndex <= peer.matchIndex) peer.nextIndex = peer.matchIndex + 1;
    this.maybeCommit();
    if (peer.nextIndex <= this.lastIndex) this.sendAppend(name, nowMs, false);
  }

  private startPreVote(nowMs: number): void {
    // No word from a leader for a whole election timeout: whoever led is not known to lead any more.
    this.leader = null;
    this.preVoting = true;
    this.votes.clear();
    this.votes.add(this.settings.self);
    if (this.hasMajority(this.votes)) return this.startElection(nowMs);
    for (const peer of this.peers) {
      this.send(peer, { type: 'vote_request', id: NO_ID, term: this.term + 1, from: this.settings.self, lastIndex: this.lastIndex, lastTerm: this.lastTerm, preVote: true });
    }
  }

  private startElection(nowMs: number): void {
    this.preVoting = false;
    this.role = 'candidate';
    this.leader = null;
    this.term += 1;
    this.votedFor = this.settings.self;
    this.pending.hardState = true;
    this.votes.clear();
    this.votes.add(this.settings.self);
    this.resetElectionDeadline(nowMs);
    if (this.hasMajority(this.votes)) return this.becomeLeader(nowMs);
    for (const peer of this.peers) {
      this.send(peer, { type: 'vote_request', id: NO_ID, term: this.term, from: this.settings.self, lastIndex: this.lastIndex, lastTerm: this.lastTerm, preVote: false });
    }
  }

  private becomeLeader(nowMs: number): void {
    this.role = 'leader';
    this.leader = this.settings.self;
    this.preVoting = false;
    this.becameLeaderMs = nowMs;
    this.progress.clear();
    for (const peer of this.peers) this.progress.set(peer, { matchIndex: 0, nextIndex: this.lastIndex + 1, lastHeardMs: nowMs, snapshotUntilMs: 0 });
    this.heartbeatDueMs = nowMs + this.settings.heartbeatMs;
    // An entry of its own term lets the new leader commit what earlier leaders left uncommitted.
    this.propose({ kind: 'noop' }, nowMs);
  }

  private becomeFollower(term: number, leader: string | null, nowMs: number): void {
    if (term > this.term) {
      this.term = term;
      this.votedFor = null;
      this.pending.hardState = true;
    }
    const wasLeader = this.role === 'leader';
    this.role = 'follower';
    this.leader = leader;
    this.preVoting = false;
    this.progress.clear();
    if (wasLeader) this.resetElectionDeadline(nowMs);
  }

  private followLeader(term: number, leader: string, nowMs: number): void {
    if (term > this.term || this.role !== 'follower' || this.leader !== leader) this.becomeFollower(term, leader, nowMs);
    this.lastLeaderContactMs = nowMs;
    this.resetElectionDeadline(nowMs);
  }

  private sendAppend(peer: string, nowMs: number, evenIfEmpty: boolean): void {
    const progress = this.progress.get(peer);
    if (!progress) return;
    if (progress.snapshotUntilMs > nowMs) return;
    const prevIndex = progress.nextIndex - 1;
    const prevTerm = this.termAt(prevIndex);
    if (prevTerm === undefined) {
      // What the peer needs next is no longer in the log: it gets the tables themselves.
      progress.snapshotUntilMs = nowMs + this.settings.electionTimeoutMs[1] * SNAPSHOT_RETRY_TIMEOUTS;
      this.pending.snapshotsFor.add(peer);
      return;
    }
    const entries = this.log.slice(prevIndex - this.snapshotIndex, prevIndex - this.snapshotIndex + this.settings.maxEntriesPerAppend);
    if (entries.length === 0 && !evenIfEmpty) return;
    this.send(peer, { type: 'append', id: NO_ID, term: this.term, from: this.settings.self, prevIndex, prevTerm, entries, commit: this.commit });
    // Sent in order on one link, so the next batch can follow before this one is answered.
    progress.nextIndex = prevIndex + entries.length + 1;
  }

  private maybeCommit(): void {
    const matched = [this.durableIndex, ...this.peers.map((peer) => this.progress.get(peer)?.matchIndex ?? 0)].sort((a, b) => b - a);
    const majorityIndex = matched[majority(this.settings.voters.length) - 1] ?? 0;
    // Only an entry of the leader's own term is committed by counting (Raft §5.4.2).
    if (majorityIndex > this.commit && this.termAt(majorityIndex) === this.term) this.commit = majorityIndex;
  }

  /** The first index of the term of the entry at `index` (a whole conflicting term is skipped at once). */
  private firstIndexOfTerm(index: number): number {
    const term = this.termAt(Math.min(index, this.lastIndex));
    let first = Math.min(index, this.lastIndex);
    while (first - 1 > this.snapshotIndex && this.termAt(first - 1) === term) first--;
    return first;
  }

  private lostQuorum(nowMs: number): boolean {
    // Before the followers may elect another (after the shortest election timeout), this one stops leading.
    const window = this.settings.electionTimeoutMs[0] - this.settings.heartbeatMs;
    if (nowMs - this.becameLeaderMs < window) return false;
    let heard = 1;
    for (const progress of this.progress.values()) if (nowMs - progress.lastHeardMs < window) heard++;
    return heard < majority(this.settings.voters.length);
  }

  private truncateFrom(index: number): void {
    if (index <= this.commit) throw new Error(`refusing to truncate committed entry ${index} (commit ${this.commit})`);
    this.log = this.log.slice(0, index - this.snapshotIndex - 1);
    this.pending.entries = this.pending.entries.filter((entry) => entry.index < index);
    this.pending.truncateFrom = Math.min(this.pending.truncateFrom ?? index, index);
    if (this.durableIndex >= index) this.durableIndex = index - 1;
  }

  private get lastTerm(): number {
    const last = this.log[this.log.length - 1];
    return last ? last.term : this.snapshotTerm;
  }

  private hasMajority(votes: ReadonlySet<string>): boolean {
    return votes.size >= majority(this.settings.voters.length);
  }

  private send(to: string, message: RaftMessage): void {
    this.pending.messages.push({ to, message });
  }

  private resetElectionDeadline(nowMs: number): void {
    const [min, max] = this.settings.electionTimeoutMs;
    this.electionDeadlineMs = nowMs + min + Math.floor(this.settings.random() * (max - min));
  }

  private static emptyPending(): Raft['pending'] {
    return { hardState: false, truncateFrom: undefined, entries: [], snapshot: undefined, messages: [], snapshotsFor: new Set() };
  }
}

/**
 * How a manager votes. `none`: on its own log alone, as Raft does. A manager that lost its disk may
 * have acknowledged entries it no longer holds, and its vote could then elect a leader without them:
 * until it learns how far the log was committed (`abstain` until then), it votes only for a candidate
 * whose log reaches that far (`{index, term}`), as if its own log did; once it has caught up, `none`.
 */
export type VoteFloor = 'none' | 'abstain' | { readonly index: number; readonly term: number };

function atLeast(candidate: { readonly lastIndex: number; readonly lastTerm: number }, position: { readonly index: number; readonly term: number }): boolean {
  return candidate.lastTerm > position.term || (candidate.lastTerm === position.term && candidate.lastIndex >= position.index);
}

function aboveFloor(candidate: { readonly lastIndex: number; readonly lastTerm: number }, floor: VoteFloor): boolean {
  if (floor === 'none') return true;
  return floor !== 'abstain' && atLeast(candidate, floor);
}

export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** The core leaves the control plane id empty; the driver stamps its own on every message it sends. */
const NO_ID: ControlPlaneId = { clusterId: '', epoch: '' };
