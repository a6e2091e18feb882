/**
 * Coordinating one conditional write (If-Match, If-None-Match): compare-and-set on the key, decided
 * by single-decree Paxos among its replicas (core/cas-rules.ts), so that of any number of concurrent
 * conditional writers, through any gateways, at most one succeeds for a given version of the key.
 *
 *   1. prepare with a fresh ballot; a quorum must promise (a higher promise elsewhere: back off, retry)
 *   2. the newest accepted proposal, unless every promising replica holds its version, is finished
 *      first: it may have been chosen (one older than the proposal horizon is fenced off instead:
 *      nobody waits for it any more, and what it named may have been purged since)
 *   3. the condition is judged against the newest version the quorum holds (and, while a rebalance
 *      moves the key, the previous ring's replicas: previous-replicas.ts)
 *   4. propose the new version; a quorum must accept (preempted: back off, retry from 1)
 *   5. apply it on every replica; answer once W (D for a delete) have
 *
 * A condition that fails is answered 412 (404 for If-Match on nothing) at once, unless this write had
 * proposed a version in an earlier round: that version is first fenced off, so it can never surface
 * after the answer. A write its client retried here after losing another coordinator is never answered
 * 412, 404 or 409: that coordinator may still make its version surface, so such an answer is a Timeout. A version of this write's own that another coordinator finished meanwhile is found
 * among the chosen versions the replicas remember applying, and makes the write a success; only when
 * that memory may have lost it is the answer Timeout (outcome unknown).
 * A coordinator that crashes anywhere leaves at most an accepted proposal, which the next conditional
 * writer of the key finishes or fences off. A write not decided before the deadline is a
 * ConditionalConflict when none of its proposals can surface any more, a Timeout when one might, and
 * Unavailable when too few replicas could be reached.
 */
import { casQuorum, newestHead, RECENT_APPLIED, unfinishedProposal, type CasPromise, type CasProposal } from '../../core/cas-rules.js';
import { compareHlc, type Hlc } from '../../core/hlc.js';
import type { ObjectKind, ObjectMeta } from '../../core/object-meta.js';
import { preferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import { judgeWriteCondition, type WriteCondition } from '../../core/write-condition.js';
import { applyVersionedWrite, type VersionedWrite } from '../../core/object-versioning.js';
import type { ActorApi } from '../../runtime/actor.js';
import type { RuntimeFailure } from '../../runtime/failures.js';
import type { Logger } from '../../runtime/logger.js';
import { ask, askWhenWritable } from '../../runtime/typed-ask.js';
import { type PutResult, type StorageFailure, storageFailure, versionedWriteFailure } from '../../protocol/cluster/storage-api.js';
import { routerOf, type CasCommitReply, type CasPrepareReply, type CasProposeReply } from '../../protocol/cluster/storage.js';
import type { ObjectAddress } from '../../store/store-keys.js';
import { casCommit, casPrepare, casPropose } from './cas-acceptor.js';
import { newestOnPreviousReplicas } from './previous-replicas.js';
import { addressOf, newestReplaced } from './replica-ops.js';
import { repairItemKey, type StorageContext } from './storage-context.js';

export interface ConditionalWriteRequest {
  readonly objectKind: ObjectKind;
  /** The version to write; its clock and modification time are stamped when it is proposed. */
  readonly version: Omit<ObjectMeta, 'clock' | 'lastModifiedMs' | 'ringChecksum'>;
  readonly body?: Uint8Array;
  readonly condition?: WriteCondition;
  /** How the write changes the key's versions, judged against the same newest record as the condition. */
  readonly versioning?: VersionedWrite;
  /** W for writes, D for deletes: the replicas that must have applied the version before the answer. */
  readonly required: number;
  /**
   * Another coordinator was given this write first (its client lost it and tried here): it may have
   * proposed versions of it, and may still, so this one never answers that the write did not happen.
   */
  readonly retried?: boolean;
}

/** The first retry waits up to this long; each further one up to twice as long as the one before. */
const FIRST_BACKOFF_MS = 5;
const MAX_BACKOFF_MS = 200;
/** The longest an accepted proposal may wait to be finished (see proposalHorizonMs). */
const MAX_PROPOSAL_AGE_MS = 60 * 60_000;

type Outcome<R> = R | RuntimeFailure;
type Round = { readonly type: 'decided'; readonly result: PutResult } | { readonly type: 'retry'; readonly problem: string; readonly unreachable?: boolean };

interface Replicas {
  readonly all: readonly string[];
  readonly reachable: readonly string[];
  readonly quorum: number;
  readonly settings: { readonly w: number; readonly d: number };
}

export class ConditionalWrite {
  /** The versions this write proposed: any of them chosen is this write succeeding. */
  private readonly proposed: ObjectMeta[] = [];
  /** Whether a version this write proposed may have been accepted by a replica, and so chosen later. */
  private mayHaveBeenAccepted = false;
  private readonly address: ObjectAddress;
  private deadlineMs = 0;

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
    this.deadlineMs = context.clock.now() + context.options.conditionalWriteDeadlineMs;
    let last: Round = { type: 'retry', problem: 'no attempt' };
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        if (context.clock.now() >= this.deadlineMs) return this.giveUp(last);
        await this.backOff(attempt);
      }
      last = await this.attempt();
      if (last.type === 'decided') return last.result;
    }
  }

  private async attempt(): Promise<Round> {
    const { context, request } = this;
    const snapshot = context.ringView.current;
    if (!snapshot) return { type: 'decided', result: storageFailure('Unavailable', 'this node has no ring yet') };
    const { n, w, d } = snapshot.doc.settings;
    const all = preferenceList(snapshot.current, keyPosition(this.address.bucket, this.address.key), n);
    const replicas: Replicas = { all, reachable: all.filter((replica) => !context.isKnownDown(replica)), quorum: casQuorum(n, w, d), settings: { w, d } };
    if (replicas.reachable.length < replicas.quorum) {
      return { type: 'retry', unreachable: true, problem: `${replicas.reachable.length} of ${n} replicas are reachable and ${replicas.quorum} must take part in a conditional write` };
    }

    const ballot = context.hlc.stamp();
    const promised = await this.gather(replicas.reachable, (replica) => this.prepare(replica, ballot), (replies) => count(replies, isGranted) >= replicas.quorum);
    const granted = [...promised.values()].filter(isGranted);
    if (granted.length < replicas.quorum) return { type: 'retry', problem: this.refused('promise', promised) };
    const promises: CasPromise[] = granted.map((reply) => ({
      ...(reply.accepted ? { accepted: reply.accepted } : {}),
      ...(reply.head ? { head: reply.head, headSettled: reply.headSettled } : {}),
      ...(reply.applied ? { applied: reply.applied } : {}),
    }));
    const head = newestHead(promises);
    // A version of this write's own was chosen and applied (another coordinator finished it meanwhile,
    // or this write's first coordinator did before it went down). Its proposals differ only in clock.
    if (promises.some((promise) => promise.applied?.includes(this.writeId))) {
      const mine = head && this.isMine(head) ? head : this.proposed[0];
      // Replaced since, by a version this coordinator never saw: it took effect, but what it was is lost.
      if (!mine) return { type: 'decided', result: storageFailure('Timeout', 'this conditional write took effect and has been replaced since') };
      return { type: 'decided', result: { ok: true, meta: mine } };
    }

    // Finished (or fenced off) under this ballot; a newer ballot is needed for this write's own proposal.
    const unfinished = unfinishedProposal(promises);
    if (unfinished) {
      const mine = this.isMine(unfinished.meta);
      // Aged by the version's own stamp, which finishing it again does not renew.
      if (!mine && context.clock.now() - unfinished.meta.clock.wallMs > this.proposalHorizonMs()) {
        return (await this.fence(replicas, ballot)) ?? { type: 'retry', problem: 'fenced off an abandoned conditional write of the key' };
      }
      // Applied on a quorum, so that the next round sees it on every replica it asks.
      const finished = await this.choose(replicas, { ...unfinished, ballot }, mine ? Math.max(request.required, replicas.quorum) : replicas.quorum);
      if (finished.type !== 'decided' || mine) return finished;
      return { type: 'retry', problem: 'finished an earlier conditional write of the key' };
    }

    // A proposal of this write's own, chosen and applied by another coordinator meanwhile.
    if (head && this.isMine(head)) return { type: 'decided', result: { ok: true, meta: head } };
    // While a rebalance moves the key, the quorum may not hold yet what the previous ring's replicas do.
    const earlier = await newestOnPreviousReplicas(this.system, context, this.address, replicas.quorum);
    if (!earlier.ok) return { type: 'retry', unreachable: true, problem: earlier.message };
    const newest = earlier.newest && (!head || compareHlc(earlier.newest.clock, head.clock) > 0) ? earlier.newest : head;
    // This write's own version, applied there by a coordinator still on that ring.
    if (newest && newest !== head && this.isMine(newest)) return { type: 'decided', result: { ok: true, meta: newest } };
    // A delete marker is no version to match: the key reads as absent.
    const current = newest && !newest.deleted && newest.deleteMarker !== true ? newest : undefined;
    const verdict = request.condition === undefined ? undefined : judgeWriteCondition(request.condition, current);
    if (verdict !== undefined && !verdict.pass) return this.refuse(replicas, ballot, conditionFailure(this.address.key, verdict.failed), promises);
    const version = this.versionOver(newest);
    if (!version.ok) return this.refuse(replicas, ballot, version, promises);

    if (newest) context.hlc.observe(newest.clock);
    const clock = context.hlc.stamp();
    const meta = { lastModifiedMs: clock.wallMs, ...version.fields, clock, ringChecksum: snapshot.checksum } as ObjectMeta;
    this.proposed.push(meta);
    return this.choose(replicas, { ballot, meta, ...(request.body ? { body: request.body } : {}) }, Math.max(request.required, replicas.quorum));
  }

  /**
   * The condition failed. A version this write proposed earlier, accepted somewhere but not chosen, could
   * still be finished by a later coordinator: a fence accepted by a quorum under this ballot first makes
   * that impossible. Had one been chosen, it would be unfinished or among the versions the quorum applied
   * (which the caller looked for); only when a replica's list of them may have lost it, because it is
   * full, is the outcome unknown.
   */
  private async refuse(replicas: Replicas, ballot: Hlc, refusal: StorageFailure, promises: readonly CasPromise[]): Promise<Round> {
    if (this.request.retried) return { type: 'decided', result: storageFailure('Timeout', `${refusal.message} now, but the coordinator this write was first sent to may still make it take effect; its outcome is unknown`) };
    if (this.proposed.length > 0) {
      const unfenced = await this.fence(replicas, ballot);
      if (unfenced) return unfenced;
      const forgetful = promises.some((promise) => (promise.applied?.length ?? 0) >= RECENT_APPLIED);
      if (this.mayHaveBeenAccepted && forgetful) return { type: 'decided', result: storageFailure('Timeout', 'an earlier round of this conditional write may have taken effect; its outcome is unknown') };
    }
    return { type: 'decided', result: refusal };
  }

  /**
   * The record this write proposes over `head`: its own version, or for a versioned write the key's
   * versions as the write leaves them. Lacks the clock, modification time (unless kept) and ring checksum.
   */
  private versionOver(head: ObjectMeta | undefined): { readonly ok: true; readonly fields: Omit<ObjectMeta, 'clock' | 'ringChecksum' | 'lastModifiedMs'> & { lastModifiedMs?: number } } | StorageFailure {
    const { version, versioning } = this.request;
    if (versioning === undefined) return { ok: true, fields: version };
    const { bucket, key, deleted: _deleted, writeId, ...written } = version;
    const outcome = applyVersionedWrite(head, { bucket, key }, versioning, { ...written, lastModifiedMs: 0 }, this.context.clock.now());
    if (!outcome.ok) return versionedWriteFailure(outcome, key, versioning);
    return { ok: true, fields: { ...outcome.record, deleted: outcome.deleted, ...(writeId === undefined ? {} : { writeId }) } };
  }

  /**
   * Proposes a fence under `ballot`; once a quorum accepts it, no proposal of a lower ballot that was not
   * chosen ever can be. Undefined once fenced, the round to retry otherwise.
   */
  private async fence(replicas: Replicas, ballot: Hlc): Promise<Round | undefined> {
    const { quorum, reachable } = replicas;
    const fence: CasProposal = { ballot };
    const accepted = await this.gather(reachable, (replica) => this.propose(replica, fence), (replies) => count(replies, isGranted) >= quorum);
    return count(accepted, isGranted) >= quorum ? undefined : { type: 'retry', problem: this.refused('acceptance', accepted) };
  }

  /**
   * Accepted proposals older than this are fenced off rather than finished: their writers were answered
   * long ago (a Timeout), and what they named may be gone since (tombstones are purged after their grace
   * period, orphaned chunks swept after a day).
   */
  private proposalHorizonMs(): number {
    return Math.min(MAX_PROPOSAL_AGE_MS, this.context.options.tombstoneGraceMs / 2);
  }

  /**
   * Proposes `proposal`; once a quorum accepts it, applies it on every reachable replica and answers once
   * `required` have (at least a quorum, so that the next round finds it on a replica it asks).
   */
  private async choose(replicas: Replicas, proposal: CasProposal & { readonly meta: ObjectMeta }, required: number): Promise<Round> {
    const { quorum, reachable } = replicas;
    const accepted = await this.gather(reachable, (replica) => this.propose(replica, proposal), (replies) => count(replies, isGranted) >= quorum);
    // Replicas that did not answer may have accepted all the same.
    const possible = count(accepted, isGranted) + count(accepted, (reply) => !reply.ok && isRuntimeFailureReply(reply));
    if (this.isMine(proposal.meta) && possible > 0) this.mayHaveBeenAccepted = true;
    if (count(accepted, isGranted) < quorum) return { type: 'retry', problem: this.refused('acceptance', accepted) };

    const applied = await this.gather(reachable, (replica) => this.commit(replica, proposal.meta, proposal.body), (replies) => count(replies, isOk) >= required);
    const acks = count(applied, isOk);
    for (const replica of replicas.all) {
      const reply = applied.get(replica);
      if (reply === undefined || !reply.ok) this.queueRepair(replicas, replica);
    }
    if (acks < required) {
      return { type: 'decided', result: storageFailure('Timeout', `the conditional write was chosen and is applied on ${acks} replicas, ${required} required; it will surface`) };
    }
    const replaced = newestReplaced(applied.values());
    return { type: 'decided', result: { ok: true, meta: proposal.meta, ...(replaced ? { replaced } : {}) } };
  }

  /** The time an ask may take: a replica's timeout, but never past this write's deadline. */
  private askTimeoutMs(): number {
    return Math.max(1, Math.min(this.context.options.replicaTimeoutMs, this.deadlineMs - this.context.clock.now()));
  }

  private prepare(replica: string, ballot: Hlc): Promise<Outcome<CasPrepareReply>> {
    if (replica === this.context.node) return casPrepare(this.context, this.address, ballot);
    const { kind: objectKind, bucket, key } = this.address;
    return ask(this.system, routerOf(replica), { type: 'cas_prepare', objectKind, bucket, key, ballot }, this.askTimeoutMs());
  }

  private propose(replica: string, proposal: CasProposal): Promise<Outcome<CasProposeReply>> {
    if (replica === this.context.node) return casPropose(this.context, this.address, proposal);
    const { kind: objectKind, bucket, key } = this.address;
    // A proposal carries the version's body: it waits for room on the link, as replica writes do.
    return askWhenWritable(this.system, routerOf(replica), { type: 'cas_propose', objectKind, bucket, key, proposal }, this.askTimeoutMs(), proposal.body?.length ?? 0);
  }

  private commit(replica: string, meta: ObjectMeta, body: Uint8Array | undefined): Promise<Outcome<CasCommitReply>> {
    if (replica === this.context.node) return casCommit(this.context, this.address, meta, body);
    const { kind: objectKind } = this.address;
    return askWhenWritable(this.system, routerOf(replica), { type: 'cas_commit', objectKind, meta, ...(body ? { body } : {}) }, this.askTimeoutMs(), body?.length ?? 0);
  }

  /** A version of this write's: one it proposed, or one its first coordinator did (same write id). */
  private isMine(meta: ObjectMeta): boolean {
    return meta.writeId === this.writeId || this.proposed.some((mine) => compareHlc(mine.clock, meta.clock) === 0);
  }

  private get writeId(): string {
    return this.request.version.writeId ?? '';
  }

  /**
   * A replica that missed a commit gets the version from this node's repair queue, when this node holds
   * the key (as the write coordinator does); otherwise read repair and anti-entropy bring it.
   */
  private queueRepair(replicas: Replicas, replica: string): void {
    const { context } = this;
    if (replica === context.node || !replicas.all.includes(context.node)) return;
    const item = { peer: replica, objectKind: this.request.objectKind, bucket: this.address.bucket, key: this.address.key };
    void context.repairs.enqueue(repairItemKey(item), item, context.clock.now()).catch((error: unknown) => this.log.error('cannot queue a repair', { error }));
  }

  /** Random waits keep two coordinators that preempt each other from doing so in lockstep. */
  private backOff(attempt: number): Promise<void> {
    const ceilingMs = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
    const delayMs = Math.floor(this.context.random() * ceilingMs);
    return new Promise((resolve) => this.context.clock.setTimeout(resolve, delayMs));
  }

  private giveUp(last: Round): PutResult {
    const problem = last.type === 'retry' ? last.problem : 'decided';
    // A proposal accepted anywhere may still be finished by another coordinator: the outcome is unknown.
    if (this.proposed.length > 0 || this.request.retried) return storageFailure('Timeout', `the conditional write was not decided in time and may still surface (${problem})`);
    if (last.type === 'retry' && last.unreachable) return storageFailure('Unavailable', problem);
    return storageFailure('ConditionalConflict', `concurrent conditional writes kept this one from being decided (${problem})`);
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

  /**
   * Asks every replica at once and resolves with the answers so far as soon as `enough` holds, or once
   * every replica has answered. Answers that come later are dropped; an ask that throws counts as a
   * failed answer.
   */
  private gather<R>(replicas: readonly string[], send: (replica: string) => Promise<R>, enough: (replies: ReadonlyMap<string, R>) => boolean): Promise<Map<string, R>> {
    return new Promise((resolve) => {
      const replies = new Map<string, R>();
      let done = false;
      if (replicas.length === 0) resolve(replies);
      const settle = (replica: string, reply: R): void => {
        if (done) return;
        replies.set(replica, reply);
        if (enough(replies) || replies.size === replicas.length) {
          done = true;
          resolve(new Map(replies));
        }
      };
      for (const replica of replicas) {
        void send(replica).then(
          (reply) => settle(replica, reply),
          (error: unknown) => {
            this.log.error('a compare-and-set step failed', { replica, error });
            settle(replica, storageFailure('InternalError', error instanceof Error ? error.message : String(error)) as R);
          },
        );
      }
    });
  }
}

function isGranted<R extends { ok: boolean }>(reply: Outcome<R>): reply is Extract<R, { ok: true; granted: true }> {
  return reply.ok && (reply as { granted?: boolean }).granted === true;
}

function isOk<R extends { ok: boolean }>(reply: Outcome<R>): boolean {
  return reply.ok;
}

/** No answer (lost, timed out, the node down): the replica may or may not have done what was asked. */
function isRuntimeFailureReply(reply: { readonly ok: false; readonly code: string }): boolean {
  return reply.code === 'Timeout' || reply.code === 'NodeDown' || reply.code === 'NoProc' || reply.code === 'Crashed';
}

function count<R>(replies: ReadonlyMap<string, R>, test: (reply: R) => boolean): number {
  let matching = 0;
  for (const reply of replies.values()) if (test(reply)) matching++;
  return matching;
}

/** A write condition that does not hold: 404 for If-Match on a key without a version, as S3 answers, 412 otherwise. */
function conditionFailure(key: string, failed: 'If-Match' | 'If-None-Match' | 'absent'): StorageFailure {
  if (failed === 'absent') return storageFailure('NotFound', `${key} has no version to match`);
  return { ...storageFailure('PreconditionFailed', `the ${failed} condition does not hold`), condition: failed };
}
