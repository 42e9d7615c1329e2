/**
 * The `timeline.html` that `paxos check` leaves in its results folder: one
 * self-contained page (inline CSS, a little optional inline JS) that draws the
 * recorded history the way Porcupine's visualisation does. There is one row per
 * client, one bar per operation from invocation to completion, the nemesis
 * periods as translucent bands behind every row, and the operations that take
 * part in a linearizability violation outlined in red and listed at the top.
 *
 * Everything here is a pure function of its input: no clock, no randomness, no
 * locale-dependent formatting, so the same history always renders to the same
 * bytes (which keeps result folders diffable and the tests exact). Every piece
 * of text that comes from the history goes through `escapeHtml`, because keys
 * and values are user text and the page must never run any of it.
 */

import { nodeName } from '../core/types.js';
import { escapeHtml } from '../text/html.js';
import { renderThroughputSvg } from './throughput-svg.js';

export interface TimelineOp {
  /** One row per client. */
  readonly client: number;
  readonly key: string;
  readonly op: 'set' | 'get';
  /** set: the value written; get: the value read (null = nothing), or null when unknown. */
  readonly value: string | null;
  /** `info` means the outcome is unknown (the client timed out or lost its connection). */
  readonly outcome: 'ok' | 'fail' | 'info';
  /** Milliseconds since the run started. */
  readonly startMs: number;
  /** null: the call never returned, so the bar runs to the end of the run. */
  readonly endMs: number | null;
  /** Part of a linearizability violation. */
  readonly highlight?: boolean;
  /** The replica that answered, or was asked. */
  readonly node?: number;
}

export interface NemesisPeriod {
  readonly kind: string;
  readonly description: string;
  readonly startMs: number;
  readonly endMs: number;
}

export interface TimelineInput {
  readonly title: string;
  readonly verdict: string;
  readonly ops: readonly TimelineOp[];
  readonly nemesis: readonly NemesisPeriod[];
  readonly durationMs: number;
  /** Draw at most this many operations (the earliest by start time); default 20,000. */
  readonly maxOps?: number;
}

/** Above this many bars a browser page gets sluggish, so the rest are only counted. */
export const DEFAULT_MAX_OPS = 20_000;
/** Values can be arbitrarily long; a tooltip only needs enough to recognise one. */
const MAX_TEXT_CHARS = 120;
/** A client's overlapping calls (after an unknown outcome) stack in sub-lanes, up to this many. */
const MAX_LANES = 6;
/** A key filter with thousands of entries is useless, so it is offered only below this. */
const MAX_FILTER_KEYS = 300;
/** The violation list links to each highlighted op, but a runaway list would bury the chart. */
const MAX_LISTED_VIOLATIONS = 200;
const LANE_PX = 18;
const NEMESIS_LANE_PX = 18;
const AXIS_PX = 26;

// ---------------------------------------------------------------------------
// Text helpers, shared with latency-svg.ts (escapeHtml and visibleText live in src/text/html.ts).

/** Shortens user text to a readable length, counting code points so a pair is never split. */
export function clip(text: string, max = MAX_TEXT_CHARS): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, max).join('')}…(+${chars.length - max} chars)`;
}

/** A fixed-format number, so output never depends on the machine's locale. */
export function groupThousands(n: number): string {
  return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Latencies as the tooltip shows them: `12.3 ms`, or two decimals below a millisecond. */
export function formatMs(ms: number): string {
  return `${ms < 1 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}

/** Tick positions at 1, 2 or 5 times a power of ten, about `target` of them over [0, span]. */
export function niceTicks(span: number, target = 8): { step: number; ticks: number[] } {
  if (!(span > 0)) return { step: 1, ticks: [0] };
  const raw = span / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let i = 0; i * step <= span + step * 1e-9; i++) ticks.push(i * step);
  return { step, ticks };
}

/** A time-axis label: milliseconds for short runs, seconds (with just enough decimals) for long ones. */
export function formatTick(t: number, step: number, span: number): string {
  if (span < 2000) return `${t.toFixed(Math.max(0, -Math.floor(Math.log10(step))))} ms`;
  const decimals = Math.max(0, -Math.floor(Math.log10(step / 1000)));
  return `${(t / 1000).toFixed(decimals)} s`;
}

/** The end of the drawn time range: the run's duration, or later if anything ran past it. */
export function timeSpan(ops: readonly TimelineOp[], nemesis: readonly NemesisPeriod[], durationMs: number): number {
  let span = Number.isFinite(durationMs) ? durationMs : 0;
  // A loop rather than Math.max(...) so a million-op history cannot overflow the stack.
  for (const op of ops) span = Math.max(span, op.startMs, op.endMs ?? 0);
  for (const p of nemesis) span = Math.max(span, p.endMs);
  return span > 0 ? span : 1;
}

/** Nemesis kinds with their own colour; anything else is drawn as `other`. */
const KNOWN_KINDS = ['kill', 'pause', 'partition', 'delay', 'kill-all', 'disk'] as const;

/** A CSS class for a nemesis kind; never user text, so it cannot break out of the attribute. */
export function kindClass(kind: string): string {
  return (KNOWN_KINDS as readonly string[]).includes(kind) ? `n-${kind}` : 'n-other';
}

/**
 * The one-line description of an operation used for tooltips and the violation
 * list, e.g. `client 3: set k2=v3.17 → ok, 12.3 ms, node-2`. Plain text: callers
 * escape it for their context.
 */
export function describeOp(op: TimelineOp): string {
  const key = clip(op.key);
  const value = op.value === null ? null : clip(op.value);
  let text = `client ${op.client}: `;
  if (op.op === 'set') {
    text += `set ${key}=${value ?? '?'} → ${op.outcome}`;
  } else if (op.outcome === 'ok') {
    text += `get ${key} → ${value ?? 'nothing'}, ok`;
  } else {
    text += `get ${key} → ${op.outcome}`;
  }
  text += op.endMs === null ? ', no reply' : `, ${formatMs(op.endMs - op.startMs)}`;
  if (op.node !== undefined) text += `, ${nodeName(op.node)}`;
  return text;
}

// ---------------------------------------------------------------------------
// Layout.

/** An operation chosen for drawing, with its position in the original history. */
interface Placed {
  readonly op: TimelineOp;
  readonly index: number;
  readonly lane: number;
}

/** Sorts by start time, keeping history order for ties, so the cut and the layout are stable. */
function byStart(ops: readonly TimelineOp[]): { op: TimelineOp; index: number }[] {
  return ops.map((op, index) => ({ op, index })).sort((a, b) => a.op.startMs - b.op.startMs || a.index - b.index);
}

/**
 * Puts each operation in the first sub-lane of its client's row that is free at
 * its start. A client normally has one call outstanding, so one lane suffices;
 * a call with an unknown outcome keeps running, though, and the next call must
 * not hide under it. Past MAX_LANES the lane that frees first is reused.
 */
function assignLanes(sorted: readonly { op: TimelineOp; index: number }[], span: number): Map<number, Placed[]> {
  const rows = new Map<number, Placed[]>();
  const laneEnds = new Map<number, number[]>();
  for (const { op, index } of sorted) {
    const ends = laneEnds.get(op.client) ?? [];
    laneEnds.set(op.client, ends);
    let lane = ends.findIndex((end) => end <= op.startMs);
    if (lane < 0 && ends.length < MAX_LANES) lane = ends.length;
    if (lane < 0) lane = ends.indexOf(Math.min(...ends));
    ends[lane] = op.endMs ?? span;
    const row = rows.get(op.client) ?? [];
    rows.set(op.client, row);
    row.push({ op, index, lane });
  }
  return rows;
}

/** Same idea for the nemesis label strip, so overlapping faults do not print over each other. */
export function nemesisLanes(nemesis: readonly NemesisPeriod[]): number[] {
  const ends: number[] = [];
  return nemesis.map((p) => {
    let lane = ends.findIndex((end) => end <= p.startMs);
    if (lane < 0) lane = ends.length;
    ends[lane] = p.endMs;
    return lane;
  });
}

/** A percentage of the time span, rounded so the output is short and stable. */
function pct(t: number, span: number): string {
  const clamped = Math.min(Math.max(t, 0), span);
  return `${Number(((clamped / span) * 100).toFixed(3))}%`;
}

function widthPct(start: number, end: number, span: number): string {
  const s = Math.min(Math.max(start, 0), span);
  const e = Math.min(Math.max(end, s), span);
  return `${Number((((e - s) / span) * 100).toFixed(3))}%`;
}

/** A crude reading of the verdict so it can be coloured; the text itself is always shown. */
function verdictClass(verdict: string, anyHighlight: boolean): string {
  if (anyHighlight || /\b(not|fail|failed|invalid|violat\w*)\b/i.test(verdict)) return 'bad';
  if (/\b(ok|pass|passed|valid|linearizable)\b/i.test(verdict)) return 'good';
  return 'neutral';
}

// ---------------------------------------------------------------------------
// HTML pieces.

const CSS = `
*{box-sizing:border-box}
body{font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:15px;margin:16px 0 6px}
.verdict{font-size:15px;font-weight:600;padding:4px 8px;border-radius:4px;display:inline-block;margin:4px 0}
.verdict.good{background:#e3f5e1;color:#1d6b1d}.verdict.bad{background:#fde2e1;color:#a4161a}.verdict.neutral{background:#eee}
.summary{color:#555;margin:4px 0}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;margin:8px 0;align-items:center}
.legend span{display:inline-flex;align-items:center;gap:5px}
.sw{display:inline-block;width:22px;height:11px;border-radius:2px}
.viol{border:2px solid #d00;border-radius:6px;padding:4px 12px 8px;background:#fff5f5;margin:10px 0}
.viol h2{color:#a4161a;margin-top:6px}
.why{border:1px solid #e0b4b4;border-radius:6px;padding:4px 12px 8px;margin:10px 0}
.why h3{margin:10px 0 2px;font-size:14px}
.lin{border-collapse:collapse;font-size:12px;margin:4px 0}
.lin td,.lin th{border-bottom:1px solid #eee;padding:2px 8px;text-align:left}
.lin td:nth-child(2){font-family:ui-monospace,Menlo,Consolas,monospace}
.lin td.reg{font-family:ui-monospace,Menlo,Consolas,monospace;color:#2e6b2e}
.lin tr.blocked td{color:#a4161a;font-weight:600;background:#fff5f5}
.plots{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0}
.plots svg{max-width:100%;height:auto;border:1px solid #eee}
.viol ol{margin:4px 0;padding-left:22px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.cut{background:#fff4d6;border:1px solid #e0b000;padding:6px 10px;border-radius:4px}
.controls{margin:8px 0;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.controls[hidden]{display:none}
#det{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;color:#333}
.chart{display:flex;border:1px solid #ccc;border-radius:4px}
.labels{flex:none;width:84px;border-right:1px solid #ccc;background:#fafafa}
.lbl{padding:0 6px;font-size:12px;white-space:nowrap;border-top:1px solid #eee;display:flex;align-items:center}
.lbl.head{border-top:none;color:#777}
.scroll{flex:1;min-width:0;overflow-x:auto;overflow-y:hidden}
.plot{position:relative;min-width:100%}
.axis{position:relative;height:${AXIS_PX}px;border-bottom:1px solid #bbb;overflow:hidden}
.tick{position:absolute;bottom:0;height:6px;border-left:1px solid #888}
.tick b{position:absolute;bottom:6px;left:2px;font-weight:400;font-size:11px;color:#555;white-space:nowrap}
.grid{position:absolute;top:${AXIS_PX}px;bottom:0;border-left:1px solid #f0f0f0}
.strip{position:relative;border-bottom:1px solid #ddd}
.nlabel{position:absolute;height:${NEMESIS_LANE_PX - 3}px;font-size:11px;line-height:${NEMESIS_LANE_PX - 3}px;padding:0 3px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;border-radius:2px;color:#222;min-width:3px}
.band{position:absolute;top:${AXIS_PX}px;bottom:0;pointer-events:none}
.row{position:relative;border-top:1px solid #eee}
.op{position:absolute;height:${LANE_PX - 5}px;min-width:2px;border-radius:2px;z-index:1}
.op.ok{background:#3a9d3a}.op.fail{background:#b98a8a}.op.info{background:#f0a500}
.op.open{background:linear-gradient(90deg,#f0a500 0,#f0a500 40%,rgba(240,165,0,.25) 100%)}
.op.hl{outline:3px solid #d00;outline-offset:0;z-index:2}
.op:hover{filter:brightness(.8)}
.n-kill{background:rgba(228,87,46,.16)}.nlabel.n-kill{background:rgba(228,87,46,.45)}
.n-pause{background:rgba(142,111,216,.16)}.nlabel.n-pause{background:rgba(142,111,216,.45)}
.n-partition{background:rgba(46,134,222,.16)}.nlabel.n-partition{background:rgba(46,134,222,.45)}
.n-delay{background:rgba(23,162,162,.16)}.nlabel.n-delay{background:rgba(23,162,162,.45)}
.n-kill-all{background:rgba(164,22,26,.2)}.nlabel.n-kill-all{background:rgba(164,22,26,.55);color:#fff}
.n-disk{background:rgba(139,94,60,.18)}.nlabel.n-disk{background:rgba(139,94,60,.5);color:#fff}
.n-other{background:rgba(120,120,120,.16)}.nlabel.n-other{background:rgba(120,120,120,.45)}
table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
`;

/**
 * Optional behaviour: zoom (widen the plot inside its scroll box), a per-key
 * filter (dim the other keys) and click-to-pin an operation's details. It reads
 * only the DOM and never history text as code, and the page is complete without it.
 */
const SCRIPT = `
(function(){
var c=document.getElementById('controls');if(!c)return;c.hidden=false;
var plot=document.getElementById('plot'),z=1,fs=document.getElementById('fs'),det=document.getElementById('det');
function zoom(f){z=Math.min(64,Math.max(1,z*f));plot.style.width=(z*100)+'%';document.getElementById('zl').textContent=z+'x';}
document.getElementById('zin').onclick=function(){zoom(2);};
document.getElementById('zout').onclick=function(){zoom(0.5);};
var kf=document.getElementById('kf');
if(kf)kf.onchange=function(){var v=kf.value;fs.textContent=/^[0-9]+$/.test(v)?'.op{opacity:.1}.op.k'+v+'{opacity:1}':'';};
plot.addEventListener('click',function(e){var t=e.target;if(t&&t.classList&&t.classList.contains('op'))det.textContent=t.title;});
})();
`;

function legend(nemesis: readonly NemesisPeriod[]): string {
  const items = [
    '<span><i class="sw" style="background:#3a9d3a"></i>ok</span>',
    '<span><i class="sw" style="background:#b98a8a"></i>fail (did not happen)</span>',
    '<span><i class="sw" style="background:#f0a500"></i>info (outcome unknown)</span>',
    '<span><i class="sw" style="background:linear-gradient(90deg,#f0a500,rgba(240,165,0,.25))"></i>never returned</span>',
    '<span><i class="sw" style="outline:3px solid #d00;background:#3a9d3a"></i>cannot be ordered</span>',
  ];
  const kinds = [...new Set(nemesis.map((p) => kindClass(p.kind)))].sort();
  for (const cls of kinds) {
    const name = cls === 'n-other' ? 'other fault' : cls.slice(2);
    items.push(`<span><i class="sw nlabel ${cls}" style="position:static"></i>${escapeHtml(name)}</span>`);
  }
  return `<div class="legend">${items.join('')}</div>`;
}

/** The client number of the reads `paxos check` makes after healing (process 0): not one of the --clients. */
const FINAL_READS = 0;

function summaryLine(ops: readonly TimelineOp[], span: number): string {
  const count = (o: TimelineOp['outcome']) => groupThousands(ops.filter((op) => op.outcome === o).length);
  const clients = new Set(ops.filter((op) => op.client !== FINAL_READS).map((op) => op.client)).size;
  const from = `${clients} ${clients === 1 ? 'client' : 'clients'}${ops.some((op) => op.client === FINAL_READS) ? ' and the final reads' : ''}`;
  return (
    `<p class="summary">${groupThousands(ops.length)} operations from ${from} over ` +
    `${(span / 1000).toFixed(1)} s: ${count('ok')} ok, ${count('fail')} fail, ${count('info')} info.</p>`
  );
}

function violationSection(sorted: readonly { op: TimelineOp; index: number }[], drawn: ReadonlySet<number>): string {
  const bad = sorted.filter(({ op }) => op.highlight === true);
  if (bad.length === 0) return '';
  const items = bad.slice(0, MAX_LISTED_VIOLATIONS).map(({ op, index }) => {
    const when = `[${op.startMs.toFixed(1)}–${op.endMs === null ? '…' : op.endMs.toFixed(1)} ms] `;
    const text = escapeHtml(when + describeOp(op));
    return drawn.has(index)
      ? `<li><a href="#op-${index}">${text}</a></li>`
      : `<li>${text} (not drawn: past the cut)</li>`;
  });
  const more =
    bad.length > MAX_LISTED_VIOLATIONS ? `<p>…and ${groupThousands(bad.length - MAX_LISTED_VIOLATIONS)} more.</p>` : '';
  return (
    `<section class="viol"><h2>Cannot be ordered: ${groupThousands(bad.length)} operations</h2>` +
    '<p>No single order of these operations agrees both with real time and with the values that were read. ' +
    'They are outlined in red below.</p>' +
    `<ol>${items.join('')}</ol>${more}</section>`
  );
}

// ---------------------------------------------------------------------------
// Why operations cannot be ordered, the way Porcupine's visualisation shows it.

/** Steps the search may take per key before it gives up and says so; a violation is found long before on real histories. */
const EXPLAIN_BUDGET = 200_000;
/** Keys explained; each is a table, and the first few say what the rest would. */
const MAX_EXPLAINED_KEYS = 5;
/** The longest order is shown up to its last this many steps. */
const MAX_SHOWN_STEPS = 40;

/** One key's explanation: the longest order that works, and what could not follow it. */
export interface KeyExplanation {
  readonly key: string;
  /** The longest order the search found that agrees with real time and with every read; indices into the history. */
  readonly order: readonly { readonly index: number; readonly after: string | null }[];
  /** What the register holds after that order. */
  readonly value: string | null;
  /** The operations that real time allows next, none of which can follow: each a get that read something else. */
  readonly blocked: readonly number[];
  /** The search ran out of budget: the order shown is the longest found, not necessarily the longest there is. */
  readonly exhausted: boolean;
  /** Every operation on the key could be ordered (the violation the checker found is not on this key alone). */
  readonly ordered: boolean;
}

/**
 * The longest order of one key's operations that works for a register
 * (starting empty): each operation placed after every operation that ended
 * before it started, each read returning the last value written. Calls that
 * failed did nothing and are left out; a write whose outcome is unknown may
 * be placed anywhere after its start, or nowhere; a read whose outcome is
 * unknown told nothing. A depth-first search over (operations placed,
 * register value), remembering states already tried, as Wing and Gong's
 * algorithm with Lowe's cache does; bounded by EXPLAIN_BUDGET steps.
 */
export function explainKey(ops: readonly TimelineOp[], indices: readonly number[]): KeyExplanation {
  const items = indices
    .map((index) => ({ index, op: ops[index] }))
    .filter(({ op }) => op.outcome === 'ok' || (op.outcome === 'info' && op.op === 'set'))
    .sort((a, b) => a.op.startMs - b.op.startMs || a.index - b.index);
  const required = items.map(({ op }) => op.outcome === 'ok');
  const end = items.map(({ op }) => (op.outcome === 'ok' && op.endMs !== null ? op.endMs : Infinity));
  const done = new Array<boolean>(items.length).fill(false);
  const seen = new Set<string>();
  let steps = 0;
  let exhausted = false;
  let best: number[] = [];
  let bestValue: string | null = null;
  const path: number[] = [];
  const requiredCount = required.filter(Boolean).length;
  let requiredDone = 0;
  const search = (value: string | null): boolean => {
    if (++steps > EXPLAIN_BUDGET) {
      exhausted = true;
      return false;
    }
    if (path.length > best.length) {
      best = path.slice();
      bestValue = value;
    }
    if (requiredDone === requiredCount) return true;
    const memo = `${done.map((d) => (d ? 1 : 0)).join('')}|${value === null ? '' : `=${value}`}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    let minEnd = Infinity;
    for (let i = 0; i < items.length; i++) if (!done[i] && required[i]) minEnd = Math.min(minEnd, end[i]);
    for (let i = 0; i < items.length; i++) {
      const { op } = items[i];
      if (done[i] || op.startMs > minEnd) continue;
      if (op.op === 'get' && op.value !== value) continue;
      done[i] = true;
      path.push(i);
      if (required[i]) requiredDone++;
      const ok = search(op.op === 'set' ? op.value : value);
      if (required[i]) requiredDone--;
      path.pop();
      done[i] = false;
      if (ok || exhausted) return ok;
    }
    return false;
  };
  const ordered = search(null);
  const placed = new Set(best);
  let minEnd = Infinity;
  for (let i = 0; i < items.length; i++) if (!placed.has(i) && required[i]) minEnd = Math.min(minEnd, end[i]);
  const blocked = items
    .map((it, i) => ({ ...it, i }))
    .filter(
      ({ op, i }) => !placed.has(i) && required[i] && op.startMs <= minEnd && op.op === 'get' && op.value !== bestValue,
    )
    .map(({ index }) => index);
  let value: string | null = null;
  const order = best.map((i) => {
    const { op, index } = items[i];
    if (op.op === 'set') value = op.value;
    return { index, after: value };
  });
  return { key: items[0]?.op.key ?? '', order, value: bestValue, blocked, exhausted, ordered };
}

/**
 * For each key with operations that cannot be ordered (up to
 * MAX_EXPLAINED_KEYS), the longest order that works, the register's value
 * after each step, and the operations that cannot follow it, with why.
 */
function explanationSection(ops: readonly TimelineOp[], drawn: ReadonlySet<number>): string {
  const byKey = new Map<string, number[]>();
  ops.forEach((op, i) => {
    const list = byKey.get(op.key);
    if (list) list.push(i);
    else byKey.set(op.key, [i]);
  });
  // Sorted by key as a plain string sort would (keys are distinct, so no ties).
  const keys = [...byKey]
    .filter(([, indices]) => indices.some((i) => ops[i].highlight === true))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  if (keys.length === 0) return '';
  const link = (index: number, text: string) => (drawn.has(index) ? `<a href="#op-${index}">${text}</a>` : text);
  const shown = (v: string | null) => (v === null ? 'nothing' : escapeHtml(clip(v)));
  const parts = keys.slice(0, MAX_EXPLAINED_KEYS).map(([key, indices]) => {
    const e = explainKey(ops, indices);
    const title = `<h3>key ${escapeHtml(clip(key))}</h3>`;
    if (e.ordered) {
      return `${title}<p>All ${groupThousands(e.order.length)} operations on this key can be ordered on their own; the violation involves operations on other keys (a read of several keys, or a session spanning them).</p>`;
    }
    const skipped = Math.max(0, e.order.length - MAX_SHOWN_STEPS);
    const rows = e.order.slice(skipped).map(({ index, after }, i) => {
      const op = ops[index];
      return `<tr><td>${skipped + i + 1}</td><td>${link(index, escapeHtml(describeOp(op)))}</td><td>${op.startMs.toFixed(1)}–${op.endMs === null ? '…' : op.endMs.toFixed(1)}</td><td class="reg">${shown(after)}</td></tr>`;
    });
    const blocked = e.blocked.map((index) => {
      const op = ops[index];
      return (
        `<tr class="blocked"><td>✗</td><td>${link(index, escapeHtml(describeOp(op)))}</td><td>${op.startMs.toFixed(1)}–${op.endMs === null ? '…' : op.endMs.toFixed(1)}</td>` +
        `<td>read ${shown(op.value)}, but the register holds ${shown(e.value)}</td></tr>`
      );
    });
    const why =
      e.blocked.length > 0
        ? `<p>After these ${groupThousands(e.order.length)} steps the register holds <b>${shown(e.value)}</b>. Every operation still to place started before ` +
          `${e.blocked.length === 1 ? 'the one below' : 'one of those below'} ended, so one of these must come next, and none can:</p>`
        : `<p>After these ${groupThousands(e.order.length)} steps the register holds <b>${shown(e.value)}</b>, and no remaining operation can follow in real-time order.</p>`;
    return (
      `${title}<p>The longest order that works${e.exhausted ? ' (the search stopped at its step limit: the longest it found)' : ''}, with the register's value after each step` +
      `${skipped > 0 ? ` (the first ${groupThousands(skipped)} steps not shown)` : ''}:</p>` +
      `<table class="lin"><thead><tr><th>#</th><th>operation</th><th>ms</th><th>register after</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
      why +
      (blocked.length > 0 ? `<table class="lin"><tbody>${blocked.join('')}</tbody></table>` : '')
    );
  });
  const more =
    keys.length > MAX_EXPLAINED_KEYS
      ? `<p>…and ${groupThousands(keys.length - MAX_EXPLAINED_KEYS)} more keys.</p>`
      : '';
  return `<section class="why"><h2>Why they cannot be ordered, one key at a time</h2>${parts.join('')}${more}</section>`;
}

function cutNotice(total: number, drawn: number): string {
  if (drawn >= total) return '';
  return (
    `<p class="cut">Drawing the first ${groupThousands(drawn)} of ${groupThousands(total)} operations ` +
    `(by start time); ${groupThousands(total - drawn)} left out.</p>`
  );
}

/** Keys sorted by code unit (not locale), each with the index its CSS class uses. */
function keyIndex(ops: readonly TimelineOp[]): Map<string, number> {
  const keys = [...new Set(ops.map((op) => op.key))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(keys.map((k, i) => [k, i]));
}

function controls(keys: ReadonlyMap<string, number>): string {
  let filter = '';
  if (keys.size > 1 && keys.size <= MAX_FILTER_KEYS) {
    const options = [...keys].map(([k, i]) => `<option value="${i}">${escapeHtml(clip(k, 40))}</option>`);
    filter = `<label>key <select id="kf"><option value="">all keys</option>${options.join('')}</select></label>`;
  }
  return (
    '<div class="controls" id="controls" hidden>' +
    '<button id="zout" type="button">−</button><span id="zl">1x</span><button id="zin" type="button">+</button>' +
    `${filter}<span id="det">click an operation to pin its details here</span></div>`
  );
}

function axis(span: number): { axis: string; grid: string } {
  const { step, ticks } = niceTicks(span, 10);
  const marks = ticks.map(
    (t) => `<div class="tick" style="left:${pct(t, span)}"><b>${formatTick(t, step, span)}</b></div>`,
  );
  const grid = ticks.slice(1).map((t) => `<div class="grid" style="left:${pct(t, span)}"></div>`);
  return { axis: `<div class="axis">${marks.join('')}</div>`, grid: grid.join('') };
}

function nemesisParts(
  nemesis: readonly NemesisPeriod[],
  span: number,
): { strip: string; bands: string; height: number } {
  const lanes = nemesisLanes(nemesis);
  const height = nemesis.length === 0 ? 0 : (Math.max(...lanes) + 1) * NEMESIS_LANE_PX;
  const labels: string[] = [];
  const bands: string[] = [];
  nemesis.forEach((p, i) => {
    const cls = kindClass(p.kind);
    const pos = `left:${pct(p.startMs, span)};width:${widthPct(p.startMs, p.endMs, span)}`;
    const text = escapeHtml(clip(`${p.kind}: ${p.description}`));
    const tip = escapeHtml(`${clip(`${p.kind}: ${p.description}`)} (${p.startMs.toFixed(0)}–${p.endMs.toFixed(0)} ms)`);
    labels.push(
      `<div class="nlabel ${cls}" style="${pos};top:${(lanes[i] ?? 0) * NEMESIS_LANE_PX + 1}px" title="${tip}">${text}</div>`,
    );
    bands.push(`<div class="band ${cls}" style="${pos}"></div>`);
  });
  const strip = height > 0 ? `<div class="strip" style="height:${height}px">${labels.join('')}</div>` : '';
  return { strip, bands: bands.join(''), height };
}

function bar(p: Placed, span: number, keys: ReadonlyMap<string, number>): string {
  const { op, index } = p;
  const end = op.endMs ?? span;
  const classes = ['op', op.outcome, `k${keys.get(op.key) ?? 0}`];
  if (op.endMs === null) classes.push('open');
  if (op.highlight === true) classes.push('hl');
  const style = `left:${pct(op.startMs, span)};width:${widthPct(op.startMs, end, span)};top:${p.lane * LANE_PX + 2}px`;
  return `<div class="${classes.join(' ')}" id="op-${index}" style="${style}" title="${escapeHtml(describeOp(op))}"></div>`;
}

function rows(placed: ReadonlyMap<number, Placed[]>, span: number, keys: ReadonlyMap<string, number>) {
  const clients = [...placed.keys()].sort((a, b) => a - b);
  const labels: string[] = [];
  const lanes: string[] = [];
  for (const client of clients) {
    const ops = placed.get(client) ?? [];
    const height = (ops.reduce((m, p) => Math.max(m, p.lane), 0) + 1) * LANE_PX;
    labels.push(
      `<div class="lbl" style="height:${height}px">${client === FINAL_READS ? 'final reads' : `client ${client}`}</div>`,
    );
    lanes.push(`<div class="row" style="height:${height}px">${ops.map((p) => bar(p, span, keys)).join('')}</div>`);
  }
  return { labels: labels.join(''), lanes: lanes.join('') };
}

function nemesisTable(nemesis: readonly NemesisPeriod[]): string {
  if (nemesis.length === 0) return '<h2>Faults</h2><p>No faults were injected.</p>';
  const body = nemesis.map(
    (p) =>
      `<tr><td>${escapeHtml(clip(p.kind))}</td><td>${escapeHtml(clip(p.description))}</td>` +
      `<td>${p.startMs.toFixed(1)}</td><td>${p.endMs.toFixed(1)}</td></tr>`,
  );
  return (
    '<h2>Faults</h2><table><thead><tr><th>kind</th><th>description</th><th>start (ms)</th><th>end (ms)</th></tr></thead>' +
    `<tbody>${body.join('')}</tbody></table>`
  );
}

// ---------------------------------------------------------------------------

/** Renders the whole timeline page. */
export function renderTimeline(o: TimelineInput): string {
  const maxOps = Math.max(0, Math.floor(o.maxOps ?? DEFAULT_MAX_OPS));
  const sorted = byStart(o.ops);
  const shown = sorted.slice(0, maxOps);
  const span = timeSpan(
    shown.map((s) => s.op),
    o.nemesis,
    o.durationMs,
  );
  const placed = assignLanes(shown, span);
  const keys = keyIndex(shown.map((s) => s.op));
  const drawn = new Set(shown.map((s) => s.index));
  const anyHighlight = o.ops.some((op) => op.highlight === true);

  const ax = axis(span);
  const nem = nemesisParts(o.nemesis, span);
  const body = rows(placed, span, keys);
  const empty = placed.size === 0 ? '<p class="summary">The history is empty: no operations were recorded.</p>' : '';
  const title = escapeHtml(o.title);

  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>${title}</title><style>${CSS}</style><style id="fs"></style></head><body>`,
    `<header><h1>${title}</h1>`,
    `<div class="verdict ${verdictClass(o.verdict, anyHighlight)}">${escapeHtml(o.verdict)}</div>`,
    summaryLine(o.ops, span),
    legend(o.nemesis),
    '</header>',
    violationSection(sorted, drawn),
    explanationSection(o.ops, drawn),
    cutNotice(o.ops.length, shown.length),
    empty,
    controls(keys),
    '<div class="chart"><div class="labels">',
    `<div class="lbl head" style="height:${AXIS_PX + nem.height}px">time →</div>`,
    body.labels,
    '</div><div class="scroll"><div class="plot" id="plot">',
    ax.axis,
    nem.strip,
    ax.grid,
    nem.bands,
    body.lanes,
    '</div></div></div>',
    '<p class="summary">Each bar runs from a call\'s invocation to its completion; hover for details. ' +
      'Bands are the periods when the nemesis was injecting a fault.</p>',
    o.ops.length > 0
      ? `<div class="plots">${renderThroughputSvg({ ops: shown.map((x) => x.op), nemesis: o.nemesis, durationMs: o.durationMs, widthPx: 900, heightPx: 260 })}</div>`
      : '',
    nemesisTable(o.nemesis),
    `<script>${SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
