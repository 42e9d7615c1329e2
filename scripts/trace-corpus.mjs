#!/usr/bin/env node
/**
 * The trace corpus: one SHA-256 per simulated schedule (its whole JSON-lines
 * trace) and per shipped scenario (every step's trace under the scripted
 * runner), for a fixed set of seeds, sizes, protocols and plants. A change
 * that moves code without changing behaviour must leave every line of this
 * output identical; compare two runs with `diff`.
 *
 *   npm run build && node scripts/trace-corpus.mjs [--quick] > corpus.txt
 *
 * --quick runs a tenth of the seeds, for a check after each small move.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { runSeeds } = await import(join(root, 'dist/src/sim/batch.js'));
const { PLANTS } = await import(join(root, 'dist/src/sim/planted.js'));
const { runScenario } = await import(join(root, 'dist/src/scenario/run.js'));
const { parseScenario } = await import(join(root, 'dist/src/scenario/script.js'));

const quick = process.argv.includes('--quick');
const seedsPerRun = quick ? 30 : 300;

function digestOfSeed(opts) {
  const hash = createHash('sha256');
  let lines = 0;
  const result = runSeeds({
    ...opts,
    seeds: 1,
    traceSink: (line) => {
      hash.update(line);
      hash.update('\n');
      lines++;
    },
  });
  const failed = result.failures.length > 0 ? ' violation' : '';
  return `${hash.digest('hex').slice(0, 16)} ${lines}${failed} chosen=${result.chosen}`;
}

for (const protocol of ['basic', 'multi']) {
  for (const clusterSize of [3, 5]) {
    for (let seed = 1; seed <= seedsPerRun; seed++) {
      // Each seed draws its settings (swarm testing), as paxos sim and the seeds tests do.
      console.log(
        `${protocol} n=${clusterSize} seed=${seed} ${digestOfSeed({ protocol, clusterSize, firstSeed: seed, swarm: true })}`,
      );
    }
  }
}

// Each plant on its own seeds, with its own bug switched on, so planted-bug branches are exercised too.
let plantSeed = 900_001;
for (const plant of PLANTS) {
  const protocols = plant.multiOnly ? ['multi'] : ['basic', 'multi'];
  const clusterSize = plant.evenOnly ? 4 : 5;
  for (const protocol of protocols) {
    for (let i = 0; i < (quick ? 3 : 10); i++) {
      const seed = plantSeed++;
      const opts = {
        protocol,
        clusterSize,
        firstSeed: seed,
        ...(plant.bugs ? { bugs: plant.bugs } : {}),
        ...(plant.simBugs ? { simBugs: plant.simBugs } : {}),
        membershipChanges: plant.membershipChanges === true,
      };
      console.log(`plant=${plant.name} ${protocol} n=${clusterSize} seed=${seed} ${digestOfSeed(opts)}`);
    }
  }
}

const scenarioDir = join(root, 'templates/scenarios');
const reproDir = join(root, '../shared/repro');
const scenarioFiles = [
  ...readdirSync(scenarioDir)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => join(scenarioDir, f)),
  // The shared reproductions too, when they sit beside the checkout; --quick (the golden test) leaves them out, since a clean clone may not have them.
  ...(quick || !existsSync(reproDir)
    ? []
    : readdirSync(reproDir)
        .filter((f) => f.endsWith('.txt'))
        .map((f) => join(reproDir, f))),
].sort((a, b) => basename(a).localeCompare(basename(b)));
for (const file of scenarioFiles) {
  const hash = createHash('sha256');
  let text;
  try {
    const steps = runScenario(parseScenario(readFileSync(file, 'utf8')), {
      traceSink: (line) => hash.update(`${line}\n`),
    });
    for (const s of steps) hash.update(`${JSON.stringify(s)}\n`);
    text = hash.digest('hex').slice(0, 16);
  } catch (e) {
    text = `error ${String(e?.message ?? e).split('\n')[0]}`;
  }
  console.log(`scenario ${file.slice(file.lastIndexOf('/') + 1)} ${text}`);
}
