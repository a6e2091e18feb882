/**
 * The acceptor state of compare-and-set per key (core/cas-rules.ts), kept in the object store's
 * environment (table `cas`, keyed like `meta`) so that a promise or an acceptance is on disk before it
 * is answered, and is ordered with the key's writes in the store's transactions.
 */
import type { Database } from 'lmdb';
import { acceptProposal, noteApplied, promiseBallot, type CasProposal, type CasRecord, type CasVote } from '../core/cas-rules.js';
import type { Hlc } from '../core/hlc.js';
import type { ObjectMeta } from '../core/object-meta.js';
import { metaKey, type ObjectAddress } from './store-keys.js';

type Write = (action: () => void) => Promise<void>;

export interface CasPrepared {
  readonly vote: CasVote<CasRecord>;
  /** The key's newest version here when the promise was made, and whether its write had settled. */
  readonly head: ObjectMeta | undefined;
  readonly headSettled: boolean;
}

export class CasLedger {
  constructor(
    /** The table now: the store's tables may be replaced whole (as a compaction would). */
    private readonly table: () => Database<unknown, Buffer>,
    /** One of the store's write transactions, so these writes are ordered with all the others. */
    private readonly write: Write,
    /** The key's newest version, read inside the same transaction. */
    private readonly head: (address: ObjectAddress) => ObjectMeta | undefined,
    /** Whether the write of the version at `clock` is still unsettled here. */
    private readonly isUnsettled: (address: ObjectAddress, clock: Hlc) => boolean,
  ) {}

  record(address: ObjectAddress): CasRecord | undefined {
    return this.table().get(metaKey(address)) as CasRecord | undefined;
  }

  /** Resolves once the promise (if granted) is durable. */
  async prepare(address: ObjectAddress, ballot: Hlc): Promise<CasPrepared> {
    let prepared: CasPrepared | undefined;
    await this.write(() => {
      const vote = promiseBallot(this.record(address), ballot);
      if (vote.granted) void this.table().put(metaKey(address), vote.record);
      const head = this.head(address);
      prepared = { vote, head, headSettled: head === undefined || !this.isUnsettled(address, head.clock) };
    });
    return prepared!;
  }

  /** Resolves once the acceptance (if granted) is durable. */
  async propose(address: ObjectAddress, proposal: CasProposal): Promise<CasVote<CasRecord>> {
    let vote: CasVote<CasRecord> | undefined;
    await this.write(() => {
      vote = acceptProposal(this.record(address), proposal);
      if (vote.granted) void this.table().put(metaKey(address), vote.record);
    });
    return vote!;
  }

  /** Notes that the chosen version of the write `writeId` was applied here (after it was). */
  async applied(address: ObjectAddress, writeId: string): Promise<void> {
    await this.write(() => void this.table().put(metaKey(address), noteApplied(this.record(address), writeId)));
  }
}
