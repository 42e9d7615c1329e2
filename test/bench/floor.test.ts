/**
 * The floor of `paxos bench` (src/bench/floor.ts): its arithmetic, the lines
 * and columns it adds to the bench's output, and a real measurement's shape.
 * No timing is asserted: only that the numbers are real and add up.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeFloor, floorOf, measureFloor, median, timesFloor } from '../../src/bench/floor.js';
import { type BenchRow, formatRow } from '../../src/cli/services/bench.js';

const measured = {
  dir: '/data',
  fsyncAppendUs: 226,
  fsyncPreallocatedUs: 106,
  wsRoundTripUs: 85,
  samples: { fsync: 300, rounds: 3, roundTrips: 1000 },
};

test('one value at concurrency 1 costs two round trips and one fsync; latencies divide by the preallocated sum', () => {
  const f = floorOf(measured);
  assert.equal(f.valueAppendUs, 2 * 85 + 226);
  assert.equal(f.valueUs, 2 * 85 + 106);
  assert.equal(f.dir, '/data');
  assert.deepEqual(f.samples, measured.samples);
  assert.equal(timesFloor(0.552, f), 2);
  assert.equal(timesFloor(0.276, f), 1);
  assert.ok(Number.isNaN(timesFloor(1, { valueUs: 0 })));
  assert.ok(Number.isNaN(timesFloor(Number.NaN, f)));
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('the floor is printed above the table, and every row has p99, p99.9 and its multiples of the floor', () => {
  const text = describeFloor(floorOf(measured));
  assert.match(
    text,
    /226 µs appended to a growing file, 106 µs into a preallocated one; WebSocket round trip on loopback 85 µs/,
  );
  assert.match(text, /0\.28 ms preallocated, 0\.40 ms appending/);
  assert.match(text, /300 fsyncs of each kind, the lowest median of 3 rounds; 1000 round trips/);
  assert.match(text, /fsyncs in \/data/);
  const row: BenchRow = {
    protocol: 'multi',
    nodes: 3,
    valueSize: 8,
    concurrency: 1,
    ops: 100,
    failed: 0,
    opsPerSec: 1000,
    p50Ms: 0.55,
    p95Ms: 0.9,
    p99Ms: 1.2,
    p999Ms: 2.5,
    maxMs: 3,
    p50xFloor: 2,
    p99xFloor: 4.35,
    p999xFloor: 9.06,
    messagesPerValue: 4,
    fsyncsPerValue: 3,
    peakRssMb: 70,
    cpuUsPerValue: 41,
    clientCpuUsPerValue: 12,
    breakdown: null,
  };
  const [header, line] = formatRow(row, true).split('\n');
  for (const c of ['p99', 'p99.9', 'p50/floor', 'p99/floor', 'p99.9/floor'])
    assert.ok(header.includes(c), `no ${c} column in ${header}`);
  assert.deepEqual(line.trim().split(/\s+/), [
    'multi',
    '3',
    '8B',
    '1',
    '1000',
    '0.55',
    '0.90',
    '1.20',
    '2.50',
    '3.0',
    '2.0×',
    '4.3×',
    '9.1×',
    '4.00',
    '3.00',
    '70',
    'MB',
    '41',
  ]);
  // Right-aligned under their headers: each cell ends where its header ends.
  assert.equal(header.length, line.length);
});

test('a real measurement: positive medians, the arithmetic applied, the scratch folder removed', async () => {
  const near = mkdtempSync(join(tmpdir(), 'paxos-floor-'));
  try {
    const f = await measureFloor({ near, fsyncs: 6, rounds: 2, roundTrips: 20 });
    for (const k of ['fsyncAppendUs', 'fsyncPreallocatedUs', 'wsRoundTripUs', 'valueUs', 'valueAppendUs'] as const) {
      assert.ok(Number.isFinite(f[k]) && f[k] > 0, `${k} = ${f[k]}`);
    }
    assert.ok(Math.abs(f.valueUs - (2 * f.wsRoundTripUs + f.fsyncPreallocatedUs)) < 0.2);
    assert.deepEqual(f.samples, { fsync: 6, rounds: 2, roundTrips: 20 });
    assert.deepEqual(readdirSync(near), []);
  } finally {
    rmSync(near, { recursive: true, force: true });
  }
});
