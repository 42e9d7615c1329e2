/**
 * The compare-and-set register and the append-only list, by hand and against
 * an oracle: linearizability by its definition, enumerated, over thousands of
 * small seeded random histories with failed (left out) and unknown-outcome
 * (open) operations. Each model's histories must come out linearizable and
 * not linearizable in real numbers, or the agreement would prove little.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { Random } from '../../src/core/random.js';
import {
  type AppendInput,
  type AppendOutput,
  appendListModel,
  type CasInput,
  type CasOutput,
  casRegisterModel,
  checkKvHistory,
  checkLinearizable,
  type KvInput,
  type KvOutput,
  type Model,
  type Operation,
  registerModel,
  writeOnceModel,
} from '../../src/linearizability/checker.js';

const OPEN = Infinity;

// ------------------------------------------------------------- hand-made cases

type CasOp = Operation<CasInput, CasOutput>;

const cset = (c: number, value: string, a: number, b: number, key = 'x'): CasOp => ({
  clientId: c,
  input: { op: 'set', key, value },
  output: { ok: true },
  callTime: a,
  returnTime: b,
});
const cget = (c: number, value: string | null, a: number, b: number, key = 'x'): CasOp => ({
  clientId: c,
  input: { op: 'get', key },
  output: { value },
  callTime: a,
  returnTime: b,
});
const cas = (
  c: number,
  expect: string | null,
  value: string,
  ok: boolean | undefined,
  a: number,
  b: number,
  key = 'x',
): CasOp =>
  ok === undefined
    ? { clientId: c, input: { op: 'cas', key, expect, value }, callTime: a, returnTime: OPEN }
    : { clientId: c, input: { op: 'cas', key, expect, value }, output: { ok }, callTime: a, returnTime: b };

const verdict = <S, I extends { key: string }, O>(model: Model<S, I, O>, h: Operation<I, O>[]) =>
  checkKvHistory(model, h).ok;

test('cas register: a successful cas needs the expected value, a failed one needs another', () => {
  assert.equal(verdict(casRegisterModel, [cset(1, 'a', 0, 1), cas(2, 'a', 'b', true, 2, 3), cget(3, 'b', 4, 5)]), true);
  assert.equal(verdict(casRegisterModel, [cset(1, 'a', 0, 1), cas(2, 'z', 'b', true, 2, 3)]), false);
  assert.equal(verdict(casRegisterModel, [cset(1, 'a', 0, 1), cas(2, 'a', 'b', false, 2, 3)]), false);
  assert.equal(verdict(casRegisterModel, [cas(1, null, 'a', true, 0, 1), cget(2, 'a', 2, 3)]), true);
});

test('cas register: two concurrent cas from the same value cannot both succeed', () => {
  assert.equal(
    verdict(casRegisterModel, [cset(1, 'a', 0, 1), cas(2, 'a', 'b', true, 2, 5), cas(3, 'a', 'c', true, 2, 5)]),
    false,
  );
  assert.equal(
    verdict(casRegisterModel, [cset(1, 'a', 0, 1), cas(2, 'a', 'b', true, 2, 5), cas(3, 'a', 'c', false, 2, 5)]),
    true,
  );
  // An open cas may have taken effect: it explains a later read of its value.
  assert.equal(
    verdict(casRegisterModel, [cset(1, 'a', 0, 1), cas(2, 'a', 'b', undefined, 2, OPEN), cget(3, 'b', 6, 7)]),
    true,
  );
});

test('cas register: a failure reason describes the cas', () => {
  const r = checkKvHistory(casRegisterModel, [cset(1, 'a', 0, 1), cas(2, 'z', 'b', true, 2, 3)]);
  assert.match(r.ok === false ? r.reason : '', /cas x "z"→"b" → ok \[2, 3\]/);
});

type ListOp = Operation<AppendInput, AppendOutput>;

const append = (c: number, value: string, a: number, b: number, key = 'x'): ListOp =>
  b === OPEN
    ? { clientId: c, input: { op: 'append', key, value }, callTime: a, returnTime: OPEN }
    : { clientId: c, input: { op: 'append', key, value }, output: { ok: true }, callTime: a, returnTime: b };
const read = (c: number, list: string[], a: number, b: number, key = 'x'): ListOp => ({
  clientId: c,
  input: { op: 'read', key },
  output: { list },
  callTime: a,
  returnTime: b,
});

test('append list: reads see a growing list in one order', () => {
  assert.equal(verdict(appendListModel, [append(1, '1', 0, 1), append(2, '2', 2, 3), read(3, ['1', '2'], 4, 5)]), true);
  assert.equal(
    verdict(appendListModel, [append(1, '1', 0, 1), append(2, '2', 2, 3), read(3, ['2', '1'], 4, 5)]),
    false,
  );
  // Concurrent appends may land in either order, but every reader must see the same one.
  assert.equal(verdict(appendListModel, [append(1, '1', 0, 5), append(2, '2', 0, 5), read(3, ['2', '1'], 6, 7)]), true);
  assert.equal(
    verdict(appendListModel, [
      append(1, '1', 0, 5),
      append(2, '2', 0, 5),
      read(3, ['2', '1'], 6, 7),
      read(4, ['1', '2'], 6, 7),
    ]),
    false,
  );
  // An open append may show up late, and a value never appended may not show up at all.
  assert.equal(verdict(appendListModel, [append(1, '1', 0, OPEN), read(3, [], 1, 2), read(3, ['1'], 3, 4)]), true);
  assert.equal(verdict(appendListModel, [append(1, '1', 0, 1), read(3, ['1', '9'], 3, 4)]), false);
});

// ------------------------------------------------------------- the oracle

/**
 * Tries every order consistent with real time: an op may go next only if no
 * op still to be placed returned before it was called (touching intervals
 * count as concurrent). An open op may also be left out entirely, so the
 * search succeeds as soon as only open ops remain.
 */
function bruteForce<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[]): boolean {
  const place = (state: S, left: readonly Operation<I, O>[]): boolean => {
    if (left.every((h) => h.returnTime === OPEN)) return true;
    return left.some((h, i) => {
      if (left.some((o) => o.returnTime < h.callTime)) return false;
      const r = model.step(state, h.input, h.output);
      return (
        r.ok &&
        place(
          r.state,
          left.filter((_, j) => j !== i),
        )
      );
    });
  };
  return place(model.init(), history);
}

/** Each key's sub-history checked by the oracle; the whole is linearizable iff each is. */
function bruteForceByKey<S, I extends { key: string }, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
): Map<string, boolean> {
  const byKey = new Map<string, Operation<I, O>[]>();
  for (const h of history) byKey.set(h.input.key, [...(byKey.get(h.input.key) ?? []), h]);
  return new Map([...byKey].map(([key, ops]) => [key, bruteForce(model, ops)]));
}

/**
 * The same definition with memoisation on (ops placed, state), written
 * independently of the checker (no entry list, sets as strings), for
 * histories of a hundred ops: long enough that the checker's bitset spans
 * several 32-bit words, which the small histories above never reach.
 */
function memoisedOracle<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[]): boolean {
  const placed = history.map(() => false);
  const failed = new Set<string>();
  const place = (state: S): boolean => {
    const left = history.filter((_, i) => !placed[i]);
    if (left.every((h) => h.returnTime === OPEN)) return true;
    const memo = `${placed.map((p) => (p ? 1 : 0)).join('')}|${model.key(state)}`;
    if (failed.has(memo)) return false;
    const earliestReturn = Math.min(...left.map((h) => h.returnTime));
    for (let i = 0; i < history.length; i++) {
      const h = history[i];
      if (placed[i] || earliestReturn < h.callTime) continue;
      const r = model.step(state, h.input, h.output);
      if (!r.ok) continue;
      placed[i] = true;
      const found = place(r.state);
      placed[i] = false;
      if (found) return true;
    }
    failed.add(memo);
    return false;
  };
  return place(model.init());
}

// ------------------------------------------------------------- random histories

/** What the generator needs to know about a model's operations, beyond the model. */
interface OpKind<S, I, O> {
  readonly input: (random: Random, key: string, serial: number) => I;
  /** The output a correct store gives, from the state before the op. */
  readonly output: (state: S, input: I) => O;
  /** A different output than the one observed, or undefined when there is none worth trying. */
  readonly spoil: (random: Random, input: I, output: O) => O | undefined;
}

interface Shape {
  readonly maxOps: number;
  readonly keys: readonly string[];
  /** Calls fall in [0, callRange]: with a range small against the op count, most ops overlap. */
  readonly callRange: number;
}

/** The chance that an op's reply was lost: open forever, and half of those never took effect. */
const OPEN_CHANCE = 0.15;
/** The chance that an op failed (the store said it did nothing): a recorder leaves it out. */
const FAILED_CHANCE = 0.1;
/** The chance that one completed op's output is replaced by a wrong one. */
const SPOIL_CHANCE = 0.5;

interface Planned<I> {
  readonly clientId: number;
  readonly input: I;
  readonly callTime: number;
  readonly effectTime: number;
  readonly returnTime: number;
  readonly fate: 'completed' | 'open-applied' | 'open-lost' | 'failed';
}

function planOps<S, I, O>(random: Random, kind: OpKind<S, I, O>, shape: Shape): Planned<I>[] {
  const planned: Planned<I>[] = [];
  for (let i = 0, n = random.int(1, shape.maxOps); i < n; i++) {
    const callTime = random.int(0, shape.callRange);
    const effectTime = callTime + random.int(0, 3);
    const returnTime = effectTime + random.int(0, 3);
    const open = random.chance(OPEN_CHANCE);
    const fate = random.chance(FAILED_CHANCE)
      ? 'failed'
      : !open
        ? 'completed'
        : random.chance(0.5)
          ? 'open-applied'
          : 'open-lost';
    planned.push({
      clientId: i,
      input: kind.input(random, random.pick(shape.keys), i),
      callTime,
      effectTime,
      returnTime,
      fate,
    });
  }
  return planned;
}

/** Runs the ops that took effect through the model in effect order, per key, and returns each one's real output. */
function realOutputs<S, I extends { key: string }, O>(
  model: Model<S, I, O>,
  kind: OpKind<S, I, O>,
  planned: readonly Planned<I>[],
): Map<number, O> {
  const order = planned.map((_, i) => i).sort((a, b) => planned[a].effectTime - planned[b].effectTime || a - b);
  const states = new Map<string, S>();
  const outputs = new Map<number, O>();
  for (const i of order) {
    const p = planned[i]!;
    if (p.fate === 'failed' || p.fate === 'open-lost') continue;
    const before = states.has(p.input.key) ? states.get(p.input.key)! : model.init();
    outputs.set(i, kind.output(before, p.input));
    states.set(p.input.key, model.step(before, p.input, undefined).state);
  }
  return outputs;
}

/**
 * A history a correct store could produce (each op takes effect at an instant
 * inside its interval), then, by chance, one output spoiled, which mostly but
 * not always makes it wrong: the oracle decides.
 */
function randomSmallHistory<S, I extends { key: string }, O>(
  random: Random,
  model: Model<S, I, O>,
  kind: OpKind<S, I, O>,
  shape: Shape,
): Operation<I, O>[] {
  const planned = planOps(random, kind, shape);
  const outputs = realOutputs(model, kind, planned);
  const history: Operation<I, O>[] = [];
  planned.forEach((p, i) => {
    if (p.fate === 'failed') return;
    const base = { clientId: p.clientId, input: p.input, callTime: p.callTime };
    history.push(
      p.fate === 'completed'
        ? { ...base, output: outputs.get(i), returnTime: p.returnTime }
        : { ...base, returnTime: OPEN },
    );
  });
  return random.chance(SPOIL_CHANCE) ? spoilOne(random, kind, history) : history;
}

function spoilOne<S, I, O>(random: Random, kind: OpKind<S, I, O>, history: Operation<I, O>[]): Operation<I, O>[] {
  const completed = history.map((_, i) => i).filter((i) => history[i].output !== undefined);
  if (completed.length === 0) return history;
  const i = random.pick(completed);
  const h = history[i];
  const spoiled = kind.spoil(random, h.input, h.output!);
  if (spoiled === undefined) return history;
  const copy = [...history];
  copy[i] = { ...h, output: spoiled };
  return copy;
}

const VALUES = ['a', 'b', 'c'];

const registerKind: OpKind<string | null, KvInput, KvOutput> = {
  input: (random, key) => (random.chance(0.5) ? { op: 'set', key, value: random.pick(VALUES) } : { op: 'get', key }),
  output: (state, input) => ({ value: input.op === 'set' ? input.value : state }),
  spoil: (random) => ({ value: random.chance(0.2) ? null : random.pick(VALUES) }),
};

const writeOnceKind: OpKind<string | null, KvInput, KvOutput> = {
  ...registerKind,
  output: (state, input) => ({ value: input.op === 'set' ? (state ?? input.value) : state }),
};

const casKind: OpKind<string | null, CasInput, CasOutput> = {
  input: (random, key) => {
    const roll = random.next();
    if (roll < 0.3) return { op: 'set', key, value: random.pick(VALUES) };
    if (roll < 0.6) return { op: 'get', key };
    return { op: 'cas', key, expect: random.chance(0.2) ? null : random.pick(VALUES), value: random.pick(VALUES) };
  },
  output: (state, input) => {
    if (input.op === 'get') return { value: state };
    return { ok: input.op === 'set' || state === input.expect };
  },
  spoil: (random, input, output) => {
    if (input.op === 'get') return { value: random.chance(0.2) ? null : random.pick(VALUES) };
    return input.op === 'cas' && 'ok' in output ? { ok: !output.ok } : undefined;
  },
};

const appendKind: OpKind<readonly string[], AppendInput, AppendOutput> = {
  // Appended values are unique, as in Jepsen's list-append, so a read names exactly which appends it saw.
  input: (random, key, serial) =>
    random.chance(0.55) ? { op: 'append', key, value: String(serial) } : { op: 'read', key },
  output: (state, input) => (input.op === 'append' ? { ok: true } : { list: [...state] }),
  spoil: (random, input, output) => {
    if (input.op === 'append' || !('list' in output)) return undefined;
    const list = [...output.list];
    if (list.length >= 2 && random.chance(0.5)) {
      [list[0], list[1]] = [list[1], list[0]];
      return { list };
    }
    return random.chance(0.5) && list.length > 0 ? { list: list.slice(0, -1) } : { list: [...list, '99'] };
  },
};

/** Compares the checker with the oracle on `rounds` histories and returns how many came out each way. */
function compareWithOracle<S, I extends { key: string }, O>(
  seed: number,
  model: Model<S, I, O>,
  kind: OpKind<S, I, O>,
  shape: Shape,
  rounds: number,
): { linearizable: number; violating: number } {
  const random = new Random(seed);
  const counts = { linearizable: 0, violating: 0 };
  for (let round = 0; round < rounds; round++) {
    const history = randomSmallHistory(random, model, kind, shape);
    const expected = bruteForceByKey(model, history);
    const result = checkKvHistory(model, history);
    const expectedViolating = [...expected]
      .filter(([, ok]) => !ok)
      .map(([key]) => key)
      .sort();
    assert.deepEqual([...result.violatingKeys].sort(), expectedViolating, JSON.stringify(history));
    assert.equal(result.ok, expectedViolating.length === 0, JSON.stringify(history));
    assert.deepEqual(result.undecidedKeys, []);
    counts[expectedViolating.length === 0 ? 'linearizable' : 'violating']++;
  }
  return counts;
}

const ROUNDS = 2000;
/** Each verdict must come up in at least this share of the rounds, or the comparison could pass vacuously. */
const MIN_SHARE = 0.15;

function assertBothVerdicts(
  counts: { linearizable: number; violating: number },
  rounds: number,
  context: TestContext,
): void {
  context.diagnostic(`${counts.linearizable} linearizable, ${counts.violating} not`);
  const floor = rounds * MIN_SHARE;
  assert.ok(counts.linearizable > floor && counts.violating > floor, JSON.stringify(counts));
}

const ONE_KEY: Shape = { maxOps: 7, keys: ['x'], callRange: 12 };
const TWO_KEYS: Shape = { maxOps: 8, keys: ['x', 'y'], callRange: 12 };

/** One oracle test per model; generic, so each model keeps its own operation types without a cast. */
function oracleTest<S, I extends { key: string }, O>(
  name: string,
  seed: number,
  model: Model<S, I, O>,
  kind: OpKind<S, I, O>,
): void {
  test(`${name}: the checker agrees with the oracle on ${ROUNDS} random one-key histories`, (t) => {
    assertBothVerdicts(compareWithOracle(seed, model, kind, ONE_KEY, ROUNDS), ROUNDS, t);
  });
}

oracleTest('register', 1, registerModel, registerKind);
oracleTest('write-once register', 2, writeOnceModel, writeOnceKind);
oracleTest('cas register', 3, casRegisterModel, casKind);
oracleTest('append list', 4, appendListModel, appendKind);

test(`cas register: the checker agrees with the oracle key by key on ${ROUNDS} random two-key histories`, (t) => {
  assertBothVerdicts(compareWithOracle(12, casRegisterModel, casKind, TWO_KEYS, ROUNDS), ROUNDS, t);
});

test('append list: the checker agrees with the oracle key by key on random two-key histories', (t) => {
  assertBothVerdicts(compareWithOracle(13, appendListModel, appendKind, TWO_KEYS, ROUNDS), ROUNDS, t);
});

test('checkLinearizable agrees with checkKvHistory on one key, open reads included', () => {
  const random = new Random(14);
  for (let round = 0; round < 500; round++) {
    const history = randomSmallHistory(random, casRegisterModel, casKind, ONE_KEY);
    assert.equal(
      checkLinearizable(casRegisterModel, history).ok,
      checkKvHistory(casRegisterModel, history).ok,
      JSON.stringify(history),
    );
  }
});

test('register: the checker agrees with a memoised oracle on 200 random histories of up to 70 ops', (t) => {
  const random = new Random(15);
  // Sparse in time (a few ops in flight at once), so that the oracle, which is far slower than the checker, stays quick.
  const shape: Shape = { maxOps: 70, keys: ['x'], callRange: 250 };
  const counts = { linearizable: 0, violating: 0 };
  for (let round = 0; round < 200; round++) {
    const history = randomSmallHistory(random, registerModel, registerKind, shape);
    const expected = memoisedOracle(registerModel, history);
    const result = checkLinearizable(registerModel, history);
    assert.equal(result.ok, expected, `${JSON.stringify(result)} on ${JSON.stringify(history)}`);
    counts[expected ? 'linearizable' : 'violating']++;
  }
  t.diagnostic(`${counts.linearizable} linearizable, ${counts.violating} not`);
  assert.ok(counts.linearizable > 30 && counts.violating > 30, JSON.stringify(counts));
});
