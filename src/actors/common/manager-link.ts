/**
 * How a node outside the control plane (a storage node, a gateway, an admin tool) finds the managers'
 * leader and keeps following it. Every manager runs the consensus actor, but only the leader runs the
 * actors others ask (ring keeper, auth, bucket deletion, admin). So the link dials every manager it was
 * given, asks each who leads, and keeps the answer until an ask shows it is stale: `NoProc` (that
 * manager no longer leads, and stopped those actors) or `NodeDown` (it went away).
 */
import type { ActorApi } from '../../runtime/actor.js';
import type { Clock } from '../../runtime/clock.js';
import { isRuntimeFailure, runtimeFailure, type RuntimeFailure, type RuntimeFailureCode } from '../../runtime/failures.js';
import type { ActorRef, Message } from '../../runtime/refs.js';
import { ask, type ReplyOf, type RequestOf } from '../../runtime/typed-ask.js';
import { consensusRef } from '../../protocol/cluster/paths.js';
import { chooseLeader, type ManagerProbe } from './leader-choice.js';

/** Limit on one manager's answer to who leads, the dial included. */
const DEFAULT_PROBE_TIMEOUT_MS = 2_000;
/** Tries of one ask, each after finding the leader again (within the ask's time): enough to outlast an election. */
const MAX_ATTEMPTS = 10;
/** Pause before the next try, doubled each time up to a second: an election takes one to two seconds. */
const RETRY_PAUSE_MS = 200;
const MAX_RETRY_PAUSE_MS = 1_000;
/** The answers to an ask that mean the leader it went to no longer leads or is gone. */
const LEADER_LOST: readonly RuntimeFailureCode[] = ['NoProc', 'NodeDown'];

export interface ManagerLinkDeps {
  /** host:port of every manager's cluster port. */
  readonly addresses: readonly string[];
  /** Dials an address and resolves with the node name it proved (the transport's connect). */
  readonly connect: (address: string) => Promise<string>;
  readonly api: ActorApi;
  readonly clock: Clock;
  readonly probeTimeoutMs?: number;
}

/** No manager named a leader: each manager's answer, or why it gave none, is in `probes`. */
export class NoLeader extends Error {
  override readonly name = 'NoLeader';

  constructor(readonly probes: readonly ManagerProbe[]) {
    const answered = probes.filter((probe) => probe.answer?.ok === true).length;
    const problems = probes.flatMap((probe) => {
      if (probe.answer?.ok === true) return [];
      const why = probe.answer !== undefined ? `${probe.answer.code}: ${probe.answer.message}` : (probe.error?.message ?? 'no answer');
      return [`${probe.address}: ${why}`];
    });
    super(`no manager leads: ${answered} of ${probes.length} managers answered, none knows a leader${problems.length > 0 ? ` (${problems.join('; ')})` : ''}`);
  }
}

export class ManagerLink {
  private cached: string | undefined;
  private finding: Promise<string> | undefined;
  private readonly probeTimeoutMs: number;

  constructor(private readonly deps: ManagerLinkDeps) {
    if (deps.addresses.length === 0) throw new Error('a manager link needs at least one manager address');
    this.probeTimeoutMs = deps.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  }

  get addresses(): readonly string[] {
    return this.deps.addresses;
  }

  /** The leader as last found, without asking anyone. */
  get known(): string | undefined {
    return this.cached;
  }

  /** The leader's node name: the one known, else found by asking every manager. Throws NoLeader. */
  leader(): Promise<string> {
    if (this.cached !== undefined) return Promise.resolve(this.cached);
    // Callers that ask at once share one round of questions.
    this.finding ??= this.find().finally(() => {
      this.finding = undefined;
    });
    return this.finding;
  }

  /**
   * `leader()`, waiting up to `timeoutMs` while the managers that answer know no leader yet (an
   * election under way). Throws NoLeader at once when no manager answered, else when the time is up.
   */
  async awaitLeader(timeoutMs: number): Promise<string> {
    const { clock } = this.deps;
    const deadlineMs = clock.elapsed() + timeoutMs;
    for (;;) {
      try {
        return await this.leader();
      } catch (error) {
        const answered = error instanceof NoLeader && error.probes.some((probe) => probe.answer?.ok === true);
        if (!answered || deadlineMs - clock.elapsed() <= RETRY_PAUSE_MS) throw error;
      }
      await pause(clock, RETRY_PAUSE_MS);
    }
  }

  /** Drops the known leader (only if it is still `leader`, when given: another caller may have found the next one). */
  forget(leader?: string): void {
    if (leader === undefined || this.cached === leader) this.cached = undefined;
  }

  /**
   * Asks the known leader whether it still leads, and finds the leader again when it does not or is
   * gone: one cheap question while nothing changes. A leader too busy to answer is kept.
   */
  async confirm(): Promise<string> {
    const leader = this.cached;
    if (leader === undefined) return this.leader();
    const answer = await this.askWhetherLeading(leader, this.probeTimeoutMs);
    // Too busy to answer (Timeout), or a manager of an earlier release alone (NoProc), is kept.
    if (answer === 'leads' || answer === 'Timeout' || (answer === 'NoProc' && this.deps.addresses.length === 1)) return leader;
    this.forget(leader);
    return this.leader();
  }

  /**
   * Asks the leader's actor at `refOf(leader)`; when the answer says the leader is no longer there,
   * finds it again and asks again, a few times, all within `timeoutMs`. A request that reached a leader
   * which went down before answering (NodeDown) may have been carried out: it is sent again only when
   * `repeatable` says it is safe to; otherwise that failure is the answer.
   */
  async askLeader<M extends Message, T extends M['type']>(
    refOf: (leader: string) => ActorRef<M>,
    body: RequestOf<M, T> & { readonly type: T },
    timeoutMs: number,
    repeatable = true,
  ): Promise<ReplyOf<M, T> | RuntimeFailure> {
    const { clock } = this.deps;
    const deadlineMs = clock.elapsed() + timeoutMs;
    let pauseMs = RETRY_PAUSE_MS;
    for (let attempt = 1; ; attempt++) {
      let failure: RuntimeFailure;
      const leader = await this.leaderWithin(deadlineMs - clock.elapsed());
      if (typeof leader !== 'string') {
        failure = leader;
      } else {
        // A request not safe to repeat goes only to a leader just heard from: a leader gone before
        // the request was sent is then told apart from one gone while carrying it out.
        const gone = repeatable ? undefined : await this.goneOrDeposed(leader, deadlineMs - clock.elapsed());
        if (gone) {
          this.forget(leader);
          failure = gone;
        } else {
          const reply = await ask(this.deps.api, refOf(leader), body, Math.max(1, deadlineMs - clock.elapsed()));
          if (!isRuntimeFailure(reply) || !LEADER_LOST.includes(reply.code)) return reply;
          this.forget(leader);
          if (reply.code === 'NodeDown' && !repeatable) {
            return runtimeFailure('NodeDown', `the managers' leader went down before answering; the change may or may not have been made (${reply.message})`);
          }
          failure = reply;
        }
      }
      if (attempt >= MAX_ATTEMPTS || deadlineMs - clock.elapsed() <= pauseMs) return failure;
      await pause(clock, pauseMs);
      pauseMs = Math.min(MAX_RETRY_PAUSE_MS, pauseMs * 2);
    }
  }

  /** Why `leader` cannot take a request now (down, or no longer leading), or undefined when it can. */
  private async goneOrDeposed(leader: string, remainingMs: number): Promise<RuntimeFailure | undefined> {
    const answer = await this.askWhetherLeading(leader, Math.max(1, Math.min(this.probeTimeoutMs, remainingMs)));
    if (answer === 'NodeDown') return runtimeFailure('NodeDown', `${leader} is down`);
    return answer === 'deposed' ? runtimeFailure('NoProc', `${leader} no longer leads the managers`) : undefined;
  }

  /** What `leader`'s consensus actor says of itself: it leads, it does not, or why it gave no answer. */
  private async askWhetherLeading(leader: string, timeoutMs: number): Promise<'leads' | 'deposed' | RuntimeFailureCode> {
    const answer = await ask(this.deps.api, consensusRef(leader), { type: 'leader' }, timeoutMs);
    if (isRuntimeFailure(answer)) return answer.code;
    return answer.role === 'leader' ? 'leads' : 'deposed';
  }

  /** The leader, or the failure an ask answers with when none is found in time. */
  private async leaderWithin(remainingMs: number): Promise<string | RuntimeFailure> {
    if (remainingMs <= 0) return runtimeFailure('Timeout', 'no time left to find the managers\' leader');
    try {
      return (await within(this.deps.clock, this.leader(), remainingMs)) ?? runtimeFailure('Timeout', 'the managers did not say who leads in time');
    } catch (error) {
      if (error instanceof NoLeader) return runtimeFailure('NodeDown', error.message);
      throw error;
    }
  }

  private async find(): Promise<string> {
    const probes = await this.probeAll();
    const choice = chooseLeader(probes, true);
    if (choice === undefined) throw new NoLeader(probes);
    let node = choice.node;
    // A follower named a leader this node was not given (or could not reach): dial it where it is.
    if (!choice.dialled && choice.address !== null) {
      node = (await within(this.deps.clock, this.deps.connect(choice.address).catch(() => undefined), this.probeTimeoutMs)) ?? node;
    }
    this.cached = node;
    return node;
  }

  /** Every manager's answer to who leads, in the order of the addresses; early once one clearly leads. */
  private probeAll(): Promise<ManagerProbe[]> {
    const { addresses } = this.deps;
    return new Promise((resolve) => {
      const probes: Array<ManagerProbe | undefined> = addresses.map(() => undefined);
      let settled = 0;
      let done = false;
      addresses.forEach((address, index) => {
        void this.probe(address).then((probe) => {
          probes[index] = probe;
          settled++;
          if (done) return;
          if (settled === addresses.length || chooseLeader(probes, false) !== undefined) {
            done = true;
            resolve(probes.map((each, i) => each ?? { address: addresses[i]!, error: new Error('still dialling') }));
          }
        });
      });
    });
  }

  private async probe(address: string): Promise<ManagerProbe> {
    const { clock } = this.deps;
    const startedMs = clock.elapsed();
    let node: string | undefined;
    try {
      node = await within(clock, this.deps.connect(address), this.probeTimeoutMs);
    } catch (error) {
      return { address, error: error as Error };
    }
    if (node === undefined) return { address, error: new Error(`no answer to the dial within ${this.probeTimeoutMs} ms`) };
    const answer = await ask(this.deps.api, consensusRef(node), { type: 'leader' }, Math.max(1, this.probeTimeoutMs - (clock.elapsed() - startedMs)));
    return { address, node, answer };
  }
}

function pause(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** `promise`'s value, or undefined once `limitMs` has passed first. */
function within<T>(clock: Clock, promise: Promise<T>, limitMs: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => resolve(undefined), limitMs);
    promise.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (error: unknown) => {
        timer.cancel();
        reject(error);
      },
    );
  });
}
