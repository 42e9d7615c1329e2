/**
 * A small linearizability checker: Wing & Gong's search with Lowe's
 * memoisation, as in Porcupine (anishathalye/porcupine, checker.go).
 *
 * A history is linearizable when every operation can be given one instant
 * between its call and its return such that, taken in that order, a
 * sequential model produces exactly the observed results. Histories of a
 * key-value store are checked one key at a time (P-compositionality: the
 * whole history is linearizable iff every key's sub-history is), which keeps
 * each search small.
 *
 * An operation whose outcome the client never learned (a timeout, a crash)
 * stays open forever, as in etcd's robustness tests: it may take effect at
 * any instant after its call, or never.
 *
 * How the search works: calls and returns are laid out in one list in time
 * order. Walking from the front, the checker tries to linearize each call it
 * meets (apply it to the model now); on success the op's call and return
 * leave the list and the walk restarts from the front. Meeting a return
 * means that op had to take effect before this instant and nothing tried so
 * far allowed it, so the last choice is undone. A pair (set of linearized
 * ops, model state) that was reached before is never explored again: what
 * remains to be placed depends only on that pair.
 */

export interface Operation<I, O> {
  readonly clientId: number;
  readonly input: I;
  /** undefined while the client never learned the outcome (timeout, crash): the op stays open forever. */
  readonly output?: O;
  readonly callTime: number;
  /** Infinity for an open operation. */
  readonly returnTime: number;
}

export interface Model<S, I, O> {
  readonly init: () => S;
  /** Whether `input` applied to `state` may return `output` (output undefined = any output), and the next state. */
  readonly step: (state: S, input: I, output: O | undefined) => { ok: boolean; state: S };
  /** A stable string of a state, for memoisation. */
  readonly key: (state: S) => string;
  /** A short human description of one operation, for failure reasons; JSON when absent. */
  readonly describe?: (input: I, output: O | undefined) => string;
}

export type CheckResult = { ok: true } | { ok: false; reason: string } | { ok: 'unknown'; reason: string };

export interface CheckOptions {
  /** Search steps before giving up with `ok: 'unknown'`; it also bounds the memo table. */
  readonly maxSteps?: number;
}

export const DEFAULT_MAX_STEPS = 1_000_000;

/** A history that no recorder should produce (times out of order, an output on an open op): a bug in the caller. */
export class MalformedHistoryError extends Error {}

interface Entry {
  readonly op: number;
  readonly isCall: boolean;
  readonly time: number;
  prev: Entry | null;
  next: Entry | null;
  /** On a call: its return entry, null for an open op. */
  match: Entry | null;
}

/** A frame of the search stack: the call linearized and the state before it. */
interface Frame<S> {
  readonly call: Entry;
  readonly stateBefore: S;
}

function validate<I, O>(history: readonly Operation<I, O>[]): void {
  history.forEach((h, i) => {
    if (!Number.isFinite(h.callTime) || Number.isNaN(h.returnTime) || h.returnTime < h.callTime) {
      throw new MalformedHistoryError(`operation ${i} (client ${h.clientId}) has call time ${h.callTime} and return time ${h.returnTime}`);
    }
    // An open op may be left out of the linearization, so an output on it would go unchecked.
    if (h.returnTime === Infinity && h.output !== undefined) {
      throw new MalformedHistoryError(`operation ${i} (client ${h.clientId}) never returned but has an output`);
    }
  });
}

/**
 * Calls and returns in time order behind a sentinel head. At equal times calls
 * come first, so intervals that only touch count as overlapping: the recorder's
 * clock cannot tell which of two same-instant events happened first, and
 * assuming an order it cannot see could report a violation that never was.
 */
function buildEntries<I, O>(history: readonly Operation<I, O>[]): Entry {
  const raw: Entry[] = [];
  history.forEach((h, op) => {
    const call: Entry = { op, isCall: true, time: h.callTime, prev: null, next: null, match: null };
    raw.push(call);
    if (h.returnTime !== Infinity) {
      call.match = { op, isCall: false, time: h.returnTime, prev: null, next: null, match: null };
      raw.push(call.match);
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

function unlink(e: Entry): void {
  e.prev!.next = e.next;
  if (e.next !== null) e.next.prev = e.prev;
}

function relink(e: Entry): void {
  e.prev!.next = e;
  if (e.next !== null) e.next.prev = e;
}

/** Takes a linearized op's call and return out of the list. */
function lift(call: Entry): void {
  unlink(call);
  if (call.match !== null) unlink(call.match);
}

/** Puts them back, in the reverse order of `lift`, which restores every pointer. */
function unlift(call: Entry): void {
  if (call.match !== null) relink(call.match);
  relink(call);
}

/**
 * Checks one history against a sequential model. Returns `ok: 'unknown'`
 * when the search needs more than `maxSteps` steps (it is exponential in the
 * worst case), never hangs.
 */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], options: CheckOptions = {}): CheckResult {
  validate(history);
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const head = buildEntries(history);
  // Open ops may be left out, so the search is done once every completed op is placed.
  let completedLeft = history.filter((h) => h.returnTime !== Infinity).length;
  let linearized = 0n;
  let state = model.init();
  const seen = new Set<string>();
  const stack: Frame<S>[] = [];
  const longest: Longest = { ops: [], stuckOp: -1 };
  let entry = head.next;
  for (let steps = 0; completedLeft > 0; steps++) {
    if (steps >= maxSteps) return { ok: 'unknown', reason: `gave up after ${maxSteps} search steps over ${history.length} operations` };
    if (entry !== null && entry.isCall) {
      const h = history[entry.op]!;
      const next = model.step(state, h.input, h.output);
      const bits = linearized | (1n << BigInt(entry.op));
      // Radix 32 converts a BigInt in linear time (a power of two); radix 36 is several times slower on long histories.
      const memo = `${bits.toString(32)}|${model.key(next.state)}`;
      if (!next.ok || seen.has(memo)) {
        entry = entry.next;
        continue;
      }
      seen.add(memo);
      stack.push({ call: entry, stateBefore: state });
      state = next.state;
      linearized = bits;
      if (h.returnTime !== Infinity) completedLeft--;
      lift(entry);
      entry = head.next;
      continue;
    }
    // A return whose op is not linearized yet: nothing placed so far lets it take effect in time. Undo the last choice.
    noteDeadEnd(longest, stack, entry);
    const top = stack.pop();
    if (top === undefined) return { ok: false, reason: explain(model, history, longest) };
    unlift(top.call);
    state = top.stateBefore;
    linearized &= ~(1n << BigInt(top.call.op));
    if (history[top.call.op]!.returnTime !== Infinity) completedLeft++;
    entry = top.call.next;
  }
  return { ok: true };
}

/** The longest order of ops the search managed to place, and the op whose return then blocked it. */
interface Longest {
  ops: number[];
  stuckOp: number;
}

function noteDeadEnd<S>(longest: Longest, stack: readonly Frame<S>[], entry: Entry | null): void {
  if (longest.stuckOp >= 0 && stack.length <= longest.ops.length) return;
  longest.ops = stack.map((f) => f.call.op);
  longest.stuckOp = entry === null ? -1 : entry.op;
}

const SHOWN_PREFIX_OPS = 4;

function explain<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], longest: Longest): string {
  const show = (op: number): string => {
    const h = history[op]!;
    const what = model.describe?.(h.input, h.output) ?? `${JSON.stringify(h.input)} → ${h.output === undefined ? '?' : JSON.stringify(h.output)}`;
    return `client ${h.clientId} ${what} [${h.callTime}, ${h.returnTime === Infinity ? 'open' : h.returnTime}]`;
  };
  const placed = longest.ops;
  const tail = placed.slice(-SHOWN_PREFIX_OPS).map(show).join(', ');
  const prefix = placed.length === 0
    ? 'no operation can be placed first'
    : `at most ${placed.length} can be placed in a consistent order (${placed.length > SHOWN_PREFIX_OPS ? '…, ' : ''}${tail})`;
  const stuck = longest.stuckOp >= 0 ? `; then nothing can take effect before this one returned: ${show(longest.stuckOp)}` : '';
  const count = history.length === 1 ? '1 operation' : `${history.length} operations`;
  return `no order of the ${count} explains the results: ${prefix}${stuck}`;
}

// ------------------------------------------------------------- key-value

export type KvInput = { op: 'set'; key: string; value: string } | { op: 'get'; key: string };
export type KvOutput = { value: string | null };

const kvStateKey = (state: string | null): string => (state === null ? '∅' : `=${state}`);

function describeKv(input: KvInput, output: KvOutput | undefined): string {
  const result = output === undefined ? '?' : output.value === null ? 'null' : JSON.stringify(output.value);
  return input.op === 'set' ? `set ${input.key}=${JSON.stringify(input.value)} → ${result}` : `get ${input.key} → ${result}`;
}

/** Multi-Paxos: a plain register per key. set returns its own value; get returns the current value or null. */
export const registerModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step: (state, input, output) => {
    const next = input.op === 'set' ? input.value : state;
    const result = input.op === 'set' ? input.value : state;
    return { ok: output === undefined || output.value === result, state: next };
  },
  key: kvStateKey,
  describe: describeKv,
};

/**
 * Basic Paxos: a write-once register per key. set(v) on an unset key makes it
 * v; on a set key it changes nothing. Either way it returns the (now) chosen
 * value. get returns the chosen value or null.
 */
export const writeOnceModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step: (state, input, output) => {
    const next = input.op === 'set' ? state ?? input.value : state;
    return { ok: output === undefined || output.value === next, state: next };
  },
  key: kvStateKey,
  describe: describeKv,
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

/**
 * Checks a key-value history one key at a time. A definite violation on any
 * key wins over another key's 'unknown', so a search that gave up never hides
 * a bug found elsewhere. `key` names the key the result is about.
 */
export function checkKvHistory(
  model: Model<string | null, KvInput, KvOutput>,
  history: readonly Operation<KvInput, KvOutput>[],
  options: CheckOptions = {},
): CheckResult & { key?: string } {
  // A read whose result nobody saw changes nothing and constrains nothing: leaving it out shrinks the search.
  const relevant = history.filter((h) => !(h.input.op === 'get' && h.output === undefined));
  let unknown: (CheckResult & { key: string }) | null = null;
  for (const [key, ops] of partitionByKey(relevant)) {
    const result = checkLinearizable(model, ops, options);
    if (result.ok === false) return { ok: false, reason: `key ${key}: ${result.reason}`, key };
    if (result.ok === 'unknown' && unknown === null) unknown = { ok: 'unknown', reason: `key ${key}: ${result.reason}`, key };
  }
  return unknown ?? { ok: true };
}
