/**
 * Issue 22, item 3a (../shared/repro/session-horizon.mjs): a client's retry
 * through another replica, once the session table had forgotten the
 * original, was applied a second time (horizon 4, seed 1: k2 went back to an
 * older value), and horizons of 16 and 64 slots left clients waiting forever.
 * With registered sessions (TigerBeetle's client sessions) the seeds of that
 * script pass at every horizon, with session tables small enough that
 * clients are told "session evicted" again and again; with the old
 * behaviour planted (an evicted session's request applied as new) the same
 * seeds fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reproduction } from '../../src/sim/batch.js';
import { plantNamed } from '../../src/sim/planted.js';
import { runSchedule } from '../../src/sim/world.js';

const SEEDS = 60;

/** Runs the script's schedules at one horizon and table size: failures, and how many requests were told their session was evicted. */
function run(o: { horizon: number; maxSessions: number; planted: boolean }) {
  const plant = plantNamed('early-session-eviction');
  assert.ok(plant?.bugs !== undefined);
  const failures: string[] = [];
  let evicted = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = runSchedule({
      protocol: 'multi',
      clusterSize: 3,
      seed,
      swarm: { fixed: { sessionHorizonSlots: o.horizon, maxSessions: o.maxSessions } },
      ...(o.planted ? { bugs: plant.bugs } : {}),
      traceSink: (line) => {
        if (line.includes('(session-evicted)')) evicted++;
      },
    });
    if (!result.ok) failures.push(`${reproduction(result)}: ${(result.violation ?? '').split('\n')[0]}`);
  }
  return { failures, evicted };
}

for (const horizon of [4, 16, 64]) {
  test(`horizon ${horizon}: no command applied twice, no client waiting forever, while sessions are evicted`, () => {
    for (const maxSessions of [2, 4]) {
      const { failures, evicted } = run({ horizon, maxSessions, planted: false });
      assert.deepEqual(failures, [], `at most ${maxSessions} sessions`);
      assert.ok(evicted > 0, `at most ${maxSessions} sessions: no request was ever told its session was evicted`);
    }
  });
}

test('the same schedules catch the old behaviour: a request of an evicted session applied as new', () => {
  const { failures } = run({ horizon: 16, maxSessions: 2, planted: true });
  assert.ok(failures.length > 0, 'the planted early-session-eviction went unnoticed');
});
