/**
 * The 003 article's open problem: two proposers that keep pre-empting each
 * other. On a perfectly regular network (every message takes exactly 5 ms)
 * node-1 and node-3 both propose for the same key. With randomized backoff
 * every seed decides; with backoff switched off, some seeds duel until the
 * liveness bound runs out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CALM } from '../../src/sim/profile.js';
import { runSchedule } from '../../src/sim/world.js';

const REGULAR = { ...CALM, minDelayMs: 5, delaySpreadMs: 0 };
const SEEDS = 200;

function duel(seed: number, backoff: boolean, alignedTicks = false) {
  return runSchedule({
    protocol: 'basic',
    clusterSize: 3,
    seed,
    profile: REGULAR,
    proposers: [1, 3],
    keys: 1,
    backoff,
    faultPhaseMs: 1000,
    livenessBoundMs: 3000,
    opsAfterHeal: 1,
    alignedTicks,
  });
}

// With every node's ticks at the same instants the simulator's own jitter cannot break a tie:
// only the backoff's randomness, drawn by the cores from their seeds, is left to do it.
test('with aligned ticks, the backoff alone breaks the tie', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = duel(seed, true, true);
    assert.ok(r.ok, `seed ${seed}: ${r.violation}`);
  }
});

test('with aligned ticks and no backoff, duelling proposers livelock', () => {
  let stuck = 0;
  for (let seed = 1; seed <= SEEDS; seed++) if (!duel(seed, false, true).ok) stuck++;
  console.log(`aligned ticks, no backoff: ${stuck} of ${SEEDS} seeds livelocked`);
  assert.ok(stuck > 0, 'expected livelock without backoff when nothing else breaks the tie');
});

test('duelling proposers with randomized backoff always decide', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = duel(seed, true);
    assert.ok(r.ok, `seed ${seed}: ${r.violation}`);
    assert.ok(r.chosen >= 1);
  }
});

test('without backoff, duelling proposers can pre-empt each other until the bound runs out', () => {
  const stuck = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = duel(seed, false);
    if (!r.ok) stuck.push(r);
  }
  console.log(`without backoff ${stuck.length} of ${SEEDS} seeds livelocked; e.g. ${stuck[0]?.violation}`);
  assert.ok(stuck.length > 0, 'expected at least one livelocked seed without backoff');
  assert.match(stuck[0]!.violation!, /liveness/);
  assert.ok(
    stuck[0]!.trace.some((line) => / reject k1 /.test(line)),
    'the trace should show the proposers rejecting each other',
  );
});
