/**
 * Coordinating one conditional write (If-Match, If-None-Match): compare-and-set on the key, decided
 * by single-decree Paxos among its replicas (core/cas-rules.ts), so that of any number of concurrent
 * conditional writers, through any gateways, at most one succeeds for a given version of the key.
 *
 *   1. prepare with a fresh ballot; a quorum must promise (a higher promise elsewhere: back off, retry)
 *   2. a proposal accepted and not seen committed is finished first: it may have been chosen
 *   3. the condition is judged against the newest version the quorum holds (fails: 412, nothing written)
 *   4. propose the new version; a quorum must accept (preempted: back off, retry from 1)
 *   5. commit it to every replica; answer once W (D for a delete) have applied it
 *
 * A coordinator that crashes anywhere leaves at most an accepted proposal, which the next conditional
 * writer of the key finishes or outvotes. A write that could not be decided before the deadline is a
 * ConditionalConflict when none of its proposals can surface any more, a Timeout (outcome unknown) when
 * one was accepted somewhere.
 */
import { casQuorum, newestHead, unfinishedProposal, type CasPromise, type CasProposal } from '../../core/cas-rules.js';
import { compareHlc, type Hlc } from '../../core/hlc.js';
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import { preferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import { judgeWriteCondition, type WriteCondition } from '../../core/write-condition.js';
import type { ActorApi } from '../../runtime/actor.js';
import type { RuntimeFailure } from '../../runtime/failures.js';
import type { Logger } from '../../runtime/logger.js';
import type { ReplyTo } from '../../runtime/refs.js';
import type { PutResult, StorageFailure } from '../../protocol/cluster/storage-api.js';
import { routerOf, type CasPrepareReply, type CasProposeReply, type ReplicaPutReply, type RouterMessage } from '../../protocol/cluster/storage.js';
import { casCommit, casPrepare, casPropose } from './cas-acceptor.js';
import { addressOf } from './replica-ops.js';
import { repairItemKey, type StorageContext } from './storage-context.js';

export interface ConditionalWriteRequest {
  readonly objectKind: ObjectKind;
  /** The version to write; its clock and modification time are stamped when it is proposed. */
  readonly version: Omit<ObjectMeta, 'clock' | 'lastModifiedMs' | 'ringChecksum'>;
  readonly body?: Uint8Array;
  readonly condition: WriteCondition;
  /** W for writes, D for deletes: the replicas that must have applied the version before the answer. */
  readonly required: number;
}

/** The first retry waits up to this long; each further one up to twice as long as the one before. */
const FIRST_BACKOFF_MS = 5;
const MAX_BACKOFF_MS = 200;

type Outcome<R> = R | RuntimeFailure;

export class ConditionalWrite {
  /** Clocks of the versions this write proposed: any of them surfacing is this write succeeding. */
  private readonly proposed: Hlc[] = [];
  private readonly address;

  constructor(
    private readonly system: ActorApi,
    private readonly context: StorageContext,
    private readonly log: Logger,
    private readonly request: ConditionalWriteRequest,
  ) {
    this.address = addressOf(request.objectKind, request.version);
  }

  async run(): Promise<PutResult> {
    const { context } = this;
    const deadlineMs = context.clock.now() + context.options.conditionalWriteDeadlineMs;
    let lastProblem = 'no attempt';
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        if (context.clock.now() >= deadlineMs) return this.giveUp(lastProblem);
        await this.backOff(attempt);
      }
      const round = await this.attempt();
      if (round.type === 'decided') return round.result;
      lastProblem = round.problem;
    }
  }

  private async attempt(): Promise<{ type: 'decided'; result: PutResult } | { type: 'retry'; problem: string }> {
    const { context, request } = this;
    const snapshot = context.ringView.current;
    if (!snapshot) return { type: 'decided', result: failure('Unavailable', 'this node has no ring yet') };
    const { n, w, d } = snapshot.doc.settings;
    const replicas = preferenceList(snapshot.current, keyPosition(this.address.bucket, this.address.key), n);
    const reachable = replicas.filter((replica) => !context.isKnownDown(replica));
    const quorum = casQuorum(n, w, d);
    if (reachable.length < quorum) {
      return { type: 'retry', problem: `${reachable.length} of ${n} replicas are reachable and ${quorum} must take part in a conditional write` };
    }

    const ballot = context.hlc.stamp();
    const promised = await gather(reachable, (replica) => this.prepare(replica, ballot), (replies) => count(replies, isGranted) >= quorum);
    const granted = [...promised.values()].filter(isGranted);
    if (granted.length < quorum) return { type: 'retry', problem: this.refused('promise', promised) };
    const promises: CasPromise[] = granted.map((reply) => ({
      ...(reply.accepted ? { accepted: reply.accepted } : {}),
      ...(reply.committed ? { committed: reply.committed } : {}),
      ...(reply.head ? { head: reply.head } : {}),
    }));

    const unfinished = unfinishedProposal(promises);
    if (unfinished) {
      // Finished under this ballot; a newer ballot is needed for this write's own proposal.
      const finished = await this.choose(reachable, quorum, { ...unfinished, ballot });
      if (finished.type !== 'decided') return finished;
      if (this.isMine(unfinished.meta.clock)) return { type: 'decided', result: finished.result };
      return { type: 'retry', problem: 'finished an earlier conditional write of the key' };
    }

    const head = newestHead(promises);
    // A proposal of this write's own, chosen and committed by another coordinator meanwhile.
    if (head && this.isMine(head.clock)) return { type: 'decided', result: { ok: true, meta: head } };
    const current = head && !head.deleted ? head : undefined;
    const verdict = judgeWriteCondition(request.condition, current);
    if (!verdict.pass) {
      return verdict.failed === 'absent'
        ? { type: 'decided', result: failure('NotFound', `${this.address.key} has no version to match`) }
        : { type: 'decided', result: { ...failure('PreconditionFailed', `the ${verdict.failed} condition does not hold`), condition: verdict.failed } };
    }

    if (head) context.hlc.observe(head.clock);
    const clock = context.hlc.stamp();
    const meta = { ...request.version, clock, lastModifiedMs: clock.wallMs, ringChecksum: snapshot.checksum } as ObjectMeta;
    this.proposed.push(clock);
    return this.choose(reachable, quorum, { ballot, meta, ...(request.body ? { body: request.body } : {}) });
  }

  /** Proposes `proposal`; once a quorum accepts it, commits it and answers with the commit's outcome. */
  private async choose(reachable: readonly string[], quorum: number, proposal: CasProposal): Promise<{ type: 'decided'; result: PutResult } | { type: 'retry'; problem: string }> {
    const accepted = await gather(reachable, (replica) => this.propose(replica, proposal), (replies) => count(replies, isGranted) >= quorum);
    if (count(accepted, isGranted) < quorum) return { type: 'retry', problem: this.refused('acceptance', accepted) };

    const { required } = this.request;
    const applied = await gather(reachable, (replica) => this.commit(replica, proposal), (replies) => count(replies, isOk) >= required);
    const acks = count(applied, isOk);
    for (const replica of reachable) {
      const reply = applied.get(replica);
      if (reply === undefined || !reply.ok) this.queueRepair(replica);
    }
    if (acks < required) {
      return {
        type: 'decided',
        result: failure('Timeout', `the conditional write was chosen and is applied on ${acks} replicas, ${required} required; it will surface`),
      };
    }
    return { type: 'decided', result: { ok: true, meta: proposal.meta, ...replacedBy(applied) } };
  }

  private prepare(replica: string, ballot: Hlc): Promise<Outcome<CasPrepareReply>> {
    if (replica === this.context.node) return casPrepare(this.context, this.address, ballot);
    return this.ask<CasPrepareReply>(replica, (replyTo) => ({ type: 'cas_prepare', objectKind: this.address.kind, bucket: this.address.bucket, key: this.address.key, ballot, replyTo }));
  }

  private propose(replica: string, proposal: CasProposal): Promise<Outcome<CasProposeReply>> {
    if (replica === this.context.node) return casPropose(this.context, this.request.objectKind, proposal);
    return this.ask<CasProposeReply>(replica, (replyTo) => ({ type: 'cas_propose', objectKind: this.request.objectKind, proposal, replyTo }), proposal.body?.length ?? 0);
  }

  private commit(replica: string, proposal: CasProposal): Promise<Outcome<ReplicaPutReply>> {
    if (replica === this.context.node) return casCommit(this.context, this.request.objectKind, proposal);
    return this.ask<ReplicaPutReply>(replica, (replyTo) => ({ type: 'cas_commit', objectKind: this.request.objectKind, proposal, replyTo }), proposal.body?.length ?? 0);
  }

  private ask<R>(replica: string, build: (replyTo: ReplyTo<R>) => RouterMessage, bodyBytes = 0): Promise<Outcome<R>> {
    return this.system.askWhenWritable<RouterMessage, R>(routerOf(replica), build, this.context.options.replicaTimeoutMs, bodyBytes);
  }

  private isMine(clock: Hlc): boolean {
    return this.proposed.some((mine) => compareHlc(mine, clock) === 0);
  }

  /** A replica that missed a commit gets the version from this node's repair queue, if it holds the key. */
  private queueRepair(replica: string): void {
    const { context } = this;
    if (replica === context.node) return;
    const item = { peer: replica, objectKind: this.request.objectKind, bucket: this.address.bucket, key: this.address.key };
    void context.repairs.enqueue(repairItemKey(item), item, context.clock.now()).catch((error: unknown) => this.log.error('cannot queue a repair', { error }));
  }

  /** Random waits keep two coordinators that preempt each other from doing so in lockstep. */
  private backOff(attempt: number): Promise<void> {
    const ceilingMs = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
    const delayMs = Math.floor(this.context.random() * ceilingMs);
    return new Promise((resolve) => this.context.clock.setTimeout(resolve, delayMs));
  }

  private giveUp(problem: string): PutResult {
    // A proposal accepted anywhere may still be finished by another coordinator: the outcome is unknown.
    if (this.proposed.length > 0) return failure('Timeout', `the conditional write was not decided in time and may still surface (${problem})`);
    return failure('ConditionalConflict', `concurrent conditional writes kept this one from being decided (${problem})`);
  }

  /**
   * Learns the higher ballots that refused this one, so that the next ballot of a coordinator whose clock
   * runs behind outbids them, and says what kept the quorum from forming.
   */
  private refused(what: string, replies: ReadonlyMap<string, Outcome<CasPrepareReply | CasProposeReply>>): string {
    const refused = [...replies.entries()].filter(([, reply]) => !isGranted(reply));
    for (const [, reply] of refused) if (reply.ok && 'promised' in reply) this.context.hlc.observe(reply.promised);
    return `no quorum of ${what}s (${refused.map(([replica, reply]) => `${replica}: ${reply.ok ? 'promised a higher ballot' : reply.code}`).join(', ')})`;
  }
}

function isGranted<R extends { ok: boolean }>(reply: Outcome<R>): reply is Extract<R, { ok: true; granted: true }> {
  return reply.ok && (reply as { granted?: boolean }).granted === true;
}

function isOk<R extends { ok: boolean }>(reply: Outcome<R>): boolean {
  return reply.ok;
}

function count<R>(replies: ReadonlyMap<string, R>, test: (reply: R) => boolean): number {
  let matching = 0;
  for (const reply of replies.values()) if (test(reply)) matching++;
  return matching;
}

/**
 * Asks every replica at once and resolves with the answers so far as soon as `enough` holds, or once
 * every replica has answered. Answers that come later are dropped.
 */
function gather<R>(replicas: readonly string[], ask: (replica: string) => Promise<R>, enough: (replies: ReadonlyMap<string, R>) => boolean): Promise<Map<string, R>> {
  return new Promise((resolve) => {
    const replies = new Map<string, R>();
    let done = false;
    if (replicas.length === 0) resolve(replies);
    for (const replica of replicas) {
      void ask(replica).then((reply) => {
        if (done) return;
        replies.set(replica, reply);
        if (enough(replies) || replies.size === replicas.length) {
          done = true;
          resolve(new Map(replies));
        }
      });
    }
  });
}

/** The newest version the commit replaced on the replicas that applied it (its chunks can go). */
function replacedBy(replies: ReadonlyMap<string, Outcome<ReplicaPutReply>>): { replaced?: ObjectMeta } {
  let newest: ObjectMeta | undefined;
  for (const reply of replies.values()) {
    const replaced = reply.ok ? reply.replaced : undefined;
    if (replaced && (!newest || compareHlc(replaced.clock, newest.clock) > 0)) newest = replaced;
  }
  return newest ? { replaced: newest } : {};
}

function failure(code: StorageFailure['code'], message: string): StorageFailure {
  return { ok: false, code, message };
}
