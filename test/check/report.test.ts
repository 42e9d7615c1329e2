/**
 * The `paxos check` report files: timeline.html and latency.svg. They are pure
 * string renderers, so these tests look at the strings: the structure a reader
 * relies on, that hostile history text can never become markup, the cut for big
 * histories, and byte-for-byte determinism.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderLatencySvg } from '../../src/check/latency-svg.js';
import { describeOp, type NemesisPeriod, renderTimeline, type TimelineOp } from '../../src/check/report-html.js';
import { escapeHtml } from '../../src/text/html.js';

/** A small deterministic history: `clients` clients, each making sequential calls. */
export function sampleHistory(count: number, clients = 3): TimelineOp[] {
  let seed = 42;
  // A fixed linear congruential generator, so the history is the same on every run.
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const ops: TimelineOp[] = [];
  const clock = new Array<number>(clients).fill(0);
  for (let i = 0; i < count; i++) {
    const client = i % clients;
    const start = clock[client] + rand() * 20;
    const r = rand();
    const outcome = r < 0.8 ? 'ok' : r < 0.9 ? 'fail' : 'info';
    const latency = 1 + rand() * rand() * 400;
    const end = outcome === 'info' && rand() < 0.5 ? null : start + latency;
    clock[client] = end ?? start + 500;
    const isSet = rand() < 0.5;
    ops.push({
      client: client + 1,
      key: `k${Math.floor(rand() * 4)}`,
      op: isSet ? 'set' : 'get',
      value: isSet || outcome === 'ok' ? `v${client + 1}.${i}` : null,
      outcome,
      startMs: Number(start.toFixed(1)),
      endMs: end === null ? null : Number(end.toFixed(1)),
      node: 1 + (i % 3),
      highlight: i === 7 || i === 8,
    });
  }
  return ops;
}

const nemesis: NemesisPeriod[] = [
  { kind: 'partition', description: 'node-1 cut off from {2,3}', startMs: 200, endMs: 900 },
  { kind: 'kill', description: 'killed node-2', startMs: 1200, endMs: 1700 },
];

/** True when every element opened is closed in order: enough to call the output XML-ish. */
function balanced(markup: string, voidTags: readonly string[] = []): boolean {
  const stack: string[] = [];
  const body = markup.replace(/<!DOCTYPE[^>]*>/i, '').replace(/<script>[\s\S]*?<\/script>/g, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing === '/' || voidTags.includes(name.toLowerCase())) continue;
    if (closing === '/') {
      if (stack.pop() !== name) return false;
    } else stack.push(name);
  }
  return stack.length === 0;
}

/** No `&` that does not start one of the entities escapeHtml writes. */
function noBareAmpersand(markup: string): boolean {
  return !/&(?!(amp|lt|gt|quot|#39);)/.test(markup);
}

const HOSTILE = '"><script>alert(1)</script>';

test('escapeHtml neutralises markup, quotes, ampersands and control characters', () => {
  assert.equal(escapeHtml(HOSTILE), '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
  assert.equal(escapeHtml("a&b 'c'"), 'a&amp;b &#39;c&#39;');
  assert.equal(escapeHtml('&amp;'), '&amp;amp;');
  assert.equal(escapeHtml('x\u0000y\u0007z\n\u007f\u0085'), 'x\\u0000y\\u0007z\\n\\u007f\\u0085');
  // A lone surrogate is invalid in XML; a proper pair (an emoji) passes through untouched.
  assert.equal(escapeHtml('a\ud800b'), 'a\\ud800b');
  assert.equal(escapeHtml('ok 😀'), 'ok 😀');
  assert.equal(escapeHtml(''), '');
});

test('describeOp gives the tooltip line in the documented format', () => {
  const op: TimelineOp = {
    client: 3,
    key: 'k2',
    op: 'set',
    value: 'v3.17',
    outcome: 'ok',
    startMs: 100,
    endMs: 112.3,
    node: 2,
  };
  assert.equal(describeOp(op), 'client 3: set k2=v3.17 → ok, 12.3 ms, node-2');
  assert.equal(describeOp({ ...op, op: 'get', value: null }), 'client 3: get k2 → nothing, ok, 12.3 ms, node-2');
  assert.equal(
    describeOp({ ...op, outcome: 'info', endMs: null, node: undefined }),
    'client 3: set k2=v3.17 → info, no reply',
  );
});

test('the timeline has a row per client, a bar per op, the bands and the violations', () => {
  const ops = sampleHistory(60, 4);
  const html = renderTimeline({ title: 'check run', verdict: 'NOT linearizable', ops, nemesis, durationMs: 3000 });
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  for (const c of [1, 2, 3, 4]) assert.ok(html.includes(`>client ${c}</div>`), `row for client ${c}`);
  assert.equal(html.match(/<div class="op /g)?.length, ops.length);
  for (let i = 0; i < ops.length; i++) assert.ok(html.includes(`id="op-${i}"`));
  assert.ok(html.includes('node-1 cut off from {2,3}'));
  assert.ok(html.includes('killed node-2'));
  assert.equal(html.match(/<div class="band /g)?.length, 2);
  assert.ok(html.includes('Cannot be ordered: 2 operations'));
  assert.ok(html.includes('<a href="#op-7">') && html.includes('<a href="#op-8">'));
  assert.equal(html.match(/class="op [^"]*\bhl\b/g)?.length, 2);
  assert.ok(html.includes(`title="${escapeHtml(describeOp(ops[0]))}"`));
  assert.ok(html.includes('NOT linearizable'));
  assert.ok(balanced(html, ['meta']));
});

test('the timeline escapes everything that comes from the history', () => {
  const ops: TimelineOp[] = [
    { client: 1, key: HOSTILE, op: 'set', value: HOSTILE, outcome: 'ok', startMs: 0, endMs: 5, highlight: true },
    { client: 2, key: 'a&b', op: 'get', value: 'x\u0001"y\'', outcome: 'ok', startMs: 1, endMs: 9 },
  ];
  const html = renderTimeline({
    title: `<b>${HOSTILE}</b>`,
    verdict: HOSTILE,
    ops,
    nemesis: [{ kind: HOSTILE, description: `${HOSTILE} & more`, startMs: 0, endMs: 3 }],
    durationMs: 10,
  });
  assert.ok(!html.includes(HOSTILE));
  assert.ok(!html.includes('<script>alert'));
  assert.ok(html.includes('<title>&lt;b&gt;&quot;&gt;&lt;script&gt;'));
  assert.ok(!html.includes('\u0001'));
  assert.ok(html.includes('x\\u0001&quot;y&#39;'));
  assert.ok(html.includes('a&amp;b'));
  // The page's own script is the only one.
  assert.equal(html.match(/<script/g)?.length, 1);
  assert.ok(noBareAmpersand(html.replace(/<script>[\s\S]*?<\/script>/, '')));
});

test('above maxOps only the first ops are drawn and the rest are counted', () => {
  const ops = sampleHistory(250, 5);
  const html = renderTimeline({ title: 't', verdict: 'ok', ops, nemesis: [], durationMs: 1000, maxOps: 100 });
  assert.equal(html.match(/<div class="op /g)?.length, 100);
  assert.ok(html.includes('Drawing the first 100 of 250 operations (by start time); 150 left out.'));
  const all = renderTimeline({ title: 't', verdict: 'ok', ops, nemesis: [], durationMs: 1000 });
  assert.ok(!all.includes('left out'));
  assert.equal(all.match(/<div class="op /g)?.length, 250);
});

test('the cut keeps the earliest ops by start time and groups big counts', () => {
  const ops: TimelineOp[] = Array.from({ length: 21_005 }, (_, i) => ({
    client: 1 + (i % 8),
    key: 'k',
    op: 'get' as const,
    value: null,
    outcome: 'ok' as const,
    startMs: 21_005 - i,
    endMs: 21_005 - i + 0.5,
  }));
  const html = renderTimeline({ title: 't', verdict: 'ok', ops, nemesis: [], durationMs: 22_000 });
  assert.ok(html.includes('Drawing the first 20,000 of 21,005 operations (by start time); 1,005 left out.'));
  // The last ops in history order start earliest, so they are drawn; the first five are not.
  assert.ok(html.includes('id="op-21004"'));
  assert.ok(!html.includes('id="op-0"'));
});

test('rendering is deterministic', () => {
  const input = { title: 't', verdict: 'v', ops: sampleHistory(80), nemesis, durationMs: 2500 };
  assert.equal(renderTimeline(input), renderTimeline(input));
  assert.equal(renderLatencySvg(input), renderLatencySvg(input));
  assert.equal(renderTimeline(input), renderTimeline({ ...input, ops: sampleHistory(80) }));
});

test('an empty history renders both files', () => {
  const html = renderTimeline({ title: 'empty', verdict: 'nothing to check', ops: [], nemesis: [], durationMs: 0 });
  assert.ok(html.includes('The history is empty'));
  assert.ok(html.includes('No faults were injected.'));
  assert.ok(!html.includes('NaN') && !html.includes('Infinity'));
  assert.ok(balanced(html, ['meta']));
  const svg = renderLatencySvg({ ops: [], nemesis: [], durationMs: 0 });
  assert.ok(svg.startsWith('<svg'));
  assert.ok(svg.includes('no operations recorded'));
  assert.ok(!svg.includes('NaN') && !svg.includes('Infinity'));
  assert.ok(balanced(svg));
});

test('latency.svg is a balanced standalone SVG with dots, markers and labelled bands', () => {
  const ops = sampleHistory(90, 3);
  const svg = renderLatencySvg({ ops, nemesis, durationMs: 3000, widthPx: 800, heightPx: 360 });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="800" height="360"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.ok(balanced(svg));
  assert.ok(noBareAmpersand(svg));
  assert.ok(svg.includes('partition: node-1 cut off from {2,3}'));
  assert.ok(svg.includes('kill: killed node-2'));
  assert.ok(svg.includes('latency (log scale)'));
  const completed = ops.filter((op) => op.endMs !== null && op.outcome !== 'info').length;
  assert.equal(svg.match(/<circle cx=/g)?.length, completed + 3 /* legend swatches */);
  assert.equal(svg.match(/<polygon /g)?.length, ops.length - completed + 1 /* legend marker */);
  assert.ok(!svg.includes('NaN'));
});

test('latency.svg escapes history text', () => {
  const ops: TimelineOp[] = [
    { client: 1, key: HOSTILE, op: 'set', value: 'a&b\u0002', outcome: 'ok', startMs: 0, endMs: 0, highlight: true },
    { client: 1, key: 'k', op: 'get', value: null, outcome: 'info', startMs: 3, endMs: null },
  ];
  const svg = renderLatencySvg({
    ops,
    nemesis: [{ kind: 'weird"kind', description: HOSTILE, startMs: 1, endMs: 2 }],
    durationMs: 5,
  });
  assert.ok(!svg.includes(HOSTILE));
  assert.ok(!svg.includes('<script'));
  assert.ok(!svg.includes('\u0002'));
  assert.ok(svg.includes('a&amp;b\\u0002'));
  assert.ok(noBareAmpersand(svg));
  assert.ok(balanced(svg));
});
