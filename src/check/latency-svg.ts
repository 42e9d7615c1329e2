/**
 * The `latency.svg` that `paxos check` leaves in its results folder, modelled
 * on Maelstrom's latency plots: x is the time an operation started, y its
 * latency on a log scale (so a 2 ms read and a 3 s stall during a partition fit
 * on one chart), one dot per completed operation coloured by outcome. Calls
 * whose outcome is unknown have no meaningful latency, so they are drawn as
 * markers along the top edge at their start. Nemesis periods are translucent
 * labelled bands, which is the point of the chart: you can see latency jump
 * when a fault starts and settle when it heals.
 *
 * A pure function of its input with fixed number formatting, so the same
 * history gives the same bytes; all history text is escaped.
 */
import { escapeHtml } from '../text/html.js';
import {
  clip,
  describeOp,
  formatTick,
  groupThousands,
  kindClass,
  type NemesisPeriod,
  niceTicks,
  type TimelineOp,
  timeSpan,
} from './report-html.js';

/** What a plot of a run's operations over time takes: the latency plot and the throughput plot alike. */
export interface PlotInput {
  readonly ops: readonly TimelineOp[];
  readonly nemesis: readonly NemesisPeriod[];
  readonly durationMs: number;
  readonly widthPx?: number;
  readonly heightPx?: number;
}

export type LatencyInput = PlotInput;

/** The plots' margins, shared so the latency and throughput plots line up one above the other. */
export const MARGIN = { left: 70, right: 20, top: 52, bottom: 46 };
/** Zero-latency calls cannot sit on a log axis; they are drawn at this floor instead. */
const MIN_LATENCY_MS = 0.01;
/** Per-dot tooltips cost bytes; past this many dots only the highlighted ones keep theirs. */
const MAX_DOT_TITLES = 5_000;

export const OUTCOME_FILL = { ok: '#3a9d3a', fail: '#b04a4a', info: '#f0a500' } as const;

const BAND_FILL: Readonly<Record<string, string>> = {
  'n-kill': '#e4572e',
  'n-pause': '#8e6fd8',
  'n-partition': '#2e86de',
  'n-delay': '#17a2a2',
  'n-kill-all': '#a4161a',
  'n-disk': '#8b5e3c',
  'n-other': '#888888',
};

/** Short fixed-point coordinates keep the file small and the output stable. */
export function n(x: number): string {
  return String(Number(x.toFixed(1)));
}

/** The plotting area and the two scales that map data into it. */
interface Frame {
  readonly width: number;
  readonly height: number;
  readonly x0: number;
  readonly x1: number;
  readonly y0: number; // top of the plot
  readonly y1: number; // bottom of the plot
  readonly span: number;
  readonly logLo: number; // log10 of the lowest latency shown
  readonly logHi: number;
}

function xOf(f: Frame, t: number): number {
  return f.x0 + (Math.min(Math.max(t, 0), f.span) / f.span) * (f.x1 - f.x0);
}

function yOf(f: Frame, latency: number): number {
  const l = Math.log10(Math.max(latency, MIN_LATENCY_MS));
  const ratio = (Math.min(Math.max(l, f.logLo), f.logHi) - f.logLo) / (f.logHi - f.logLo);
  return f.y1 - ratio * (f.y1 - f.y0);
}

/** Only calls that returned with a definite outcome have a latency worth plotting. */
function hasLatency(op: TimelineOp): op is TimelineOp & { endMs: number } {
  return op.endMs !== null && op.outcome !== 'info';
}

/** Whole decades around the observed latencies; a default range when there are none. */
function latencyDecades(ops: readonly TimelineOp[]): { lo: number; hi: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const op of ops) {
    if (!hasLatency(op)) continue;
    const l = Math.max(op.endMs - op.startMs, MIN_LATENCY_MS);
    min = Math.min(min, l);
    max = Math.max(max, l);
  }
  if (min === Infinity) return { lo: 0, hi: 3 };
  const lo = Math.floor(Math.log10(min));
  const hi = Math.max(Math.ceil(Math.log10(max)), lo + 1);
  return { lo, hi };
}

function frameFor(o: LatencyInput): Frame {
  // Narrower than this and the legend runs into the title.
  const width = Math.max(560, Math.floor(o.widthPx ?? 960));
  const height = Math.max(200, Math.floor(o.heightPx ?? 420));
  const { lo, hi } = latencyDecades(o.ops);
  return {
    width,
    height,
    x0: MARGIN.left,
    x1: width - MARGIN.right,
    y0: MARGIN.top,
    y1: height - MARGIN.bottom,
    span: timeSpan(o.ops, o.nemesis, o.durationMs),
    logLo: lo,
    logHi: hi,
  };
}

/** A decade's label: `0.1 ms`, `10 ms`, `1 s`. */
function latencyLabel(decade: number): string {
  if (decade >= 3) return `${10 ** (decade - 3)} s`;
  return `${decade >= 0 ? 10 ** decade : (10 ** decade).toFixed(-decade)} ms`;
}

/** Height of one row of band labels; labels that would overlap get one row each. */
const BAND_LABEL_PX = 15;
/** An estimate of an 11 px sans-serif label's width per character, generous so neighbours never touch. */
const LABEL_CHAR_PX = 6.3;

/** What the fault bands need of a plot: its area, and where a time falls on it. */
export interface BandArea {
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
  readonly xOf: (t: number) => number;
}

/**
 * The nemesis periods as tinted bands, each labelled in full at its top
 * left. A label is not clipped to its band (a 200 ms kill is a few pixels
 * wide, and its label is what says it was a kill): labels are laid out by
 * their own extent, each on the first row where it overlaps no other, and
 * one that would run off the right edge ends at it instead. A white halo
 * keeps a label readable over the dots.
 */
export function bandLayer(a: BandArea, nemesis: readonly NemesisPeriod[]): string {
  const rowEnds: number[] = [];
  return nemesis
    .map((p) => {
      const x = a.xOf(p.startMs);
      const w = Math.max(a.xOf(p.endMs) - x, 1);
      const fill = BAND_FILL[kindClass(p.kind)] ?? '#888888';
      const label = clip(`${p.kind}: ${p.description}`);
      const labelW = label.length * LABEL_CHAR_PX + 6;
      const left = Math.max(a.x0, Math.min(x, a.x1 - labelW));
      let row = rowEnds.findIndex((end) => end <= left);
      if (row < 0) row = rowEnds.length;
      rowEnds[row] = left + labelW;
      const text = escapeHtml(label);
      return (
        `<g class="band"><rect x="${n(x)}" y="${a.y0}" width="${n(w)}" height="${a.y1 - a.y0}" fill="${fill}" fill-opacity="0.15">` +
        `<title>${text} (${p.startMs.toFixed(0)}–${p.endMs.toFixed(0)} ms)</title></rect>` +
        `<text x="${n(left + 3)}" y="${n(a.y0 + row * BAND_LABEL_PX + 12)}" font-size="11" fill="${fill}" stroke="#fff" stroke-width="3" paint-order="stroke">${text}</text></g>`
      );
    })
    .join('');
}

function bands(f: Frame, nemesis: readonly NemesisPeriod[]): string {
  return bandLayer({ x0: f.x0, x1: f.x1, y0: f.y0, y1: f.y1, xOf: (t) => xOf(f, t) }, nemesis);
}

function axes(f: Frame): string {
  const parts: string[] = [];
  for (let d = f.logLo; d <= f.logHi; d++) {
    const y = yOf(f, 10 ** d);
    parts.push(`<line x1="${f.x0}" x2="${f.x1}" y1="${n(y)}" y2="${n(y)}" stroke="#ddd"/>`);
    parts.push(`<text x="${f.x0 - 6}" y="${n(y + 4)}" text-anchor="end">${latencyLabel(d)}</text>`);
    if (d === f.logHi) continue;
    for (const m of [2, 5]) {
      const ym = yOf(f, m * 10 ** d);
      parts.push(`<line x1="${f.x0}" x2="${f.x1}" y1="${n(ym)}" y2="${n(ym)}" stroke="#f2f2f2"/>`);
    }
  }
  const { step, ticks } = niceTicks(f.span, 8);
  for (const t of ticks) {
    const x = xOf(f, t);
    parts.push(`<line x1="${n(x)}" x2="${n(x)}" y1="${f.y1}" y2="${f.y1 + 5}" stroke="#555"/>`);
    parts.push(`<text x="${n(x)}" y="${f.y1 + 18}" text-anchor="middle">${formatTick(t, step, f.span)}</text>`);
  }
  parts.push(
    `<rect x="${f.x0}" y="${f.y0}" width="${f.x1 - f.x0}" height="${f.y1 - f.y0}" fill="none" stroke="#999"/>`,
  );
  parts.push(
    `<text x="${n((f.x0 + f.x1) / 2)}" y="${f.height - 8}" text-anchor="middle">time since the run started (each dot at its operation&#39;s start)</text>`,
  );
  const yMid = n((f.y0 + f.y1) / 2);
  parts.push(`<text transform="translate(16 ${yMid}) rotate(-90)" text-anchor="middle">latency (log scale)</text>`);
  return `<g class="axes" font-size="11" fill="#444">${parts.join('')}</g>`;
}

function dot(f: Frame, op: TimelineOp & { endMs: number }, withTitle: boolean): string {
  const cx = n(xOf(f, op.startMs));
  const cy = n(yOf(f, op.endMs - op.startMs));
  const title = withTitle || op.highlight === true ? `<title>${escapeHtml(describeOp(op))}</title>` : '';
  if (op.highlight === true) {
    return `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${OUTCOME_FILL[op.outcome]}" stroke="#d00" stroke-width="1.8">${title}</circle>`;
  }
  const close = title === '' ? '/>' : `>${title}</circle>`;
  return `<circle cx="${cx}" cy="${cy}" r="2.2" fill="${OUTCOME_FILL[op.outcome]}" fill-opacity="0.7"${close}`;
}

/** A small downward triangle on the top edge: "this call started here and we never learned its fate". */
function marker(f: Frame, op: TimelineOp, withTitle: boolean): string {
  const x = xOf(f, op.startMs);
  const y = f.y0 - 2;
  const stroke = op.highlight === true ? ' stroke="#d00" stroke-width="1.5"' : '';
  const title = withTitle || op.highlight === true ? `<title>${escapeHtml(describeOp(op))}</title>` : '';
  const points = `${n(x - 3.5)},${n(y - 7)} ${n(x + 3.5)},${n(y - 7)} ${n(x)},${n(y)}`;
  return `<polygon points="${points}" fill="${OUTCOME_FILL.info}"${stroke}${title === '' ? '/>' : `>${title}</polygon>`}`;
}

function points(f: Frame, ops: readonly TimelineOp[]): string {
  const withTitles = ops.length <= MAX_DOT_TITLES;
  // Highlighted calls are drawn last so no ordinary dot covers them.
  const ordered = [...ops.filter((op) => op.highlight !== true), ...ops.filter((op) => op.highlight === true)];
  return ordered.map((op) => (hasLatency(op) ? dot(f, op, withTitles) : marker(f, op, withTitles))).join('');
}

function header(f: Frame, ops: readonly TimelineOp[]): string {
  const count = (o: TimelineOp['outcome']) => groupThousands(ops.filter((op) => op.outcome === o).length);
  const swatch = (x: number, fill: string, label: string) =>
    `<circle cx="${x}" cy="14" r="4" fill="${fill}"/><text x="${x + 8}" y="18">${label}</text>`;
  const right = f.width - MARGIN.right;
  const legend =
    swatch(right - 330, OUTCOME_FILL.ok, 'ok') +
    swatch(right - 280, OUTCOME_FILL.fail, 'fail') +
    `<polygon points="${right - 224},9 ${right - 216},9 ${right - 220},17" fill="${OUTCOME_FILL.info}"/>` +
    `<text x="${right - 210}" y="18">info (unknown, at start)</text>` +
    `<circle cx="${right - 60}" cy="14" r="4" fill="#fff" stroke="#d00" stroke-width="1.8"/>` +
    `<text x="${right - 52}" y="18">violation</text>`;
  const summary =
    ops.length === 0
      ? 'no operations recorded'
      : `${groupThousands(ops.length)} ops: ${count('ok')} ok, ${count('fail')} fail, ${count('info')} info`;
  return (
    `<g font-size="12" fill="#333"><text x="${MARGIN.left}" y="18" font-weight="600">Latency per operation</text>` +
    `<text x="${MARGIN.left}" y="34" fill="#666" font-size="11">${summary}</text>${legend}</g>`
  );
}

/** Renders the latency chart as a standalone SVG document. */
export function renderLatencySvg(o: LatencyInput): string {
  const f = frameFor(o);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<rect width="${f.width}" height="${f.height}" fill="#fff"/>`,
    header(f, o.ops),
    bands(f, o.nemesis),
    axes(f),
    `<g class="ops">${points(f, o.ops)}</g>`,
    '</svg>',
    '',
  ].join('\n');
}
