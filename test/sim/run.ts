/**
 * `npm run sim -- --seeds 1000 --faults all`: runs many simulated seeds and prints every failing one
 * with the command that replays it. Faults: all, none, or a comma-separated list of loss, duplicates,
 * partitions, crashes, clocks, membership. `--seed N` runs one seed and prints its problems.
 */
import { FAULT_CLASSES, runSimulation, type FaultClass } from './simulation.js';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const faultsText = option('faults') ?? 'all';
const faults: FaultClass[] = faultsText === 'all' ? [...FAULT_CLASSES] : faultsText === 'none' ? [] : (faultsText.split(',') as FaultClass[]);
for (const fault of faults) {
  if (!FAULT_CLASSES.includes(fault)) {
    console.error(`unknown fault class ${fault} (known: all, none, ${FAULT_CLASSES.join(', ')})`);
    process.exit(2);
  }
}
const single = option('seed');
const first = single !== undefined ? Number(single) : Number(option('first') ?? 1);
const count = single !== undefined ? 1 : Number(option('seeds') ?? 100);
if (!Number.isInteger(first) || !Number.isInteger(count) || count < 1) {
  console.error('--seeds, --first and --seed take whole numbers');
  process.exit(2);
}

let failed = 0;
const startedMs = Date.now();
for (let seed = first; seed < first + count; seed++) {
  const result = await runSimulation(seed, faults);
  if (result.problems.length > 0) {
    failed++;
    console.log(`seed ${seed} failed (${result.problems.length} problems); replay: npm run sim -- --seed ${seed} --faults ${faultsText}`);
    for (const problem of result.problems.slice(0, single !== undefined ? 50 : 3)) console.log(`  ${problem}`);
  } else if (single !== undefined) {
    console.log(`seed ${seed} passed: ${result.operations} operations, ${result.acknowledged} writes acknowledged, ${result.delivered} messages delivered, ${result.dropped} lost, fingerprint ${result.fingerprint}`);
    if (result.membership.length > 0) console.log(`  membership: ${result.membership.join('; ')}`);
  }
}
console.log(`sim.seeds=${count}`);
console.log(`sim.failed=${failed}`);
console.log(`sim.seconds=${((Date.now() - startedMs) / 1000).toFixed(1)}`);
process.exit(failed > 0 ? 1 : 0);
