/**
 * Merging a live run's parts (one per replica and one from the orchestrator,
 * see live.ts) into one trace: ordered by `ms`, ties kept in part order and
 * line order (a stable sort), `seq` renumbered from 1 and message ids
 * renumbered in order of their sends, so the result reads like a simulator
 * trace and passes `readTrace`.
 *
 * All processes stamp the same wall clock, and a sender stamps its send
 * before the bytes leave, so a delivery is normally later than its send. The
 * merge still never trusts that: a delivery or drop sorted ahead of its send
 * (the clock stepped, or the same microsecond) waits and follows the send. One
 * whose send is in no part (the sender was SIGKILLed before its buffer
 * reached the disk, or its part was capped) is left out and counted in a
 * closing note, since a trace must not name a message it never sent.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { OperatingError } from '../errors.js';
import { formatEvent, type TraceEvent, TraceEventSchema } from './format.js';

export interface MergeResult {
  readonly events: TraceEvent[];
  /** Deliveries and drops left out because no part holds their send. */
  readonly orphans: number;
  /** Lines that were not events: a torn last line of a killed process, at most one per part. */
  readonly skipped: number;
}

/** An event with its wall-clock time: the only kind a part holds (parseEvent keeps no other). */
type Timed = TraceEvent & { readonly ms: number };

interface Stamped {
  readonly e: Timed;
  readonly part: number;
  readonly line: number;
}

/** The events of one part's text; a line that does not parse (a torn write) is skipped and counted. */
export function parsePart(text: string): { events: Timed[]; skipped: number } {
  const events: Timed[] = [];
  let skipped = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    const e = parseEvent(raw);
    if (e === null) skipped++;
    else events.push(e);
  }
  return { events, skipped };
}

function parseEvent(raw: string): Timed | null {
  try {
    const r = v.safeParse(TraceEventSchema, JSON.parse(raw));
    return r.success && isTimed(r.output) ? r.output : null;
  } catch {
    return null;
  }
}

/** Merges parts given as texts, in the order given (which breaks ties). */
export function mergeParts(texts: readonly string[]): MergeResult {
  const stamped: Stamped[] = [];
  let skipped = 0;
  texts.forEach((text, part) => {
    const p = parsePart(text);
    skipped += p.skipped;
    p.events.forEach((e, line) => {
      stamped.push({ e, part, line });
    });
  });
  stamped.sort((a, b) => a.e.ms - b.e.ms || a.part - b.part || a.line - b.line);
  const { events, orphans, repeats } = renumber(fromStart(stamped.map((s) => s.e)));
  if (orphans > 0 || repeats > 0) events.push(closingNote(events, orphans, repeats));
  return { events, orphans, skipped };
}

/**
 * Times counted from the run's first event, which the opening note dates:
 * a diagram's time axis then reads 0, 12.5, 30 ms rather than thirteen-digit
 * wall-clock numbers.
 */
function fromStart(sorted: readonly Timed[]): Timed[] {
  const first = sorted.at(0);
  if (first === undefined) return [];
  const start = first.ms;
  const at = (ms: number) => Math.round((ms - start) * 1000) / 1000;
  const opening: Timed = {
    seq: 0,
    ms: start,
    ev: 'note',
    text: `live run; ms counts from ${new Date(start).toISOString()}`,
  };
  return [opening, ...sorted].map((e) => ({ ...e, ms: at(e.ms) }) as Timed);
}

/** Gives every event its place and every message its new id, holding back deliveries and drops that came before their send. */
function renumber(sorted: readonly Timed[]): { events: TraceEvent[]; orphans: number; repeats: number } {
  const ids = new Map<number, number>();
  const waiting = new Map<number, Timed[]>();
  const out: TraceEvent[] = [];
  let repeats = 0;
  const put = (e: Timed, ms: number) => out.push({ ...e, seq: out.length + 1, ms: Math.max(e.ms, ms) } as TraceEvent);
  for (const e of sorted) {
    if (e.ev === 'send') {
      // The same wire id twice would be a bug in live.ts's numbering; the first send stands and the note counts the rest.
      if (ids.has(e.id)) {
        repeats++;
        continue;
      }
      ids.set(e.id, ids.size + 1);
      put({ ...e, id: ids.size }, 0);
      for (const w of waiting.get(e.id) ?? []) put({ ...w, id: ids.size } as Timed, e.ms);
      waiting.delete(e.id);
    } else if (e.ev === 'deliver' || e.ev === 'drop') {
      const id = ids.get(e.id);
      if (id !== undefined) put({ ...e, id }, 0);
      else waiting.set(e.id, [...(waiting.get(e.id) ?? []), e]);
    } else {
      put(e, 0);
    }
  }
  let orphans = 0;
  for (const list of waiting.values()) orphans += list.length;
  return { events: out, orphans, repeats };
}

function isTimed(e: TraceEvent): e is Timed {
  return e.ms !== undefined;
}

function closingNote(events: readonly TraceEvent[], orphans: number, repeats: number): TraceEvent {
  const ms = events.at(-1)?.ms ?? 0;
  const left =
    orphans > 0
      ? [
          `${orphans} deliveries or drops left out: their sends were never written (a replica killed before its trace buffer reached the disk, or a capped part)`,
        ]
      : [];
  const twice = repeats > 0 ? [`${repeats} sends left out: they repeat an id already sent`] : [];
  return { seq: events.length + 1, ms, ev: 'note', text: [...left, ...twice].join('; ') };
}

/** The part files of a parts directory, orchestrator first (its crashes and partitions then lead their ties), then replicas by number. */
export function partFilesOf(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.trace.jsonl'));
  } catch (err) {
    throw new OperatingError(`cannot read the trace parts in ${dir}: ${(err as Error).message}`);
  }
  const rank = (n: string) => (n.startsWith('orchestrator') ? -1 : Number(/node-(\d+)/.exec(n)?.[1] ?? 1e9));
  return names.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)).map((n) => join(dir, n));
}

/** Merges a parts directory; the result as the text of a trace file. */
export function mergePartsDir(dir: string): MergeResult & { text: string } {
  const files = partFilesOf(dir);
  if (files.length === 0) throw new OperatingError(`${dir} holds no trace parts (*.trace.jsonl)`);
  const result = mergeParts(files.map((f) => readFileSync(f, 'utf8')));
  return { ...result, text: result.events.map((e) => `${formatEvent(e)}\n`).join('') };
}
