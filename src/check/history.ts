/**
 * The recorded history of a `paxos check` run, in Jepsen's terms: every
 * client operation is an `invoke` followed by `ok`, `fail` (known not to have
 * taken effect) or `info` (unknown: it may take effect at any time after it
 * began, or never), with times from one monotonic clock; nemesis events are
 * recorded in the same stream. Written as `history.jsonl`, one event a line.
 */
import type { KvInput, KvOutput, Operation } from '../linearizability/checker.js';

export type Outcome = 'ok' | 'fail' | 'info';

export interface InvokeEvent {
  readonly type: 'invoke';
  /** The client (Jepsen's process) that made the call. */
  readonly process: number;
  readonly op: 'set' | 'get';
  readonly key: string;
  readonly value: string | null;
  /** The command's identity: the client's session and its sequence number there ('' when the replica numbers it). */
  readonly session: string;
  readonly seq: number;
  readonly node: number;
  readonly timeMs: number;
}

export interface CompletionEvent {
  readonly type: Outcome;
  readonly process: number;
  readonly seq: number;
  /** ok: the value written or read; otherwise null. */
  readonly value: string | null;
  /** The slot (Multi) the command was chosen in. */
  readonly slot?: number;
  readonly code?: string;
  readonly error?: string;
  readonly timeMs: number;
}

export interface NemesisEvent {
  readonly type: 'nemesis';
  readonly phase: 'start' | 'end';
  readonly kind: string;
  readonly description: string;
  readonly timeMs: number;
}

export type HistoryEvent = InvokeEvent | CompletionEvent | NemesisEvent;

/** One operation with its completion, as the checks and the report read it. */
export interface CompletedOp {
  readonly invoke: InvokeEvent;
  readonly completion: CompletionEvent | null;
}

/** Pairs each invoke with its completion; an invoke with none is treated as info (it never answered). */
export function pairOperations(events: readonly HistoryEvent[]): CompletedOp[] {
  const open = new Map<string, { invoke: InvokeEvent; completion: CompletionEvent | null }>();
  const ops: { invoke: InvokeEvent; completion: CompletionEvent | null }[] = [];
  for (const e of events) {
    if (e.type === 'nemesis') continue;
    const id = `${e.process}/${e.seq}`;
    if (e.type === 'invoke') {
      const op = { invoke: e, completion: null };
      open.set(id, op);
      ops.push(op);
      continue;
    }
    const op = open.get(id);
    if (op === undefined)
      throw new Error(`history: a completion of process ${e.process} seq ${e.seq} without its invoke`);
    op.completion = e;
    open.delete(id);
  }
  return ops;
}

/**
 * The operations for the linearizability checker: an ok has its result, an
 * info (or an op that never answered) stays open forever, a fail is left out
 * because it is known not to have happened.
 */
export function toOperations(ops: readonly CompletedOp[]): Operation<KvInput, KvOutput>[] {
  const out: Operation<KvInput, KvOutput>[] = [];
  for (const { invoke, completion } of ops) {
    if (completion?.type === 'fail') continue;
    const input: KvInput =
      invoke.op === 'set' ? { op: 'set', key: invoke.key, value: invoke.value ?? '' } : { op: 'get', key: invoke.key };
    if (completion?.type === 'ok') {
      out.push({
        clientId: invoke.process,
        input,
        output: { value: completion.value },
        callTime: invoke.timeMs,
        returnTime: completion.timeMs,
      });
    } else {
      out.push({ clientId: invoke.process, input, callTime: invoke.timeMs, returnTime: Infinity });
    }
  }
  return out;
}

export function toJsonl(events: readonly HistoryEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + (events.length > 0 ? '\n' : '');
}
