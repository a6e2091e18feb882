import { expect } from 'chai';
import type { Hlc } from '../../../src/core/hlc.js';
import type { ObjectMeta } from '../../../src/core/object-meta.js';
import { keptVersions, MAX_UNDO_LEVELS, restoredUndo, settledBeneath, settledIn, stacked, withoutBeneath, type UndoRecord } from '../../../src/store/undo-chain.js';

const clock = (wallMs: number): Hlc => ({ wallMs, counter: 0, node: 'n1' });
const version = (wallMs: number): ObjectMeta => ({
  bucket: 'b', key: 'k', sizeBytes: 1, etag: `e${wallMs}`, contentType: '', userMeta: {}, clock: clock(wallMs), lastModifiedMs: wallMs, ringChecksum: 1, deleted: false,
});

/** The chain of writes `clocks` (oldest first), each taken over the one before while it was unsettled; the first over a settled version at 10. */
function chainOf(...clocks: number[]): UndoRecord {
  let undo: UndoRecord = { clock: clock(clocks[0]!), previous: version(10) };
  for (let i = 1; i < clocks.length; i++) {
    undo = stacked({ clock: clock(clocks[i]!), previous: version(clocks[i - 1]!), previousUnsettled: true }, undo).record!;
  }
  return undo;
}

const levels = (undo: UndoRecord | undefined): number[] => {
  const clocks: number[] = [];
  for (let level = undo; level; level = level.replaced) clocks.push(level.clock.wallMs);
  return clocks;
};

describe('store/undo-chain', () => {
  it('keeps each unsettled version beneath the next, up to the cut', () => {
    expect(levels(chainOf(20, 30, 40))).to.deep.equal([40, 30, 20]);
    expect(keptVersions(chainOf(20, 30, 40)).map((v) => v.clock.wallMs)).to.deep.equal([30, 20, 10]);
    const long = stacked({ clock: clock(60), previous: version(50), previousUnsettled: true }, chainOf(20, 30, 40, 50));
    expect(levels(long.record)).to.have.length(MAX_UNDO_LEVELS);
    expect(long.dropped.map((v) => v.clock.wallMs), 'the versions beneath the cut').to.deep.equal([10]);
  });

  it('settles a version kept two levels down: it stays, settled, and what it replaced goes', () => {
    const settled = settledIn(chainOf(20, 30, 40), clock(20))!;
    expect(levels(settled.record)).to.deep.equal([40, 30]);
    expect(settled.record!.replaced!.previousUnsettled).to.equal(undefined);
    expect(settled.dropped.map((v) => v.clock.wallMs)).to.deep.equal([10]);
    expect(settledIn(chainOf(20, 30, 40), clock(25)), 'a clock the chain does not hold').to.equal(undefined);
    expect(settledIn(chainOf(20, 30, 40), clock(40))).to.deep.include({ record: undefined });
  });

  it('restores the version beneath with its own record, and one over nothing known past the cut', () => {
    const chain = chainOf(20, 30);
    expect(restoredUndo(chain, 's', 0)).to.equal(chain.replaced);
    const { replaced: _cut, ...cut } = chain;
    expect(restoredUndo(cut, 's', 5)).to.deep.equal({ clock: clock(20), previous: null, replacedUnknown: true, session: 's', sinceElapsedMs: 5 });
    expect(restoredUndo(chainOf(20), 's', 0), 'a settled version beneath needs no record').to.equal(undefined);
  });

  it('names the settled version two unsettled writes stand over, and nothing for other chains', () => {
    expect(settledBeneath(chainOf(20, 30))).to.deep.equal({ clock: clock(10) });
    expect(settledBeneath(chainOf(20)), 'one write over a settled version').to.equal(undefined);
    expect(settledBeneath(chainOf(20, 30, 40)), 'three writes deep').to.equal(undefined);
    const overNothing = stacked({ clock: clock(30), previous: version(20), previousUnsettled: true }, { clock: clock(20), previous: null }).record!;
    expect(settledBeneath(overNothing), 'a first version beneath').to.deep.equal({ clock: null });
    const { replaced: _cut, ...cut } = chainOf(20, 30);
    expect(settledBeneath(cut), 'past the cut').to.equal(undefined);
    expect(settledBeneath(withoutBeneath(chainOf(20, 30, 40), clock(30))!.record!), 'a failed write taken out between').to.deep.equal({ clock: clock(10) });
    const lost = stacked({ clock: clock(30), previous: version(20), previousUnsettled: true }, restoredUndo(cut, 's', 0)!).record!;
    expect(settledBeneath(lost), 'an undo that left nothing known beneath').to.equal(undefined);
  });

  it('takes a failed write out of the chain beneath the newest, keeping what it had replaced', () => {
    const spliced = withoutBeneath(chainOf(20, 30, 40), clock(30))!;
    expect(levels(spliced.record)).to.deep.equal([40, 20]);
    expect(spliced.record!.previous!.clock).to.deep.equal(clock(20));
    expect(spliced.record!.replacedUnknown).to.equal(true);
    expect(spliced.dropped.map((v) => v.clock.wallMs)).to.deep.equal([30]);
    expect(withoutBeneath(chainOf(20, 30, 40), clock(10)), 'a settled version is not undone').to.equal(undefined);
  });
});
