/**
 * Regression seeds that stay honest (issue 22): each recorded seed passes
 * now, and with the bug it was recorded for planted again it still fails.
 * A seed that passes with its bug planted tests nothing any more (the
 * schedules drifted under it): the test says so and asks for a re-recording.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { reproduction } from '../../src/sim/batch.js';
import { PLANTS, plantNamed } from '../../src/sim/planted.js';
import { type RecordedSeed, recordedSeedOptions } from '../../src/sim/recorded-seeds.js';
import { runSchedule } from '../../src/sim/world.js';
import { repoRoot } from '../support/paths.js';

const file = join(repoRoot(), 'test', 'sim', 'regressions.json');
const { seeds } = JSON.parse(readFileSync(file, 'utf8')) as { seeds: RecordedSeed[] };

test('every seed that once failed passes now', () => {
  for (const r of seeds) {
    const result = runSchedule(recordedSeedOptions(r));
    assert.ok(
      result.ok,
      `${reproduction(result)} (once: ${r.caught}) fails again: ${result.violation}\n${result.trace.join('\n')}`,
    );
  }
});

test('every recorded seed still shows the bug it was recorded for, with that bug planted', () => {
  const live = seeds.filter((r) => r.shows !== false);
  assert.ok(live.length > 0, 'no recorded seed shows its bug: the file tests nothing');
  for (const r of live) {
    const plant = plantNamed(r.plant);
    assert.ok(plant !== undefined, `seed ${r.seed}: no plant named ${r.plant}`);
    const result = runSchedule({
      ...recordedSeedOptions(r),
      ...(plant.bugs ? { bugs: plant.bugs } : {}),
      ...(plant.simBugs ? { simBugs: plant.simBugs } : {}),
    });
    assert.ok(
      !result.ok,
      `${reproduction(result)} --plant ${r.plant} no longer shows "${r.caught}": it passes with the bug planted; re-record it`,
    );
  }
});

test('a plant too rare for the planted-bug sweep has a recorded seed that shows it', () => {
  for (const p of PLANTS.filter((x) => x.onlyByRecordedSeed !== undefined))
    assert.ok(
      seeds.some((r) => r.plant === p.name && r.shows !== false),
      `${p.name} is left to a recorded seed, and none shows it`,
    );
});

test('a seed kept but retired says why', () => {
  for (const r of seeds.filter((s) => s.shows === false))
    assert.ok((r.retired ?? '').length > 0, `seed ${r.seed} is retired without a reason`);
});
