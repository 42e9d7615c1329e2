/** The pictures `paxos check` leaves (issue 26): why operations cannot be ordered, throughput over time, unclipped band labels. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderLatencySvg } from '../../src/check/latency-svg.js';
import { explainKey, renderTimeline, type TimelineOp } from '../../src/check/report-html.js';
import { bucketMs, rates, renderThroughputSvg } from '../../src/check/throughput-svg.js';

const op = (
  client: number,
  o: 'set' | 'get',
  value: string | null,
  startMs: number,
  endMs: number | null,
  extra: Partial<TimelineOp> = {},
): TimelineOp => ({ client, key: 'x', op: o, value, outcome: 'ok', startMs, endMs, ...extra });

// set 1, then set 2, then a read of 1 that starts after both ended: no order works.
const stale: TimelineOp[] = [
  op(1, 'set', '1', 0, 10),
  op(2, 'set', '2', 20, 30),
  op(3, 'get', '1', 40, 50, { highlight: true }),
  { ...op(4, 'set', '9', 0, 5), key: 'y' },
];

test('the longest order that works, the register after each step, and the read that cannot follow', () => {
  const e = explainKey(stale, [0, 1, 2]);
  assert.equal(e.ordered, false);
  assert.deepEqual(e.order, [
    { index: 0, after: '1' },
    { index: 1, after: '2' },
  ]);
  assert.equal(e.value, '2');
  assert.deepEqual(e.blocked, [2]);
});

test('overlapping calls may be ordered either way; an unknown write may take effect or not; a failed one did nothing', () => {
  const overlap = [op(1, 'set', '1', 0, 30), op(2, 'set', '2', 5, 25), op(3, 'get', '1', 40, 50)];
  assert.equal(explainKey(overlap, [0, 1, 2]).ordered, true);
  const unknown = [
    op(1, 'set', '5', 0, null, { outcome: 'info' }),
    op(2, 'get', '5', 10, 20),
    op(3, 'get', null, 30, 40),
  ];
  assert.equal(explainKey(unknown, [0, 1, 2]).ordered, false, 'a write seen cannot be unseen');
  const failed = [op(1, 'set', '5', 0, 10, { outcome: 'fail' }), op(2, 'get', null, 20, 30)];
  assert.equal(explainKey(failed, [0, 1]).ordered, true);
});

test('timeline.html explains the violation key by key, and leaves keys without one out', () => {
  const html = renderTimeline({ title: 't', verdict: 'not linearizable', ops: stale, nemesis: [], durationMs: 60 });
  assert.match(html, /Why they cannot be ordered, one key at a time/);
  assert.match(html, /<h3>key x<\/h3>/);
  assert.doesNotMatch(html, /<h3>key y<\/h3>/);
  assert.match(html, /register holds <b>2<\/b>/);
  assert.match(html, /read 1, but the register holds 2/);
  const clean = renderTimeline({
    title: 't',
    verdict: 'ok',
    ops: stale.map((o) => ({ ...o, highlight: false })),
    nemesis: [],
    durationMs: 60,
  });
  assert.doesNotMatch(clean, /Why they cannot be ordered/);
});

test('throughput: completions per second per outcome in 1-2-5 buckets, drawn with the fault bands', () => {
  assert.equal(bucketMs(3000), 50);
  assert.equal(bucketMs(60_000), 1000);
  const ops = [
    op(1, 'set', 'a', 0, 100),
    op(1, 'set', 'b', 100, 900),
    op(2, 'get', null, 0, null, { outcome: 'info' }),
  ];
  const r = rates(ops, 2000, 1000);
  assert.deepEqual(r.ok, [2, 0]);
  assert.deepEqual(r.info, [1, 0]);
  const svg = renderThroughputSvg({
    ops,
    nemesis: [{ kind: 'kill', description: 'killed node-2', startMs: 500, endMs: 700 }],
    durationMs: 2000,
  });
  assert.match(svg, /Throughput over time/);
  assert.match(svg, /class="rate-ok"/);
  assert.match(svg, /class="rate-info"/);
  assert.doesNotMatch(svg, /class="rate-fail"/);
  assert.match(svg, /kill: killed node-2/);
  const html = renderTimeline({ title: 't', verdict: 'ok', ops, nemesis: [], durationMs: 2000 });
  assert.match(html, /Throughput over time/);
});

test('latency band labels are drawn in full, not clipped to a narrow band, and overlapping labels take separate rows', () => {
  const long = 'partitioned node-1 from node-2, node-3, node-4 and node-5';
  const svg = renderLatencySvg({
    ops: [op(1, 'set', '1', 0, 10)],
    durationMs: 10_000,
    nemesis: [
      { kind: 'partition', description: long, startMs: 1000, endMs: 1100 },
      { kind: 'kill', description: 'killed node-3', startMs: 1200, endMs: 1300 },
    ],
  });
  assert.doesNotMatch(svg, /<svg x=/, 'no nested, clipping <svg>');
  assert.ok(svg.includes(`partition: ${long}</text>`));
  const ys = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)" font-size="11" fill="#/g)].map((m) => Number(m[1]));
  assert.equal(ys.length, 2);
  assert.notEqual(ys[0], ys[1], 'the second label, which would overlap the first, is on another row');
});
