/**
 * The first wave's end-to-end bug, as a user met it: propose through node-2,
 * SIGKILL it, restart it, and propose through it again. A restarted replica
 * used to number its requests from 1 again, its new commands collided with
 * applied ones, and they were dropped as duplicates (or answered with an old
 * command's reply). With client sessions each incarnation opens a new
 * session, so every proposal after the restart is chosen in a new slot at
 * once. Both protocols; several rounds of kill and restart; no timing
 * assertions (each proposal gets one attempt with a generous deadline).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Protocol } from '../../src/core/types.js';
import { eventually, TestCluster } from '../support/cluster.js';

for (const protocol of ['multi', 'basic'] as Protocol[]) {
  test(`${protocol}: proposals through a restarted replica are each chosen, in new slots, and answered with their own values`, async () => {
    const c = await TestCluster.start({ nodes: 3, protocol });
    try {
      await c.entry(1);
      const slots = new Set<number>();
      for (let round = 1; round <= 3; round++) {
        for (let i = 1; i <= 3; i++) {
          const key = `k${round}.${i}`;
          // One attempt each (a retry would hide the bug: it takes a fresh request number).
          const r = await c.propose(2, key, `v${round}.${i}`, 8000);
          assert.ok(r.ok, `round ${round}: ${key} through node-2: ${JSON.stringify(r)}`);
          assert.equal(r.key, key, 'the reply answers this command, not an earlier one');
          assert.equal(r.value, `v${round}.${i}`, 'the value chosen is the one proposed');
          if (protocol === 'multi') {
            assert.ok(r.slot !== undefined && !slots.has(r.slot), `a new slot each time, got #${r.slot}`);
            slots.add(r.slot);
          }
        }
        c.kill(2);
        await c.waitDown(2);
        await c.restart(2);
      }
      // Every acknowledged write is on every replica.
      assert.ok(await eventually(() => c.converged(), 15_000), 'the replicas converge');
      const kv = new Map(await c.kv(1));
      for (let round = 1; round <= 3; round++)
        for (let i = 1; i <= 3; i++) assert.equal(kv.get(`k${round}.${i}`), `v${round}.${i}`);
    } finally {
      await c.stop();
    }
  });
}
