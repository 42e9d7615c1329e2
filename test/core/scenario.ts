/**
 * The scenario tests' side of the runner, whose engine lives in
 * `src/scenario/` so `paxos scenario run` can use it too. This file keeps
 * what only the tests want: REWRITE=1 regenerates the expected traces from
 * the current code, and failures come back as text for the assertion.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { runScenario } from '../../src/scenario/run.js';
import { formatScenario, parseScenario, type Step } from '../../src/scenario/script.js';

export { ScenarioCluster } from '../../src/scenario/runner.js';
export { parseScenario } from '../../src/scenario/script.js';

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
