/**
 * Real replica processes on loopback, crashed for real (SIGKILL), for both
 * protocols: a 5-replica cluster decides, keeps deciding with 2 replicas
 * down, refuses (naming the missing quorum) with 3 down, and once they are
 * restarted decides again through a restarted replica and converges.
 * No timing assertions: deadlines are generous and conditions are polled.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Protocol } from '../../src/core/types.js';
import { eventually, quorumRefusalProblem, TestCluster } from '../support/cluster.js';

const REFUSAL_TIMEOUT_MS = 6000;

for (const protocol of ['multi', 'basic'] as Protocol[]) {
  test(`${protocol}: 5 replicas decide; with 2 killed they still decide; with 3 killed they refuse for want of a quorum; restarted, they decide again and converge`, async () => {
    const c = await TestCluster.start({ nodes: 5, protocol });
    try {
      // 1. A healthy cluster decides x=7; in basic mode x is then chosen for good.
      const first = await c.propose(await c.entry(1), 'x', '7');
      assert.ok(first.ok && first.value === '7', `x=7: ${JSON.stringify(first)}`);
      if (protocol === 'basic') {
        const again = await c.propose(2, 'x', '9');
        assert.ok(
          again.ok && again.value === '7' && again.alreadyChosen === true,
          `x is chosen for good: ${JSON.stringify(again)}`,
        );
      }

      // 2. Two of five killed (in multi mode the leader is one of them): three is still a majority.
      const firstDown = protocol === 'multi' ? await c.leader(10_000) : 1;
      const secondDown = firstDown === 5 ? 4 : 5;
      for (const id of [firstDown, secondDown]) c.kill(id);
      for (const id of [firstDown, secondDown]) await c.waitDown(id);
      const live = c.ids().filter((id) => id !== firstDown && id !== secondDown);
      const withThree = await c.proposeUntilOk({
        via: () => c.entry(live[0]),
        key: 'y',
        value: '1',
        timeoutMs: 10_000,
      });
      assert.ok(withThree.ok && withThree.value === '1', `3 of 5 is a majority: ${JSON.stringify(withThree)}`);

      // 3. A third one killed: two of five must not decide, and the refusal says why.
      const thirdDown = live[2];
      c.kill(thirdDown);
      await c.waitDown(thirdDown);
      const withTwo = await c.propose(live[0], 'z', '1', REFUSAL_TIMEOUT_MS);
      const problem = quorumRefusalProblem(withTwo, { clusterSize: 5, timeoutMs: REFUSAL_TIMEOUT_MS });
      assert.equal(problem, null, problem ?? '');
      console.log(`${protocol}: with 2 of 5 up the proposal was refused: ${withTwo.ok ? '' : withTwo.error}`);

      // 4. Restarted from their data, they make the proposal path work again, through a restarted replica
      //    that served requests before it died (a restarted replica must not reuse its old request ids).
      for (const id of [firstDown, secondDown, thirdDown]) await c.restart(id);
      if (protocol === 'multi')
        assert.ok(await eventually(() => c.knowsLeader(firstDown), 15_000), `node-${firstDown} never learned a leader`);
      const after = await c.propose(firstDown, 'w', '1', 10_000);
      assert.ok(after.ok && after.value === '1', `after the restarts, via node-${firstDown}: ${JSON.stringify(after)}`);

      // Every replica, the restarted ones included, ends up holding the same values.
      assert.ok(
        await eventually(() => c.converged(), 20_000),
        'the replicas do not hold the same values after the restarts',
      );
      for (const id of c.ids()) {
        const kv = new Map(await c.kv(id));
        assert.equal(kv.get('x'), '7', `node-${id} x`);
        assert.equal(kv.get('y'), '1', `node-${id} y`);
        assert.equal(kv.get('w'), '1', `node-${id} w`);
        // z's outcome is unknown to its client (a later leader may finish it), but it can only ever be 1.
        assert.ok(!kv.has('z') || kv.get('z') === '1', `node-${id} z`);
      }
    } finally {
      await c.stop();
    }
  });
}
