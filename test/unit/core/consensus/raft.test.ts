import { expect } from 'chai';
import { Raft, majority, type HardState, type RaftSettings } from '../../../../src/core/consensus/raft.js';
import type { LogEntry, RaftMessage } from '../../../../src/core/consensus/raft-messages.js';
import { randomInt, seededRandom } from '../seeded-random.js';
import { joinTables, splitTables } from '../../../../src/core/consensus/snapshot-pages.js';

/** One manager of the simulated group: its Raft, what its disk holds, and what it applied. */
interface SimManager {
  raft: Raft;
  disk: { hard: HardState; snapshotIndex: number; snapshotTerm: number; entries: LogEntry[]; applied: LogEntry[] };
  up: boolean;
}

interface InFlight {
  readonly from: string;
  readonly to: string;
  readonly message: RaftMessage;
  readonly atMs: number;
}

const SETTINGS = { electionTimeoutMs: [150, 300] as const, heartbeatMs: 50, maxEntriesPerAppend: 8 };

/**
 * A group of managers on a simulated network with delays, drops, partitions and crashes. It checks
 * Raft's promises as it runs: one leader per term, and every manager applies the same entries in the
 * same order (what one applied at an index, any other applies there too).
 */
class SimGroup {
  nowMs = 0;
  readonly managers = new Map<string, SimManager>();
  private network: InFlight[] = [];
  private readonly leaders = new Map<number, string>();
  readonly committed = new Map<number, string>();
  private cut = new Set<string>();

  constructor(
    readonly names: readonly string[],
    private readonly random: () => number,
    private readonly dropRate = 0,
  ) {
    for (const name of names) {
      const disk = { hard: { term: 0, votedFor: null }, snapshotIndex: 0, snapshotTerm: 0, entries: [], applied: [] };
      this.managers.set(name, { raft: this.boot(name, disk), disk, up: true });
    }
  }

  private boot(name: string, disk: SimManager['disk']): Raft {
    const settings: RaftSettings = { ...SETTINGS, self: name, voters: this.names, random: this.random };
    return new Raft(settings, disk.hard, { snapshotIndex: disk.snapshotIndex, snapshotTerm: disk.snapshotTerm, entries: disk.entries, appliedIndex: disk.applied.length }, this.nowMs, { mayCampaign: true, voteFloor: 'none' });
  }

  crash(name: string): void {
    const manager = this.managers.get(name)!;
    manager.up = false;
    this.network = this.network.filter((flight) => flight.to !== name && flight.from !== name);
  }

  restart(name: string): void {
    const manager = this.managers.get(name)!;
    manager.up = true;
    manager.raft = this.boot(name, manager.disk);
    // The tables hold what was applied before the crash; the log holds the rest.
    manager.raft.persisted(manager.raft.lastIndex);
  }

  /** Crashes a manager and brings it back with an empty disk. */
  wipe(name: string): void {
    this.crash(name);
    const manager = this.managers.get(name)!;
    manager.disk = { hard: { term: 0, votedFor: null }, snapshotIndex: 0, snapshotTerm: 0, entries: [], applied: [] };
    this.restart(name);
  }

  /** Cuts the named managers off from the others (both ways); an empty list heals. */
  partition(isolated: readonly string[]): void {
    this.cut = new Set(isolated);
  }

  leader(): string | undefined {
    return [...this.managers].find(([, manager]) => manager.up && manager.raft.currentRole === 'leader')?.[0];
  }

  propose(name: string, value: string): number | undefined {
    const manager = this.managers.get(name)!;
    const index = manager.raft.propose({ kind: 'writes', ops: [{ table: 't', key: value, value }] }, this.nowMs);
    this.drain(name);
    return index;
  }

  run(ms: number): void {
    const end = this.nowMs + ms;
    while (this.nowMs < end) {
      this.nowMs += 5;
      const due = this.network.filter((flight) => flight.atMs <= this.nowMs);
      this.network = this.network.filter((flight) => flight.atMs > this.nowMs);
      for (const flight of due) {
        const target = this.managers.get(flight.to)!;
        if (!target.up) continue;
        target.raft.receive(flight.message, this.nowMs);
        this.drain(flight.to);
      }
      for (const [name, manager] of this.managers) {
        if (!manager.up) continue;
        manager.raft.tick(this.nowMs);
        this.drain(name);
      }
    }
  }

  private drain(name: string): void {
    const manager = this.managers.get(name)!;
    const ready = manager.raft.takeReady();
    const disk = manager.disk;
    if (ready.hardState) disk.hard = ready.hardState;
    if (ready.snapshot) {
      disk.snapshotIndex = ready.snapshot.index;
      disk.snapshotTerm = ready.snapshot.term;
      disk.entries = [];
      disk.applied = (ready.snapshot.tables['applied'] ?? []).map(([, entry]) => entry as LogEntry);
    }
    if (ready.truncateFrom !== undefined) disk.entries = disk.entries.filter((entry) => entry.index < ready.truncateFrom!);
    for (const entry of ready.entries) {
      disk.entries = disk.entries.filter((kept) => kept.index < entry.index);
      disk.entries.push(entry);
    }
    manager.raft.persisted(manager.raft.lastIndex);
    const role = manager.raft.currentRole;
    if (role === 'leader') {
      const seen = this.leaders.get(manager.raft.currentTerm);
      expect(seen === undefined || seen === name, `two leaders in term ${manager.raft.currentTerm}: ${seen} and ${name}`).to.equal(true);
      this.leaders.set(manager.raft.currentTerm, name);
    }
    for (const { to, message } of ready.messages) {
      if (this.random() < this.dropRate) continue;
      if (this.cut.has(name) !== this.cut.has(to)) continue;
      this.network.push({ from: name, to, message, atMs: this.nowMs + 1 + randomInt(this.random, 20) });
    }
    for (const peer of ready.snapshotsFor) {
      // The simulated tables are the applied entries themselves.
      const snapshot = { id: { clusterId: 'c', epoch: 'e' }, index: disk.applied.length, term: manager.raft.termAt(disk.applied.length) ?? disk.snapshotTerm, tables: { applied: disk.applied.map((entry) => [String(entry.index), entry] as const) } };
      if (this.cut.has(name) === this.cut.has(peer)) this.network.push({ from: name, to: peer, message: { type: 'install_snapshot', term: manager.raft.currentTerm, from: name, snapshot }, atMs: this.nowMs + 5 });
    }
    // Apply in order, checking that every manager applies the same entry at each index.
    while (disk.applied.length < ready.commitIndex) {
      const index = disk.applied.length + 1;
      const entry = manager.raft.entry(index);
      if (!entry) break;
      const fingerprint = `${entry.term}:${JSON.stringify(entry.data)}`;
      const earlier = this.committed.get(index);
      expect(earlier === undefined || earlier === fingerprint, `index ${index} applied as ${fingerprint} on ${name}, as ${earlier} elsewhere`).to.equal(true);
      this.committed.set(index, fingerprint);
      disk.applied.push(entry);
    }
  }

  /** Compacts every manager's log up to what it applied, keeping `keep` entries. */
  compact(keep: number): void {
    for (const manager of this.managers.values()) {
      const upTo = manager.disk.applied.length - keep;
      if (upTo <= manager.disk.snapshotIndex) continue;
      const term = manager.raft.termAt(upTo);
      manager.raft.compact(upTo);
      manager.disk.snapshotIndex = upTo;
      manager.disk.snapshotTerm = term ?? manager.disk.snapshotTerm;
      manager.disk.entries = manager.disk.entries.filter((entry) => entry.index > upTo);
    }
  }

  appliedValues(name: string): string[] {
    return this.managers.get(name)!.disk.applied.flatMap((entry) => (entry.data.kind === 'writes' ? entry.data.ops.map((op) => op.key) : []));
  }
}

describe('core/consensus/raft', () => {
  it('counts a majority', () => {
    expect([1, 2, 3, 4, 5].map(majority)).to.deep.equal([1, 2, 2, 3, 3]);
  });

  it('a single manager leads at once and commits on its own disk', () => {
    const group = new SimGroup(['m0'], seededRandom(1));
    group.run(400);
    expect(group.leader()).to.equal('m0');
    group.propose('m0', 'a');
    group.run(10);
    expect(group.appliedValues('m0')).to.deep.equal(['a']);
  });

  it('three managers elect one leader and replicate to all', () => {
    const group = new SimGroup(['m0', 'm1', 'm2'], seededRandom(2));
    group.run(1_000);
    const leader = group.leader()!;
    expect(leader).to.be.a('string');
    for (const value of ['a', 'b', 'c']) group.propose(leader, value);
    group.run(500);
    for (const name of group.names) expect(group.appliedValues(name)).to.deep.equal(['a', 'b', 'c']);
  });

  it('a manager that came back empty votes only for a candidate whose log reaches how far the log was committed', () => {
    const settings = { ...SETTINGS, self: 'm1', voters: ['m0', 'm1', 'm2'], random: seededRandom(9) };
    const empty = { snapshotIndex: 0, snapshotTerm: 0, entries: [], appliedIndex: 0 };
    const request = (lastIndex: number, lastTerm: number) => ({ type: 'vote_request' as const, id: { clusterId: 'c', epoch: 'e' }, term: 5, from: 'm0', lastIndex, lastTerm, preVote: false });
    const granted = (voter: Raft): boolean => voter.takeReady().messages.some(({ message }) => message.type === 'vote_reply' && message.granted);
    const abstaining = new Raft(settings, { term: 0, votedFor: null }, empty, 0, { mayCampaign: true, voteFloor: 'abstain' });
    abstaining.receive(request(100, 4), 0);
    expect(granted(abstaining), 'abstains').to.equal(false);
    const floored = new Raft(settings, { term: 0, votedFor: null }, empty, 0, { mayCampaign: true, voteFloor: { index: 20, term: 3 } });
    floored.receive(request(19, 3), 0);
    expect(granted(floored), 'a log short of the floor').to.equal(false);
    floored.receive({ ...request(20, 3), term: 6 }, 0);
    expect(granted(floored), 'a log that reaches it').to.equal(true);
    floored.campaignNow(0);
    expect(floored.currentRole, 'does not stand while below its floor').to.equal('follower');
  });

  it('a follower refuses proposals', () => {
    const group = new SimGroup(['m0', 'm1', 'm2'], seededRandom(3));
    group.run(1_000);
    const follower = group.names.find((name) => name !== group.leader())!;
    expect(group.propose(follower, 'x')).to.equal(undefined);
  });

  it('a leader cut off from the majority steps down and the majority elects another', () => {
    const group = new SimGroup(['m0', 'm1', 'm2'], seededRandom(4));
    group.run(1_000);
    const old = group.leader()!;
    group.partition([old]);
    group.run(1_500);
    expect(group.managers.get(old)!.raft.currentRole).to.not.equal('leader');
    const fresh = group.leader()!;
    expect(fresh).to.not.equal(old);
    group.propose(fresh, 'after');
    group.run(300);
    group.partition([]);
    group.run(1_000);
    expect(group.appliedValues(old)).to.deep.equal(['after']);
  });

  it('a manager that was cut off does not unseat a working leader when it returns (pre-vote)', () => {
    const group = new SimGroup(['m0', 'm1', 'm2'], seededRandom(5));
    group.run(1_000);
    const leader = group.leader()!;
    const loner = group.names.find((name) => name !== leader)!;
    const term = group.managers.get(leader)!.raft.currentTerm;
    group.partition([loner]);
    group.run(3_000);
    group.partition([]);
    group.run(1_000);
    expect(group.leader()).to.equal(leader);
    expect(group.managers.get(leader)!.raft.currentTerm).to.equal(term);
  });

  it('an uncommitted entry of a deposed leader is replaced, never applied', () => {
    const group = new SimGroup(['m0', 'm1', 'm2'], seededRandom(6));
    group.run(1_000);
    const old = group.leader()!;
    group.partition([old]);
    group.propose(old, 'lost');
    group.run(1_500);
    const fresh = group.leader()!;
    group.propose(fresh, 'kept');
    group.run(300);
    group.partition([]);
    group.run(1_000);
    for (const name of group.names) expect(group.appliedValues(name)).to.deep.equal(['kept']);
  });

  it('a follower that lost its disk catches up again under the same leader', () => {
    const group = new SimGroup(['m0', 'm1', 'm2'], seededRandom(8));
    group.run(1_000);
    const leader = group.leader()!;
    const follower = group.names.find((name) => name !== leader)!;
    for (let i = 0; i < 12; i++) group.propose(leader, `before-${i}`);
    group.run(500);
    group.wipe(follower);
    group.propose(leader, 'after');
    group.run(1_000);
    expect(group.leader()).to.equal(leader);
    expect(group.appliedValues(follower)).to.deep.equal(group.appliedValues(leader));
    expect(group.appliedValues(follower)).to.have.length(13);
  });

  it('a manager far behind a compacted log catches up from a snapshot', () => {
    const group = new SimGroup(['m0', 'm1', 'm2'], seededRandom(7));
    group.run(1_000);
    const leader = group.leader()!;
    const lagging = group.names.find((name) => name !== leader)!;
    group.crash(lagging);
    for (let i = 0; i < 40; i++) group.propose(leader, `v${i}`);
    group.run(500);
    group.compact(5);
    group.restart(lagging);
    group.run(1_500);
    expect(group.appliedValues(lagging)).to.have.length(40);
    expect(group.appliedValues(lagging)).to.deep.equal(group.appliedValues(leader));
  });

  // RAFT_SEEDS=N runs N seeds instead of the fixed few (npm run sim:raft).
  const seedCount = Number(process.env['RAFT_SEEDS'] ?? 0);
  const seeds = seedCount > 0 ? Array.from({ length: seedCount }, (_, i) => 1_000 + i) : [11, 12, 13, 14, 15, 16];
  for (const seed of seeds) {
    it(`keeps one leader per term and one history under drops, partitions and crashes (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const names = ['m0', 'm1', 'm2', 'm3', 'm4'];
      const group = new SimGroup(names, random, 0.1);
      let proposed = 0;
      for (let round = 0; round < 60; round++) {
        const roll = random();
        const victim = names[randomInt(random, names.length)]!;
        if (roll < 0.1) group.crash(victim);
        else if (roll < 0.25) group.restart(victim);
        else if (roll < 0.35) group.partition(names.filter(() => random() < 0.4));
        else if (roll < 0.45) group.partition([]);
        else if (roll < 0.5) group.compact(3);
        const leader = group.leader();
        if (leader) group.propose(leader, `p${proposed++}`);
        group.run(100 + randomInt(random, 300));
      }
      for (const name of names) if (!group.managers.get(name)!.up) group.restart(name);
      group.partition([]);
      let leader: string | undefined;
      for (let waited = 0; waited < 20 && !leader; waited++) leader = (group.run(500), group.leader());
      if (!leader) {
        const states = names.map((name) => { const raft = group.managers.get(name)!.raft; return `${name}:${raft.currentRole}/t${raft.currentTerm}/last${raft.lastIndex}/commit${raft.commitIndex}`; });
        throw new Error(`no leader: ${states.join(' ')}`);
      }
      group.propose(leader, 'last');
      group.run(2_000);
      const histories = names.map((name) => group.appliedValues(name).join(','));
      expect(new Set(histories).size, histories.join('\n')).to.equal(1);
      expect(histories[0]!.endsWith('last')).to.equal(true);
      expect(histories[0]!.split(',').length, 'most proposals commit').to.be.greaterThan(proposed / 3);
    });
  }
});

describe('core/consensus/snapshot-pages', () => {
  const sizeOf = (record: readonly [string, unknown]): number => record[0].length + String(record[1]).length;

  it('cuts tables into pages under the size and puts them back in order', () => {
    const tables = { users: Array.from({ length: 10 }, (_, i) => [`u${i}`, 'x'.repeat(8)] as const), buckets: [['b', 'y'.repeat(40)] as const], members: [] };
    const pages = splitTables(tables, 25, sizeOf);
    expect(pages.length).to.be.greaterThan(3);
    for (const page of pages.slice(0, -1)) {
      const bytes = Object.values(page).flat().reduce((sum, record) => sum + sizeOf(record), 0);
      expect(bytes <= 25 || Object.values(page).flat().length === 1).to.equal(true);
    }
    const joined = joinTables(pages);
    expect(joined['users']).to.deep.equal(tables.users);
    expect(joined['buckets']).to.deep.equal(tables.buckets);
  });

  it('has one page for an empty state', () => {
    expect(splitTables({ users: [] }, 10, sizeOf)).to.deep.equal([{}]);
    expect(joinTables([{}])).to.deep.equal({});
  });
});
