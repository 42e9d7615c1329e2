import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/paths.js';
import { runScenarioFile } from './scenario.js';

// Scenario files live beside the test sources, not in the build output.
const dataDir = join(repoRoot(), 'test', 'core', 'testdata');

for (const file of readdirSync(dataDir).filter((f) => f.endsWith('.txt')).sort()) {
  test(`scenario ${file}`, () => {
    const failures = runScenarioFile(join(dataDir, file));
    assert.deepEqual(failures, [], failures.join('\n\n'));
  });
}
