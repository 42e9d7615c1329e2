/**
 * The part of a trace a diagram shows. A diagram of thousands of messages is
 * unreadable and slow to open, so the renderers draw a window: the events from
 * `fromSeq` to `toSeq`, and at most `maxEvents` of them. Messages sent before
 * the window and delivered in it still need their sender and type, so the
 * window keeps every send of the whole trace by id.
 */
import { type NodeId, nodeName } from '../core/types.js';
import type { SendEvent, TraceEvent } from './format.js';

export interface WindowOptions {
  readonly fromSeq?: number;
  readonly toSeq?: number;
  /** At most this many events; the window is cut after them. */
  readonly maxEvents?: number;
  /**
   * Multi-Paxos heartbeats (an accept carrying no entries, and its empty
   * accepted) dominate a live trace. `hide` leaves them out of the window
   * (counted, and said), `show` keeps them, `auto` (the default) hides them
   * only when the trace is too long to draw whole.
   */
  readonly heartbeats?: 'show' | 'hide' | 'auto';
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
  /** Heartbeat messages left out (see WindowOptions.heartbeats); 0 when none were. */
  readonly heartbeatsHidden: number;
  /**
   * When the window was chosen (no --from or --to, and too many events):
   * what it was chosen around, and the notable events it still leaves out,
   * in words; null otherwise.
   */
  readonly chosen: { readonly around: string; readonly leftOut: string } | null;
}

export interface FaultState {
  readonly down: ReadonlySet<NodeId>;
  readonly partition: readonly (readonly NodeId[])[] | null;
}

/** An accept that carries no entries is the leader's heartbeat; an accepted naming no slot answers one. */
export function isHeartbeat(s: SendEvent): boolean {
  // Basic Paxos messages name a key, Multi-Paxos ones carrying anything a slot: a heartbeat names neither.
  if (s.slot !== undefined || s.key !== undefined) return false;
  return (s.type === 'accept' && s.value === 'heartbeat') || (s.type === 'accepted' && s.value === undefined);
}

/** What a story is about: replicas dying and coming back, the network cut and healed, and elections (a new ballot's prepare). */
function notability(e: TraceEvent, firstPrepare: ReadonlySet<number>): number {
  if (e.ev === 'crash' || e.ev === 'restart' || e.ev === 'partition' || e.ev === 'heal') return 10;
  if (e.ev === 'send' && firstPrepare.has(e.seq)) return 3;
  return 0;
}

function notableName(e: TraceEvent): string {
  switch (e.ev) {
    case 'crash':
      return `${nodeName(e.node)} killed (seq ${e.seq})`;
    case 'restart':
      return `${nodeName(e.node)} restarted (seq ${e.seq})`;
    case 'partition':
      return `a partition (seq ${e.seq})`;
    case 'heal':
      return `a heal (seq ${e.seq})`;
    case 'send':
      return `an election by ${nodeName(e.from)} at ${e.ballot ?? '?'} (seq ${e.seq})`;
    default:
      return `seq ${e.seq}`;
  }
}

function listed(items: readonly string[], max = 4): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export function selectWindow(events: readonly TraceEvent[], o: WindowOptions = {}): TraceWindow {
  const from = o.fromSeq ?? -Infinity;
  const to = o.toSeq ?? Infinity;
  const sends = new Map<number, SendEvent>();
  for (const e of events) if (e.ev === 'send') sends.set(e.id, e);
  let inRange = events.filter((e) => e.seq >= from && e.seq <= to);
  const mode = o.heartbeats ?? 'auto';
  let heartbeatsHidden = 0;
  if (mode === 'hide' || (mode === 'auto' && o.maxEvents !== undefined && inRange.length > o.maxEvents)) {
    const beat = (e: TraceEvent) => {
      const s = e.ev === 'send' ? e : e.ev === 'deliver' || e.ev === 'drop' ? sends.get(e.id) : undefined;
      return s !== undefined && isHeartbeat(s);
    };
    const kept = inRange.filter((e) => !beat(e));
    heartbeatsHidden = inRange.filter((e) => e.ev === 'send' && beat(e)).length;
    inRange = kept;
  }
  let shown = inRange;
  let chosen: TraceWindow['chosen'] = null;
  if (o.maxEvents !== undefined && inRange.length > o.maxEvents) {
    const max = o.maxEvents;
    let start = 0;
    if (o.fromSeq === undefined && o.toSeq === undefined) {
      // Slide a window of maxEvents over the trace and keep the first that holds the most of what happened.
      const ballots = new Set<string>();
      const firstPrepare = new Set<number>();
      for (const e of inRange) {
        if (e.ev === 'send' && e.type === 'prepare' && !ballots.has(e.ballot ?? '')) {
          ballots.add(e.ballot ?? '');
          firstPrepare.add(e.seq);
        }
      }
      const score = inRange.map((e) => notability(e, firstPrepare));
      let sum = 0;
      for (let i = 0; i < max; i++) sum += score[i];
      let best = sum;
      for (let i = 1; i + max <= inRange.length; i++) {
        sum += score[i + max - 1] - score[i - 1];
        if (sum > best) {
          best = sum;
          start = i;
        }
      }
      const notable = (lo: number, hi: number) =>
        inRange
          .slice(lo, hi)
          .filter((_, i) => score[lo + i] > 0)
          .map(notableName);
      const inside = notable(start, start + max);
      const outside = [...notable(0, start), ...notable(start + max, inRange.length)];
      chosen = {
        around: inside.length === 0 ? 'the start of the trace (nothing notable happened)' : listed(inside),
        leftOut: outside.length === 0 ? 'nothing notable' : listed(outside),
      };
    }
    shown = inRange.slice(start, start + max);
  }
  const startSeq = shown[0]?.seq ?? Infinity;
  return {
    events: shown,
    total: events.length,
    partial: shown.length < events.length,
    sends,
    nodes: nodesOf(events),
    atStart: faultsBefore(events, startSeq),
    heartbeatsHidden,
    chosen,
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
    case 'send':
      return [e.from, e.to];
    case 'deliver':
      return [e.to];
    case 'crash':
    case 'restart':
    case 'persist':
    case 'chosen':
      return [e.node];
    case 'partition':
      return e.groups.flat();
    default:
      return [];
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
  if (s.key !== undefined)
    parts.push(value !== undefined ? `${shorten(s.key, maxValueChars)}=${value}` : shorten(s.key, maxValueChars));
  else if (value !== undefined) parts.push(value);
  return parts.join(' ');
}

/** `x=7` for a key (Basic Paxos), `#4 x=7` for a slot (Multi-Paxos), whose value is the whole command. */
export function chosenText(instance: string, value: string, max = Infinity): string {
  return /^\d+$/.test(instance)
    ? `#${instance} ${shorten(value, max)}`
    : `${shorten(instance, max)}=${shorten(value, max)}`;
}

/** At most `max` characters, counting code points so a pair is never split; a cut is shown with an ellipsis. */
export function shorten(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}
