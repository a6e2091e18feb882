import { expect } from 'chai';
import {
  acceptProposal, casQuorum, newestHead, noteApplied, promiseBallot, RECENT_APPLIED, unfinishedProposal, type CasPromise, type CasProposal, type CasRecord,
} from '../../../src/core/cas-rules.js';
import { compareHlc, observe, tick, type Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { judgeWriteCondition, type WriteCondition } from '../../../src/core/write-condition.js';
import { randomInt, seededRandom } from './seeded-random.js';

const at = (wallMs: number, node = 'a'): Hlc => ({ wallMs, counter: 0, node });

function version(etag: string, clock: Hlc, deleted = false): ObjectMeta {
  return { bucket: 'b', key: 'k', sizeBytes: 1, etag, contentType: '', userMeta: {}, clock, lastModifiedMs: clock.wallMs, ringChecksum: 0, deleted };
}

describe('core/cas-rules', () => {
  it('promises only ballots above every one promised before', () => {
    const first = promiseBallot(undefined, at(5));
    expect(first).to.deep.equal({ granted: true, record: { promised: at(5) } });
    const record = (first as { record: CasRecord }).record;
    expect(promiseBallot(record, at(5))).to.deep.equal({ granted: false, promised: at(5) });
    expect(promiseBallot(record, at(4))).to.deep.equal({ granted: false, promised: at(5) });
    expect(promiseBallot(record, at(5, 'b')).granted).to.equal(true);
  });

  it('accepts a proposal at the promised ballot or above, never below, and keeps only the newest', () => {
    const older: CasProposal = { ballot: at(2), meta: version('x', at(2)) };
    const record: CasRecord = { promised: at(5), accepted: older };
    const proposal = (ballot: Hlc): CasProposal => ({ ballot, meta: version('y', at(9)) });
    expect(acceptProposal(record, proposal(at(4)))).to.deep.equal({ granted: false, promised: at(5) });
    expect(acceptProposal(record, proposal(at(5)))).to.deep.equal({ granted: true, record: { promised: at(5), accepted: proposal(at(5)) } });
    expect(acceptProposal(record, { ballot: at(6) })).to.deep.equal({ granted: true, record: { promised: at(6), accepted: { ballot: at(6) } } });
    expect(acceptProposal(undefined, proposal(at(1))).granted).to.equal(true);
  });

  it('finishes the newest accepted proposal until every promising replica holds its version', () => {
    const older: CasProposal = { ballot: at(3), meta: version('old', at(3)) };
    const newer: CasProposal = { ballot: at(6), meta: version('new', at(6)) };
    const promises: CasPromise[] = [{ accepted: older, head: version('h', at(1)) }, { accepted: newer }, { head: version('h', at(1)) }];
    expect(unfinishedProposal(promises)).to.deep.equal(newer);
    // Held (or outdone) everywhere: done with, whatever the records say.
    expect(unfinishedProposal([{ accepted: newer, head: newer.meta! }, { head: version('later', at(8)) }])).to.equal(undefined);
    // A fence is never finished: it has nothing to apply.
    expect(unfinishedProposal([{ accepted: { ballot: at(9) } }, { accepted: newer }])).to.equal(undefined);
    expect(unfinishedProposal([{}, {}])).to.equal(undefined);
    expect(newestHead([{ head: version('a', at(1)) }, {}, { head: version('b', at(4)) }])?.etag).to.equal('b');
  });

  it('sizes the quorum to meet any other quorum and every acknowledged write and delete', () => {
    expect(casQuorum(3, 2, 2)).to.equal(2);
    expect(casQuorum(3, 1, 2)).to.equal(3);
    expect(casQuorum(3, 3, 3)).to.equal(2);
    expect(casQuorum(5, 3, 3)).to.equal(3);
    expect(casQuorum(1, 1, 1)).to.equal(1);
    expect(casQuorum(2, 1, 1)).to.equal(2);
  });

  describe('under adversarial schedules (seeded model check)', () => {
    const SEEDS = 300;
    for (const scenario of ['create-once', 'replace-once'] as const) {
      it(`lets at most one of several concurrent ${scenario} writers win, and what won is what stays`, () => {
        const tally = { won: 0, lost: 0, unknown: 0, 'gave-up': 0, crashed: 0, running: 0 };
        for (let seed = 1; seed <= SEEDS; seed++) {
          // Every other seed, unconditional writes land on two of the three replicas now and then.
          const outcome = runModel(seed, scenario, seed % 2 === 0);
          for (const o of outcome.outcomes) tally[o]++;
          const context = `seed ${seed} (${scenario}): ${JSON.stringify(outcome.outcomes)}, final ${outcome.finalEtag}`;
          const winners = outcome.outcomes.filter((o) => o === 'won');
          expect(winners.length, context).to.be.at.most(1);
          const winner = outcome.outcomes.indexOf('won');
          // What stays is the winner's, or an unconditional write made after it; never another conditional one.
          if (winner >= 0 && outcome.finalEtag?.startsWith('v')) expect(outcome.finalEtag, context).to.equal(`v${winner}`);
          // A writer told that its condition failed never had its version applied anywhere, ever.
          outcome.outcomes.forEach((o, index) => {
            if (o === 'lost') expect(outcome.everApplied, context).to.not.include(`v${index}`);
          });
        }
        // The schedules must really contend: most rounds have a winner and losers beside it.
        expect(tally.won, JSON.stringify(tally)).to.be.above(SEEDS * 0.7);
        expect(tally.lost, JSON.stringify(tally)).to.be.above(SEEDS);
      });
    }
  });
});

// ---- the model: acceptors as the rules describe, proposers as cas-coordinator.ts runs them ----

/** `unknown`: an earlier round's version may have been chosen (a Timeout to the client). */
type Outcome = 'won' | 'lost' | 'unknown' | 'gave-up' | 'crashed' | 'running';

interface Acceptor {
  record: CasRecord | undefined;
  head: ObjectMeta | undefined;
}

type Message =
  | { readonly to: number; readonly from: number; readonly attempt: number; readonly type: 'prepare'; readonly ballot: Hlc }
  | { readonly to: number; readonly from: number; readonly attempt: number; readonly type: 'propose' | 'commit'; readonly proposal: CasProposal }
  | { readonly toProposer: number; readonly from: number; readonly attempt: number; readonly type: 'promise'; readonly promise: CasPromise | { refused: Hlc } }
  | { readonly toProposer: number; readonly from: number; readonly attempt: number; readonly type: 'accepted'; readonly granted: boolean; readonly promised?: Hlc };

interface Proposer {
  readonly index: number;
  readonly condition: WriteCondition;
  outcome: Outcome;
  attempt: number;
  phase: 'prepare' | 'propose' | 'fence' | 'idle';
  /** The condition failed; the answer waits for a fence. */
  refusal: 'lost' | undefined;
  mayHaveBeenAccepted: boolean;
  forgetful: boolean;
  ballot: Hlc;
  hlc: Hlc | undefined;
  skewMs: number;
  own: Hlc[];
  proposal: CasProposal | undefined;
  replies: Map<number, CasPromise | { refused: Hlc } | boolean>;
}

const ACCEPTORS = 3;
const QUORUM = casQuorum(ACCEPTORS, 2, 2);
const PROPOSERS = 4;
const MAX_ATTEMPTS = 12;

function runModel(seed: number, scenario: 'create-once' | 'replace-once', unconditional: boolean): { outcomes: Outcome[]; finalEtag: string | undefined; everApplied: string[] } {
  const everApplied = new Set<string>();
  const random = seededRandom(seed);
  const initial = scenario === 'replace-once' ? version('v-initial', at(1, 'init')) : undefined;
  const acceptors: Acceptor[] = Array.from({ length: ACCEPTORS }, () => ({ record: undefined, head: initial }));
  const condition: WriteCondition = scenario === 'create-once' ? { ifNoneMatch: '*' } : { ifMatch: 'v-initial' };
  let now = 1_000;
  const stamp = (p: Proposer): Hlc => (p.hlc = tick(p.hlc, now + p.skewMs, `p${p.index}`));
  const learn = (p: Proposer, clock: Hlc): void => void (p.hlc = observe(p.hlc, clock, now + p.skewMs, `p${p.index}`));
  const proposers: Proposer[] = Array.from({ length: PROPOSERS }, (_, index) => ({
    index, condition, outcome: 'running', attempt: 0, phase: 'idle', refusal: undefined, mayHaveBeenAccepted: false, forgetful: false, ballot: at(0), hlc: undefined,
    skewMs: randomInt(random, 3) === 0 ? randomInt(random, 200) - 100 : 0, own: [], proposal: undefined, replies: new Map(),
  }));
  const inFlight: Message[] = [];
  const send = (message: Message): void => {
    if (random() < 0.1) return; // lost
    inFlight.push(message);
    if (random() < 0.05) inFlight.push(message); // duplicated
  };

  /** An attempt of one's own version ends: had enough replicas accepted, or not answered, it may be chosen. */
  const closeAttempt = (p: Proposer): void => {
    if (p.phase !== 'propose' || !p.proposal?.meta || !isMine(p, p.proposal.meta.clock)) return;
    const refused = [...p.replies.values()].filter((r) => r === false).length;
    if (ACCEPTORS - refused > 0) p.mayHaveBeenAccepted = true;
  };
  const start = (p: Proposer): void => {
    closeAttempt(p);
    if (p.attempt >= MAX_ATTEMPTS) {
      p.outcome = 'gave-up';
      return;
    }
    p.attempt++;
    p.phase = 'prepare';
    p.ballot = stamp(p);
    p.replies = new Map();
    for (let a = 0; a < ACCEPTORS; a++) send({ to: a, from: p.index, attempt: p.attempt, type: 'prepare', ballot: p.ballot });
  };
  const propose = (p: Proposer, proposal: CasProposal, phase: 'propose' | 'fence' = 'propose'): void => {
    p.phase = phase;
    p.proposal = proposal;
    p.replies = new Map();
    for (let a = 0; a < ACCEPTORS; a++) send({ to: a, from: p.index, attempt: p.attempt, type: 'propose', proposal });
  };
  const isMine = (p: Proposer, clock: Hlc): boolean => p.own.some((mine) => compareHlc(mine, clock) === 0);

  const atAcceptor = (message: Extract<Message, { to: number }>): void => {
    const acceptor = acceptors[message.to]!;
    if (message.type === 'prepare') {
      const vote = promiseBallot(acceptor.record, message.ballot);
      if (vote.granted) acceptor.record = vote.record;
      const promise: CasPromise | { refused: Hlc } = vote.granted
        ? { ...(vote.record.accepted ? { accepted: vote.record.accepted } : {}), ...(vote.record.applied ? { applied: vote.record.applied } : {}), ...(acceptor.head ? { head: acceptor.head } : {}) }
        : { refused: vote.promised };
      send({ toProposer: message.from, from: message.to, attempt: message.attempt, type: 'promise', promise });
    } else if (message.type === 'propose') {
      const vote = acceptProposal(acceptor.record, message.proposal);
      if (vote.granted) acceptor.record = vote.record;
      send({ toProposer: message.from, from: message.to, attempt: message.attempt, type: 'accepted', granted: vote.granted, ...(vote.granted ? {} : { promised: vote.promised }) });
    } else {
      const meta = message.proposal.meta;
      if (meta && (!acceptor.head || compareHlc(meta.clock, acceptor.head.clock) > 0)) acceptor.head = meta;
      // Each writer's versions carry its value as write id.
      if (meta) acceptor.record = noteApplied(acceptor.record, meta.etag);
      if (meta) everApplied.add(meta.etag);
    }
  };

  const atProposer = (message: Extract<Message, { toProposer: number }>): void => {
    const p = proposers[message.toProposer]!;
    if (p.outcome !== 'running' || message.attempt !== p.attempt) return;
    if (message.type === 'promise' && p.phase === 'prepare') {
      if ('refused' in message.promise) learn(p, message.promise.refused);
      p.replies.set(message.from, message.promise);
      const granted = [...p.replies.values()].filter((r): r is CasPromise => typeof r === 'object' && !('refused' in r));
      if (granted.length < QUORUM) {
        if (p.replies.size === ACCEPTORS) start(p);
        return;
      }
      if (granted.some((promise) => promise.applied?.includes(`v${p.index}`))) return void (p.outcome = 'won');
      const unfinished = unfinishedProposal(granted);
      if (unfinished) return propose(p, { ...unfinished, ballot: p.ballot });
      const head = newestHead(granted);
      if (head && isMine(p, head.clock)) return void (p.outcome = 'won');
      const verdict = judgeWriteCondition(p.condition, head && !head.deleted ? head : undefined);
      if (!verdict.pass) {
        // An earlier version of one's own is fenced off before the answer.
        if (p.own.length === 0) return void (p.outcome = 'lost');
        p.refusal = 'lost';
        p.forgetful = granted.some((promise) => (promise.applied?.length ?? 0) >= RECENT_APPLIED);
        return propose(p, { ballot: p.ballot }, 'fence');
      }
      if (head) learn(p, head.clock);
      const clock = stamp(p);
      p.own.push(clock);
      return propose(p, { ballot: p.ballot, meta: version(`v${p.index}`, clock) });
    }
    if (message.type === 'accepted' && (p.phase === 'propose' || p.phase === 'fence')) {
      if (message.promised) learn(p, message.promised);
      p.replies.set(message.from, message.granted);
      const accepted = [...p.replies.values()].filter((r) => r === true).length;
      if (accepted < QUORUM) {
        if (p.replies.size === ACCEPTORS) start(p);
        return;
      }
      const proposal = p.proposal!;
      for (let a = 0; a < ACCEPTORS; a++) send({ to: a, from: p.index, attempt: p.attempt, type: 'commit', proposal });
      if (p.phase === 'fence' && p.refusal) p.outcome = p.mayHaveBeenAccepted && p.forgetful ? 'unknown' : p.refusal;
      else if (proposal.meta && isMine(p, proposal.meta.clock)) p.outcome = 'won';
      else start(p);
    }
  };

  proposers.forEach(start);
  let unconditionalWrites = 0;
  for (let step = 0; step < 20_000 && proposers.some((p) => p.outcome === 'running'); step++) {
    now += randomInt(random, 3);
    const roll = random();
    const running = proposers.filter((p) => p.outcome === 'running');
    if (unconditional && roll > 0.99) {
      // A plain PUT acknowledged by two replicas: last writer wins, no compare-and-set state touched.
      const clock = tick(undefined, now, `u${unconditionalWrites}`);
      const meta = version(`u${unconditionalWrites++}`, clock);
      const skipped = randomInt(random, ACCEPTORS);
      acceptors.forEach((acceptor, a) => {
        if (a !== skipped && (!acceptor.head || compareHlc(clock, acceptor.head.clock) > 0)) acceptor.head = meta;
      });
    } else if (roll < 0.01 && running.length > 0) {
      running[randomInt(random, running.length)]!.outcome = 'crashed';
    } else if ((roll < 0.05 || inFlight.length === 0) && running.length > 0) {
      start(running[randomInt(random, running.length)]!); // a timeout: the attempt is abandoned
    } else if (inFlight.length > 0) {
      const [message] = inFlight.splice(randomInt(random, inFlight.length), 1);
      if ('to' in message!) atAcceptor(message);
      else atProposer(message!);
    }
  }
  // Whatever was chosen is read back the way the next writer would read it: by a quorum that finishes it.
  return { outcomes: proposers.map((p) => p.outcome), finalEtag: readBack(acceptors), everApplied: [...everApplied] };
}

function readBack(acceptors: Acceptor[]): string | undefined {
  const promises: CasPromise[] = acceptors.map((a) => ({
    ...(a.record?.accepted ? { accepted: a.record.accepted } : {}),
    ...(a.head ? { head: a.head } : {}),
  }));
  // Any quorum gives the same answer; check every one of them.
  const answers = new Set<string | undefined>();
  for (let mask = 0; mask < 1 << acceptors.length; mask++) {
    const members = promises.filter((_, i) => (mask >> i) & 1);
    if (members.length < QUORUM) continue;
    const unfinished = unfinishedProposal(members);
    const head = newestHead(members);
    const pending = unfinished?.meta;
    const final = pending && (!head || compareHlc(pending.clock, head.clock) > 0) ? pending : head;
    answers.add(final?.etag);
  }
  if (answers.size !== 1) throw new Error(`quorums disagree on the key: ${[...answers].join(', ')}`);
  return [...answers][0];
}
