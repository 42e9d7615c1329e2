import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Protocol } from '../../src/core/types.js';
import { reproduction } from '../../src/sim/batch.js';
import { runSchedule } from '../../src/sim/world.js';
import { repoRoot } from '../support/paths.js';

interface Regression {
  readonly protocol: Protocol;
  readonly clusterSize: number;
  readonly seed: number;
  readonly caught: string;
}

const file = join(repoRoot(), 'test', 'sim', 'regressions.json');
const { seeds } = JSON.parse(readFileSync(file, 'utf8')) as { seeds: Regression[] };

test('every seed that once failed passes now', () => {
  for (const r of seeds) {
    const result = runSchedule({ protocol: r.protocol, clusterSize: r.clusterSize, seed: r.seed });
    assert.ok(result.ok, `${reproduction(result)} (once: ${r.caught}) fails again: ${result.violation}\n${result.trace.join('\n')}`);
  }
});
