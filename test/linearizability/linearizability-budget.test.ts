/**
 * Every key is checked, and a search that gave up is never a pass: a hard
 * key (one the step or time budget cannot finish) must neither hide a
 * violation on another key nor let the history through.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkKvHistory,
  checkLinearizable,
  type KvInput,
  type KvOutput,
  type Operation,
  registerModel,
} from '../../src/linearizability/checker.js';

type Op = Operation<KvInput, KvOutput>;

const set = (clientId: number, value: string, callTime: number, returnTime: number, key: string): Op => ({
  clientId,
  input: { op: 'set', key, value },
  output: { value },
  callTime,
  returnTime,
});
const get = (clientId: number, value: string | null, callTime: number, returnTime: number, key: string): Op => ({
  clientId,
  input: { op: 'get', key },
  output: { value },
  callTime,
  returnTime,
});

/**
 * Key `x` written v0…v15 by 16 clients all over [0, 100], then read as v0:
 * linearizable (v0 went last), but the search tries v0 first and must rule
 * out every order of the others before it finds that, which takes 1,966,262
 * steps, more than the default budget of 10^6.
 */
function hardKey(writers = 16): Op[] {
  const history: Op[] = [];
  for (let i = 0; i < writers; i++) history.push(set(i, `v${i}`, 0, 100, 'x'));
  history.push(get(99, 'v0', 101, 102, 'x'));
  return history;
}

/** Key `y`: set a, then a read of b that nobody wrote. */
const brokenKey = (): Op[] => [set(1, 'a', 0, 1, 'y'), get(2, 'b', 2, 3, 'y')];

test('a key the search gives up on does not mask a violation on another key', () => {
  const r = checkKvHistory(registerModel, [...hardKey(), ...brokenKey()], { maxSteps: 5_000 });
  assert.equal(r.ok, false);
  assert.deepEqual(r.violatingKeys, ['y']);
  assert.deepEqual(r.undecidedKeys, ['x']);
  assert.match(r.ok === false ? r.reason : '', /^key y: .*; undecided: x$/);
  // The smaller key is checked first.
  assert.deepEqual(
    r.keys.map((k) => [k.key, k.ok]),
    [
      ['y', false],
      ['x', 'unknown'],
    ],
  );
  assert.equal(r.keys[1].steps, 5_000);
  assert.equal(r.steps, r.keys[0].steps + 5_000);
});

test('the hard key alone is unknown, not a pass, under the default budget', () => {
  const r = checkKvHistory(registerModel, hardKey());
  assert.equal(r.ok, 'unknown');
  assert.deepEqual(r.undecidedKeys, ['x']);
  assert.match(r.ok === 'unknown' ? r.reason : '', /^key x: gave up after 1000000 search steps over 17 operations/);
});

test('a key that needs more than the first short try is resumed, not restarted', () => {
  // 12 writers need about 68,000 steps: more than the first pass gives, well inside the default budget.
  const alone = checkLinearizable(registerModel, hardKey(12));
  assert.equal(alone.ok, true);
  assert.ok(alone.steps > 10_000, String(alone.steps));
  const r = checkKvHistory(registerModel, [...hardKey(12), set(1, 'a', 0, 1, 'z')]);
  assert.equal(r.ok, true);
  assert.deepEqual(
    r.keys.map((k) => [k.key, k.ok]),
    [
      ['z', true],
      ['x', true],
    ],
  );
  assert.equal(r.keys[1].steps, alone.steps);
});

test('every key is checked and every violating key named, smallest first', () => {
  const history = [
    set(1, 'a', 0, 1, 'k3'),
    set(1, 'b', 2, 3, 'k3'),
    get(2, 'a', 4, 5, 'k3'),
    ...brokenKey(),
    set(1, 'a', 0, 1, 'ok'),
    get(2, 'a', 2, 3, 'ok'),
    get(2, 'a', 4, 5, 'ok'),
    get(2, 'a', 6, 7, 'ok'),
  ];
  const r = checkKvHistory(registerModel, history);
  assert.equal(r.ok, false);
  assert.deepEqual(r.violatingKeys, ['y', 'k3']);
  assert.deepEqual(r.undecidedKeys, []);
  assert.deepEqual(
    r.keys.map((k) => [k.key, k.ok]),
    [
      ['y', false],
      ['k3', false],
      ['ok', true],
    ],
  );
  assert.match(r.ok === false ? r.reason : '', /^key y: .*; also not linearizable: k3$/);
  assert.equal(r.keys[2].reason, undefined);
});

test('a spent time budget gives unknown, never a pass', () => {
  const r = checkKvHistory(registerModel, hardKey(), { deadlineMs: 0 });
  assert.equal(r.ok, 'unknown');
  assert.deepEqual(r.undecidedKeys, ['x']);
  assert.match(r.ok === 'unknown' ? r.reason : '', /time budget of 0 ms ran out/);
  assert.equal(checkLinearizable(registerModel, hardKey(), { deadlineMs: 0 }).ok, 'unknown');
});

/** 20 writers: tens of millions of steps, so only the time budget can stop the search. */
const NO_STEP_CAP = { maxSteps: Number.MAX_SAFE_INTEGER };

test('a short time budget stops a long search soon after it runs out', () => {
  const startMs = performance.now();
  const r = checkKvHistory(registerModel, hardKey(20), { ...NO_STEP_CAP, deadlineMs: 20 });
  const tookMs = performance.now() - startMs;
  assert.equal(r.ok, 'unknown');
  assert.match(
    r.ok === 'unknown' ? r.reason : '',
    /gave up after \d+ search steps over 21 operations: the time budget of 20 ms ran out/,
  );
  assert.ok(r.steps > 0, String(r.steps));
  // Generous: the clock is read every 1024 steps, well under a millisecond apart, but the machine may be busy.
  assert.ok(tookMs < 1_000, `${tookMs} ms`);
});

test('with a time budget, keys already decided keep their verdict', () => {
  // Generous enough for the small key on a busy machine; the large one cannot finish in it.
  const r = checkKvHistory(registerModel, [...hardKey(20), ...brokenKey()], { ...NO_STEP_CAP, deadlineMs: 200 });
  assert.equal(r.ok, false);
  assert.deepEqual(r.violatingKeys, ['y']);
  assert.deepEqual(r.undecidedKeys, ['x']);
});

test('an empty history passes with no keys', () => {
  const r = checkKvHistory(registerModel, []);
  assert.equal(r.ok, true);
  assert.deepEqual(r.keys, []);
  assert.equal(r.steps, 0);
});
