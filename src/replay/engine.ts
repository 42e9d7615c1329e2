/**
 * Replays one recorded incarnation: a fresh core built from the recorded
 * configuration and recovered state, exactly as the replica shell builds it,
 * is fed the recorded inputs in order and asked for a Ready wherever the
 * replica asked; each Ready's digest must equal the recorded one. The core is
 * pure, so any difference means the code (or the recording) differs from the
 * run: the first is reported and the incarnation's replay stops there.
 *
 * Whatever the replayed core hands out is shown to an observer, which is how
 * the cross-replica checks (checks.ts) see the run without this file knowing
 * about them.
 */

import type { BasicPaxos } from '../core/basic/replica.js';
import type { MultiPaxos } from '../core/multi/replica.js';
import type { Input, NodeId, NodeView, ProtocolCore, Ready } from '../core/types.js';
import { nodeName } from '../core/types.js';
import { digestReady } from '../node/input-log.js';
import { buildCore, type PeerMessage } from '../node/replica.js';
import type { Recording } from './read.js';

export interface Divergence {
  readonly node: NodeId;
  readonly incarnation: number;
  /** The Ready that differs, counting from 1 in its incarnation. */
  readonly ready: number;
  /** Inputs stepped before it, counting ticks, in its incarnation. */
  readonly step: number;
  /** The kind of the last input before it (`message prepare`, `request`, `tick`, `persisted`), or `start`. */
  readonly after: string;
  readonly recorded: string;
  readonly replayed: string;
  /** The core threw instead of handing out a Ready. */
  readonly error?: string;
}

export interface IncarnationReplay {
  readonly node: NodeId;
  readonly incarnation: number;
  readonly ending: Recording['ending'];
  readonly steps: number;
  readonly readies: number;
  readonly divergence: Divergence | null;
  /** The replicated map as the replayed core holds it at the end (Multi: applied; Basic: chosen keys). */
  readonly kv: ReadonlyMap<string, string>;
}

/** What the checks see of a replay. */
export interface ReplayObserver {
  started(rec: Recording): void;
  input(node: NodeId, input: Input<PeerMessage>): void;
  ready(node: NodeId, ready: Ready<PeerMessage, unknown>): void;
}

export function replayIncarnation(rec: Recording, observer: ReplayObserver): IncarnationReplay {
  const { node, incarnation } = rec.start;
  observer.started(rec);
  const core = buildCore(rec.start.protocol, rec.start.config, rec.start.recovered, rec.start.snapshot);
  let steps = 0;
  let readies = 0;
  let after = 'start';
  const result = (divergence: Divergence | null): IncarnationReplay => ({
    node,
    incarnation,
    ending: rec.ending,
    steps,
    readies,
    divergence,
    kv: kvOf(rec.start.protocol, core),
  });
  const diverged = (recorded: string, replayed: string, error?: string): IncarnationReplay =>
    result({
      node,
      incarnation,
      ready: readies + 1,
      step: steps,
      after,
      recorded,
      replayed,
      ...(error !== undefined ? { error } : {}),
    });
  for (const line of rec.steps) {
    if (line.t === 'ready') {
      let outcome: { ready: Ready<PeerMessage, unknown>; view: NodeView };
      try {
        outcome = { ready: core.ready(), view: core.view() };
      } catch (err) {
        return diverged(line.digest, 'a throw', (err as Error).message);
      }
      const digest = digestReady(outcome.ready, outcome.view);
      if (digest !== line.digest) return diverged(line.digest, digest);
      readies++;
      observer.ready(node, outcome.ready);
      continue;
    }
    const inputs =
      line.t === 'ticks'
        ? { input: { type: 'tick' } as Input<PeerMessage>, times: line.count }
        : { input: line.input as Input<PeerMessage>, times: 1 };
    after = kindOf(inputs.input);
    try {
      for (let i = 0; i < inputs.times; i++) {
        observer.input(node, inputs.input);
        core.step(inputs.input);
        steps++;
      }
    } catch (err) {
      return diverged('a Ready', 'a throw while stepping', (err as Error).message);
    }
  }
  return result(null);
}

/** `message accept`, `request set x`, `tick`, `persisted`: enough to find the input in the log. */
export function kindOf(input: Input<PeerMessage>): string {
  if (input.type === 'message') return `message ${input.message.type} from ${nodeName(input.message.from)}`;
  if (input.type === 'request') {
    const c = input.request.command;
    return `request ${c.op}${c.op === 'config' || c.op === 'register' ? '' : ` ${c.key}`}`;
  }
  return input.type;
}

function kvOf(protocol: 'multi' | 'basic', core: ProtocolCore<PeerMessage, unknown>): ReadonlyMap<string, string> {
  if (protocol === 'multi') return new Map((core as unknown as MultiPaxos).inspect().kv);
  return new Map([...(core as unknown as BasicPaxos).inspect().chosen].map(([k, c]) => [k, c.value]));
}
