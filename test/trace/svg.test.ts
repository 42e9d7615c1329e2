/**
 * The space-time diagram, checked by its structure rather than its pixels:
 * one arrow per delivered message, one column per replica, the labels, a
 * cross for each drop, the fault markers, escaped text, and a window past
 * maxEvents that says it is one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TraceEvent } from '../../src/trace/format.js';
import { renderSvg } from '../../src/trace/svg.js';
import { faulty, recording, walkthrough } from './fixture.js';

/** How often `pattern` occurs in `text`. */
function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern.source, 'g'))].length;
}

/** The arrows of delivered messages: lines or (for a replica talking to itself) paths of class arrow, not dropped. */
function deliveredArrows(svg: string): number {
  return count(svg, /<(?:line|path) class="arrow t-/);
}

function kinds(events: readonly TraceEvent[], ev: TraceEvent['ev']): number {
  return events.filter((e) => e.ev === ev).length;
}

test('the walk-through: one arrow per delivery, one column per replica, labels and chosen values', () => {
  const events = walkthrough();
  const svg = renderSvg(events);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>\n/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.equal(deliveredArrows(svg), kinds(events, 'deliver'));
  assert.deepEqual(
    [...svg.matchAll(/<text class="head"[^>]*>(node-\d+)<\/text>/g)].map((m) => m[1]),
    ['node-1', 'node-2', 'node-3'],
  );
  assert.equal(count(svg, /<line class="lifeline" /), 3);
  for (const label of [
    'prepare 1.1 x',
    'prepare 1.3 x',
    'promise 1.3 x',
    'reject 1.1 x',
    'accept 1.3 x=7',
    'accepted 1.3 x',
    'decide 1.3 x=7',
  ]) {
    assert.ok(svg.includes(`>${label}</text>`), `no label "${label}"`);
  }
  assert.equal(count(svg, /class="mark chosen-value"/), 3);
  assert.equal(count(svg, />chosen x=7 \(1\.3\)<\/text>/), 3);
  for (const t of ['prepare', 'promise', 'reject', 'accept', 'accepted', 'decide'])
    assert.match(svg, new RegExp(`<marker id="head-${t}"`), `legend/arrow head for ${t}`);
  assert.match(svg, /A has a majority for 1\.1/, 'notes are shown');
  assert.doesNotMatch(svg, /window of/);
});

test('faults: a dropped message ends in a cross, crash and restart and partition are marked, text is escaped', () => {
  const events = faulty();
  const svg = renderSvg(events);
  assert.equal(deliveredArrows(svg), kinds(events, 'deliver'));
  assert.equal(count(svg, /<line class="arrow dropped t-prepare"/), 1);
  assert.equal(count(svg, /<g class="msg drop">[^\n]*<path class="cross"/), 1);
  assert.equal(count(svg, /class="mark crash"/), 1);
  assert.equal(count(svg, /class="mark restart"/), 1);
  assert.equal(count(svg, /<line class="lifeline down"/), 1, 'node-3 is dashed from its crash to its restart');
  assert.equal(count(svg, /<rect class="band"/), 1);
  assert.match(svg, /partition \{1,2\} \| \{3\}/);
  assert.ok(svg.includes('x=&lt;&amp;&gt;&quot;'), 'the value is escaped');
  assert.ok(!svg.includes('<&>'), 'no raw markup characters from the trace');
});

test('past maxEvents only a window is drawn, and the diagram says so; --from and --to pick it', () => {
  const { lines, recorder: r, at } = recording();
  for (let i = 0; i < 300; i++) {
    at(i);
    const id = r.send({
      from: 1 + (i % 3),
      to: 1 + ((i + 1) % 3),
      type: 'accept',
      ballot: { round: 1, node: 1 },
      slot: i,
      value: `v${i}`,
    });
    r.deliver(id, 1 + ((i + 1) % 3));
  }
  const events = lines.map((l) => JSON.parse(l) as TraceEvent);
  const svg = renderSvg(events);
  assert.match(svg, /a window of 400 of 600 events \(seq 1–400\)/);
  assert.equal(deliveredArrows(svg), 200);
  const middle = renderSvg(events, { fromSeq: 101, toSeq: 200 });
  assert.match(middle, /a window of 100 of 600 events \(seq 101–200\)/);
  assert.equal(deliveredArrows(middle), 50);
  // Starting a window on a delivery: its send lies before the window, so the arrow comes in from the top.
  const shifted = renderSvg(events, { fromSeq: 2, toSeq: 3 });
  assert.equal(count(shifted, /<line class="arrow t-accept early"/), 1);
  // Ending it before a delivery: that message is still in flight, a stub rather than nothing.
  assert.equal(count(shifted, /<line class="arrow pending t-accept"/), 1);
});

test('the same trace gives the same bytes', () => {
  assert.equal(renderSvg(walkthrough()), renderSvg(walkthrough()));
});
