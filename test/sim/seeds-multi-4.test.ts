import { test } from 'node:test';
import { assertSeedsPass } from './sim-support.js';

// Even sizes: an off-by-one majority (half rounded up instead of half plus one) is invisible at odd sizes.
test('multi paxos, 4 replicas: 750 seeded schedules, each drawing its settings, without a violation', () => {
  assertSeedsPass('multi', 4, 40001, 750);
});
