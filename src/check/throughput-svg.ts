/**
 * A throughput-over-time plot, after Jepsen's `rate.png`: operations
 * completed per second, one line per outcome (ok, fail, and info, counted
 * at the time the call was given up on or, without that, at its start),
 * with the nemesis periods as the same bands the latency plot has. Where the
 * latency plot shows how slow calls got during a fault, this one shows how
 * few got through. A pure function of its input, same bytes for the same
 * history.
 */
import { bandLayer, MARGIN, n, OUTCOME_FILL, type PlotInput } from './latency-svg.js';
import { formatTick, groupThousands, niceTicks, type TimelineOp, timeSpan } from './report-html.js';

export type ThroughputInput = PlotInput;
/** About this many buckets across the run: fine enough to see a 1 s stall in a 30 s run, coarse enough not to be noise. */
const TARGET_BUCKETS = 60;
const OUTCOMES = ['ok', 'fail', 'info'] as const;

/** A bucket width from a 1-2-5 series, in ms, so the y axis reads in round per-second figures. */
export function bucketMs(span: number): number {
  const raw = Math.max(1, span / TARGET_BUCKETS);
  const decade = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * decade).find((b) => b >= raw) ?? 10 * decade;
}

/** Completions per second in each bucket, per outcome. */
export function rates(
  ops: readonly TimelineOp[],
  span: number,
  bucket: number,
): Record<(typeof OUTCOMES)[number], number[]> {
  const count = Math.max(1, Math.ceil(span / bucket));
  const out = {
    ok: new Array<number>(count).fill(0),
    fail: new Array<number>(count).fill(0),
    info: new Array<number>(count).fill(0),
  };
  for (const op of ops) {
    const at = op.endMs ?? op.startMs;
    const i = Math.min(count - 1, Math.max(0, Math.floor(at / bucket)));
    out[op.outcome][i] += 1000 / bucket;
  }
  return out;
}

export function renderThroughputSvg(o: ThroughputInput): string {
  const width = Math.max(560, Math.floor(o.widthPx ?? 960));
  const height = Math.max(200, Math.floor(o.heightPx ?? 300));
  const x0 = MARGIN.left;
  const x1 = width - MARGIN.right;
  const y0 = MARGIN.top;
  const y1 = height - MARGIN.bottom;
  const span = timeSpan(o.ops, o.nemesis, o.durationMs);
  const bucket = bucketMs(span);
  const r = rates(o.ops, span, bucket);
  let max = 0;
  for (const k of OUTCOMES) for (const v of r[k]) max = Math.max(max, v);
  const { step: yStep, ticks: yTicks } = niceTicks(max > 0 ? max : 1, 5);
  const yMax = Math.max(yTicks.at(-1) ?? 1, max, 1);
  const xOf = (t: number) => x0 + (t / span) * (x1 - x0);
  const yOf = (v: number) => y1 - (v / yMax) * (y1 - y0);
  const parts: string[] = [];
  for (const t of yTicks) {
    parts.push(`<line x1="${x0}" x2="${x1}" y1="${n(yOf(t))}" y2="${n(yOf(t))}" stroke="#eee"/>`);
    parts.push(
      `<text x="${x0 - 6}" y="${n(yOf(t) + 4)}" text-anchor="end">${groupThousands(Number(t.toFixed(yStep < 1 ? 1 : 0)))}</text>`,
    );
  }
  const { step, ticks } = niceTicks(span, 8);
  for (const t of ticks) {
    parts.push(`<line x1="${n(xOf(t))}" x2="${n(xOf(t))}" y1="${y1}" y2="${y1 + 5}" stroke="#555"/>`);
    parts.push(`<text x="${n(xOf(t))}" y="${y1 + 18}" text-anchor="middle">${formatTick(t, step, span)}</text>`);
  }
  parts.push(`<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#999"/>`);
  parts.push(
    `<text x="${n((x0 + x1) / 2)}" y="${height - 8}" text-anchor="middle">time since the run started (${bucket} ms buckets, each call counted when it completed)</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${n((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">operations / s</text>`,
  );
  // A step line per outcome: flat across each bucket, so a bucket with nothing reads as a gap at zero, not a slope.
  const lines = OUTCOMES.filter((k) => r[k].some((v) => v > 0)).map((k) => {
    const pts: string[] = [];
    r[k].forEach((v, i) => {
      const a = xOf(Math.min(span, i * bucket));
      const b = xOf(Math.min(span, (i + 1) * bucket));
      pts.push(`${n(a)},${n(yOf(v))}`, `${n(b)},${n(yOf(v))}`);
    });
    return `<polyline class="rate-${k}" points="${pts.join(' ')}" fill="none" stroke="${OUTCOME_FILL[k]}" stroke-width="1.6"/>`;
  });
  const total = o.ops.length;
  const legend = OUTCOMES.map((k, i) => {
    const x = x1 - 250 + i * 80;
    return `<line x1="${x}" x2="${x + 16}" y1="14" y2="14" stroke="${OUTCOME_FILL[k]}" stroke-width="2"/><text x="${x + 20}" y="18">${k}</text>`;
  }).join('');
  const peak = OUTCOMES.map((k) => `${k} ${groupThousands(Math.round(Math.max(0, ...r[k])))}`).join(', ');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<g font-size="12" fill="#333"><text x="${x0}" y="18" font-weight="600">Throughput over time</text>` +
      `<text x="${x0}" y="34" fill="#666" font-size="11">${total === 0 ? 'no operations recorded' : `${groupThousands(total)} ops; peak per second: ${peak}`}</text>${legend}</g>`,
    bandLayer({ x0, x1, y0, y1, xOf }, o.nemesis),
    `<g class="axes" font-size="11" fill="#444">${parts.join('')}</g>`,
    `<g class="rates">${lines.join('')}</g>`,
    '</svg>',
    '',
  ].join('\n');
}
