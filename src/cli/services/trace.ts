/**
 * The `paxos trace` service: reads a trace file, and either writes the
 * diagrams asked for (SVG, Mermaid, ShiViz; `-` is stdout) or prints a
 * one-screen summary of it: how many events of each kind, which replicas,
 * and which values were chosen where. A summary that finds two values chosen
 * for one instance says so first, because that is a safety violation.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { nodeName } from '../../core/types.js';
import { OperatingError, UsageError } from '../../errors.js';
import { showText } from '../../text/escape.js';
import {
  clockOf,
  readTrace,
  TRACE_EVENT_KINDS,
  type TraceEvent,
  type TraceEventKind,
  timeOf,
} from '../../trace/format.js';
import { partsDirOf } from '../../trace/live.js';
import { mergePartsDir } from '../../trace/merge.js';
import { renderMermaid } from '../../trace/mermaid.js';
import { renderShiviz } from '../../trace/shiviz.js';
import { renderSvg } from '../../trace/svg.js';
import { selectWindow, type WindowOptions } from '../../trace/window.js';
import { readStdinSync } from './stdin.js';

export interface TraceCommandOptions {
  /** A path, or `-` for stdin. */
  readonly file: string;
  readonly svg?: string;
  readonly mermaid?: string;
  readonly shiviz?: string;
  readonly fromSeq?: number;
  readonly toSeq?: number;
  readonly maxEvents: number;
  readonly json: boolean;
  /** Where stdout goes: whole texts, each already ending in a newline. */
  readonly stdout: (text: string) => void;
  /** Where the "wrote …" lines go when a diagram itself is on stdout. */
  readonly stderr: (text: string) => void;
}

export function runTraceCommand(o: TraceCommandOptions): void {
  checkOptions(o);
  const source = o.file === '-' ? 'stdin' : o.file;
  const events = readTrace(readInput(o.file), source);
  const window: WindowOptions = {
    ...(o.fromSeq !== undefined ? { fromSeq: o.fromSeq } : {}),
    ...(o.toSeq !== undefined ? { toSeq: o.toSeq } : {}),
  };
  const shown = selectWindow(events, window).events;
  const last = events.at(-1);
  if (last !== undefined && shown.length === 0) {
    throw new UsageError(`--from and --to select no events; ${source} has seq ${events[0].seq} to ${last.seq}`);
  }
  const outputs = diagramsAsked(o, source, events, window);
  if (outputs.length === 0) {
    o.stdout(
      o.json
        ? `${JSON.stringify(summarize(shown, source))}\n`
        : `${describeSummary(summarize(shown, source)).join('\n')}\n`,
    );
    return;
  }
  const toStdout = outputs.some((d) => d.target === '-');
  for (const d of outputs) {
    const text = d.render();
    if (d.target === '-') o.stdout(text);
    else write(d.target, text);
    if (d.target !== '-') (toStdout ? o.stderr : o.stdout)(`wrote ${d.what} to ${d.target}\n`);
  }
}

function checkOptions(o: TraceCommandOptions): void {
  const onStdout = [o.svg, o.mermaid, o.shiviz].filter((t) => t === '-').length;
  if (onStdout > 1)
    throw new UsageError('only one of --svg, --mermaid and --shiviz can write to stdout (-); give the others a file');
  if (o.fromSeq !== undefined && o.toSeq !== undefined && o.fromSeq > o.toSeq) {
    throw new UsageError(
      `--from ${o.fromSeq} is after --to ${o.toSeq}; the window runs from the first up to the second`,
    );
  }
}

interface Diagram {
  readonly what: string;
  readonly target: string;
  readonly render: () => string;
}

function diagramsAsked(
  o: TraceCommandOptions,
  source: string,
  events: readonly TraceEvent[],
  window: WindowOptions,
): Diagram[] {
  const all: (Diagram | undefined)[] = [
    o.svg !== undefined
      ? {
          what: 'the space-time diagram',
          target: o.svg,
          render: () => renderSvg(events, { ...window, maxEvents: o.maxEvents, title: source }),
        }
      : undefined,
    o.mermaid !== undefined
      ? {
          what: 'the Mermaid diagram',
          target: o.mermaid,
          render: () => renderMermaid(events, { ...window, maxEvents: o.maxEvents }),
        }
      : undefined,
    o.shiviz !== undefined
      ? { what: 'the ShiViz log', target: o.shiviz, render: () => renderShiviz(events, window) }
      : undefined,
  ];
  return all.filter((d): d is Diagram => d !== undefined);
}

/** A file, stdin, or a live run's parts directory (`paxos up --trace FILE` writes FILE.parts/), merged as `paxos down` would. */
function readInput(file: string): string {
  if (file !== '-' && isDirectory(file)) return mergePartsDir(file).text;
  try {
    return file === '-' ? readStdinSync() : readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && isDirectory(partsDirOf(file)))
      throw new OperatingError(
        `there is no trace file ${file} yet: \`paxos down\` writes it; \`paxos trace ${partsDirOf(file)}\` reads the run so far`,
      );
    throw new OperatingError(
      code === 'ENOENT' ? `there is no trace file ${file}` : `cannot read ${file}: ${(err as Error).message}`,
    );
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function write(file: string, text: string): void {
  try {
    writeFileSync(file, text, { mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OperatingError(
      code === 'ENOENT'
        ? `cannot write ${file}: its folder does not exist`
        : `cannot write ${file}: ${(err as Error).message}`,
    );
  }
}

export interface ChosenSummary {
  readonly instance: string;
  /** Every value chosen for the instance: more than one is a safety violation. */
  readonly values: readonly {
    readonly value: string;
    readonly ballot: string | null;
    readonly nodes: readonly number[];
  }[];
}

export interface TraceSummary {
  readonly file: string;
  readonly events: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly clock: 'tick' | 'ms';
  readonly timeFrom: number | null;
  readonly timeTo: number | null;
  readonly replicas: readonly number[];
  readonly byEvent: Readonly<Partial<Record<TraceEventKind, number>>>;
  readonly byMessageType: Readonly<Record<string, number>>;
  readonly chosen: readonly ChosenSummary[];
}

export function summarize(events: readonly TraceEvent[], file: string): TraceSummary {
  const first = events.at(0);
  const last = events.at(-1);
  const byEvent: Partial<Record<TraceEventKind, number>> = {};
  const byMessageType: Record<string, number> = {};
  for (const e of events) {
    byEvent[e.ev] = (byEvent[e.ev] ?? 0) + 1;
    if (e.ev === 'send') byMessageType[e.type] = (byMessageType[e.type] ?? 0) + 1;
  }
  return {
    file,
    events: events.length,
    firstSeq: first?.seq ?? null,
    lastSeq: last?.seq ?? null,
    clock: clockOf(events),
    timeFrom: first === undefined ? null : timeOf(first),
    timeTo: last === undefined ? null : timeOf(last),
    replicas: selectWindow(events).nodes,
    byEvent,
    byMessageType,
    chosen: chosenByInstance(events),
  };
}

/** The chosen events grouped by instance and then by value, in the order they were first chosen. */
function chosenByInstance(events: readonly TraceEvent[]): ChosenSummary[] {
  const instances = new Map<string, Map<string, { value: string; ballot: string | null; nodes: number[] }>>();
  for (const e of events) {
    if (e.ev !== 'chosen') continue;
    const values =
      instances.get(e.instance) ?? new Map<string, { value: string; ballot: string | null; nodes: number[] }>();
    instances.set(e.instance, values);
    const entry = values.get(e.value) ?? { value: e.value, ballot: e.ballot ?? null, nodes: [] };
    values.set(e.value, entry);
    if (!entry.nodes.includes(e.node)) entry.nodes.push(e.node);
  }
  return [...instances].map(([instance, values]) => ({ instance, values: [...values.values()] }));
}

/** How many chosen instances the summary lists before it says how many more there are: it should fit on one screen. */
const MAX_CHOSEN_LINES = 12;

export function describeSummary(s: TraceSummary): string[] {
  const unit = s.clock === 'ms' ? 'ms' : 'ticks';
  const lines = [
    `${showText(s.file)}: ${s.events} events${s.firstSeq !== null ? `, seq ${s.firstSeq}–${s.lastSeq}, ${unit} ${s.timeFrom}–${s.timeTo}` : ''}`,
    `replicas: ${s.replicas.length === 0 ? 'none' : s.replicas.map((id) => nodeName(id)).join(', ')}`,
    `events: ${
      TRACE_EVENT_KINDS.filter((k) => s.byEvent[k] !== undefined)
        .map((k) => `${s.byEvent[k]} ${k}`)
        .join(', ') || 'none'
    }`,
  ];
  const types = Object.entries(s.byMessageType);
  if (types.length > 0) lines.push(`messages sent: ${types.map(([t, c]) => `${c} ${t}`).join(', ')}`);
  const split = s.chosen.filter((c) => c.values.length > 1);
  if (split.length > 0)
    lines.push(`SAFETY VIOLATION: different values chosen for ${split.map((c) => showText(c.instance)).join(', ')}`);
  lines.push(s.chosen.length === 0 ? 'chosen: nothing' : `chosen (${s.chosen.length}):`);
  for (const c of s.chosen.slice(0, MAX_CHOSEN_LINES)) lines.push(`  ${describeChosen(c)}`);
  if (s.chosen.length > MAX_CHOSEN_LINES)
    lines.push(`  … and ${s.chosen.length - MAX_CHOSEN_LINES} more (--json lists them all)`);
  return lines;
}

function describeChosen(c: ChosenSummary): string {
  const name = /^\d+$/.test(c.instance) ? `#${c.instance}` : showText(c.instance);
  return `${name}: ${c.values.map((v) => `${showText(v.value)}${v.ballot !== null ? ` at ${v.ballot}` : ''} on ${v.nodes.map((id) => nodeName(id)).join(', ')}`).join('; ')}`;
}
