/**
 * A checker that never fails is worth nothing: each planted bug below breaks
 * one rule of DESIGN.md, and the simulator must catch every one of them in
 * both protocols, with 3 and 5 replicas, within a bounded number of seeds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Protocol } from '../../src/core/types.js';
import { runSeeds } from '../../src/sim/batch.js';
import { PLANTS } from '../../src/sim/planted.js';

const PLANTED = PLANTS.map((p) => ({ ...p, name: p.what, ...(p.multiOnly ? { only: 'multi' as Protocol } : {}) }));

const SEEDS = 300;

for (const protocol of ['multi', 'basic'] as Protocol[]) {
  for (const clusterSize of [3, 5]) {
    test(`${protocol} paxos, ${clusterSize} replicas: every planted bug is caught`, () => {
      for (const plant of PLANTED.filter((p) => p.only === undefined || p.only === protocol)) {
        const result = runSeeds({
          protocol, clusterSize, firstSeed: 1, seeds: SEEDS, maxFailures: 1,
          ...(plant.bugs ? { bugs: plant.bugs } : {}), ...(plant.simBugs ? { simBugs: plant.simBugs } : {}),
        });
        console.log(`${protocol} n=${clusterSize} ${plant.name}: first caught by seed ${result.failures[0]?.seed ?? 'none'}: ${result.failures[0]?.violation ?? 'not caught'}`);
        assert.ok(result.failures.length > 0, `${plant.name} went unnoticed in ${SEEDS} seeds`);
      }
    });
  }
}

test('the same seeds pass without planted bugs (the catches above are the bugs, not noise)', () => {
  for (const protocol of ['multi', 'basic'] as Protocol[]) {
    const result = runSeeds({ protocol, clusterSize: 3, firstSeed: 1, seeds: SEEDS });
    assert.equal(result.failures.length, 0, result.failures[0]?.violation);
  }
});
