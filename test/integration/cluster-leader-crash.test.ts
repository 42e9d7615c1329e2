/**
 * The replica that takes the proposals (the leader in multi mode, one
 * proposer with distinct keys in basic mode) is SIGKILLed in the middle of
 * 200 concurrent proposals. Every proposal acknowledged before it died must
 * be on every replica once it is back, and nothing may hold a value nobody
 * proposed. The restarted replica then takes proposals again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Protocol } from '../../src/core/types.js';
import { eventually, type Reply, sleep, TestCluster } from '../support/cluster.js';

const PROPOSALS = 200;
const KILL_AFTER_REPLIES = 50;

/** Sends every proposal without waiting for answers, in small waves so the kill lands while some are still arriving. */
async function burst(c: TestCluster, target: number, onReply: (i: number, r: Reply) => void): Promise<Promise<void>[]> {
  const sends: Promise<void>[] = [];
  for (let i = 0; i < PROPOSALS; i++) {
    sends.push(c.propose(target, `k${i}`, `v${i}`, 10_000).then((r) => onReply(i, r)));
    if (i % 10 === 9) await sleep(5);
  }
  return sends;
}

for (const protocol of ['multi', 'basic'] as Protocol[]) {
  test(`${protocol}: the proposing replica SIGKILLed in the middle of ${PROPOSALS} concurrent proposals loses none that were acknowledged`, async () => {
    const c = await TestCluster.start({ nodes: 5, protocol });
    try {
      const target = await c.entry(1);
      const acked = new Map<string, string>();
      let replies = 0;
      const sending = burst(c, target, (i, r) => {
        replies++;
        if (r.ok) {
          assert.equal(r.value, `v${i}`, `k${i} acknowledged with a value nobody proposed: ${JSON.stringify(r)}`);
          acked.set(`k${i}`, `v${i}`);
        }
        // Killed from the reply that makes it 50, so the kill lands while the rest are still being decided.
        if (replies === KILL_AFTER_REPLIES) c.kill(target);
      });
      await Promise.all(await sending);
      assert.ok(replies === PROPOSALS, `${replies} of ${PROPOSALS} proposals answered`);
      await c.waitDown(target);
      assert.ok(acked.size >= KILL_AFTER_REPLIES, `only ${acked.size} proposals acknowledged before the kill`);

      await c.restart(target);
      assert.ok(await eventually(() => c.converged(), 20_000), 'the replicas did not converge after the restart');
      for (const id of c.ids()) {
        const kv = new Map(await c.kv(id));
        for (const [k, v] of acked) assert.equal(kv.get(k), v, `node-${id} lost acknowledged ${k}=${v}`);
        for (const [k, v] of kv) assert.equal(v, `v${k.slice(1)}`, `node-${id} holds ${k}=${v}, which nobody proposed`);
      }

      // The restarted replica takes proposals again (its request ids must not repeat those it used before the kill).
      if (protocol === 'multi')
        assert.ok(await eventually(() => c.knowsLeader(target), 15_000), `node-${target} never learned a leader`);
      for (let i = 0; i < 3; i++) {
        const r = await c.propose(target, `after${i}`, 'ok', 10_000);
        assert.ok(r.ok && r.value === 'ok', `via restarted node-${target}: ${JSON.stringify(r)}`);
      }
      console.log(
        `${protocol}: ${acked.size} of ${PROPOSALS} acknowledged around the kill of node-${target}, all on every replica`,
      );
    } finally {
      await c.stop();
    }
  });
}
