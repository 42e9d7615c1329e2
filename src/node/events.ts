/**
 * What a running cluster tells its observers (the dashboard, `paxos up`'s
 * plain log, `paxos status`). Replicas aggregate before they publish: a burst
 * of thousands of messages per second becomes a few frames per second of
 * counters plus the latest few message descriptions, so observing the
 * protocol never slows it down.
 */
import type { Ballot } from '../core/ballot.js';
import type { CoreEvent, NodeId, NodeView, Protocol } from '../core/types.js';

/** One replica's counters and protocol view, published a few times a second. */
export interface ReplicaStatus {
  readonly node: NodeId;
  readonly pid: number;
  readonly port: number;
  readonly view: NodeView;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly fsyncs: number;
  readonly rssBytes: number;
  /** CPU time (user and system) the replica's process has used, for the bench's CPU per value; absent where unknown (the simulator). */
  readonly cpuMicros?: number;
  readonly uptimeMs: number;
  /** Basic mode: this acceptor's state for the most recently touched keys (at most 32), for the per-key view. */
  readonly keys?: readonly BasicKeyState[];
}

export interface BasicKeyState {
  readonly key: string;
  readonly promised: Ballot | null;
  readonly accepted: { readonly ballot: Ballot; readonly value: string } | null;
  readonly chosen: string | null;
}

/** A message as the dashboard's flow shows it: `node-3 → node-1 accept #17 (4.3, x=7)`. */
export interface FlowLine {
  readonly atMs: number;
  readonly text: string;
  readonly type: string;
}

export type ReplicaEvent =
  | { readonly type: 'status'; readonly status: ReplicaStatus }
  /** The latest messages this replica sent since its previous flow event (at most a handful). */
  | { readonly type: 'flow'; readonly node: NodeId; readonly lines: readonly FlowLine[]; readonly droppedLines: number }
  | {
      readonly type: 'chosen';
      readonly node: NodeId;
      readonly instance: string;
      readonly value: string;
      readonly ballot: Ballot | null;
      readonly atMs: number;
    }
  | { readonly type: 'core'; readonly node: NodeId; readonly event: CoreEvent; readonly atMs: number }
  | { readonly type: 'log'; readonly node: NodeId; readonly line: string; readonly atMs: number };

/** What the orchestrator adds: replicas coming and going, and the fault rules in force. */
export type ClusterEvent =
  | ReplicaEvent
  | { readonly type: 'replica-up'; readonly node: NodeId; readonly pid: number; readonly atMs: number }
  | { readonly type: 'replica-down'; readonly node: NodeId; readonly reason: string; readonly atMs: number }
  | {
      readonly type: 'faults';
      readonly partition: readonly (readonly NodeId[])[] | null;
      readonly delayMs: { min: number; max: number } | null;
      readonly dropRate: number;
      readonly atMs: number;
    }
  | { readonly type: 'cluster'; readonly clusterSize: number; readonly protocol: Protocol; readonly atMs: number };
