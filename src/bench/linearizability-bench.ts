/**
 * `npm run bench:lin`: how much a step of the linearizability search costs,
 * today's checker against the one it replaced (kept below as `legacy`, which
 * built a BigInt and its base-32 string for the memo key on every step).
 *
 * Both run the same search, in the same order, on the same seeded histories
 * of one register key, so their step counts agree and nanoseconds per step
 * compare the bookkeeping alone. A benchmark, not a test: figures depend on
 * the machine, so nothing here asserts a speed.
 */

import { must } from '../core/must.js';
import { Random } from '../core/random.js';
import {
  checkLinearizable,
  type KvInput,
  type KvOutput,
  type Model,
  type Operation,
  registerModel,
} from '../linearizability/checker.js';

type Op = Operation<KvInput, KvOutput>;

// ------------------------------------------------------------- legacy (the previous checker, verbatim but for its reasons)

type LegacyResult = { ok: true | false | 'unknown'; steps: number };

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
  must(e.prev, 'only the head has no previous entry, and it is never unlinked').next = e.next;
  if (e.next !== null) e.next.prev = e.prev;
}

function relink(e: Entry): void {
  must(e.prev, 'only the head has no previous entry, and it is never relinked').next = e;
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
function legacyCheck<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  maxSteps: number,
): LegacyResult {
  const head = buildEntries(history);
  // Open ops may be left out, so the search is done once every completed op is placed.
  let completedLeft = history.filter((h) => h.returnTime !== Infinity).length;
  let linearized = 0n;
  let state = model.init();
  const seen = new Set<string>();
  const stack: Frame<S>[] = [];
  const longest: Longest = { ops: [], stuckOp: -1 };
  let entry = head.next;
  let steps = 0;
  for (; completedLeft > 0; steps++) {
    if (steps >= maxSteps) return { ok: 'unknown', steps };
    if (entry?.isCall) {
      const h = history[entry.op];
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
    if (top === undefined) return { ok: false, steps };
    unlift(top.call);
    state = top.stateBefore;
    linearized &= ~(1n << BigInt(top.call.op));
    if (history[top.call.op].returnTime !== Infinity) completedLeft++;
    entry = top.call.next;
  }
  return { ok: true, steps };
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

// ------------------------------------------------------------- histories

interface Shape {
  readonly clients: number;
  readonly ops: number;
  /** The fraction of writes whose reply was lost: open forever, and half of them never took effect. */
  readonly openFraction: number;
  /** Whether one read in the second half returns a value overwritten long before (a stale read). */
  readonly stale: boolean;
}

interface Planned {
  readonly clientId: number;
  readonly isSet: boolean;
  readonly callTime: number;
  /** The instant the op takes effect; Infinity for a lost write that never does. */
  readonly effectTime: number;
  readonly returnTime: number;
}

/** Each client runs its ops one after another; each takes effect at an instant inside its interval. */
function plan(random: Random, shape: Shape): Planned[] {
  const clock = Array.from({ length: shape.clients }, () => random.int(0, 10));
  const planned: Planned[] = [];
  for (let i = 0; i < shape.ops; i++) {
    const clientId = i % shape.clients;
    const callTime = clock[clientId];
    const effectTime = callTime + random.int(1, 10);
    const returnTime = effectTime + random.int(1, 10);
    clock[clientId] = returnTime + random.int(0, 5);
    const isSet = random.chance(0.5);
    const open = isSet && random.chance(shape.openFraction);
    const lost = open && random.chance(0.5);
    planned.push({
      clientId,
      isSet,
      callTime,
      effectTime: lost ? Infinity : effectTime,
      returnTime: open ? Infinity : returnTime,
    });
  }
  return planned;
}

/** Runs the plan through a real register in effect order, so every output is one a correct store could give. */
function generate(seed: number, shape: Shape): Op[] {
  const random = new Random(seed);
  const planned = plan(random, shape);
  const order = planned.map((_, i) => i).sort((a, b) => planned[a].effectTime - planned[b].effectTime || a - b);
  const history: Op[] = new Array(planned.length);
  const written: string[] = [];
  let value: string | null = null;
  for (const i of order) {
    const p = planned[i];
    const base = { clientId: p.clientId, callTime: p.callTime, returnTime: p.returnTime };
    if (p.isSet) {
      const v = `v${i}`;
      if (p.effectTime !== Infinity) value = v;
      if (p.effectTime !== Infinity) written.push(v);
      history[i] =
        p.returnTime === Infinity
          ? { ...base, input: { op: 'set', key: 'x', value: v } }
          : { ...base, input: { op: 'set', key: 'x', value: v }, output: { value: v } };
    } else {
      history[i] = { ...base, input: { op: 'get', key: 'x' }, output: { value } };
    }
  }
  return shape.stale ? withStaleRead(history, written) : history;
}

/** Replaces the output of a read in the second half with the first value ever written. */
function withStaleRead(history: Op[], written: readonly string[]): Op[] {
  const i = history.findIndex(
    (h, j) => j > history.length / 2 && h.input.op === 'get' && h.output?.value !== written[0],
  );
  if (i < 0 || written.length === 0) return history;
  const copy = [...history];
  copy[i] = { ...history[i], output: { value: written[0] } };
  return copy;
}

// ------------------------------------------------------------- measuring

const MAX_STEPS = 2_000_000;

/** Open reads change nothing; both checkers get the history without them, as checkKvHistory hands it over. */
const withoutOpenReads = (history: Op[]): Op[] =>
  history.filter((h) => !(h.input.op === 'get' && h.output === undefined));

function time<T>(run: () => T): { result: T; seconds: number } {
  const startMs = performance.now();
  const result = run();
  return { result, seconds: (performance.now() - startMs) / 1000 };
}

interface Row {
  readonly name: string;
  readonly steps: number;
  readonly verdict: string;
  readonly legacySeconds: number;
  readonly newSeconds: number;
}

/** Runs per checker and history, the fastest counts, as other load on the machine only ever slows a run. */
const REPEATS = 3;

function fastest<T>(run: () => T): { result: T; seconds: number } {
  let best = time(run);
  for (let i = 1; i < REPEATS; i++) {
    const next = time(run);
    if (next.seconds < best.seconds) best = next;
  }
  return best;
}

function measure(name: string, history: Op[], model: Model<string | null, KvInput, KvOutput>): Row {
  const legacy = fastest(() => legacyCheck(model, history, MAX_STEPS));
  const current = fastest(() => checkLinearizable(model, history, { maxSteps: MAX_STEPS }));
  // The same search in the same order: a verdict or step count that differs (beyond the one step the old loop did not count) is a bug.
  if (legacy.result.ok !== current.result.ok || Math.abs(legacy.result.steps - current.result.steps) > 1) {
    throw new Error(
      `${name}: legacy ${legacy.result.ok} in ${legacy.result.steps} steps, new ${current.result.ok} in ${current.result.steps}`,
    );
  }
  return {
    name,
    steps: current.result.steps,
    verdict: String(current.result.ok),
    legacySeconds: legacy.seconds,
    newSeconds: current.seconds,
  };
}

const SHAPES: readonly (Shape & { name: string })[] = [
  { name: '4 clients, 100 ops', clients: 4, ops: 100, openFraction: 0.05, stale: false },
  { name: '8 clients, 500 ops', clients: 8, ops: 500, openFraction: 0.05, stale: false },
  { name: '16 clients, 1000 ops', clients: 16, ops: 1000, openFraction: 0.05, stale: false },
  { name: '16 clients, 2000 ops', clients: 16, ops: 2000, openFraction: 0.05, stale: false },
  { name: '4 clients, 100 ops, stale read', clients: 4, ops: 100, openFraction: 0.05, stale: true },
  { name: '8 clients, 500 ops, stale read', clients: 8, ops: 500, openFraction: 0.05, stale: true },
  { name: '16 clients, 1000 ops, stale read', clients: 16, ops: 1000, openFraction: 0.05, stale: true },
  { name: '16 clients, 2000 ops, stale read', clients: 16, ops: 2000, openFraction: 0.05, stale: true },
];

const SEED = 20261125;

const nsPerStep = (seconds: number, steps: number): string =>
  steps === 0 ? '-' : ((seconds * 1e9) / steps).toFixed(0);

function printRow(r: Row): void {
  const cells = [
    r.name.padEnd(34),
    r.verdict.padEnd(8),
    String(r.steps).padStart(9),
    r.legacySeconds.toFixed(3).padStart(8),
    r.newSeconds.toFixed(3).padStart(8),
    nsPerStep(r.legacySeconds, r.steps).padStart(8),
    nsPerStep(r.newSeconds, r.steps).padStart(8),
    (r.legacySeconds / r.newSeconds).toFixed(1).padStart(6),
  ];
  console.log(cells.join(' '));
}

function main(): void {
  // Warm both up so the first row does not pay for compilation.
  const warm = withoutOpenReads(generate(1, { clients: 8, ops: 300, openFraction: 0.05, stale: true }));
  measure('warm-up', warm, registerModel);
  console.log(
    `linearizability search, register model, seed ${SEED}, step budget ${MAX_STEPS}, best of ${REPEATS} runs each`,
  );
  console.log(
    [
      'history'.padEnd(34),
      'verdict'.padEnd(8),
      'steps'.padStart(9),
      'legacy s'.padStart(8),
      'new s'.padStart(8),
      'legacy'.padStart(8),
      'new'.padStart(8),
      'ratio'.padStart(6),
    ].join(' '),
  );
  console.log(
    `${''.padEnd(34)} ${''.padEnd(8)} ${''.padStart(9)} ${''.padStart(8)} ${''.padStart(8)} ${'ns/step'.padStart(8)} ${'ns/step'.padStart(8)}`,
  );
  for (const shape of SHAPES) printRow(measure(shape.name, withoutOpenReads(generate(SEED, shape)), registerModel));
}

main();
