import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../../src/core/random.js';
import { UsageError } from '../../src/errors.js';
import {
  canTalk,
  decide,
  FaultSyntaxError,
  isIsolated,
  MAX_DELAY_MS,
  parseDelay,
  parseDrop,
} from '../../src/transport/faults.js';

const never = () => assert.fail('no random draw expected');

test('a replica is isolated when the partition leaves it in no group or alone in its own', () => {
  const rules = { partition: [[1, 2], [3]] };
  assert.equal(isIsolated(rules, 1), false);
  assert.equal(isIsolated(rules, 3), true);
  assert.equal(isIsolated(rules, 4), true);
  assert.equal(isIsolated({}, 4), false);
  assert.equal(isIsolated({ delayMs: { min: 1, max: 2 }, dropRate: 0.5 }, 1), false);
});

test('a partition lets nodes talk only inside their group; a node in no group talks to nobody', () => {
  const rules = {
    partition: [
      [1, 2],
      [3, 4],
    ],
  };
  assert.equal(canTalk(rules, 1, 2), true);
  assert.equal(canTalk(rules, 4, 3), true);
  assert.equal(canTalk(rules, 1, 3), false);
  assert.equal(canTalk(rules, 3, 2), false);
  assert.equal(canTalk(rules, 5, 1), false);
  assert.equal(canTalk(rules, 1, 5), false);
  assert.equal(canTalk({}, 1, 5), true);
  assert.deepEqual(decide(rules, 1, 3, never), { deliver: false, delayMs: 0 });
  assert.deepEqual(decide({}, 1, 3, never), { deliver: true, delayMs: 0 });
});

test('drop rate 0 and 1 are exact; in between the seeded generator decides, reproducibly', () => {
  const random = new Random(1);
  for (let i = 0; i < 100; i++) {
    assert.equal(decide({ dropRate: 1 }, 1, 2, () => random.next()).deliver, false);
    assert.equal(decide({ dropRate: 0 }, 1, 2, () => random.next()).deliver, true);
  }
  const run = (seed: number) => {
    const r = new Random(seed);
    return Array.from({ length: 1000 }, () => decide({ dropRate: 0.3 }, 1, 2, () => r.next()).deliver);
  };
  const lost = run(7).filter((d) => !d).length;
  assert.ok(lost > 200 && lost < 400, `lost ${lost} of 1000 at 30%`);
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8));
});

test('delays fall inside the range and a silly range is clamped', () => {
  const random = new Random(3);
  for (let i = 0; i < 200; i++) {
    const { delayMs } = decide({ delayMs: { min: 10, max: 200 } }, 1, 2, () => random.next());
    assert.ok(delayMs >= 10 && delayMs <= 200, String(delayMs));
  }
  assert.equal(decide({ delayMs: { min: 0, max: Infinity } }, 1, 2, () => 0.999).delayMs <= MAX_DELAY_MS, true);
  assert.equal(decide({ delayMs: { min: -5, max: -1 } }, 1, 2, () => 0.5).delayMs, 0);
});

test('parseDelay reads ranges, single values and seconds', () => {
  assert.deepEqual(parseDelay('10-200ms'), { min: 10, max: 200 });
  assert.deepEqual(parseDelay('50ms'), { min: 50, max: 50 });
  assert.deepEqual(parseDelay(' 0.1-2s '), { min: 100, max: 2000 });
  assert.deepEqual(parseDelay('5-10'), { min: 5, max: 10 });
});

test('parseDelay and parseDrop refuse bad input with one sentence, as usage errors', () => {
  for (const bad of ['', 'fast', '-10ms', '10-', '10-200m', '1e3ms', '10 - 200ms']) {
    assert.throws(
      () => parseDelay(bad),
      (err: Error) =>
        err instanceof FaultSyntaxError &&
        err instanceof UsageError &&
        /^--delay must look like 10-200ms/.test(err.message),
      bad,
    );
  }
  assert.throws(() => parseDelay('200-10ms'), /runs backwards/);
  assert.throws(() => parseDelay('61s'), /above 60s/);
  for (const bad of ['', '%', 'x%', '150%', '-1%', '1.5', 'five']) {
    assert.throws(
      () => parseDrop(bad),
      (err: Error) => err instanceof FaultSyntaxError && /^--drop must be a percentage/.test(err.message),
      bad,
    );
  }
});

test('parseDrop reads percentages and fractions', () => {
  assert.equal(parseDrop('5%'), 0.05);
  assert.equal(parseDrop('0%'), 0);
  assert.equal(parseDrop('100%'), 1);
  assert.equal(parseDrop('0.25'), 0.25);
  assert.equal(parseDrop(' 12.5 % '), 0.125);
});
