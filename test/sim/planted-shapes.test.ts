/**
 * Plants that only a hand-written scenario showed until the swarm drew
 * shaped faults (src/sim/swarm-shapes.ts, issue 22): the default seeds of
 * `npm test` must now catch each of them by themselves, within a few dozen
 * seeds, and the same seeds must pass without the plant (so the catch is the
 * bug, not the shapes). Each run stops at its first catch.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reproduction, runSeeds } from '../../src/sim/batch.js';
import { plantNamed } from '../../src/sim/planted.js';

/** The plant, the size its story needs, and a bound of seeds well above the first catch measured (in the comment). */
const SHAPED = [
  // A change naming the next epoch chosen and refused, then the real change, then a restart: first catch seed 10 (seed 1 until the seeds drew pauses, which moved its schedule).
  { name: 'rejudge-config', clusterSize: 3, seeds: 40 },
  // A change under a reused identity is the leader's stop-sign and apply refuses it: first catch seed 12.
  { name: 'stall-after-refused-stop-sign', clusterSize: 3, seeds: 60 },
] as const;

for (const { name, clusterSize, seeds } of SHAPED) {
  test(`${name}: the default seeds catch it at ${clusterSize} replicas`, () => {
    const plant = plantNamed(name);
    assert.ok(plant !== undefined, `no plant named ${name}`);
    const result = runSeeds({
      protocol: 'multi',
      clusterSize,
      firstSeed: 1,
      seeds,
      maxFailures: 1,
      ...(plant.bugs ? { bugs: plant.bugs } : {}),
      membershipChanges: plant.membershipChanges === true,
      swarm: true,
    });
    const caught = result.failures[0];
    console.log(`multi n=${clusterSize} ${name}: first caught by seed ${caught?.seed ?? 'none'}: ${caught?.violation}`);
    assert.ok(caught !== undefined, `${name} went unnoticed in seeds 1-${seeds} at ${clusterSize} replicas`);
    // The reproduce line prints what the run used: the plant's membership changes, not the seed's drawn setting.
    const membership = `--membership ${plant.membershipChanges === true ? 'on' : 'off'}`;
    assert.ok(reproduction(caught).includes(membership), `${reproduction(caught)} does not say ${membership}`);
    const clean = runSeeds({
      protocol: 'multi',
      clusterSize,
      firstSeed: caught.seed,
      seeds: 1,
      membershipChanges: plant.membershipChanges === true,
      swarm: true,
    });
    assert.equal(
      clean.failures.length,
      0,
      `seed ${caught.seed} fails without the plant: ${clean.failures[0]?.violation}`,
    );
  });
}
