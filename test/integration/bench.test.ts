/**
 * `paxos bench` works and its JSON is well formed. No timing assertions: the
 * numbers only have to be real (positive, finite) and the rows complete.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { repoRoot } from '../support/paths.js';

test('paxos bench --json gives the floor and one row per protocol and concurrency with real numbers', async () => {
  const r = await execa(
    process.execPath,
    [
      join(repoRoot(), 'bin', 'paxos.js'),
      'bench',
      '--protocol',
      'both',
      '-n',
      '3',
      '--ops',
      '200',
      '--concurrency',
      '1,8',
      '--json',
    ],
    { reject: false, timeout: 120_000 },
  );
  assert.equal(r.exitCode, 0, r.stderr);
  const { floor, rows } = JSON.parse(r.stdout) as { floor: Record<string, unknown>; rows: Record<string, unknown>[] };
  for (const field of ['fsyncAppendUs', 'fsyncPreallocatedUs', 'wsRoundTripUs', 'valueUs', 'valueAppendUs']) {
    const v = floor[field];
    assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `floor ${field} = ${String(v)}`);
  }
  assert.deepEqual(
    rows.map((x) => `${x.protocol}/${x.concurrency}`),
    ['multi/1', 'multi/8', 'basic/1', 'basic/8'],
  );
  for (const row of rows) {
    for (const field of [
      'opsPerSec',
      'p50Ms',
      'p95Ms',
      'p99Ms',
      'p999Ms',
      'maxMs',
      'p50xFloor',
      'p99xFloor',
      'p999xFloor',
      'messagesPerValue',
      'fsyncsPerValue',
      'peakRssMb',
    ]) {
      const v = row[field];
      assert.ok(
        typeof v === 'number' && Number.isFinite(v) && v > 0,
        `${row.protocol}/${row.concurrency} ${field} = ${String(v)}`,
      );
    }
    assert.equal(row.ops, 200);
    assert.equal(row.failed, 0);
    assert.ok((row.cpuUsPerValue as number) > 0, `${row.protocol}/${row.concurrency} cpuUsPerValue`);
    type Mean = { samples: number; partsUs: Record<string, number>; totalUs: number };
    const b = row.breakdown as (Mean & { slowest: Mean }) | null;
    // Basic Paxos has no slots to follow a value by.
    if (row.protocol === 'basic') {
      assert.equal(b, null);
      continue;
    }
    assert.ok(b !== null && b.samples > 0, `multi/${row.concurrency} has no latency breakdown`);
    for (const m of [b, b.slowest]) {
      const parts = Object.values(m.partsUs);
      assert.equal(parts.length, 9);
      for (const [name, us] of Object.entries(m.partsUs))
        assert.ok(Number.isFinite(us) && us >= 0, `multi/${row.concurrency} ${name} = ${us} µs`);
      const sum = parts.reduce((x, y) => x + y, 0);
      assert.ok(sum <= m.totalUs, `parts add up to ${sum} µs, more than the ${m.totalUs} µs measured`);
    }
    assert.ok(b.totalUs <= Math.ceil((row.maxMs as number) * 1000) + 1, `${b.totalUs} µs above the max latency`);
  }
  const at = (p: string, c: number) => rows.find((x) => x.protocol === p && x.concurrency === c)!;
  // The 000 article's promise, measured on real replicas: Multi needs at most half of Basic's messages per value.
  assert.ok((at('multi', 1).messagesPerValue as number) <= (at('basic', 1).messagesPerValue as number) / 2);
});
