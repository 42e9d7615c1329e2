/**
 * The golden corpus: one digest per seeded schedule and per shipped scenario
 * (scripts/trace-corpus.mjs --quick). A commit that only moves code leaves
 * the file unchanged; a commit that changes behaviour on purpose regenerates
 * it with `REWRITE=1 npm test`, so the change shows in review as changed lines.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/paths.js';

test('every seed of the golden corpus replays to the trace digest recorded in test/sim/golden-digests.txt', () => {
  const root = repoRoot();
  const file = join(root, 'test/sim/golden-digests.txt');
  const actual = execFileSync(process.execPath, [join(root, 'scripts/trace-corpus.mjs'), '--quick'], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (process.env.REWRITE === '1') {
    writeFileSync(file, actual);
    return;
  }
  const expected = readFileSync(file, 'utf8').split('\n');
  const lines = actual.split('\n');
  const changed = lines
    .map((line, i) => (line === expected[i] ? null : `  now:  ${line}\n  was:  ${expected[i] ?? '(nothing)'}`))
    .filter((x) => x !== null);
  assert.ok(lines.length > 200, `the corpus should cover a few hundred runs, got ${lines.length} lines`);
  assert.equal(
    changed.length,
    0,
    `${changed.length} runs changed behaviour (regenerate with REWRITE=1 only if that was meant):\n${changed.slice(0, 10).join('\n')}`,
  );
  assert.equal(lines.length, expected.length);
});
