/**
 * Runs many seeded schedules and sums them up. Each schedule is independent
 * and fully determined by its seed, so a failure is reproduced by running
 * that one seed again.
 */
import type { PlantedBugs, Protocol } from '../core/types.js';
import { runSchedule, type SimBugs, type SimResult } from './world.js';

export interface BatchOptions {
  readonly protocol: Protocol;
  readonly clusterSize: number;
  readonly firstSeed: number;
  readonly seeds: number;
  readonly bugs?: PlantedBugs;
  readonly simBugs?: SimBugs;
  /** Stop after this many failing seeds (default: keep going). */
  readonly maxFailures?: number;
  readonly onSchedule?: (result: SimResult, index: number) => void;
}

export interface BatchResult {
  readonly schedules: number;
  readonly chosen: number;
  readonly messages: number;
  readonly opsCompleted: number;
  /** Schedules whose history the linearizability search gave up on: neither passed nor failed. */
  readonly undecided: readonly SimResult[];
  readonly failures: readonly SimResult[];
  readonly seconds: number;
}

export function runSeeds(opts: BatchOptions): BatchResult {
  const started = performance.now();
  const failures: SimResult[] = [];
  const undecided: SimResult[] = [];
  let schedules = 0;
  let chosen = 0;
  let messages = 0;
  let opsCompleted = 0;
  for (let i = 0; i < opts.seeds; i++) {
    const result = runSchedule({
      protocol: opts.protocol, clusterSize: opts.clusterSize, seed: opts.firstSeed + i,
      ...(opts.bugs ? { bugs: opts.bugs } : {}), ...(opts.simBugs ? { simBugs: opts.simBugs } : {}),
    });
    schedules++;
    chosen += result.chosen;
    messages += result.messages;
    opsCompleted += result.opsCompleted;
    if (result.ok && result.undecided !== undefined) undecided.push(result);
    opts.onSchedule?.(result, i);
    if (!result.ok) {
      failures.push(result);
      if (opts.maxFailures !== undefined && failures.length >= opts.maxFailures) break;
    }
  }
  return { schedules, chosen, messages, opsCompleted, undecided, failures, seconds: (performance.now() - started) / 1000 };
}

export function reproduction(r: SimResult): string {
  return `paxos sim --protocol ${r.protocol} -n ${r.clusterSize} --seed ${r.seed}`;
}
