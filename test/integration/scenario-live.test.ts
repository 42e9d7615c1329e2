/**
 * Scenarios on real replicas (`paxos scenario run NAME --live`): the shipped
 * walk-throughs, played on real processes in step mode, must print exactly
 * the traces their files expect, the same traces the scripted runner prints.
 * Five of them run here, one per thing the live driver does beyond delivering
 * a message: Basic Paxos duelling proposers; backoff off and on (the cluster
 * rebuilt with other core settings); a crash and restart whose held
 * message outlives its sender and is injected; a partition and its heal;
 * and wait-until, which runs the network itself until a line appears.
 * A sixth is a plant's file: real replicas started with `option plant` break
 * agreement exactly where the scripted ones do.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LiveScenarioCluster } from '../../src/scenario/live.js';
import { runScenarioLive } from '../../src/scenario/run.js';
import { parseScenario } from '../../src/scenario/script.js';
import { repoRoot } from '../support/paths.js';

const LIVE = [
  'templates/scenarios/000-duelling-proposers.txt',
  'templates/scenarios/livelock-backoff.txt',
  'templates/scenarios/multi-catchup.txt',
  'templates/scenarios/multi-partition-heal.txt',
  'templates/scenarios/multi-hands-off.txt',
  'test/core/plants/stale-leader-commit.txt',
];

for (const name of LIVE) {
  test(`scenario ${name} on real replicas prints the trace its file expects`, { timeout: 120_000 }, async () => {
    const scenario = parseScenario(readFileSync(join(repoRoot(), name), 'utf8'));
    const results = await runScenarioLive(scenario);
    const failed = results.filter((r) => !r.ok || r.skipped);
    assert.deepEqual(
      failed.map(
        (r) => `step ${r.number} (${r.step.kind === 'command' ? r.step.command : ''}):\n${r.failure || r.actual}`,
      ),
      [],
    );
    assert.ok(
      results.some((r) => r.actual.includes('learned')),
      'nothing was learned: the run did not really run',
    );
  });
}

/** Processes whose command line names the directory: a replica started for it is still running. */
function processesNaming(dir: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes(dir));
}

test('a live run refuses what needs the scripted disk, and leaves no process and no scratch directory behind', {
  timeout: 60_000,
}, async () => {
  const cluster = new LiveScenarioCluster();
  try {
    assert.equal(await cluster.run('cluster multi 3'), '3 multi replicas');
    const home = cluster.homeDir!;
    assert.ok(existsSync(home));
    assert.equal(processesNaming(home).length, 3, 'three replica processes run for the scenario');
    await assert.rejects(cluster.run('option persisted explicit'), /needs the scripted disk/);
    await assert.rejects(cluster.run('persisted node-1'), /needs the scripted disk/);
    await assert.rejects(
      cluster.run('deliver node-1 node-2 prepare'),
      /no pending prepare from node-1 to node-2; pending: none/,
    );
    await assert.rejects(cluster.run('option backoff off'), /for basic clusters/);
    assert.match(await cluster.run('tick node-1 26'), /node-1 starts phase 1 at 1\.1/);
    await cluster.close();
    assert.equal(existsSync(home), false, 'the scratch home outlived the run');
    assert.deepEqual(processesNaming(home), []);
  } finally {
    await cluster.close();
  }
});
