/**
 * One process's part of a live run's trace (`paxos up --trace FILE`): each
 * replica, and the orchestrator, append their own events to their own file
 * in FILE's parts directory, and the parts are merged into FILE when the
 * cluster stops (see merge.ts). One writer per process means no locking and
 * no shared socket: the only thing the processes share is the clock, and on
 * one machine `Date.now()` is the same clock for all of them.
 *
 * A part is not a trace on its own: its deliveries name messages whose sends
 * are in another part, and its message ids are the wire ids (unique across
 * the cluster), not the small numbers the merge gives them.
 *
 * Each event is written as it is recorded (one write(), never an fsync: the
 * trace is a picture of the run, not state the protocol relies on), so a
 * SIGKILLed replica loses none of its events, and a message's send is on
 * record before the message leaves: a failover's last accepts are in the
 * picture. (Buffered for 200 ms, the trace of a killed replica ended up to
 * 200 ms before its death, and its peers' deliveries had no send.) The part is
 * capped: past MAX_PART_EVENTS or MAX_PART_BYTES the writer stops, says so
 * once in the process log and once in the part itself.
 */
import { join } from 'node:path';
import { type Ballot, formatBallot } from '../core/ballot.js';
import { type NodeId, nodeName } from '../core/types.js';
import { LineAppender } from './appender.js';
import { formatEvent, type SentMessage, type TraceEvent } from './format.js';

export const MAX_PART_EVENTS = 200_000;
export const MAX_PART_BYTES = 64 * 1024 * 1024;
/** Node ids are at most 64, so an id of `counter * ID_STRIDE + node` names its sender and never repeats another sender's. */
const ID_STRIDE = 128;
/** Incarnations of one replica in one trace are told apart by this many counter values each (2^26 messages a process). */
const INCARNATION_SPAN = 2 ** 26;

/** Where a trace's parts go: a directory beside FILE, so `paxos trace` can be pointed at either. */
export function partsDirOf(traceFile: string): string {
  return `${traceFile}.parts`;
}

export function replicaPartOf(dir: string, node: NodeId): string {
  return join(dir, `${nodeName(node)}.trace.jsonl`);
}

export function orchestratorPartOf(dir: string): string {
  return join(dir, 'orchestrator.trace.jsonl');
}

/** Wall-clock milliseconds with microseconds, so two events of one millisecond still keep their order across processes. */
export function wallMs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}

type Body = DistributiveOmit<TraceEvent, 'seq' | 'tick' | 'ms'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The buffered, capped appender of one part. */
export class PartWriter {
  private readonly out: LineAppender;
  private seq = 0;
  private bytes = 0;
  private stopped = false;

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void = () => undefined,
    private readonly now: () => number = wallMs,
    /** The caps; smaller ones only in tests. */
    private readonly limits: { events: number; bytes: number } = { events: MAX_PART_EVENTS, bytes: MAX_PART_BYTES },
  ) {
    this.out = new LineAppender(file, 0, (err) =>
      this.log(`trace: cannot write ${file} (${err.message}); tracing stopped`),
    );
  }

  /** Whether events are still being recorded; a capped writer lets callers skip building them. */
  get active(): boolean {
    return !this.stopped && !this.out.failed;
  }

  write(body: Body): void {
    if (!this.active) return;
    const line = formatEvent({ seq: ++this.seq, ms: this.now(), ...body } as TraceEvent);
    this.bytes += line.length + 1;
    this.out.push(line);
    if (this.seq >= this.limits.events || this.bytes >= this.limits.bytes) this.cap();
  }

  private cap(): void {
    const why = `stopped tracing after ${this.seq} events (${(this.bytes / 1048576).toFixed(1)} MiB), the most one part holds`;
    this.out.push(formatEvent({ seq: ++this.seq, ms: this.now(), ev: 'note', text: why }));
    this.stopped = true;
    this.log(`trace: ${why}; the rest of the run is not in ${this.file}`);
    this.flush();
  }

  flush(): void {
    this.out.flush();
  }

  close(): void {
    this.out.close();
    this.stopped = true;
  }
}

/**
 * A replica's side of the trace: message ids for the wire, and the events in
 * the format's words. Sends are numbered per process; the incarnation keeps a
 * restarted replica's ids apart from its earlier lives'.
 */
export class ReplicaTraceLog {
  private counter = 0;

  constructor(
    private readonly node: NodeId,
    incarnation: number,
    private readonly writer: PartWriter,
  ) {
    this.counter = (incarnation % 1024) * INCARNATION_SPAN;
  }

  /** Records a message leaving; returns the id that travels with it, or 0 once tracing has stopped. */
  sent(m: SentMessage): number {
    if (!this.writer.active) return 0;
    const id = ++this.counter * ID_STRIDE + this.node;
    this.writer.write({ ev: 'send', id, from: m.from, to: m.to, type: m.type, ...fields(m) });
    return id;
  }

  delivered(id: number, to: NodeId): void {
    this.writer.write({ ev: 'deliver', id, to });
  }

  dropped(id: number, why: string): void {
    this.writer.write({ ev: 'drop', id, why });
  }

  persisted(what: string): void {
    this.writer.write({ ev: 'persist', node: this.node, what });
  }

  chosen(instance: string | number, value: string, ballot: Ballot | null | undefined): void {
    this.writer.write({
      ev: 'chosen',
      node: this.node,
      instance: String(instance),
      value,
      ...(ballot ? { ballot: formatBallot(ballot) } : {}),
    });
  }

  /** A start from recorded state is a `restart`; a first start is only narrated, there is nothing it came back from. */
  started(recovered: boolean): void {
    if (recovered) this.writer.write({ ev: 'restart', node: this.node });
    else this.writer.write({ ev: 'note', text: `${nodeName(this.node)} started` });
  }

  close(): void {
    this.writer.close();
  }
}

/** The optional fields of a send, without the undefined ones (the schema is strict). */
function fields(m: SentMessage): Pick<Extract<TraceEvent, { ev: 'send' }>, 'ballot' | 'value' | 'key' | 'slot'> {
  return {
    ...(m.ballot ? { ballot: formatBallot(m.ballot) } : {}),
    ...(m.value !== undefined ? { value: m.value } : {}),
    ...(m.key !== undefined ? { key: m.key } : {}),
    ...(m.slot !== undefined ? { slot: m.slot } : {}),
  };
}
