/**
 * The checker is only worth something if it says no to histories that are
 * not linearizable: each hand-made case below is small enough to verify by
 * hand, and a brute-force oracle (the definition, enumerated) cross-checks
 * thousands of small random histories.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../../src/core/random.js';
import {
  checkKvHistory,
  checkLinearizable,
  type KvInput,
  type KvOutput,
  MalformedHistoryError,
  type Model,
  type Operation,
  registerModel,
  writeOnceModel,
} from '../../src/linearizability/checker.js';

type Op = Operation<KvInput, KvOutput>;
type KvModel = Model<string | null, KvInput, KvOutput>;
const OPEN = Infinity;

/** A set that returned its own value, or an open one (returnTime OPEN) whose outcome nobody saw. */
function set(clientId: number, value: string, callTime: number, returnTime: number, key = 'x'): Op {
  return returnTime === OPEN
    ? { clientId, input: { op: 'set', key, value }, callTime, returnTime }
    : { clientId, input: { op: 'set', key, value }, output: { value }, callTime, returnTime };
}

function get(clientId: number, value: string | null, callTime: number, returnTime: number, key = 'x'): Op {
  return { clientId, input: { op: 'get', key }, output: { value }, callTime, returnTime };
}

/** A write-once proposal of `proposed` that reported `result` as the chosen value. */
function chosen(
  clientId: number,
  proposed: string,
  result: string,
  callTime: number,
  returnTime: number,
  key = 'x',
): Op {
  return { clientId, input: { op: 'set', key, value: proposed }, output: { value: result }, callTime, returnTime };
}

const ok = (h: Op[], model = registerModel) =>
  assert.equal(checkKvHistory(model, h).ok, true, JSON.stringify(checkKvHistory(model, h)));
const bad = (h: Op[], model = registerModel) => assert.equal(checkKvHistory(model, h).ok, false);

test('register: sequential writes and reads', () => {
  ok([set(1, 'a', 0, 1), get(2, 'a', 2, 3), set(1, 'b', 4, 5), get(2, 'b', 6, 7)]);
  ok([get(1, null, 0, 1), set(1, 'a', 2, 3)]);
  bad([set(1, 'a', 0, 1), get(2, null, 2, 3)]);
});

test('register: a read concurrent with a write may see the old or the new value', () => {
  ok([set(1, 'a', 0, 1), set(1, 'b', 2, 10), get(2, 'a', 3, 4)]);
  ok([set(1, 'a', 0, 1), set(1, 'b', 2, 10), get(2, 'b', 3, 4)]);
  // Intervals that only touch count as concurrent: the clock cannot order same-instant events.
  ok([set(1, 'a', 0, 1), set(1, 'b', 2, 4), get(2, 'a', 4, 5)]);
});

test('register: a stale read after a write completed is not linearizable', () => {
  bad([set(1, 'a', 0, 1), set(1, 'b', 2, 3), get(2, 'a', 4, 5)]);
});

test('register: reads that see two sequential writes in the wrong order are not linearizable', () => {
  bad([set(1, '1', 0, 1), set(1, '2', 2, 3), get(2, '2', 4, 5), get(3, '1', 6, 7)]);
  // Even when the reads overlap the writes: once one read saw 2, a later read cannot see 1 again.
  bad([set(1, '1', 0, 10), set(1, '2', 11, 20), get(2, '2', 12, 13), get(3, '1', 14, 15)]);
});

test('register: an open write may take effect late or never, but cannot vanish once seen', () => {
  ok([set(1, 'a', 0, 1), set(2, 'b', 2, OPEN), get(3, 'a', 3, 4), get(3, 'b', 10, 11)]);
  ok([set(1, 'a', 0, 1), set(2, 'b', 2, OPEN), get(3, 'a', 3, 4), get(3, 'a', 10, 11)]);
  bad([set(1, 'a', 0, 1), set(2, 'b', 2, OPEN), get(3, 'b', 3, 4), get(3, 'a', 10, 11)]);
  // An open write cannot take effect before it was called.
  bad([get(3, 'b', 0, 1), set(2, 'b', 2, OPEN)]);
});

test('register: a read of a value nobody wrote is not linearizable', () => {
  bad([set(1, 'a', 0, 1), get(2, 'zzz', 2, 3)]);
});

test('keys are independent', () => {
  ok([set(1, 'a', 0, 1, 'x'), set(1, 'b', 2, 3, 'y'), get(2, 'a', 4, 5, 'x'), get(2, 'b', 4, 5, 'y')]);
  const r = checkKvHistory(registerModel, [set(1, 'a', 0, 1, 'x'), get(2, 'a', 2, 3, 'y')]);
  assert.equal(r.ok, false);
  assert.deepEqual(r.violatingKeys, ['y']);
  assert.deepEqual(
    r.keys.map((k) => [k.key, k.ok]),
    [
      ['x', true],
      ['y', false],
    ],
  );
});

test('write-once: the first chosen value sticks; later proposals report it', () => {
  ok([chosen(1, '2', '7', 0, 10), chosen(2, '7', '7', 1, 9), get(3, '7', 11, 12)], writeOnceModel);
  ok([get(3, null, 0, 1), chosen(1, '2', '2', 2, 3), chosen(2, '9', '2', 4, 5)], writeOnceModel);
  // An open proposal may be the one that got chosen, or may never have taken effect.
  ok([set(1, '7', 0, OPEN), get(2, '7', 5, 6), chosen(3, '9', '7', 7, 8)], writeOnceModel);
  ok([set(1, '7', 0, OPEN), chosen(3, '9', '9', 7, 8)], writeOnceModel);
});

test('write-once: two different chosen values for one key are not linearizable', () => {
  bad([chosen(1, '2', '2', 0, 10), chosen(2, '7', '7', 1, 9)], writeOnceModel);
  bad([chosen(1, '2', '2', 0, 1), get(2, null, 2, 3)], writeOnceModel);
  bad([chosen(1, '2', '2', 0, 1), get(2, '7', 2, 3), chosen(3, '7', '7', 4, 5)], writeOnceModel);
});

test('write-once: a value nobody proposed cannot be chosen or read', () => {
  bad([chosen(1, '2', '5', 0, 1)], writeOnceModel);
  bad([chosen(1, '2', '2', 0, 5), get(2, '5', 1, 2)], writeOnceModel);
});

test('a failure names the key and the operation that could not be placed', () => {
  const r = checkKvHistory(registerModel, [set(1, 'a', 0, 1, 'k7'), set(1, 'b', 2, 3, 'k7'), get(2, 'a', 4, 5, 'k7')]);
  assert.equal(r.ok, false);
  assert.ok(r.ok === false && r.reason.startsWith('key k7: '), JSON.stringify(r));
  assert.match(
    r.ok === false ? r.reason : '',
    /at most 2 can be placed.*before this one returned: client 2 get k7 → "a" \[4, 5\]/,
  );
});

test('a definite violation on one key wins over a search that gave up on another', () => {
  const hard: Op[] = [];
  for (let i = 0; i < 30; i++) hard.push(set(i, `v${i}`, 0, 100, 'a'));
  hard.push(get(99, 'nope', 101, 102, 'a'));
  const history = [...hard, set(1, 'x', 0, 1, 'b'), get(2, 'y', 2, 3, 'b')];
  const r = checkKvHistory(registerModel, history, { maxSteps: 500 });
  assert.equal(r.ok, false);
  assert.deepEqual(r.violatingKeys, ['b']);
  assert.deepEqual(r.undecidedKeys, ['a']);
  assert.equal(checkKvHistory(registerModel, hard, { maxSteps: 500 }).ok, 'unknown');
});

test('a malformed history is a bug in the recorder and throws', () => {
  assert.throws(() => checkKvHistory(registerModel, [set(1, 'a', 5, 4)]), MalformedHistoryError);
  const openWithOutput: Op = {
    clientId: 1,
    input: { op: 'get', key: 'x' },
    output: { value: 'a' },
    callTime: 0,
    returnTime: OPEN,
  };
  assert.throws(() => checkLinearizable(registerModel, [openWithOutput]), MalformedHistoryError);
});

/** Linearizability by its definition: try every op that may go next (no pending op returned before its call). */
function bruteForce(model: KvModel, history: readonly Op[]): boolean {
  const place = (state: string | null, left: readonly Op[]): boolean => {
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

function randomSmallHistory(random: Random): Op[] {
  const history: Op[] = [];
  const values = ['a', 'b', 'c'];
  for (let i = 0, n = random.int(1, 6); i < n; i++) {
    const call = random.int(0, 8);
    const ret = random.chance(0.2) ? OPEN : call + random.int(0, 4);
    const input: KvInput = random.chance(0.5)
      ? { op: 'set', key: 'x', value: random.pick(values) }
      : { op: 'get', key: 'x' };
    // Mostly plausible outputs (a set reporting its own value), so both verdicts come up often.
    const plausible =
      input.op === 'set' && random.chance(0.6) ? input.value : random.chance(0.15) ? null : random.pick(values);
    const output = ret === OPEN ? undefined : { value: plausible };
    history.push({ clientId: i, input, ...(output === undefined ? {} : { output }), callTime: call, returnTime: ret });
  }
  return history;
}

test('the checker agrees with a brute-force oracle on thousands of small random histories', () => {
  const random = new Random(2024);
  for (const model of [registerModel, writeOnceModel]) {
    const verdicts = { yes: 0, no: 0 };
    for (let round = 0; round < 3000; round++) {
      const history = randomSmallHistory(random);
      const expected = bruteForce(model, history);
      assert.equal(checkLinearizable(model, history).ok, expected, JSON.stringify(history));
      verdicts[expected ? 'yes' : 'no']++;
    }
    // Both answers must occur often, or the comparison proves little.
    assert.ok(verdicts.yes > 300 && verdicts.no > 300, JSON.stringify(verdicts));
  }
});

/** A real sequential run: op i takes effect at 10·i, and its interval is widened around that instant; some writes never return. */
function randomValidHistory(random: Random): Op[] {
  const history: Op[] = [];
  let value: string | null = null;
  for (let i = 1; i <= 30; i++) {
    const t = i * 10;
    const call = t - random.int(0, 15);
    const ret = t + random.int(0, 15);
    if (random.chance(0.5)) {
      value = `v${i}`;
      history.push(set(random.int(1, 4), value, call, random.chance(0.1) ? OPEN : ret));
    } else {
      history.push(get(random.int(1, 4), value, call, ret));
    }
    // A write whose client crashed before sending it: open, and it never takes effect.
    if (random.chance(0.05)) history.push(set(9, `lost${i}`, call, OPEN));
  }
  return history;
}

test('a random valid history passes; the same with a read of a never-written value fails', () => {
  const random = new Random(7);
  for (let round = 0; round < 50; round++) {
    const history = randomValidHistory(random);
    ok(history);
    const i = history.findIndex((h) => h.input.op === 'get');
    if (i >= 0) {
      const mutated = [...history];
      mutated[i] = { ...history[i], output: { value: 'never-written' } };
      bad(mutated);
    }
  }
});

test('a search that is too large answers unknown instead of hanging', () => {
  const history: Op[] = [];
  for (let i = 0; i < 40; i++) history.push(set(i, `v${i}`, 0, 100));
  history.push(get(99, 'nope', 101, 102));
  const r = checkLinearizable(registerModel, history, { maxSteps: 1000 });
  assert.equal(r.ok, 'unknown');
});
