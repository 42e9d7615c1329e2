/**
 * The simulator's side of `paxos sim --seed S --trace FILE`: it turns what
 * the world does (sends and their fates, crashes, durable writes, releases,
 * partitions, client requests) into trace events. The world holds one only
 * when a trace was asked for, and calls it through `?.`, so a run without a
 * trace builds no strings and pays one null check per hook.
 *
 * Time is the simulator's virtual milliseconds on the trace's `ms` clock.
 * The format allows a fractional ms; the tracer rounds to the microsecond
 * so lines stay short, and rounding keeps the times in order.
 */

import type { BasicMessage } from '../core/basic-messages.js';
import type { MultiMessage } from '../core/multi/messages.js';
import type { ChosenValue, NodeId, Protocol } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { TraceRecorder, tracedInstance } from '../trace/format.js';
import { messageFields } from '../trace/messages.js';
import { describeCheckpoint, describeWrite } from '../trace/records.js';

/** Why a message never arrived, as the drop event says it. */
export type DropCause = 'loss' | 'partition' | 'down';

/** Microseconds in a millisecond: the trace's time resolution. */
const US_PER_MS = 1000;

export function traceMs(virtualMs: number): number {
  return Math.round(virtualMs * US_PER_MS) / US_PER_MS;
}

export class SimTracer {
  private readonly recorder: TraceRecorder;

  constructor(
    private readonly protocol: Protocol,
    sink: (line: string) => void,
    nowMs: () => number,
  ) {
    this.recorder = new TraceRecorder(sink, { unit: 'ms', now: () => traceMs(nowMs()) });
  }

  /** A message leaving `from` into the network; returns the id its delivery or drop names. */
  sent(m: MultiMessage | BasicMessage): number {
    return this.recorder.send(messageFields(this.protocol, m));
  }

  dropped(id: number, cause: DropCause, to: NodeId): void {
    this.recorder.drop(
      id,
      cause === 'loss' ? 'network loss' : cause === 'partition' ? 'partition cut' : `${nodeName(to)} is down`,
    );
  }

  /** Called once per copy that arrives, so a duplicated message is delivered twice under one id. */
  delivered(id: number, to: NodeId): void {
    this.recorder.deliver(id, to);
  }

  /** `point` is where inside a Ready the node died (`write-started`, `release`, ...), or empty for a crash between steps. */
  crashed(node: NodeId, point: string): void {
    this.recorder.crash(node);
    if (point === 'snapshot-written')
      this.recorder.note(
        `${nodeName(node)} crashed mid-Ready, at snapshot-written: the new snapshot is on disk, the log not yet rewritten`,
      );
    else if (point !== '') this.recorder.note(`${nodeName(node)} crashed mid-Ready, at ${point}`);
  }

  restarted(node: NodeId): void {
    this.recorder.restart(node);
  }

  /** One write's records reached the disk. */
  durable(node: NodeId, records: readonly unknown[]): void {
    this.recorder.persist(node, describeWrite(this.protocol, records));
  }

  /** A checkpoint's snapshot reached the disk (the log is rewritten right after it, unless the node crashes in between). */
  checkpointDurable(node: NodeId, parts: readonly unknown[], records: readonly unknown[]): void {
    this.recorder.persist(node, describeCheckpoint(this.protocol, parts, records));
  }

  /** Values a node has learned, at the moment it releases them (its Ready is durable and leaving). */
  released(node: NodeId, chosen: readonly ChosenValue[]): void {
    for (const c of chosen)
      this.recorder.chosen({ node, instance: tracedInstance(c), value: c.value, ballot: c.ballot });
  }

  /** The world's two-sided partition: each node's side; a side nobody is on is left out. */
  partitioned(sides: ReadonlyMap<NodeId, number>): void {
    const groups: NodeId[][] = [[], []];
    for (const [node, side] of sides) groups[side]?.push(node);
    this.recorder.partition(groups.filter((g) => g.length > 0));
  }

  healed(): void {
    this.recorder.heal();
  }

  note(text: string): void {
    this.recorder.note(text);
  }
}
