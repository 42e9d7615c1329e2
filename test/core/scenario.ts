/**
 * The scenario tests' side of the runner, whose engine lives in
 * `src/scenario/` so `paxos scenario run` can use it too. This file keeps
 * what only the tests want: REWRITE=1 regenerates the expected traces from
 * the current code, and failures come back as text for the assertion.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { runScenario } from '../../src/scenario/run.js';
import { ScenarioCluster } from '../../src/scenario/runner.js';
import { expectationMet, formatScenario, parseScenario, type Step } from '../../src/scenario/script.js';

export { parseScenario } from '../../src/scenario/script.js';
export { ScenarioCluster };

/**
 * Runs a scenario file; returns mismatches (empty when it passes). With REWRITE=1 it rewrites the file instead.
 * A step that throws (a message the script names is not pending, say) ends the run: every later step
 * depends on it. Its error becomes that step's actual trace, and a rewrite keeps the later steps as they were.
 */
export function runScenarioFile(path: string): string[] {
  const scenario = parseScenario(readFileSync(path, 'utf8'));
  const results = runScenario(scenario);
  const failures = results
    .filter((r) => !r.ok && r.step.kind === 'command')
    .map((r) => `step "${r.step.kind === 'command' ? r.step.command : ''}"\n${r.failure}`);
  if (process.env.REWRITE !== '1') return failures;
  const actual = new Map<Step, string>(
    results.filter((r) => !r.skipped && r.step.kind === 'command').map((r) => [r.step, r.actual]),
  );
  writeFileSync(path, formatScenario(scenario, actual));
  return [];
}

/**
 * Runs a scenario file's commands with `option plant NAME` before them, not
 * judging traces (a plant changes them all): what it gives back is what a
 * plant's bug looks like, every broken agreement the runner saw and every
 * `expect` line not met (a step that throws counts as unmet, and ends the run).
 */
export function runUnderPlant(path: string, plant: string): { violations: readonly string[]; unmet: string[] } {
  const scenario = parseScenario(readFileSync(path, 'utf8'));
  const c = new ScenarioCluster();
  c.run(`option plant ${plant}`);
  const unmet: string[] = [];
  for (const step of scenario.steps) {
    if (step.kind !== 'command') continue;
    let trace: string;
    try {
      trace = c.run(step.command);
    } catch (err) {
      unmet.push(`${step.command}: ${(err as Error).message}`);
      break;
    }
    for (const e of step.expects) if (!expectationMet(e, trace)) unmet.push(`${step.command}: expect ${e}`);
  }
  return { violations: c.violations(), unmet };
}
