/**
 * The tombstone reaper's question to the cluster about a batch of tombstones, under the rules of
 * core/purge-rules.ts: every other replica of their keys (current ring, and previous ring while one
 * exists) is asked which version it holds, one message per replica for the whole batch. Only when some
 * replica does not answer are the ring's members asked how long they have seen it away, so that a
 * purge may go ahead without a replica that has been gone past the horizon.
 */
import { compareHlc, isHlc, type Hlc } from '../../core/hlc.js';
import { mayPurgeWithout, purgeVerdict, type ReplicaVersion } from '../../core/purge-rules.js';
import type { RingSnapshot } from '../../core/ring/ring-document.js';
import { readPreferenceList } from '../../core/ring/ring.js';
import { keyPosition } from '../../core/ring/position.js';
import type { ActorApi } from '../../runtime/actor.js';
import { isFresh } from '../../runtime/clock.js';
import type { TombstoneRef } from '../../store/object-store.js';
import { routerOf } from '../../protocol/cluster/storage.js';
import type { StorageContext } from './storage-context.js';
import { ask } from '../../runtime/typed-ask.js';

/**
 * Which silent replicas the members judged away past the horizon, remembered for a short while so a
 * sweep blocked by a replica that is down asks the members once, not once per batch. Reusing a verdict
 * is safe: the reports it rests on were recorded before it was given, so a replica that returns
 * meanwhile learns of them and drops what it held before it serves.
 */
export class AbsenceVerdicts {
  private readonly verdicts = new Map<string, { readonly atMs: number; readonly away: boolean }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get(replica: string): boolean | undefined {
    const verdict = this.verdicts.get(replica);
    return verdict && isFresh(this.now() - verdict.atMs, this.ttlMs) ? verdict.away : undefined;
  }

  set(replica: string, away: boolean): void {
    this.verdicts.set(replica, { atMs: this.now(), away });
  }
}

export interface CheckedTombstones {
  readonly purgeable: readonly TombstoneRef[];
  /** Per replica, the purgeable tombstones it holds exactly: it may drop them at once too. */
  readonly holders: ReadonlyMap<string, readonly TombstoneRef[]>;
  /** Replicas that hold a version older than a tombstone: they still need the tombstone. */
  readonly older: ReadonlyArray<{ readonly tombstone: TombstoneRef; readonly replica: string }>;
  readonly blocked: number;
  /** Replicas away past the horizon that purges went ahead without. */
  readonly purgedWithout: readonly string[];
}

/** Every node of the current and the previous ring. */
export function ringMembers(snapshot: RingSnapshot): string[] {
  return [...new Set([...snapshot.current.members, ...(snapshot.previous?.members ?? [])].map((member) => member.node))];
}

export async function checkTombstones(system: ActorApi, context: StorageContext, tombstones: readonly TombstoneRef[], verdicts: AbsenceVerdicts): Promise<CheckedTombstones> {
  const snapshot = context.ringView.current;
  if (!snapshot) return { purgeable: [], holders: new Map(), older: [], blocked: tombstones.length, purgedWithout: [] };
  const { n } = snapshot.doc.settings;
  const replicasOf = tombstones.map((tombstone) =>
    readPreferenceList(snapshot.current, snapshot.previous, keyPosition(tombstone.address.bucket, tombstone.address.key), n).filter((replica) => replica !== context.node),
  );
  const asked = new Map<string, number[]>();
  replicasOf.forEach((replicas, index) => {
    for (const replica of replicas) {
      const indices = asked.get(replica) ?? [];
      indices.push(index);
      asked.set(replica, indices);
    }
  });

  // Per replica, the clocks it answered, in the order of `asked`; undefined when it did not answer.
  const answers = new Map<string, ReadonlyArray<Hlc | null> | undefined>();
  await Promise.all(
    [...asked].map(async ([replica, indices]) => {
      answers.set(replica, context.isKnownDown(replica) ? undefined : await versionsOf(system, context, replica, indices.map((index) => tombstones[index]!)));
    }),
  );
  const silent = [...answers].filter(([, clocks]) => clocks === undefined).map(([replica]) => replica);
  const unjudged = silent.filter((replica) => verdicts.get(replica) === undefined);
  if (unjudged.length > 0) {
    const away = await awayPastTheHorizon(system, context, snapshot, unjudged);
    for (const replica of unjudged) verdicts.set(replica, away.has(replica));
  }
  const awayPastHorizon = new Set(silent.filter((replica) => verdicts.get(replica) === true));

  const versionsFor = tombstones.map(() => new Map<string, ReplicaVersion>());
  for (const [replica, indices] of asked) {
    const clocks = answers.get(replica);
    indices.forEach((index, position) => versionsFor[index]!.set(replica, clocks ? { answered: true, clock: clocks[position] ?? null } : { answered: false }));
  }
  const purgeable: TombstoneRef[] = [];
  const holders = new Map<string, TombstoneRef[]>();
  const older: Array<{ tombstone: TombstoneRef; replica: string }> = [];
  let blocked = 0;
  const purgedWithout = new Set<string>();
  tombstones.forEach((tombstone, index) => {
    const versions = versionsFor[index]!;
    const verdict = purgeVerdict(tombstone.clock, versions, (replica) => awayPastHorizon.has(replica));
    if (!verdict.purge) {
      blocked++;
      for (const replica of verdict.older) older.push({ tombstone, replica });
      return;
    }
    purgeable.push(tombstone);
    for (const [replica, version] of versions) {
      if (!version.answered) purgedWithout.add(replica);
      else if (version.clock && compareHlc(version.clock, tombstone.clock) === 0) holders.set(replica, [...(holders.get(replica) ?? []), tombstone]);
    }
  });
  return { purgeable, holders, older, blocked, purgedWithout: [...purgedWithout] };
}

async function versionsOf(system: ActorApi, context: StorageContext, replica: string, tombstones: readonly TombstoneRef[]): Promise<ReadonlyArray<Hlc | null> | undefined> {
  const items = tombstones.map(({ address }) => ({ objectKind: address.kind, bucket: address.bucket, key: address.key }));
  const reply = await ask(system, routerOf(replica), { type: 'versions_local', items }, context.options.readTimeoutMs);
  if (!reply.ok || !Array.isArray(reply.clocks) || reply.clocks.length !== items.length) return undefined;
  return reply.clocks.every((clock) => clock === null || isHlc(clock)) ? reply.clocks : undefined;
}

/** The silent replicas that a majority of the members, all of those that answered, have seen away past the horizon. */
async function awayPastTheHorizon(system: ActorApi, context: StorageContext, snapshot: RingSnapshot, silent: readonly string[]): Promise<Set<string>> {
  const horizonMs = context.options.purgeHorizonMs;
  const members = ringMembers(snapshot);
  const views = new Map<string, Map<string, number>>();
  await Promise.all(
    members.map(async (member) => {
      if (member !== context.node && context.isKnownDown(member)) return;
      // This node asks its own router too: its answer is recorded like everyone else's.
      const reply = await ask(system, routerOf(member), { type: 'absence_view', peers: silent, horizonMs }, context.options.readTimeoutMs);
      if (!reply.ok || !Array.isArray(reply.downForMs) || reply.downForMs.length !== silent.length) return;
      if (!reply.downForMs.every((downForMs) => typeof downForMs === 'number' && Number.isFinite(downForMs))) return;
      views.set(member, new Map(silent.map((replica, index) => [replica, reply.downForMs[index]!])));
    }),
  );
  return new Set(silent.filter((replica) => mayPurgeWithout(replica, members.length, views, horizonMs)));
}
