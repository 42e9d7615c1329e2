#!/usr/bin/env node
// Re-records a regression seed (test/sim/regressions.json) whose schedule drifted off its bug: runs the seeds from
// FROM on, with the entry's settings, until one shows the plant and passes without it. Bounded by --seeds.
// usage: node scripts/scan-regression.mjs --plant NAME --seed OLD [--from N] [--seeds COUNT]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { plantNamed } from '../dist/src/sim/planted.js';
import { recordedSeedOptions } from '../dist/src/sim/recorded-seeds.js';
import { runSchedule } from '../dist/src/sim/world.js';

const { values } = parseArgs({
  options: { plant: { type: 'string' }, seed: { type: 'string' }, from: { type: 'string' }, seeds: { type: 'string' } },
});
const file = new URL('../test/sim/regressions.json', import.meta.url);
const entry = JSON.parse(readFileSync(file, 'utf8')).seeds.find(
  (r) => r.plant === values.plant && String(r.seed) === values.seed,
);
if (entry === undefined) throw new Error(`no recorded seed ${values.seed} for ${values.plant}`);
const plant = plantNamed(entry.plant);
const options = (seed) => recordedSeedOptions(entry, seed);
const from = Number(values.from ?? 1);
const count = Number(values.seeds ?? 20000);
for (let seed = from; seed < from + count; seed++) {
  const planted = runSchedule({
    ...options(seed),
    ...(plant.bugs ? { bugs: plant.bugs } : {}),
    ...(plant.simBugs ? { simBugs: plant.simBugs } : {}),
  });
  if (planted.ok) continue;
  const clean = runSchedule(options(seed));
  console.log(`seed ${seed}: with the plant: ${planted.violation}; without: ${clean.ok ? 'passes' : clean.violation}`);
  if (clean.ok) process.exit(0);
}
console.log(`none of ${from}-${from + count - 1} shows it`);
process.exit(1);
