/**
 * The part of a trace a diagram shows. A diagram of thousands of messages is
 * unreadable and slow to open, so the renderers draw a window: the events from
 * `fromSeq` to `toSeq`, and at most `maxEvents` of them. Messages sent before
 * the window and delivered in it still need their sender and type, so the
 * window keeps every send of the whole trace by id.
 */
import type { NodeId } from '../core/types.js';
import type { SendEvent, TraceEvent } from './format.js';

export interface WindowOptions {
  readonly fromSeq?: number;
  readonly toSeq?: number;
  /** At most this many events; the window is cut after them. */
  readonly maxEvents?: number;
}

export interface TraceWindow {
  readonly events: readonly TraceEvent[];
  /** How many events the whole trace has. */
  readonly total: number;
  /** True when the window leaves some of the trace out. */
  readonly partial: boolean;
  /** Every send of the trace by message id, including those before the window. */
  readonly sends: ReadonlyMap<number, SendEvent>;
  /** The replicas, 1 to the highest id anywhere in the trace, so a window has the same columns as the whole. */
  readonly nodes: readonly NodeId[];
  /** What the events before the window left behind: the replicas down, and the partition in force, if any. */
  readonly atStart: FaultState;
}

export interface FaultState {
  readonly down: ReadonlySet<NodeId>;
  readonly partition: readonly (readonly NodeId[])[] | null;
}

export function selectWindow(events: readonly TraceEvent[], o: WindowOptions = {}): TraceWindow {
  const from = o.fromSeq ?? -Infinity;
  const to = o.toSeq ?? Infinity;
  const inRange = events.filter((e) => e.seq >= from && e.seq <= to);
  const shown = o.maxEvents !== undefined ? inRange.slice(0, o.maxEvents) : inRange;
  const sends = new Map<number, SendEvent>();
  for (const e of events) if (e.ev === 'send') sends.set(e.id, e);
  const start = shown[0]?.seq ?? Infinity;
  return {
    events: shown, total: events.length, partial: shown.length < events.length, sends, nodes: nodesOf(events),
    atStart: faultsBefore(events, start),
  };
}

/** Replays the crashes, restarts, partitions and heals before `seq`. */
export function faultsBefore(events: readonly TraceEvent[], seq: number): FaultState {
  const down = new Set<NodeId>();
  let partition: readonly (readonly NodeId[])[] | null = null;
  for (const e of events) {
    if (e.seq >= seq) break;
    if (e.ev === 'crash') down.add(e.node);
    else if (e.ev === 'restart') down.delete(e.node);
    else if (e.ev === 'partition') partition = e.groups;
    else if (e.ev === 'heal') partition = null;
  }
  return { down, partition };
}

/** The node ids an event names. */
export function nodesIn(e: TraceEvent): NodeId[] {
  switch (e.ev) {
    case 'send': return [e.from, e.to];
    case 'deliver': return [e.to];
    case 'crash': case 'restart': case 'persist': case 'chosen': return [e.node];
    case 'partition': return e.groups.flat();
    default: return [];
  }
}

function nodesOf(events: readonly TraceEvent[]): NodeId[] {
  let highest = 0;
  for (const e of events) for (const n of nodesIn(e)) highest = Math.max(highest, n);
  return Array.from({ length: highest }, (_, i) => i + 1);
}

/** A message in a few words: `accept 1.3 x=7`, `prepare 2.1 #4`. */
export function messageLabel(s: SendEvent, maxValueChars = 12): string {
  const parts = [s.type];
  if (s.ballot !== undefined) parts.push(s.ballot);
  if (s.slot !== undefined) parts.push(`#${s.slot}`);
  const value = s.value !== undefined ? shorten(s.value, maxValueChars) : undefined;
  if (s.key !== undefined) parts.push(value !== undefined ? `${shorten(s.key, maxValueChars)}=${value}` : shorten(s.key, maxValueChars));
  else if (value !== undefined) parts.push(value);
  return parts.join(' ');
}

/** `x=7` for a key (Basic Paxos), `#4 x=7` for a slot (Multi-Paxos), whose value is the whole command. */
export function chosenText(instance: string, value: string, max = Infinity): string {
  return /^\d+$/.test(instance) ? `#${instance} ${shorten(value, max)}` : `${shorten(instance, max)}=${shorten(value, max)}`;
}

/** At most `max` characters, counting code points so a pair is never split; a cut is shown with an ellipsis. */
export function shorten(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}
