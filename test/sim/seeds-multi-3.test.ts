import { test } from 'node:test';
import { assertSeedsPass } from './sim-support.js';

// Seeded schedules with crashes, partitions, loss, duplication and reordering;
// every step is checked (see src/sim/invariants.ts) and every history for linearizability.
test('multi paxos, 3 replicas: 4500 seeded schedules, each drawing its settings, without a violation', () => {
  assertSeedsPass('multi', 3, 30001, 4500);
});
