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
export {
  type CheckOptions,
  type CheckResult,
  checkKvHistory,
  checkLinearizable,
  type KvCheckResult,
  type KvInput,
  type KvOutput,
  MalformedHistoryError,
  type Model,
  type Operation,
  partitionByKey,
  registerModel,
} from './linearizability/checker.js';
export { type BatchOptions, type BatchResult, reproduction, runSeeds } from './sim/batch.js';
export { InvariantViolation, majorityOf } from './sim/invariants.js';
export { PLANTS, type Plant, plantNamed } from './sim/planted.js';
export { runSchedule, type SimBugs, type SimOptions, type SimResult, Simulation } from './sim/world.js';
