/**
 * The deterministic simulation in `npm test`: a fixed set of seeds per fault class, each run checked by
 * the history checker and for convergence, and a check that a seed replays exactly.
 * `npm run sim -- --seeds 1000 --faults all` runs many more.
 */
import { expect } from 'chai';
import { runSimulation, type FaultClass } from './simulation.js';

const RUNS: ReadonlyArray<{ readonly faults: readonly FaultClass[]; readonly seeds: number }> = [
  { faults: [], seeds: 5 },
  { faults: ['loss', 'duplicates'], seeds: 15 },
  { faults: ['partitions'], seeds: 15 },
  { faults: ['crashes'], seeds: 15 },
  { faults: ['clocks'], seeds: 15 },
  { faults: ['loss', 'duplicates', 'partitions', 'crashes'], seeds: 30 },
];

describe('deterministic simulation of a storage cluster (5 nodes, N=3, W=2, R=2, D=2)', function () {
  this.timeout(120_000);

  for (const { faults, seeds } of RUNS) {
    const named = faults.length === 0 ? 'none' : faults.join(',');
    it(`keeps the history sound and converges, seeds 1-${seeds}, faults: ${named}`, async () => {
      for (let seed = 1; seed <= seeds; seed++) {
        const report = await runSimulation(seed, faults);
        expect(report.problems, `seed ${seed}; replay: npm run sim -- --seed ${seed} --faults ${named}`).to.deep.equal([]);
        expect(report.acknowledged, `seed ${seed} made progress`).to.be.above(0);
      }
    });
  }

  it('replays a seed exactly: the same seed gives the same run', async () => {
    const faults: FaultClass[] = ['loss', 'duplicates', 'partitions', 'crashes', 'clocks'];
    const first = await runSimulation(7, faults);
    const second = await runSimulation(7, faults);
    expect(second.fingerprint).to.equal(first.fingerprint);
    expect(second.delivered).to.equal(first.delivered);
  });
});
