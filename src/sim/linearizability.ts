/**
 * A small linearizability checker (Wing & Gong's search with Lowe's
 * memoisation, as in Porcupine). A history is linearizable when every
 * operation can be given one instant between its call and its return such
 * that, in that order, a sequential model produces exactly the observed
 * results. Histories are checked per key (P-compositionality).
 *
 * An operation whose outcome the client never learned (a timeout, a crash)
 * stays open forever, as in etcd's robustness tests: it may take effect at
 * any instant after its call, or never.
 */

export interface Operation<I, O> {
  readonly clientId: number;
  readonly input: I;
  /** undefined while the client never learned the outcome: the op stays open forever. */
  readonly output?: O;
  readonly callTime: number;
  /** Infinity for an open operation. */
  readonly returnTime: number;
}

export interface Model<S, I, O> {
  readonly init: () => S;
  /** Whether `input` applied to `state` may return `output` (undefined: any output), and the next state. */
  readonly step: (state: S, input: I, output: O | undefined) => { ok: boolean; state: S };
  /** A stable string of a state, for memoisation. */
  readonly key: (state: S) => string;
}

export type CheckResult = { ok: true } | { ok: false; reason: string } | { ok: 'unknown'; reason: string };

interface Entry {
  readonly op: number;
  readonly isCall: boolean;
  readonly time: number;
  prev: Entry | null;
  next: Entry | null;
  match: Entry | null;
}

/** Calls and returns in time order; at equal times calls come first, so touching intervals count as overlapping. */
function buildEntries<I, O>(history: readonly Operation<I, O>[]): Entry {
  const raw: Entry[] = [];
  history.forEach((h, op) => {
    const call: Entry = { op, isCall: true, time: h.callTime, prev: null, next: null, match: null };
    raw.push(call);
    if (h.returnTime !== Infinity) {
      const ret: Entry = { op, isCall: false, time: h.returnTime, prev: null, next: null, match: null };
      call.match = ret;
      raw.push(ret);
    }
  });
  raw.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = { op: -1, isCall: false, time: -Infinity, prev: null, next: null, match: null };
  let last = head;
  for (const e of raw) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Takes an op's call and return out of the list once it is linearized. */
function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match;
  if (ret) {
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  }
}

/** Puts them back, in the reverse order of `lift`. */
function unlift(call: Entry): void {
  const ret = call.match;
  if (ret) {
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
  }
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], options: { maxSteps?: number } = {}): CheckResult {
  const maxSteps = options.maxSteps ?? 1_000_000;
  const head = buildEntries(history);
  let completedLeft = history.filter((h) => h.returnTime !== Infinity).length;
  let linearized = 0n;
  let state = model.init();
  const seen = new Set<string>();
  const stack: { call: Entry; state: S }[] = [];
  let deepest = 0;
  let stuckAt = -1;
  let entry = head.next;
  for (let steps = 0; completedLeft > 0; steps++) {
    if (steps >= maxSteps) return { ok: 'unknown', reason: `gave up after ${maxSteps} search steps over ${history.length} operations` };
    if (entry !== null && entry.isCall) {
      const h = history[entry.op]!;
      const r = model.step(state, h.input, h.output);
      const bits = linearized | (1n << BigInt(entry.op));
      const memo = `${bits.toString(36)}|${model.key(r.state)}`;
      if (r.ok && !seen.has(memo)) {
        seen.add(memo);
        stack.push({ call: entry, state });
        state = r.state;
        linearized = bits;
        if (h.returnTime !== Infinity) completedLeft--;
        lift(entry);
        entry = head.next;
      } else {
        entry = entry.next;
      }
      continue;
    }
    // A return (or the end) with its op not linearized: undo the last choice.
    if (stack.length > deepest || (stack.length === deepest && stuckAt < 0)) {
      deepest = stack.length;
      stuckAt = entry === null ? -1 : entry.op;
    }
    const top = stack.pop();
    if (top === undefined) return { ok: false, reason: explain(history, stuckAt, deepest) };
    unlift(top.call);
    state = top.state;
    linearized &= ~(1n << BigInt(top.call.op));
    if (history[top.call.op]!.returnTime !== Infinity) completedLeft++;
    entry = top.call.next;
  }
  return { ok: true };
}

function explain<I, O>(history: readonly Operation<I, O>[], stuckAt: number, deepest: number): string {
  const show = (h: Operation<I, O>) =>
    `client ${h.clientId} ${JSON.stringify(h.input)} → ${h.output === undefined ? '?' : JSON.stringify(h.output)} [${h.callTime}, ${h.returnTime}]`;
  const culprit = stuckAt >= 0 ? `; no order lets this one complete: ${show(history[stuckAt]!)}` : '';
  return `no order of the ${history.length} operations explains their results (at most ${deepest} could be placed)${culprit}`;
}

// ------------------------------------------------------------- key-value

export type KvInput = { op: 'set'; key: string; value: string } | { op: 'get'; key: string };
export type KvOutput = { value: string | null };

/** Multi-Paxos: a plain register per key. set returns its own value; get returns the current value or null. */
export const registerModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step: (state, input, output) => {
    if (input.op === 'set') return { ok: output === undefined || output.value === input.value, state: input.value };
    return { ok: output === undefined || output.value === state, state };
  },
  key: (state) => (state === null ? '∅' : `=${state}`),
};

/** Basic Paxos: a write-once register per key. Both set and get return the value chosen (set chooses its own if none was). */
export const writeOnceModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step: (state, input, output) => {
    const next = input.op === 'set' ? state ?? input.value : state;
    return { ok: output === undefined || output.value === next, state: next };
  },
  key: (state) => (state === null ? '∅' : `=${state}`),
};

export function partitionByKey<I extends { key: string }, O>(history: readonly Operation<I, O>[]): Map<string, Operation<I, O>[]> {
  const byKey = new Map<string, Operation<I, O>[]>();
  for (const h of history) {
    const list = byKey.get(h.input.key);
    if (list === undefined) byKey.set(h.input.key, [h]);
    else list.push(h);
  }
  return byKey;
}

export function checkKvHistory(
  model: Model<string | null, KvInput, KvOutput>,
  history: readonly Operation<KvInput, KvOutput>[],
): CheckResult & { key?: string } {
  // A read whose result nobody saw changes nothing and constrains nothing: leaving it out shrinks the search.
  const relevant = history.filter((h) => !(h.input.op === 'get' && h.output === undefined));
  for (const [key, ops] of partitionByKey(relevant)) {
    const result = checkLinearizable(model, ops);
    if (result.ok !== true) return { ...result, reason: `key ${key}: ${result.reason}`, key };
  }
  return { ok: true };
}
