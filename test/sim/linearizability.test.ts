/**
 * The checker is only worth something if it says no to histories that are
 * not linearizable: each case below is small enough to verify by hand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../../src/core/random.js';
import {
  checkKvHistory, checkLinearizable, registerModel, writeOnceModel,
  type KvInput, type KvOutput, type Operation,
} from '../../src/sim/linearizability.js';

type Op = Operation<KvInput, KvOutput>;
const OPEN = Infinity;

function set(clientId: number, value: string, callTime: number, returnTime: number, key = 'x'): Op {
  return returnTime === OPEN
    ? { clientId, input: { op: 'set', key, value }, callTime, returnTime }
    : { clientId, input: { op: 'set', key, value }, output: { value }, callTime, returnTime };
}

function get(clientId: number, value: string | null, callTime: number, returnTime: number, key = 'x'): Op {
  return { clientId, input: { op: 'get', key }, output: { value }, callTime, returnTime };
}

function chosen(clientId: number, proposed: string, result: string, callTime: number, returnTime: number, key = 'x'): Op {
  return { clientId, input: { op: 'set', key, value: proposed }, output: { value: result }, callTime, returnTime };
}

const ok = (h: Op[], model = registerModel) => assert.equal(checkKvHistory(model, h).ok, true, JSON.stringify(checkKvHistory(model, h)));
const bad = (h: Op[], model = registerModel) => assert.equal(checkKvHistory(model, h).ok, false);

test('register: sequential writes and reads', () => {
  ok([set(1, 'a', 0, 1), get(2, 'a', 2, 3), set(1, 'b', 4, 5), get(2, 'b', 6, 7)]);
  ok([get(1, null, 0, 1), set(1, 'a', 2, 3)]);
});

test('register: a read concurrent with a write may see the old or the new value', () => {
  ok([set(1, 'a', 0, 1), set(1, 'b', 2, 10), get(2, 'a', 3, 4)]);
  ok([set(1, 'a', 0, 1), set(1, 'b', 2, 10), get(2, 'b', 3, 4)]);
});

test('register: a stale read after a write completed is not linearizable', () => {
  bad([set(1, 'a', 0, 1), set(1, 'b', 2, 3), get(2, 'a', 4, 5)]);
});

test('register: reads that see two sequential writes in the wrong order are not linearizable', () => {
  bad([set(1, '1', 0, 1), set(1, '2', 2, 3), get(2, '2', 4, 5), get(3, '1', 6, 7)]);
  // Even when the reads overlap the writes: once one read saw 2, a later read cannot see 1 again.
  bad([set(1, '1', 0, 10), set(1, '2', 11, 20), get(2, '2', 12, 13), get(3, '1', 14, 15)]);
});

test('register: an open write may take effect late, but cannot vanish once seen', () => {
  ok([set(1, 'a', 0, 1), set(2, 'b', 2, OPEN), get(3, 'a', 3, 4), get(3, 'b', 10, 11)]);
  ok([set(1, 'a', 0, 1), set(2, 'b', 2, OPEN), get(3, 'a', 3, 4), get(3, 'a', 10, 11)]);
  bad([set(1, 'a', 0, 1), set(2, 'b', 2, OPEN), get(3, 'b', 3, 4), get(3, 'a', 10, 11)]);
});

test('register: a read of a value nobody wrote is not linearizable', () => {
  bad([set(1, 'a', 0, 1), get(2, 'zzz', 2, 3)]);
});

test('keys are independent', () => {
  ok([set(1, 'a', 0, 1, 'x'), set(1, 'b', 2, 3, 'y'), get(2, 'a', 4, 5, 'x'), get(2, 'b', 4, 5, 'y')]);
  const r = checkKvHistory(registerModel, [set(1, 'a', 0, 1, 'x'), get(2, 'a', 2, 3, 'y')]);
  assert.equal(r.ok, false);
  assert.equal(r.key, 'y');
});

test('write-once: the first chosen value sticks; later proposals report it', () => {
  ok([chosen(1, '2', '7', 0, 10), chosen(2, '7', '7', 1, 9), get(3, '7', 11, 12)], writeOnceModel);
  ok([get(3, null, 0, 1), chosen(1, '2', '2', 2, 3), chosen(2, '9', '2', 4, 5)], writeOnceModel);
});

test('write-once: two different chosen values for one key are not linearizable', () => {
  bad([chosen(1, '2', '2', 0, 10), chosen(2, '7', '7', 1, 9)], writeOnceModel);
  bad([chosen(1, '2', '2', 0, 1), get(2, null, 2, 3)], writeOnceModel);
  bad([chosen(1, '2', '5', 0, 1)], writeOnceModel);
});

test('a random valid history (a real sequential run with widened intervals) passes; a planted wrong read fails', () => {
  const random = new Random(7);
  for (let round = 0; round < 50; round++) {
    const history: Op[] = [];
    let value: string | null = null;
    let t = 0;
    for (let i = 0; i < 30; i++) {
      t += 10;
      // The op takes effect at t; its interval is widened around that instant.
      const call = t - random.int(0, 15);
      const ret = t + random.int(0, 15);
      if (random.chance(0.5)) {
        value = `v${i}`;
        history.push(set(random.int(1, 4), value, call, ret));
      } else {
        history.push(get(random.int(1, 4), value, call, ret));
      }
    }
    ok(history);
    const i = history.findIndex((h) => h.input.op === 'get');
    if (i >= 0) {
      const mutated = [...history];
      mutated[i] = { ...history[i]!, output: { value: 'never-written' } };
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
