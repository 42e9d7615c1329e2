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
import { assertStaleReadsCaught, STALE_READS_RUN } from '../support/check-runs.js';
import { runCheck as check } from '../support/cli.js';

test('paxos check catches a planted bug on real processes (stale local reads)', () => {
  const r = check(['-n', '3', ...STALE_READS_RUN, '--plant', 'stale-reads']);
  assert.ok(assertStaleReadsCaught(r).length > 0, 'the check names the keys read stale');
  assert.match(
    readFileSync(join(r.out, 'timeline.html'), 'utf8'),
    /cannot be ordered/i,
    'the timeline points at the operations',
  );
});
