/**
 * A space-time (Lamport) diagram of a trace as one SVG file, modelled on
 * Maelstrom's messages.svg: one column per replica, time flowing down, one
 * row per event, and one arrow per delivered message from the row it was sent
 * in to the row it arrived in. Arrows are coloured by message type (with a
 * legend) and labelled with type, ballot and value, so the two phases of Paxos
 * can be followed by eye. A dropped message is an arrow that stops short in a
 * cross; a crashed replica's column is dashed until it restarts; a partition
 * is a band across the columns until it heals; a chosen value is a marker on
 * the column that learned it; scenario notes sit in a gutter on the right.
 *
 * A diagram of thousands of messages is unreadable, so past `maxEvents` only a
 * window is drawn, and the diagram says so. It is a pure function of the trace
 * with fixed number formatting, so the same trace gives the same bytes, and
 * every piece of trace text is escaped for XML.
 */

import { must } from '../core/must.js';
import { type NodeId, nodeName } from '../core/types.js';
import { escapeHtml } from '../text/html.js';
import { DEFAULT_MAX_EVENTS } from './defaults.js';
import { clockOf, type SendEvent, type TraceEvent, timeOf } from './format.js';
import {
  chosenText,
  isHeartbeat,
  messageLabel,
  selectWindow,
  shorten,
  type TraceWindow,
  type WindowOptions,
} from './window.js';

export interface SvgOptions extends WindowOptions {
  readonly title?: string;
  /** Said first in the notes, in full: what a reader needs before the diagram (the article's ballots in this one's terms, say). */
  readonly caption?: string;
}

export { DEFAULT_MAX_EVENTS } from './defaults.js';

const ROW_H = 18;
const COL_W = 170;
const LEFT = 64;
/** The notes start this far right of the last column, clear of that column's marker labels (28 characters). */
const NOTES_GAP = 100;
const NOTES_W = 380 + NOTES_GAP;
const HEADER_H = 136;
const BOTTOM = 24;
const NOTE_CHARS = 60;

/** Colours by message type: the request of each phase cool, its answer warm, refusals red. */
const TYPE_COLOURS: Readonly<Record<string, string>> = {
  prepare: '#1f77b4',
  promise: '#2ca02c',
  accept: '#ff7f0e',
  accepted: '#9467bd',
  reject: '#d62728',
  decide: '#17becf',
  commit: '#17becf',
  forward: '#8c564b',
  catchup: '#7f7f7f',
  learn: '#bcbd22',
  heartbeat: '#b8b8b8',
};

/**
 * How a message is drawn: by its type, except that a heartbeat (an accept
 * with no entries, or its empty answer) is drawn as its own kind, thin,
 * grey and unlabelled, so it does not pass for a real accept.
 */
function kindOf(s: SendEvent): string {
  return isHeartbeat(s) ? 'heartbeat' : s.type;
}
const OTHER_COLOUR = '#555555';

/** A message type as part of an id or class: the schema allows only these characters, but a caller may skip the schema. */
function typeId(type: string): string {
  return type.replace(/[^a-z0-9-]/gi, '_');
}

function colourOf(type: string): string {
  return TYPE_COLOURS[type] ?? OTHER_COLOUR;
}

/** Short fixed-point coordinates keep the file small and the output stable. */
function n(x: number): string {
  return String(Number(x.toFixed(1)));
}

/** Where things go: the row of each event and the column of each replica. */
interface Layout {
  readonly rowOf: ReadonlyMap<number, number>;
  /** The messages the window delivers or drops; any other message sent in it is still in flight at its end. */
  readonly settled: ReadonlySet<number>;
  readonly rows: number;
  readonly width: number;
  readonly height: number;
  /** Every arrow's straight line, for placing labels where no other arrow crosses them. */
  readonly segments: readonly Segment[];
  /** Labels placed so far (boxes), so the next one avoids them too. */
  readonly placed: Box[];
  /** The notes gutter's lowest line so far: a long note wraps, and the next one starts below it. */
  notesBottom: number;
}

interface Segment {
  readonly id: number;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}
interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

function layoutOf(w: TraceWindow): Layout {
  const rowOf = new Map<number, number>();
  const settled = new Set<number>();
  w.events.forEach((e, i) => {
    rowOf.set(e.seq, i);
    if (e.ev === 'deliver' || e.ev === 'drop') settled.add(e.id);
  });
  const rows = w.events.length;
  const segments: Segment[] = [];
  const partial = { rowOf } as Pick<Layout, 'rowOf'>;
  for (const e of w.events) {
    if (e.ev !== 'deliver' && e.ev !== 'drop') continue;
    const s = w.sends.get(e.id);
    if (s === undefined || s.from === s.to) continue;
    const x1 = xOf(s.from);
    const y1 = yOf(partial as Layout, s.seq);
    const x2 = e.ev === 'drop' ? x1 + (xOf(s.to) - x1) * 0.6 : xOf(s.to);
    segments.push({ id: s.id, x1, y1, x2, y2: yOf(partial as Layout, e.seq) });
  }
  return {
    rowOf,
    settled,
    rows,
    width: LEFT + Math.max(1, w.nodes.length) * COL_W + NOTES_W,
    height: HEADER_H + rows * ROW_H + BOTTOM,
    segments,
    placed: [],
    notesBottom: HEADER_H,
  };
}

function xOf(node: NodeId): number {
  return LEFT + (node - 0.5) * COL_W;
}

/** The middle of an event's row; the top of the rows for an event before the window. */
function yOf(l: Layout, seq: number): number {
  const row = l.rowOf.get(seq);
  return row === undefined ? HEADER_H : HEADER_H + (row + 0.5) * ROW_H;
}

const STYLE = `<style>
text { font: 11px system-ui, sans-serif; fill: #222; }
.title { font-size: 14px; font-weight: 600; }
.sub { fill: #666; }
.head { font-size: 12px; font-weight: 600; }
.lifeline { stroke: #bbb; stroke-width: 1; }
.lifeline.down { stroke: #e4572e; stroke-dasharray: 3 4; }
.arrow { stroke-width: 1.4; fill: none; }
.arrow.dropped { stroke-dasharray: 5 3; }
.arrow.early { stroke-dasharray: 1 3; }
.arrow.pending { stroke-dasharray: 1 3; stroke-width: 2; }
.arrow.t-heartbeat { stroke-width: 0.8; stroke-dasharray: 2 2; }
.label { font-size: 10px; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.cross { stroke: #d62728; stroke-width: 2; }
.band { fill: #2e86de; fill-opacity: 0.08; stroke: #2e86de; stroke-opacity: 0.4; }
.crash { fill: #e4572e; }
.restart { fill: #3a9d3a; }
.chosen { fill: #fff3c4; stroke: #c9a100; }
.persist { fill: #999; }
.note { fill: #444; font-style: italic; }
.time { fill: #888; font-size: 10px; }
</style>`;

/** Renders `events` (or the window the options pick) as a standalone SVG document. */
export function renderSvg(events: readonly TraceEvent[], o: SvgOptions = {}): string {
  const w = selectWindow(events, { ...o, maxEvents: o.maxEvents ?? DEFAULT_MAX_EVENTS });
  const l = layoutOf(w);
  // The notes are laid out while the events are drawn, and a long one can run past the last row: size the picture after.
  const caption = o.caption !== undefined ? note(w, l, HEADER_H - 4, o.caption) : '';
  const drawn = w.events.map((e) => drawEvent(e, w, l));
  const height = Math.max(l.height, Math.ceil(l.notesBottom) + BOTTOM);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${height}" viewBox="0 0 ${l.width} ${height}">`,
    STYLE,
    arrowHeads(w),
    `<rect width="${l.width}" height="${height}" fill="#fff"/>`,
    header(w, l, o.title),
    bands(w, l),
    lifelines(w, l),
    timeGutter(w, l),
    caption,
    ...drawn,
    '</svg>',
  ];
  return `${parts.filter((p) => p !== '').join('\n')}\n`;
}

/** The message types in the window, in the order they first appear, for the legend and the arrow heads. */
function typesIn(w: TraceWindow): string[] {
  const types = new Set<string>();
  for (const e of w.events) {
    const s = e.ev === 'send' ? e : e.ev === 'deliver' || e.ev === 'drop' ? w.sends.get(e.id) : undefined;
    if (s !== undefined) types.add(kindOf(s));
  }
  return [...types];
}

/** One arrow head per colour: markers cannot take their colour from the line in every viewer. */
function arrowHeads(w: TraceWindow): string {
  const heads = typesIn(w).map(
    (t) =>
      `<marker id="head-${typeId(t)}" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" fill="${colourOf(t)}"/></marker>`,
  );
  return heads.length === 0 ? '' : `<defs>${heads.join('')}</defs>`;
}

function header(w: TraceWindow, l: Layout, title: string | undefined): string {
  const first = w.events[0]?.seq;
  const last = w.events.at(-1)?.seq;
  const span = first === undefined ? 'no events' : `seq ${first}–${last}`;
  const scope = w.partial
    ? `a window of ${w.events.length} of ${w.total} events (${span}); pick another with --from and --to`
    : `${w.total} events (${span}), time in ${clockOf(w.events) === 'ms' ? 'ms' : 'ticks'}`;
  const beats = w.heartbeatsHidden > 0 ? [`${w.heartbeatsHidden} heartbeat messages not drawn`] : [];
  const around =
    w.chosen === null
      ? []
      : [
          `<text class="sub window" x="${LEFT}" y="80">window chosen around: ${escapeHtml(w.chosen.around)}</text>`,
          `<text class="sub window" x="${LEFT}" y="94">left out: ${escapeHtml(w.chosen.leftOut)}${beats.length > 0 ? `; ${beats[0]}` : ''}</text>`,
        ];
  const beatsLine =
    w.chosen === null && beats.length > 0 ? [`<text class="sub window" x="${LEFT}" y="80">${beats[0]}</text>`] : [];
  const legend = typesIn(w).map((t, i) => {
    const x = LEFT + i * 92;
    return `<line x1="${x}" y1="62" x2="${x + 22}" y2="62" class="arrow" stroke="${colourOf(t)}" marker-end="url(#head-${typeId(t)})"/><text x="${x + 26}" y="66">${escapeHtml(t)}</text>`;
  });
  const heads = w.nodes.map(
    (id) => `<text class="head" x="${n(xOf(id))}" y="${HEADER_H - 12}" text-anchor="middle">${nodeName(id)}</text>`,
  );
  return [
    `<text class="title" x="${LEFT}" y="22">${escapeHtml(title ?? 'Space-time diagram')}</text>`,
    `<text class="sub window" x="${LEFT}" y="40">${w.nodes.length} replicas, ${escapeHtml(scope)}</text>`,
    ...legend,
    ...around,
    ...beatsLine,
    `<text class="head" x="${LEFT + w.nodes.length * COL_W + NOTES_GAP}" y="${HEADER_H - 12}">notes</text>`,
    ...heads,
    `<line x1="0" y1="${HEADER_H - 4}" x2="${l.width}" y2="${HEADER_H - 4}" stroke="#ddd"/>`,
  ].join('\n');
}

/** The time at the left of each row where it changes, so a reader sees which events happened together. */
function timeGutter(w: TraceWindow, l: Layout): string {
  let previous: number | undefined;
  const unit = clockOf(w.events) === 'ms' ? 'ms' : 't';
  const labels: string[] = [];
  for (const e of w.events) {
    const t = timeOf(e);
    if (t !== previous)
      labels.push(
        `<text class="time" x="6" y="${n(yOf(l, e.seq) + 3)}">${unit === 't' ? `t=${t}` : `${n(t)}ms`}</text>`,
      );
    previous = t;
  }
  return labels.join('\n');
}

/** A stretch of rows, from one y to another, with what it is about. */
interface Span<T> {
  readonly from: number;
  readonly to: number;
  readonly what: T;
}

/** The stretches each replica is down: from its crash (or the window's top) to its restart (or the bottom). */
function downSpans(w: TraceWindow, l: Layout): Span<NodeId>[] {
  const bottom = HEADER_H + l.rows * ROW_H;
  const since = new Map<NodeId, number>();
  for (const id of w.atStart.down) since.set(id, HEADER_H);
  const spans: Span<NodeId>[] = [];
  for (const e of w.events) {
    if (e.ev === 'crash' && !since.has(e.node)) since.set(e.node, yOf(l, e.seq));
    if (e.ev !== 'restart') continue;
    const from = since.get(e.node);
    if (from !== undefined) spans.push({ from, to: yOf(l, e.seq), what: e.node });
    since.delete(e.node);
  }
  for (const [id, from] of since) spans.push({ from, to: bottom, what: id });
  return spans;
}

/** Each column's line: solid while the replica is up, dashed red while it is down. */
function lifelines(w: TraceWindow, l: Layout): string {
  const bottom = HEADER_H + l.rows * ROW_H;
  const whole = w.nodes.map(
    (id) => `<line class="lifeline" x1="${n(xOf(id))}" y1="${HEADER_H}" x2="${n(xOf(id))}" y2="${bottom}"/>`,
  );
  const down = downSpans(w, l).map(
    (s) =>
      `<line class="lifeline down" x1="${n(xOf(s.what))}" y1="${n(s.from)}" x2="${n(xOf(s.what))}" y2="${n(s.to)}"/>`,
  );
  return [...whole, ...down].join('\n');
}

/** `{1,2} | {3}`: who can still talk to whom. */
function describeGroups(groups: readonly (readonly NodeId[])[]): string {
  return groups.map((g) => `{${g.join(',')}}`).join(' | ');
}

/** The stretches a partition is in force: from it to the heal, the next partition, or the bottom. */
function partitionSpans(w: TraceWindow, l: Layout): Span<string>[] {
  const spans: Span<string>[] = [];
  let open: { from: number; what: string } | null = w.atStart.partition
    ? { from: HEADER_H, what: describeGroups(w.atStart.partition) }
    : null;
  for (const e of w.events) {
    if (e.ev !== 'partition' && e.ev !== 'heal') continue;
    if (open !== null) spans.push({ ...open, to: yOf(l, e.seq) });
    open = e.ev === 'partition' ? { from: yOf(l, e.seq), what: describeGroups(e.groups) } : null;
  }
  if (open !== null) spans.push({ ...open, to: HEADER_H + l.rows * ROW_H });
  return spans;
}

/** Partitions as translucent bands behind the columns, labelled with the groups. */
function bands(w: TraceWindow, l: Layout): string {
  const x = LEFT + 4;
  const width = w.nodes.length * COL_W - 8;
  return partitionSpans(w, l)
    .map((s) =>
      [
        `<rect class="band" x="${x}" y="${n(s.from)}" width="${width}" height="${n(Math.max(2, s.to - s.from))}"/>`,
        `<text class="label" x="${x + 4}" y="${n(s.from + 12)}" fill="#2e86de">partition ${escapeHtml(s.what)}</text>`,
      ].join('\n'),
    )
    .join('\n');
}

function drawEvent(e: TraceEvent, w: TraceWindow, l: Layout): string {
  const y = yOf(l, e.seq);
  switch (e.ev) {
    case 'deliver': {
      const s = w.sends.get(e.id);
      return s === undefined ? '' : arrow(s, l, y);
    }
    case 'drop': {
      const s = w.sends.get(e.id);
      return s === undefined ? '' : dropped(s, l, y, e.why);
    }
    case 'crash':
      return marker(e.node, y, 'crash', `<path class="cross" d="${cross(xOf(e.node), y, 6)}"/>`, 'crash');
    case 'restart':
      return marker(
        e.node,
        y,
        'restart',
        `<circle class="restart" cx="${n(xOf(e.node))}" cy="${n(y)}" r="5"/>`,
        'restart',
      );
    case 'persist':
      return marker(
        e.node,
        y,
        'persist',
        `<rect class="persist" x="${n(xOf(e.node) - 3)}" y="${n(y - 3)}" width="6" height="6"/>`,
        `persist ${e.what}`,
      );
    case 'chosen':
      return chosen(e, y);
    case 'note':
      return note(w, l, y, e.text);
    case 'send':
      return l.settled.has(e.id) ? '' : inFlight(e, l);
    case 'heal':
      return `<text class="label" x="${LEFT + 8}" y="${n(y + 4)}" fill="#2e86de">heal</text>`;
    default:
      return '';
  }
}

/** `M x-r y-r L x+r y+r M x-r y+r L x+r y-r`: an X centred on (x, y). */
function cross(x: number, y: number, r: number): string {
  return `M${n(x - r)},${n(y - r)} L${n(x + r)},${n(y + r)} M${n(x - r)},${n(y + r)} L${n(x + r)},${n(y - r)}`;
}

function marker(node: NodeId, y: number, cls: string, shape: string, label: string): string {
  const text = shorten(label, 28);
  return `<g class="mark ${cls}"><title>${escapeHtml(`${nodeName(node)}: ${label}`)}</title>${shape}<text class="label" x="${n(xOf(node) + 9)}" y="${n(y + 4)}">${escapeHtml(text)}</text></g>`;
}

function chosen(e: Extract<TraceEvent, { ev: 'chosen' }>, y: number): string {
  const ballot = e.ballot !== undefined ? ` (${e.ballot})` : '';
  const text = `chosen ${chosenText(e.instance, e.value, 14)}${ballot}`;
  const x = xOf(e.node);
  return `<g class="mark chosen-value"><title>${escapeHtml(`${nodeName(e.node)} chose ${chosenText(e.instance, e.value)}${ballot}`)}</title><rect class="chosen" x="${n(x - 4)}" y="${n(y - 7)}" width="${n(Array.from(text).length * 6.5 + 14)}" height="14" rx="4"/><text x="${n(x + 4)}" y="${n(y + 4)}">${escapeHtml(text)}</text></g>`;
}

/** Words into lines of at most `max` characters; a word longer than a line is cut. */
export function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((x) => x !== '')) {
    const w = shorten(word, max);
    if (line === '') line = w;
    else if (Array.from(line).length + 1 + Array.from(w).length <= max) line += ` ${w}`;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The most lines one note takes; beyond them it is cut, its tooltip still whole. */
const NOTE_MAX_LINES = 8;
const NOTE_LINE_H = 13;

/**
 * A note in full, wrapped in the gutter beside its row; when the note above
 * ran past this row, it starts below that one, with a thin line back to its
 * row so it still says when it was written.
 */
function note(w: TraceWindow, l: Layout, y: number, text: string): string {
  const x = LEFT + w.nodes.length * COL_W + NOTES_GAP;
  const lines = wrap(text, NOTE_CHARS);
  const shown = lines.slice(0, NOTE_MAX_LINES);
  if (lines.length > NOTE_MAX_LINES)
    shown[NOTE_MAX_LINES - 1] = `${shorten(shown[NOTE_MAX_LINES - 1], NOTE_CHARS - 1)}…`;
  const top = Math.max(y + 4, l.notesBottom + NOTE_LINE_H);
  l.notesBottom = top + (shown.length - 1) * NOTE_LINE_H;
  const link =
    top > y + 4 + 1 ? `<line x1="${x - 10}" y1="${n(y)}" x2="${x - 3}" y2="${n(top - 4)}" stroke="#bbb"/>` : '';
  const spans = shown
    .map((t, i) => `<tspan x="${x}" y="${n(top + i * NOTE_LINE_H)}">${escapeHtml(t)}</tspan>`)
    .join('');
  return `<g class="note-block">${link}<text class="note"><title>${escapeHtml(text)}</title>${spans}</text></g>`;
}

/** Where a message leaves: its send row, or the top of the window when it was sent before it. */
function startOf(s: SendEvent, l: Layout): { x: number; y: number; early: boolean } {
  return { x: xOf(s.from), y: yOf(l, s.seq), early: !l.rowOf.has(s.seq) };
}

/** A delivered message: a line from its send to its delivery (a loop when a replica sends to itself), labelled at the middle. */
function arrow(s: SendEvent, l: Layout, y: number): string {
  const start = startOf(s, l);
  const x2 = xOf(s.to);
  const kind = kindOf(s);
  const cls = `arrow t-${typeId(kind)}${start.early ? ' early' : ''}`;
  const paint = `stroke="${colourOf(kind)}" marker-end="url(#head-${typeId(kind)})"`;
  const shape =
    s.from === s.to
      ? `<path class="${cls}" d="M${n(start.x)},${n(start.y)} C${n(start.x + 40)},${n(start.y)} ${n(x2 + 40)},${n(y)} ${n(x2)},${n(y)}" ${paint}/>`
      : `<line class="${cls}" x1="${n(start.x)}" y1="${n(start.y)}" x2="${n(x2)}" y2="${n(y)}" ${paint}/>`;
  return `<g class="msg"><title>${escapeHtml(`message ${s.id}: ${messageTitle(s)}`)}</title>${shape}${label(s, start.x, start.y, x2, y, l)}</g>`;
}

/** A dropped message: a dashed line that stops part of the way, in a cross. */
function dropped(s: SendEvent, l: Layout, y: number, why: string): string {
  const start = startOf(s, l);
  const x2 = start.x + (xOf(s.to) - start.x) * 0.6 + (s.from === s.to ? 30 : 0);
  const cls = `arrow dropped t-${typeId(kindOf(s))}${start.early ? ' early' : ''}`;
  const line = `<line class="${cls}" x1="${n(start.x)}" y1="${n(start.y)}" x2="${n(x2)}" y2="${n(y)}" stroke="${colourOf(kindOf(s))}"/>`;
  const title = `message ${s.id} dropped (${why}): ${messageTitle(s)}`;
  return `<g class="msg drop"><title>${escapeHtml(title)}</title>${line}<path class="cross" d="${cross(x2, y, 5)}"/><text class="label" x="${n(x2 + 8)}" y="${n(y + 4)}" fill="#d62728">${escapeHtml(shorten(why, 20))}</text>${label(s, start.x, start.y, x2, y, l)}</g>`;
}

/** A message neither delivered nor dropped in the window: a short dotted stub towards its addressee, so the send is not invisible. */
function inFlight(s: SendEvent, l: Layout): string {
  const start = startOf(s, l);
  const dx = xOf(s.to) - start.x;
  const x2 = start.x + (dx >= 0 ? 1 : -1) * (dx === 0 ? COL_W * 0.4 : Math.min(COL_W * 0.4, Math.abs(dx)));
  const y2 = start.y + ROW_H * 0.6;
  const line = `<line class="arrow pending t-${typeId(kindOf(s))}" x1="${n(start.x)}" y1="${n(start.y)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${colourOf(kindOf(s))}"/>`;
  const title = `message ${s.id}, still in flight at the end of the window: ${messageTitle(s)}`;
  return `<g class="msg pending"><title>${escapeHtml(title)}</title>${line}<text class="label" x="${n(x2 + (x2 >= start.x ? 4 : -4))}" y="${n(y2 + 4)}" text-anchor="${x2 >= start.x ? 'start' : 'end'}" fill="${colourOf(s.type)}">${escapeHtml(`${messageLabel(s)} …`)}</text></g>`;
}

function messageTitle(s: SendEvent): string {
  return `${nodeName(s.from)} → ${nodeName(s.to)} ${messageLabel(s, 200)}`;
}

/**
 * The label sits on the arrow half a column from its sender, between the
 * sender's column and the next one, so a label never lands on a column a long
 * arrow crosses; a white halo keeps crossing lines from hiding it.
 */
/** Where along its arrow a label may sit, nearest the sender first: a label near its sender is read as leaving it. */
const LABEL_SPOTS = [0.3, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.12, 0.88];
const LABEL_CHAR_W = 5.6;
const LABEL_H = 11;

function crosses(seg: Segment, b: Box): boolean {
  const inside = (x: number, y: number) => x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1;
  if (inside(seg.x1, seg.y1) || inside(seg.x2, seg.y2)) return true;
  const edges: [number, number, number, number][] = [
    [b.x0, b.y0, b.x1, b.y0],
    [b.x1, b.y0, b.x1, b.y1],
    [b.x1, b.y1, b.x0, b.y1],
    [b.x0, b.y1, b.x0, b.y0],
  ];
  const side = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) =>
    Math.sign((bx - ax) * (cy - ay) - (by - ay) * (cx - ax));
  return edges.some(
    ([ax, ay, bx, by]) =>
      side(seg.x1, seg.y1, seg.x2, seg.y2, ax, ay) !== side(seg.x1, seg.y1, seg.x2, seg.y2, bx, by) &&
      side(ax, ay, bx, by, seg.x1, seg.y1) !== side(ax, ay, bx, by, seg.x2, seg.y2),
  );
}

function overlaps(a: Box, b: Box): boolean {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

/**
 * A label on its arrow, at the spot along it that no other arrow crosses
 * and no other label covers (the first such spot, nearest the sender);
 * failing that, the spot with the fewest. The white halo is for what is
 * left, never the plan: a label drawn over a crossing arrow reads as that
 * arrow's.
 */
function label(s: SendEvent, x1: number, y1: number, x2: number, y2: number, l: Layout): string {
  // A heartbeat says nothing its style does not; its tooltip has the details.
  if (isHeartbeat(s)) return '';
  const text = messageLabel(s);
  const half = (Array.from(text).length * LABEL_CHAR_W) / 2;
  let best: { x: number; y: number; box: Box; cost: number } | null = null;
  const spots = x1 === x2 ? [0.5] : LABEL_SPOTS;
  for (const along of spots) {
    const x = x1 + (x2 - x1) * along;
    const y = y1 + (y2 - y1) * along - 3;
    const box = { x0: x - half, y0: y - LABEL_H + 2, x1: x + half, y1: y + 2 };
    const cost =
      l.segments.filter((g) => g.id !== s.id && crosses(g, box)).length +
      2 * l.placed.filter((p) => overlaps(p, box)).length;
    if (best === null || cost < best.cost) best = { x, y, box, cost };
    if (cost === 0) break;
  }
  const spot = must(best, 'there is always a spot to try');
  l.placed.push(spot.box);
  return `<text class="label" x="${n(spot.x)}" y="${n(spot.y)}" text-anchor="middle" fill="${colourOf(s.type)}">${escapeHtml(text)}</text>`;
}
