/**
 * A network partition of a 5-replica cluster into {1,2} and {3,4,5}: the
 * minority cannot decide (and says it lacks a quorum) while the majority
 * can; after the partition heals every replica converges to the same values.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Protocol } from '../../src/core/types.js';
import { eventually, quorumRefusalProblem, TestCluster } from '../support/cluster.js';

const REFUSAL_TIMEOUT_MS = 6000;

for (const protocol of ['multi', 'basic'] as Protocol[]) {
  test(`${protocol}: a minority partition cannot decide while the majority can; after heal all replicas converge`, async () => {
    const c = await TestCluster.start({ nodes: 5, protocol });
    try {
      const before = await c.propose(await c.entry(1), 'before', '1');
      assert.ok(before.ok, JSON.stringify(before));
      c.orchestrator.partition([
        [1, 2],
        [3, 4, 5],
      ]);

      // Both sides are asked at the same time; the majority may first need to elect a leader of its own.
      const [minority, majority] = await Promise.all([
        c.propose(1, 'm', '1', REFUSAL_TIMEOUT_MS),
        c.proposeUntilOk({ via: () => 4, key: 'M', value: '1', timeoutMs: 6000 }),
      ]);
      const problem = quorumRefusalProblem(minority, { clusterSize: 5, timeoutMs: REFUSAL_TIMEOUT_MS });
      assert.equal(problem, null, `the minority side {1,2}: ${problem}`);
      console.log(`${protocol}: the minority side was refused: ${minority.ok ? '' : minority.error}`);
      assert.ok(
        majority.ok && majority.value === '1',
        `the majority side {3,4,5} could not decide: ${JSON.stringify(majority)}`,
      );
      // Still cut off, the minority has not learned what the majority decided.
      assert.equal(new Map(await c.kv(1)).get('M'), undefined, 'node-1 learned M across the partition');

      c.orchestrator.heal();
      const after = await c.proposeUntilOk({ via: () => 1, key: 'after', value: '1', timeoutMs: 6000 });
      assert.ok(after.ok, `node-1 cannot decide after the heal: ${JSON.stringify(after)}`);
      assert.ok(await eventually(() => c.converged(), 20_000), 'the replicas did not converge after the heal');
      for (const id of c.ids()) {
        const kv = new Map(await c.kv(id));
        for (const key of ['before', 'M', 'after']) assert.equal(kv.get(key), '1', `node-${id} ${key}`);
      }
    } finally {
      await c.stop();
    }
  });
}
