/**
 * `paxos bench --soak` works and its JSON is well formed: a row per interval
 * with real (positive) memory and disk figures, chosen counts that only go
 * up, and a summary. No timing or throughput assertions: those depend on the
 * machine, and the soak exists to measure them, not to judge them here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { type SoakRow, summarize } from '../../src/cli/services/bench-soak.js';
import { bin, paxos } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

test('paxos bench --soak --json gives a row per interval and a summary', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-soak-test-'));
  const out = join(dir, 'soak.json');
  const r = await execa(
    process.execPath,
    [bin, 'bench', '--soak', '4000', '--interval', '1000', '-n', '3', '--concurrency', '16', '--json', '--out', out],
    {
      cwd: repoRoot(),
      env: { ...process.env, PAXOS_HOME: dir },
      reject: false,
      timeout: 180_000,
    },
  );
  assert.equal(r.exitCode, 0, r.stderr);
  const result = JSON.parse(r.stdout) as {
    config: Record<string, unknown>;
    rows: Record<string, unknown>[];
    summary: Record<string, unknown>;
  };
  assert.equal(result.config.protocol, 'multi');
  assert.equal(result.config.keys, 1000);
  assert.deepEqual(
    result.rows.map((x) => x.interval),
    [1, 2, 3, 4],
  );
  let previous = 0;
  for (const row of result.rows) {
    const chosen = row.chosenTotal as number;
    assert.ok(chosen > previous, `chosen counts must grow: ${chosen} after ${previous}`);
    previous = chosen;
    for (const field of ['peakRssBytes', 'diskBytes', 'opsPerSec', 'p50Ms', 'p99Ms']) {
      const v = row[field];
      assert.ok(
        typeof v === 'number' && Number.isFinite(v) && v > 0,
        `interval ${String(row.interval)} ${field} = ${String(v)}`,
      );
    }
    assert.equal(row.failed, 0);
    assert.equal(row.partial, false);
  }
  assert.equal(previous, 4000);
  // Four whole intervals are enough to compare the last quarter with the second.
  for (const field of ['rssRatio', 'diskRatio', 'throughputRatio'])
    assert.equal(typeof result.summary[field], 'number', `summary ${field}`);
  assert.match(result.summary.text as string, /^RSS .*×.*, disk .*×.*, throughput .*×.*last quarter vs second quarter/);
  const written = JSON.parse(readFileSync(out, 'utf8')) as typeof result & { machine: unknown };
  assert.deepEqual(written.rows, result.rows);
  assert.deepEqual(written.summary, result.summary);
});

test('paxos bench --soak refuses lists and flags that contradict it, in one sentence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-soak-test-'));
  const cases: [string[], RegExp][] = [
    [['--soak', '1000', '-n', '3,5'], /--soak runs one configuration, so -n must be a single value/],
    [['--soak', '1000', '--protocol', 'both'], /--protocol must be a single value/],
    [['--soak', '1000', '--ops', '500'], /--ops and --soak both say how long to run/],
    [['--interval', '5s'], /--interval only applies to --soak/],
    [['--soak', '10x'], /--soak must be a number of values .* or a duration/],
  ];
  for (const [args, message] of cases) {
    const r = await paxos(dir, 'bench', ...args);
    assert.equal(r.exitCode, 2, `bench ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('the soak summary compares the last quarter of the whole intervals with the second', () => {
  const row = (interval: number, rss: number, disk: number, opsPerSec: number, partial = false): SoakRow => ({
    interval,
    chosenTotal: interval * 10,
    chosen: 10,
    failed: 0,
    seconds: 1,
    opsPerSec,
    p50Ms: 1,
    p99Ms: 2,
    peakRssBytes: rss,
    diskBytes: disk,
    partial,
  });
  // Eight whole intervals: the second quarter is intervals 3-4, the last 7-8; the partial ninth is not compared.
  const rows = [
    row(1, 1, 1, 1),
    row(2, 1, 1, 1),
    row(3, 100, 10, 50),
    row(4, 100, 10, 50),
    row(5, 0, 0, 0),
    row(6, 0, 0, 0),
    row(7, 104, 30, 50),
    row(8, 104, 30, 50),
    row(9, 999, 999, 1, true),
  ];
  const s = summarize(rows);
  assert.equal(s.intervals, 8);
  assert.deepEqual([s.rssRatio, s.diskRatio, s.throughputRatio], [1.04, 3, 1]);
  assert.match(s.text, /^RSS 1\.04× \(flat\), disk 3\.00× \(grew\), throughput 1\.00× \(flat\)/);
  assert.equal(summarize(rows.slice(0, 3)).rssRatio, null);
});
