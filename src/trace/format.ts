/**
 * The trace format: what happened in a run, as JSON lines, one event per
 * line, in the order it happened. The simulator and the live cluster both
 * write it (through `TraceRecorder`), and `paxos trace` turns it into a
 * space-time diagram, a Mermaid sequence diagram or a ShiViz log.
 *
 * Every event has `seq` (its place in the order, strictly increasing) and a
 * time: `tick` in a hand-written scenario, `ms` in a live run and in a
 * recorded simulator run (`paxos sim --trace`, whose virtual milliseconds
 * may be fractional), never both, and the same one throughout a trace. A message is sent once (`send`, which gives it
 * its `id`) and then delivered (`deliver`, more than once when the network
 * duplicates it), dropped (`drop`), or neither when the run ended first.
 * Ballots are written as `round.node`, the way the rest of the lab prints
 * them, so a trace reads like the dashboard.
 *
 * The schema is strict about unknown fields: traces are also written by hand
 * (scenarios, test fixtures), and a misspelt optional field such as `vlaue`
 * would otherwise vanish without a word.
 */
import * as v from 'valibot';
import { type Ballot, formatBallot } from '../core/ballot.js';
import { type NodeId, nodeName } from '../core/types.js';
import { UsageError } from '../errors.js';
import { describeIssue } from '../text/issues.js';

const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const nodeId = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64));
const msgId = v.pipe(v.number(), v.integer(), v.minValue(1));
const ballotText = v.pipe(v.string(), v.regex(/^\d+\.\d+$/, 'a ballot written as round.node, such as 3.2'));
const text = v.string();

/** What every event carries: its place in the order and one of the two clocks. */
const common = {
  seq: count,
  tick: v.optional(count),
  ms: v.optional(v.pipe(v.number(), v.minValue(0))),
};

export const TraceEventSchema = v.variant('ev', [
  v.strictObject({
    ...common,
    ev: v.literal('send'),
    id: msgId,
    from: nodeId,
    to: nodeId,
    type: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]*$/, 'a message type such as prepare')),
    ballot: v.optional(ballotText),
    value: v.optional(text),
    key: v.optional(text),
    slot: v.optional(count),
  }),
  v.strictObject({ ...common, ev: v.literal('deliver'), id: msgId, to: nodeId }),
  v.strictObject({ ...common, ev: v.literal('drop'), id: msgId, why: text }),
  v.strictObject({ ...common, ev: v.picklist(['crash', 'restart']), node: nodeId }),
  v.strictObject({ ...common, ev: v.literal('persist'), node: nodeId, what: v.pipe(v.string(), v.nonEmpty()) }),
  v.strictObject({
    ...common,
    ev: v.literal('chosen'),
    node: nodeId,
    instance: v.pipe(v.string(), v.nonEmpty()),
    value: text,
    ballot: v.optional(ballotText),
  }),
  v.strictObject({ ...common, ev: v.literal('partition'), groups: v.array(v.array(nodeId)) }),
  v.strictObject({ ...common, ev: v.literal('heal') }),
  v.strictObject({ ...common, ev: v.literal('note'), text }),
]);

export type TraceEvent = v.InferOutput<typeof TraceEventSchema>;
export type TraceEventKind = TraceEvent['ev'];
export type SendEvent = Extract<TraceEvent, { ev: 'send' }>;

/** Every kind, in the order a summary lists them. */
export const TRACE_EVENT_KINDS: readonly TraceEventKind[] = [
  'send',
  'deliver',
  'drop',
  'crash',
  'restart',
  'persist',
  'chosen',
  'partition',
  'heal',
  'note',
];

/** A trace longer than this is refused rather than read: it would not fit a diagram, and the cap bounds every loop over it. */
export const MAX_TRACE_EVENTS = 1_000_000;

/** The time of an event on whichever clock its trace uses. */
export function timeOf(e: TraceEvent): number {
  return e.tick ?? e.ms ?? 0;
}

/** The clock a trace uses, from its first event. */
export function clockOf(events: readonly TraceEvent[]): 'tick' | 'ms' {
  return events[0]?.ms !== undefined ? 'ms' : 'tick';
}

/** Where the error sentences say a line is: `walk.jsonl line 3`. */
function where(source: string, line: number): string {
  return `${source} line ${line}`;
}

function parseLine(raw: string, at: string): TraceEvent {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new UsageError(`${at} is not JSON; a trace has one JSON object per line`);
  }
  const result = v.safeParse(TraceEventSchema, json);
  if (result.success) return result.output;
  const issue = result.issues[0];
  if (issue.path?.[0]?.key === 'ev' && issue.path.length === 1) throw new UsageError(unknownKind(at, json));
  // A regex as the expected value means nothing to a reader; the regex's own message says what the field should look like.
  throw new UsageError(describeIssue(at, issue.type === 'regex' ? { ...issue, expected: null } : issue));
}

/** The sentence for a line whose `ev` is missing or names no event: valibot's would list the kinds as a nested union. */
function unknownKind(at: string, json: unknown): string {
  const ev = (json as { ev?: unknown }).ev;
  const what = ev === undefined ? 'has no ev' : `has ev ${JSON.stringify(ev)}, which is not an event`;
  return `${at}: the event ${what}; ev is one of ${TRACE_EVENT_KINDS.join(', ')}`;
}

/** What the schema cannot see on one line: the clock, agreeing with the trace's first event. */
function checkClock(e: TraceEvent, clock: 'tick' | 'ms' | undefined, at: string): 'tick' | 'ms' {
  if (e.tick !== undefined && e.ms !== undefined)
    throw new UsageError(`${at}: an event has tick (simulator) or ms (live run), not both`);
  if (e.tick === undefined && e.ms === undefined)
    throw new UsageError(`${at}: the event has no time; give it tick (simulator) or ms (live run)`);
  const own = e.tick !== undefined ? 'tick' : 'ms';
  if (clock !== undefined && own !== clock)
    throw new UsageError(
      `${at}: the event has ${own} but the trace's first event has ${clock}; a trace uses one clock`,
    );
  return own;
}

/** What needs the events before: increasing seq, and deliveries and drops of messages that were sent, to their addressee. */
function checkOrder(e: TraceEvent, previousSeq: number, sent: ReadonlyMap<number, SendEvent>, at: string): void {
  if (e.seq <= previousSeq)
    throw new UsageError(`${at}: seq ${e.seq} does not follow seq ${previousSeq}; events are written in order`);
  if (e.ev === 'send' && sent.has(e.id))
    throw new UsageError(`${at}: message ${e.id} was already sent; each send has its own id`);
  if (e.ev !== 'deliver' && e.ev !== 'drop') return;
  const send = sent.get(e.id);
  if (send === undefined) throw new UsageError(`${at}: ${e.ev} names message ${e.id}, which no earlier send has`);
  if (e.ev === 'deliver' && e.to !== send.to)
    throw new UsageError(
      `${at}: message ${e.id} was sent to ${nodeName(send.to)} but is delivered to ${nodeName(e.to)}`,
    );
}

/**
 * The events of a trace, checked: a malformed line is one sentence naming the
 * source, the line number and the field. Blank lines are skipped, so a
 * trailing newline or a gap between hand-written sections is fine.
 */
export function readTrace(content: string, source = 'the trace'): TraceEvent[] {
  const lines = content.split('\n');
  const events: TraceEvent[] = [];
  const sent = new Map<number, SendEvent>();
  let clock: 'tick' | 'ms' | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    const at = where(source, i + 1);
    if (events.length >= MAX_TRACE_EVENTS)
      throw new UsageError(`${at}: the trace has more than ${MAX_TRACE_EVENTS} events; cut it into pieces`);
    const e = parseLine(raw, at);
    clock = checkClock(e, clock, at);
    checkOrder(e, events.at(-1)?.seq ?? -1, sent, at);
    if (e.ev === 'send') sent.set(e.id, e);
    events.push(e);
  }
  return events;
}

/** One event as its line, without the newline: keys in a fixed order so equal events give equal bytes. */
export function formatEvent(e: TraceEvent): string {
  return JSON.stringify(e);
}

/** What a message says, as the recorder is given it. */
export interface SentMessage {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: string;
  readonly ballot?: Ballot | null;
  /** The value the message carries, as text (`7`, or `x=7` for a command). */
  readonly value?: string;
  readonly key?: string;
  readonly slot?: number;
}

export interface TraceClock {
  readonly unit: 'tick' | 'ms';
  /** The current time on that clock: the simulator's tick, or `Date.now()` in a live run. */
  readonly now: () => number;
}

/** Drops the keys whose value is undefined or null, so an absent field is absent from the line rather than `null`. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined && x !== null)) as T;
}

/**
 * Writes a trace as it happens: one call per event, one line to the sink per
 * call. It numbers the events (`seq`) and the messages (`id`), and reads the
 * time from the clock it was given, so callers in the simulator and in the
 * replica only say what happened. It holds no events itself: a long run costs
 * the sink's memory, not the recorder's.
 */
export class TraceRecorder {
  private seq = 0;
  private lastMsgId = 0;

  constructor(
    private readonly sink: (line: string) => void,
    private readonly clock: TraceClock = { unit: 'ms', now: () => Date.now() },
  ) {}

  /** Records a message leaving `from`; returns its id, which its delivery or drop names. */
  send(m: SentMessage): number {
    const id = ++this.lastMsgId;
    this.write({
      ev: 'send',
      id,
      from: m.from,
      to: m.to,
      type: m.type,
      ...defined({ ballot: m.ballot ? formatBallot(m.ballot) : undefined, value: m.value, key: m.key, slot: m.slot }),
    });
    return id;
  }

  deliver(id: number, to: NodeId): void {
    this.write({ ev: 'deliver', id, to });
  }

  drop(id: number, why: string): void {
    this.write({ ev: 'drop', id, why });
  }

  crash(node: NodeId): void {
    this.write({ ev: 'crash', node });
  }

  restart(node: NodeId): void {
    this.write({ ev: 'restart', node });
  }

  /** `what` in words, such as `promise 3.2` or `accept 3.2 x=7`. */
  persist(node: NodeId, what: string): void {
    this.write({ ev: 'persist', node, what });
  }

  /** `instance` is the key (basic) or the slot number (multi), as text. */
  chosen(c: {
    readonly node: NodeId;
    readonly instance: string | number;
    readonly value: string;
    readonly ballot?: Ballot | null;
  }): void {
    this.write({
      ev: 'chosen',
      node: c.node,
      instance: String(c.instance),
      value: c.value,
      ...defined({ ballot: c.ballot ? formatBallot(c.ballot) : undefined }),
    });
  }

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.write({ ev: 'partition', groups: groups.map((g) => [...g]) });
  }

  heal(): void {
    this.write({ ev: 'heal' });
  }

  /** Narration for a reader of the diagram: what a scenario step is about to show. */
  note(text: string): void {
    this.write({ ev: 'note', text });
  }

  private write(body: DistributiveOmit<TraceEvent, 'seq' | 'tick' | 'ms'>): void {
    this.seq += 1;
    const time = this.clock.unit === 'tick' ? { tick: this.clock.now() } : { ms: this.clock.now() };
    this.sink(formatEvent({ seq: this.seq, ...time, ...body } as TraceEvent));
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The instance a trace names for a chosen value: the slot, qualified by its
 * configuration epoch after the first (`12@1`). A value an epoch chose after
 * its own stop-sign is dead, never applied, and may differ from what the next
 * epoch chose for the same slot; qualified, the two are not read as a split.
 */
export function tracedInstance(c: { readonly instance: string; readonly epoch?: number }): string {
  return c.epoch === undefined || c.epoch === 0 ? c.instance : `${c.instance}@${c.epoch}`;
}
