/**
 * Space-time diagrams that explain (issue 26): heartbeats drawn as their own
 * kind and filterable, a default window chosen around what happened (or
 * saying what it left out), notes in full, and labels placed where no other
 * arrow crosses them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TraceEvent } from '../../src/trace/format.js';
import { renderSvg, wrap } from '../../src/trace/svg.js';
import { selectWindow } from '../../src/trace/window.js';
import { recording, walkthrough } from './fixture.js';

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern.source, 'g'))].length;
}

/** A leader (node-1) sending heartbeats and real accepts; node-2 killed and restarted late in the run. */
function liveRun(opts: { crashAt?: number; beats?: boolean } = {}): TraceEvent[] {
  const { lines, recorder: r, at } = recording();
  const b = { round: 2, node: 1 };
  for (let i = 0; i < 400; i++) {
    at(i * 10);
    if (i === opts.crashAt) r.crash(2);
    if (i === (opts.crashAt ?? -10) + 20) r.restart(2);
    const to = 2 + (i % 2);
    if (opts.beats !== false && i % 2 === 0) {
      const hb = r.send({ from: 1, to, type: 'accept', ballot: b, value: 'heartbeat' });
      r.deliver(hb, to);
      const ack = r.send({ from: to, to: 1, type: 'accepted', ballot: b });
      r.deliver(ack, 1);
    } else {
      const id = r.send({ from: 1, to, type: 'accept', ballot: b, slot: i, value: `x=${i}` });
      r.deliver(id, to);
    }
  }
  return lines.map((l) => JSON.parse(l) as TraceEvent);
}

test('heartbeats have their own style and legend entry, no label, and are not drawn as accepts', () => {
  const events = liveRun().slice(0, 60);
  const svg = renderSvg(events, { heartbeats: 'show' });
  assert.ok(count(svg, /<line class="arrow t-heartbeat"/) > 0);
  assert.match(svg, />heartbeat<\/text>/, 'legend');
  assert.match(svg, /\.arrow\.t-heartbeat \{/);
  assert.doesNotMatch(svg, />accept 2\.1 heartbeat<\/text>/, 'no label on a heartbeat');
  const accepts = count(svg, /<line class="arrow t-accept"/);
  const delivered = new Set(events.filter((e) => e.ev === 'deliver').map((e) => (e as { id: number }).id));
  assert.equal(
    accepts,
    events.filter((e) => e.ev === 'send' && e.type === 'accept' && e.slot !== undefined && delivered.has(e.id)).length,
  );
});

test('heartbeats can be filtered out, and the diagram says how many were', () => {
  const events = liveRun().slice(0, 60);
  const svg = renderSvg(events, { heartbeats: 'hide' });
  assert.equal(count(svg, /class="arrow[^"]*t-heartbeat/), 0);
  assert.match(svg, /\d+ heartbeat messages not drawn/);
  // By default they are hidden only when the trace is too long to draw whole.
  assert.ok(count(renderSvg(events), /<line class="arrow t-heartbeat"/) > 0);
  assert.equal(selectWindow(liveRun(), { maxEvents: 400 }).heartbeatsHidden, 400);
});

test('the default window is chosen around a kill and restart late in the run, and says so', () => {
  const events = liveRun({ crashAt: 300, beats: false });
  const w = selectWindow(events, { maxEvents: 100 });
  const seqs = w.events.map((e) => e.seq);
  const crash = events.find((e) => e.ev === 'crash')!.seq;
  const restart = events.find((e) => e.ev === 'restart')!.seq;
  assert.ok(
    seqs.includes(crash) && seqs.includes(restart),
    `window ${seqs[0]}–${seqs.at(-1)} misses ${crash} or ${restart}`,
  );
  assert.match(w.chosen!.around, /node-2 killed \(seq \d+\), node-2 restarted/);
  const svg = renderSvg(events, { maxEvents: 100 });
  assert.match(svg, /window chosen around: node-2 killed/);
  assert.match(svg, /left out: nothing notable/);
  // --from and --to still pick the window exactly.
  assert.equal(selectWindow(events, { fromSeq: 1, toSeq: 50, maxEvents: 100 }).chosen, null);
});

test('what a chosen window leaves out is named', () => {
  const { lines, recorder: r, at } = recording();
  at(0);
  r.crash(3);
  for (let i = 0; i < 300; i++) r.deliver(r.send({ from: 1, to: 2, type: 'accept', slot: i, value: 'v' }), 2);
  r.restart(3);
  r.crash(2);
  r.restart(2);
  const w = selectWindow(
    lines.map((l) => JSON.parse(l) as TraceEvent),
    { maxEvents: 100 },
  );
  assert.match(w.chosen!.around, /node-3 restarted .*node-2 killed .*node-2 restarted/);
  assert.match(w.chosen!.leftOut, /node-3 killed \(seq 1\)/);
});

test('notes are drawn in full, wrapped, and a caption comes first', () => {
  const svg = renderSvg(walkthrough(), {
    caption:
      'The article numbers ballots 1000 and 2000; here they are 1.1 (round 1, node-1) and 1.3 (round 1, node-3).',
  });
  const notes = [...svg.matchAll(/<text class="note">(.*?)<\/text>/g)].map((m) =>
    [...m[1].matchAll(/<tspan[^>]*>(.*?)<\/tspan>/g)].map((t) => t[1]).join(' '),
  );
  assert.match(
    notes[0],
    /^The article numbers ballots 1000 and 2000; here they are 1\.1 \(round 1, node-1\) and 1\.3 \(round 1, node-3\)\.$/,
  );
  assert.ok(
    notes.some((t) => t.endsWith('pre-empted, it sends no accept and backs off.')),
    notes.join('\n'),
  );
  assert.deepEqual(wrap('aaa bbb ccc', 7), ['aaa bbb', 'ccc']);
});

test('in the walk-through no message label sits on an arrow other than its own', () => {
  const svg = renderSvg(walkthrough());
  const arrows = [...svg.matchAll(/<g class="msg[^"]*">(.*?)<\/g>/g)].map((m) => m[1]);
  const lines = arrows.map((g) => {
    const l = /<line class="arrow[^"]*" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"/.exec(g);
    return l === null ? null : (l.slice(1, 5).map(Number) as [number, number, number, number]);
  });
  let crossings = 0;
  arrows.forEach((g, i) => {
    const t = /<text class="label" x="([\d.]+)" y="([\d.]+)" text-anchor="middle"[^>]*>(.*?)<\/text>/.exec(g);
    if (t === null) return;
    const [x, y, text] = [Number(t[1]), Number(t[2]), t[3]];
    const half = (text.length * 5.6) / 2;
    const box = { x0: x - half, y0: y - 9, x1: x + half, y1: y + 2 };
    lines.forEach((seg, j) => {
      if (j === i || seg === null) return;
      // Sample the segment: a label box hit by another arrow counts as a crossing.
      for (let k = 0; k <= 50; k++) {
        const px = seg[0] + ((seg[2] - seg[0]) * k) / 50;
        const py = seg[1] + ((seg[3] - seg[1]) * k) / 50;
        if (px > box.x0 && px < box.x1 && py > box.y0 && py < box.y1) {
          crossings++;
          break;
        }
      }
    });
  });
  assert.equal(crossings, 0);
});
