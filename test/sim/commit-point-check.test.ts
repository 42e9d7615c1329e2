/**
 * The checkers' view of issue 22, item 1: a leader's commit point vouches for
 * every vote of its ballot below it, so the checker judges the claim when it
 * is sent (heartbeat, accept or commit notice), not when some follower acts
 * on it. The plant's scenario breaks agreement only because node-2 happens to
 * hold the lost vote and hear the heartbeat; the checker flags the heartbeat
 * itself, one step earlier, and passes the fixed replica's side of the story.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExploreChecks } from '../../src/explore/checks.js';
import { ScenarioCluster } from '../../src/scenario/runner.js';
import { parseScenario } from '../../src/scenario/script.js';
import { repoRoot } from '../support/paths.js';

/** Runs a scenario file's commands with the simulator's checkers on; the first violation and the command that sent it. */
function checkScenario(file: string, plant: string | null): { at: string | null; violation: string | null } {
  const checks = new ExploreChecks('multi', 5);
  const cluster = new ScenarioCluster(null, checks);
  if (plant !== null) cluster.run(`option plant ${plant}`);
  const scenario = parseScenario(readFileSync(join(repoRoot(), file), 'utf8'));
  for (const step of scenario.steps) {
    if (step.kind !== 'command' || step.command.startsWith('option ')) continue;
    cluster.run(step.command);
    if (checks.violation !== null) return { at: step.command, violation: checks.violation };
  }
  return { at: null, violation: null };
}

test('a stale leader that vouches for its lost vote is caught when it sends the heartbeat', () => {
  const run = checkScenario('test/core/plants/stale-leader-commit.txt', 'stale-leader-commit');
  // node-1 learned #3 (kw=w, chosen at 2.5) by catch-up and kept leading at 2.1: its next heartbeat says commit<#4.
  assert.equal(run.at, 'tick node-1 4');
  assert.match(
    run.violation ?? '',
    /^commit point: node-1 at 2\.1 vouches for every vote of its ballot below #4, but its \S+ at #3 lost to \S+$/,
  );
});

test('the fixed replica steps down instead, and the checker finds nothing in the same schedule', () => {
  assert.deepEqual(checkScenario('test/core/regressions/stale-leader-commit.txt', null), { at: null, violation: null });
});
