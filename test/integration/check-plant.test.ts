/**
 * `paxos check` end to end, through the binary: a short run of each
 * protocol against real replicas under kills, pauses and partitions must
 * pass with every check, and a cluster started with a planted bug (stale
 * local reads, PAXOS_PLANT behind the hidden --plant flag) must be caught.
 * Each run starts and stops its own cluster in its own results folder.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCheck as check } from '../support/cli.js';

test('paxos check catches a planted bug on real processes (stale local reads)', () => {
  const r = check([
    '-n',
    '3',
    '--time',
    '15s',
    '--clients',
    '6',
    '--keys',
    '2',
    '--nemesis',
    'partition,leader',
    '--seed',
    '5',
    '--plant',
    'stale-reads',
  ]);
  assert.equal(r.results.verdict, 'fail', JSON.stringify(r.results.checks));
  assert.equal(r.code, 1);
  const lin = (r.results.checks as { linearizable: { ok: unknown; violatingKeys: string[] } }).linearizable;
  assert.equal(lin.ok, false);
  assert.ok(lin.violatingKeys.length > 0);
  assert.match(
    readFileSync(join(r.out, 'timeline.html'), 'utf8'),
    /cannot be ordered/i,
    'the timeline points at the operations',
  );
});
