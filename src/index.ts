/**
 * The library entry point of paxos-lab, free of the command line: the pure
 * protocol cores (also at `paxos-lab/core`), the seeded simulator that runs
 * them under crashes, partitions, loss and duplication while checking safety,
 * and the linearizability checker.
 *
 *   import { runSeeds } from 'paxos-lab';
 *   const r = runSeeds({ protocol: 'multi', clusterSize: 5, firstSeed: 1, seeds: 100 });
 */
export * from './core/index.js';
export { runSchedule, Simulation, type SimBugs, type SimOptions, type SimResult } from './sim/world.js';
export { runSeeds, reproduction, type BatchOptions, type BatchResult } from './sim/batch.js';
export { InvariantViolation, majorityOf } from './sim/invariants.js';
export {
  checkKvHistory, checkLinearizable, partitionByKey, registerModel, MalformedHistoryError,
  type CheckOptions, type CheckResult, type KvCheckResult, type KvInput, type KvOutput, type Model, type Operation,
} from './linearizability/checker.js';
export { PLANTS, plantNamed, type Plant } from './sim/planted.js';
