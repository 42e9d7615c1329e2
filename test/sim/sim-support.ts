import assert from 'node:assert/strict';
import type { Protocol } from '../../src/core/types.js';
import { reproduction, runSeeds } from '../../src/sim/batch.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import type { SimHost } from '../../src/sim/twins.js';

/** Runs a range of seeds, each drawing its own settings, and fails with every failing seed's reproduction line (settings included) and trace. */
export function assertSeedsPass(protocol: Protocol, clusterSize: number, firstSeed: number, seeds: number): void {
  // Swarm testing: each seed draws its settings too (src/sim/swarm.ts); the size stays the file's.
  const result = runSeeds({ protocol, clusterSize, firstSeed, seeds, maxFailures: 3, swarm: true });
  const report = result.failures.map(
    (f) => `${f.violation}\n  faults: ${f.profile}\n  reproduce: ${reproduction(f)}\n${f.trace.slice(-40).join('\n')}`,
  );
  const m = result.membership;
  console.log(
    `${protocol} n=${clusterSize}: ${result.schedules} schedules, ${result.chosen} values chosen, ${result.opsCompleted} client ops, ${result.failures.length} violations, ${result.seconds.toFixed(1)}s` +
      (m.schedules > 0
        ? `; membership changes in ${m.schedules} schedules, ${m.asked} asked, ${m.epochs} configurations entered`
        : ''),
  );
  assert.equal(result.failures.length, 0, report.join('\n\n'));
  assert.equal(result.schedules, seeds);
  assert.equal(
    result.undecided.length,
    0,
    `undecided histories are not passes: ${result.undecided.map((u) => `seed ${u.seed}: ${u.undecided}`).join('; ')}`,
  );
  assert.ok(result.chosen > seeds, 'schedules should choose values; a simulator that decides nothing proves nothing');
  // Half the Multi-Paxos schedules change the configuration; most changes must take effect, or the checks of membership check nothing.
  if (protocol === 'multi')
    assert.ok(
      m.schedules >= seeds / 2 - 1 && m.epochs > m.schedules,
      `membership changes ran in ${m.schedules} schedules and entered ${m.epochs} configurations`,
    );
}

/** A host with its own little queue, run by hand up to a time. */
export function host(): SimHost & { runUntil(ms: number): void } {
  const queue = new EventQueue<{ atMs: number; seq: number; fn: () => void }>();
  let now = 0;
  let seq = 0;
  return {
    nowMs: () => now,
    at: (delayMs, fn) => queue.push({ atMs: now + delayMs, seq: seq++, fn }),
    runUntil(ms) {
      for (let guard = 0; guard < 100_000; guard++) {
        const next = queue.pop();
        if (next === undefined) break;
        if (next.atMs > ms) {
          queue.push(next);
          break;
        }
        now = next.atMs;
        next.fn();
      }
      now = ms;
    },
  };
}
