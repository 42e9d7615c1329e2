/**
 * Phase 2 of a leader: its window of slots in flight, the queue behind it,
 * batching, votes, heartbeats and commit notices.
 */
import type { Ballot } from '../ballot.js';
import type { NodeId } from '../types.js';
import type { LogValue, SlotValue } from './messages.js';

export interface InflightSlot {
  readonly value: LogValue;
  readonly votes: Set<NodeId>;
  sentTick: number;
}

export interface Leadership {
  readonly ballot: Ballot;
  readonly sinceTick: number;
  nextSlot: number;
  readonly inflight: Map<number, InflightSlot>;
  /** Values assigned a slot since the last `ready()`, sent together as one accept per peer. */
  outgoing: SlotValue[];
  /** Values waiting for a free slot in the in-flight window (bounded by maxPendingRequests). */
  readonly queue: LogValue[];
  /** Ids of the commands in `inflight` or `queue`: bounded by those two, emptied as they are chosen. */
  readonly undecided: Set<string>;
  /** Slots accepted locally since the last `ready()`, whose votes count once their records are durable. */
  unpersistedSelf: number[];
  /** Followers whose clients wait on a slot chosen since the last `ready()`. */
  readonly commitNotify: Set<NodeId>;
  heartbeatDueTick: number;
  /**
   * Every slot below this is chosen (some promise said so), but this leader
   * has not learned them all: it fetches them from `learnFrom` and never
   * proposes there.
   */
  decidedFloor: number;
  learnFrom: NodeId | null;
  /**
   * This leader proposed (or found) its epoch's stop-sign: it proposes
   * nothing after it, and what arrives meanwhile waits for the next epoch.
   */
  stopped: boolean;
}
